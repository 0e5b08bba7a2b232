// `se nodes` for a person: its table (AGE, LINK), order, filters, --limit and the
// summary line, tested on the functions the command prints through.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { selectNodes } from '../adapters/node/cli/nodes.js'
import { renderNodes } from '../adapters/node/cli/render.js'
import type { MeshNode } from '../core/protocol/types.js'
import { manyNodes, meshNode } from './helpers/mesh-nodes.js'

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0)

test('se nodes: a row per member with the age of what is known and the link held; ⊘ notes, then the summary', () => {
  const me = meshNode('laptop', { self: true, learned: null, link: null, latencyMs: null }, 1, 4096, T0)
  const builder = meshNode('builder', { lastSeen: T0 - 400, allows: ['read'] }, 2, 4096, T0)
  const far = meshNode('far', { state: 'suspect', lastSeen: T0 - 185_000, learned: 'gossip', link: null, sample: null, latencyMs: null }, 1, 4096, T0)
  const out = renderNodes(selectNodes([far, builder, me], {}).shown, { now: T0 }).split('\n')
  assert.match(out[0] ?? '', /^NAME\s+KEY\s+STATE\s+AGE\s+LINK\s+LOAD\s+MEMORY\s+RTT\s+CAPABILITIES$/)
  assert.match(out[1] ?? '', /^builder ⊘\s+[0-9a-z-]{16}\s+up\s+0\.4s\s+neighbour\s+50%\s+4\.0\/16\.0 GiB\s+0\.4 ms\s+tag:gpu,podman,git/)
  assert.match(out[2] ?? '', /^laptop \*\s+\S+\s+up\s+-\s+-\s+25%/)
  assert.match(out[3] ?? '', /^far\s+\S+\s+suspect\s+3m\s+-\s+-\s+-\s+\?/)
  assert.equal(out[4], '⊘ builder refuses this node: run, approve, session')
  assert.equal(out[5], '3 nodes: 2 up, 1 suspect · gpu 3, podman 3')
  assert.equal(out.length, 6)
})

test('se nodes over 500 members: --state, --capability (all of them), --limit; the summary counts every match', () => {
  const all = manyNodes(500, T0)
  const count = (pred: (n: MeshNode) => boolean): number => all.filter(pred).length

  const down = selectNodes(all, { states: ['down', 'left'] })
  assert.equal(down.matched.length, count(n => n.state === 'down' || n.state === 'left'))
  assert.deepEqual(down.matched.map(n => n.state), [...down.matched.map(n => n.state)].sort((a, b) => (a === 'down' ? 0 : 1) - (b === 'down' ? 0 : 1)), 'down before left')

  const builders = selectNodes(all, { capabilities: ['builder', 'engine:podman'] })
  assert.equal(builders.matched.length, count(n => n.capabilities.tags.includes('builder') && n.capabilities.engines.includes('podman')))
  assert.ok(builders.matched.length > 0)

  const first = selectNodes(all, { states: ['up'], limit: 20 })
  assert.equal(first.shown.length, 20)
  const names = first.shown.map(n => n.name)
  assert.deepEqual(names, [...names].sort())
  const text = renderNodes(first.shown, { now: T0, matched: first.matched, total: all.length }).split('\n')
  assert.equal(text.length, 1 + 20 + 2)
  const ups = count(n => n.state === 'up')
  assert.equal(text.at(-2), `… ${ups - 20} more not listed (--limit 20)`)
  assert.match(text.at(-1) ?? '', new RegExp(`^${ups} of 500 nodes: ${ups} up · podman \\d+, builder \\d+, gpu \\d+$`))

  const none = selectNodes(all, { capabilities: ['quantum'] })
  assert.deepEqual(renderNodes(none.shown, { now: T0, matched: none.matched, total: 500 }).split('\n').slice(1), ['0 of 500 nodes'])
})
