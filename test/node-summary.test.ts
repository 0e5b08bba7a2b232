// What `se nodes` and the dashboard's nodes pane share: the summary line, the AGE
// of what is known, what a filter word matches, and the order of states.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { shortAge } from '../core/duration.js'
import { ageText, byStateThenName, countNodes, hasCapability, linkText, matchesFilter, nodeSummary } from '../core/node/node-summary.js'
import type { MeshNode } from '../core/protocol/types.js'
import { manyNodes, meshNode } from './helpers/mesh-nodes.js'

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0)

function tagged (name: string, state: string, tags: string[], engines = ['process']): MeshNode {
  const n = meshNode(name, { state }, 1, 1024, T0)
  return { ...n, capabilities: { ...n.capabilities, tags, engines } }
}

test('the summary: counts by state in their order, then the most common capabilities, then +N more', () => {
  const nodes = [
    ...Array.from({ length: 305 }, (_, i) => tagged(`u${i}`, 'up', i < 40 ? ['builder'] : i < 43 ? ['gpu'] : [], i < 210 ? ['process', 'podman'] : ['process'])),
    ...Array.from({ length: 4 }, (_, i) => tagged(`s${i}`, 'suspect', [`lab${i}`])),
    ...Array.from({ length: 3 }, (_, i) => tagged(`d${i}`, 'down', ['edge']))
  ]
  assert.equal(nodeSummary(nodes), '312 nodes: 305 up, 4 suspect, 3 down · podman 210, builder 40, edge 3, gpu 3, +4 more')
  assert.equal(nodeSummary(nodes, { top: 2, separator: ' - ' }), '312 nodes: 305 up, 4 suspect, 3 down - podman 210, builder 40, +6 more')
  assert.equal(nodeSummary(nodes.slice(305), { of: 312 }), '7 of 312 nodes: 4 suspect, 3 down · edge 3, lab0 1, lab1 1, lab2 1, +1 more')
  const c = countNodes(nodes)
  assert.equal(c.total, 312)
  assert.deepEqual(c.states, [['up', 305], ['suspect', 4], ['down', 3]])
  assert.ok(!c.capabilities.some(([name]) => name === 'process'), 'what every node has sets none apart')
})

test('the summary: one node, none, a member that left, a state this version does not know', () => {
  assert.equal(nodeSummary([tagged('a', 'up', [])]), '1 node: 1 up')
  assert.equal(nodeSummary([]), '0 nodes')
  assert.equal(nodeSummary([], { of: 12 }), '0 of 12 nodes')
  assert.equal(nodeSummary([tagged('a', 'left', []), tagged('b', 'draining', []), tagged('c', 'up', ['gpu'])]), '3 nodes: 1 up, 1 left, 1 draining · gpu 1')
})

test('AGE: tenths under 10 s, then whole units; - for this node itself; LINK or -', () => {
  assert.deepEqual([0, 400, 9940, 9960, 12_000, 185_000, 2 * 3600_000, -5].map(shortAge), ['0.0s', '0.4s', '9.9s', '10s', '12s', '3m', '2h', '0.0s'])
  assert.equal(ageText(meshNode('a', { lastSeen: T0 - 1234 }), T0), '1.2s')
  assert.equal(ageText(meshNode('a', { lastSeen: null }), T0), '-')
  assert.equal(ageText(meshNode('me', { self: true, lastSeen: T0 - 5000 }), T0), '-')
  assert.equal(linkText(meshNode('a', { link: 'work' })), 'work')
  assert.equal(linkText(meshNode('a', { link: null })), '-')
  assert.equal(linkText(meshNode('a', { link: null }), 'none'), 'none')
})

test('a filter: every word; a state word matches the state only; others part of name, key or capability', () => {
  const backup = tagged('backup-3', 'down', ['gpu'], ['process', 'podman'])
  assert.ok(matchesFilter(backup, 'down'))
  assert.ok(!matchesFilter(backup, 'up'), '"up" is a state, not part of backup')
  assert.ok(matchesFilter(backup, 'ACKU gpu'))
  assert.ok(matchesFilter(backup, 'tag:g  pod'))
  assert.ok(matchesFilter(backup, backup.nodeId.slice(0, 10)))
  assert.ok(!matchesFilter(backup, 'gpu builder'))
  assert.ok(matchesFilter(backup, '   '))
})

test('hasCapability names capabilities as a step\'s requires does', () => {
  const n = meshNode('a')
  for (const c of ['gpu', 'tag:gpu', 'podman', 'engine:podman', 'git', 'credential:GITHUB_TOKEN']) assert.ok(hasCapability(n, c), c)
  assert.ok(!hasCapability(n, 'gp'), 'whole names only')
})

test('byStateThenName over 500: up, suspect, down, left, each by name', () => {
  const sorted = manyNodes(500, T0).sort(byStateThenName)
  const ranks = sorted.map(n => ['up', 'suspect', 'down', 'left'].indexOf(n.state))
  assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b))
  for (let i = 1; i < sorted.length; i++) {
    if (ranks[i] === ranks[i - 1]) assert.ok((sorted[i - 1] as MeshNode).name < (sorted[i] as MeshNode).name)
  }
})
