// Which peers the Hyperswarm transport expects to answer within milliseconds: a connection
// to one of them that stays silent is dropped early rather than waiting out the hello deadline.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isNearby } from '../adapters/shared/hyperswarm-transport.js'

test('loopback, private and link-local addresses are nearby', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '10.0.0.7', '172.16.0.1', '172.31.255.255', '192.168.1.20', '169.254.3.4', '::1', '::ffff:192.168.0.2', 'fe80::1', 'fd12:3456::1']) {
    assert.equal(isNearby(host), true, host)
  }
})

test('public addresses, and none at all, are not', () => {
  for (const host of [undefined, '', '8.8.8.8', '172.15.0.1', '172.32.0.1', '192.169.0.1', '11.0.0.1', '2001:db8::1', '::ffff:1.2.3.4', '300.1.1.1']) {
    assert.equal(isNearby(host), false, String(host))
  }
})
