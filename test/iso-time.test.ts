// The Bare node's log timestamps are made without a Date (core/iso-time.ts): they must read as Date#toISOString would.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isoTime } from '../core/iso-time.js'

test('isoTime writes an instant as Date#toISOString does', () => {
  // Epoch, day and leap-day edges, a century that is not a leap year, the last millisecond of year 9999.
  const edges = [0, 1, 999, 86_399_999, 86_400_000, 951_782_400_000, 951_868_800_000, 4_107_542_400_000, 4_107_628_799_999, 253_402_300_799_999]
  for (const ms of edges) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms))
  for (let i = 0; i < 10_000; i++) {
    const ms = Math.floor(Math.random() * 253_402_300_800_000)
    assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms))
  }
})
