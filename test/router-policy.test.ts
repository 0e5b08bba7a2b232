// The router passes over a member whose policy has said it will not run such steps
// for this node, for one that will; when only such members could, the step still goes
// to one, which refuses it there, names its rule and keeps the refusal (e2e-policy).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Router } from '../core/mesh/router.js'
import type { Member } from '../core/mesh/mesh.js'
import type { NodeCapabilities } from '../core/protocol/types.js'

const caps = (name: string, tags: string[], loadAverage = 0): NodeCapabilities => ({ nodeId: name.padEnd(64, '0'), name, runtime: 'node', version: '0', platform: 'linux', arch: 'x64', engines: [], tools: [], credentials: [], tags, cpus: 4, memoryTotalMb: 4096, memoryFreeMb: 2048, loadAverage })
const member = (c: NodeCapabilities, allows: string[] | null): Member => ({ nodeId: c.nodeId, name: c.name, capabilities: c, sample: null, latencyMs: 1, allows, usable: true, state: 'up' }) as unknown as Member

function router (members: Member[]): Router {
  return new Router({ members: { usableMembers: () => members, member: id => members.find(m => m.nodeId === id), reach: async () => { throw new Error('no network here') } }, local: () => caps('laptop', []), clock: { now: () => 0 } as never, audit: () => {} })
}

const BUILD = { name: 'BUILD', requires: { capabilities: ['builder'] }, steps: [{ id: 'compile', run: { command: 'true' } }] } as never

test('a member that refuses this node run is passed over for one that allows it, even a busier one', () => {
  const idle = caps('idle', ['builder'], 0)
  const busy = caps('busy', ['builder'], 3)
  assert.equal(router([member(idle, ['read']), member(busy, ['run:builder', 'read'])]).plan(BUILD)?.nodeId, busy.nodeId)
  assert.equal(router([member(idle, null), member(busy, ['run'])]).plan(BUILD)?.nodeId, idle.nodeId, 'an older member (allows unknown) ranks as before')
})

test('when only refusing members could run it, it still goes to one (the member refuses it there, by its own rule)', () => {
  const only = caps('builder', ['builder'])
  assert.equal(router([member(only, ['read'])]).plan(BUILD)?.nodeId, only.nodeId)
})
