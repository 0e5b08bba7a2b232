// Mesh members as listNodes returns them, for tests of what people see of a mesh:
// one at a time, or hundreds from a seed (states, tags, engines, links, ages spread out).
import type { MeshNode } from '../../core/protocol/types.js'
import { SeededRandom } from './seeded-random.js'

const GIB = 1024

/** One member, up, heard from at `at`, a neighbour, with a gpu tag and podman. */
export function meshNode (name: string, over: Partial<MeshNode> = {}, load = 1, usedMb = 4 * GIB, at = 0): MeshNode {
  const nodeId = `${name}-${'0'.repeat(64)}`.slice(0, 64)
  return {
    nodeId,
    name,
    self: false,
    state: 'up',
    lastSeen: at,
    latencyMs: 0.4,
    allows: null,
    learned: 'direct',
    link: 'neighbour',
    capabilities: {
      nodeId, name, runtime: 'node', version: '0.1.0', platform: 'linux', arch: 'x64', engines: ['podman'], tools: ['git'],
      credentials: ['GITHUB_TOKEN'], tags: ['gpu'], cpus: 4, memoryTotalMb: 16 * GIB, memoryFreeMb: 12 * GIB, loadAverage: load
    },
    sample: { nodeId, loadAverage: load, cpus: 4, memoryUsedMb: usedMb, memoryTotalMb: 16 * GIB, workflowsRunning: 1, workloadsRunning: 2, sentAt: at },
    ...over
  }
}

/**
 * `count` members, the first this node itself: about 1 in 10 suspect, 1 in 20 down,
 * 1 in 50 left; a builder tag on every 8th, gpu on every 40th; podman on 2 in 3;
 * ages up to 10 minutes; names `n000`… in a shuffled order.
 */
export function manyNodes (count: number, at: number, seed = 7): MeshNode[] {
  const r = new SeededRandom(seed)
  const nodes = Array.from({ length: count }, (_, i) => {
    const name = `n${String(i).padStart(3, '0')}`
    const state = i === 0 ? 'up' : i % 50 === 0 ? 'left' : i % 20 === 0 ? 'down' : i % 10 === 0 ? 'suspect' : 'up'
    const tags = [...i % 8 === 0 ? ['builder'] : [], ...i % 40 === 0 ? ['gpu'] : []]
    const engines = ['process', ...i % 3 === 0 ? [] : ['podman']]
    const n = meshNode(name, {
      self: i === 0,
      state,
      lastSeen: at - r.int(600_000),
      learned: i === 0 ? null : r.chance(0.1) ? 'direct' : 'gossip',
      link: i === 0 ? null : i % 25 === 0 ? 'neighbour' : i % 61 === 0 ? 'work' : null
    }, r.next() * 4, 4 * GIB, at)
    return { ...n, capabilities: { ...n.capabilities, tags, engines } }
  })
  // listNodes promises no order: shuffled, so what sorts is the code under test.
  return r.sample(nodes, nodes.length)
}
