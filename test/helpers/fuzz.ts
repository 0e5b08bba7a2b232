// Seeded fuzzing against real node processes: a small PRNG whose seed is printed
// (SE_FUZZ_SEED replays a run, SE_FUZZ_ROUNDS multiplies its size), mutators of
// captured frames, and the checks made after every batch — the node answers
// GET /health/live and a status call over its Unix socket within a second — and
// at the end: the process alive, its audit trail intact, no file descriptor left
// behind, and se_rejected_connections_total read back from /metrics.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import type { TestContext } from 'node:test'
import { json, se, sleep, startNode, tempDir, waitFor, withClient, type RunningNode } from './cli.js'
import { parsePrometheus } from './prometheus.js'
import { SeededRandom as Rng } from './seeded-random.js'

export { Rng }

/** The longest a node may take to answer a health or status call while it is being fuzzed. */
export const ANSWER_WITHIN_MS = 1000

/** The run's seed, printed so that a failure can be replayed with SE_FUZZ_SEED. */
export function fuzzSeed (t: TestContext, suite: string): number {
  const given = process.env.SE_FUZZ_SEED
  const seed = given !== undefined && given !== '' ? Number(given) >>> 0 : Math.floor(Math.random() * 2 ** 32)
  const line = `fuzz seed for ${suite}: ${seed} (replay with SE_FUZZ_SEED=${seed})`
  t.diagnostic(line)
  console.log(`# ${line}`)
  return seed
}

/** `base` inputs, times SE_FUZZ_ROUNDS for longer runs. */
export function fuzzRounds (base: number): number {
  const factor = Number(process.env.SE_FUZZ_ROUNDS ?? '1')
  return Math.max(1, Math.round(base * (Number.isFinite(factor) && factor > 0 ? factor : 1)))
}

/** Lengths and counts that break careless readers: zero, negative, just past a limit, the largest. */
export const HOSTILE_INTS = [0, 1, -1, -4, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x100000, 0x100001, 0x7fffffff, -0x80000000, 0x40000000]

export function int32be (n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n | 0)
  return b
}

/** Avro's zig-zag varint of `n` (a count or a length as Avro writes it), for numbers up to 2^53. */
export function avroLong (n: number): Buffer {
  const out: number[] = []
  let v = n >= 0 ? BigInt(n) * 2n : BigInt(-n) * 2n - 1n
  while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n }
  out.push(Number(v))
  return Buffer.from(out)
}

/** One to four edits of `sample`: bit flips, hostile 4-byte integers, inserted or deleted runs, truncation, duplication. */
export function mutate (rng: Rng, sample: Buffer): Buffer {
  let b = Buffer.from(sample)
  const edits = 1 + rng.int(4)
  for (let e = 0; e < edits; e++) {
    const at = b.length === 0 ? 0 : rng.int(b.length)
    switch (rng.int(8)) {
      case 0: if (b.length > 0) b[at] = (b[at] as number) ^ (1 << rng.int(8)); break
      case 1: if (b.length > 0) b[at] = rng.int(256); break
      case 2: if (b.length >= 4) { const p = Math.min(at, b.length - 4); int32be(rng.pick(HOSTILE_INTS)).copy(b, p) } break
      case 3: b = Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(16)), b.subarray(at)]); break
      case 4: b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(16)))]); break
      case 5: b = b.subarray(0, at); break
      case 6: b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + rng.int(32)), b.subarray(at)]); break
      default: { const v = avroLong(rng.pick([2 ** 40, 2 ** 31, 2 ** 20, -(2 ** 31), -1, 1e15])); b = Buffer.concat([b.subarray(0, at), v, b.subarray(Math.min(b.length, at + v.length))]) }
    }
  }
  return b
}

/** Runs `inputs` with at most `parallel` at once. */
export async function inParallel<T> (items: T[], parallel: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      await run(items[i] as T, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker))
}

export const TOKEN = 'f'.repeat(40)

export interface FuzzNode {
  node: RunningNode
  dataDir: string
  pid: number
  /** Port of the HTTP API (every fuzzed node serves it: health and metrics are read there). */
  http: number
  avroTcp: number | null
}

/** A node serving HTTP (and Avro TCP if asked) to TOKEN's holder, with the listener limits in `env`. */
export async function startFuzzNode (t: TestContext, opts: { avroTcp?: boolean, extra?: string[], env?: Record<string, string>, dataDir?: string } = {}): Promise<FuzzNode> {
  const dataDir = opts.dataDir ?? await tempDir(t, 'se-fuzz-')
  const args = ['--http', '127.0.0.1:0', ...(opts.avroTcp === true ? ['--avro-tcp', '127.0.0.1:0'] : []), ...(opts.extra ?? [])]
  const node = await startNode(t, dataDir, args, { SE_TOKENS: `fuzzer:${TOKEN}`, SE_EXECUTE_ALLOW: 'echo', ...opts.env })
  const http = Number(await waitFor('the http line', async () => /http: http:\/\/[^:\s]+:(\d+)/.exec(node.stderr())?.[1]))
  const avroTcp = opts.avroTcp === true ? Number(await waitFor('the avro line', async () => /avro ipc: tcp:\/\/[^:\s]+:(\d+)/.exec(node.stderr())?.[1])) : null
  return { node, dataDir, pid: node.proc.pid as number, http, avroTcp }
}

/** Measures, batch after batch, how long the node takes to answer; fails a batch after which it did not answer in time. */
export class Responsiveness {
  maxMs = 0
  checks = 0

  constructor (private readonly n: FuzzNode) {}

  async check (after: string): Promise<void> {
    assert.equal(this.n.node.proc.exitCode, null, `the node died after ${after}:\n${this.n.node.stderr().slice(-3000)}`)
    let began = Date.now()
    const res = await fetch(`http://127.0.0.1:${this.n.http}/health/live`, { signal: AbortSignal.timeout(5000) }).catch(async (err: Error) => {
      await sleep(300)
      return assert.fail(`/health/live did not answer after ${after} (${err.message}); node exit code ${String(this.n.node.proc.exitCode)}:\n${this.n.node.stderr().slice(-3000)}`)
    })
    await res.text()
    const health = Date.now() - began
    assert.equal(res.status, 200, `/health/live after ${after}`)
    began = Date.now()
    const workflows = await withClient(this.n.dataDir, async c => await c.api.listWorkflows([]))
    const status = Date.now() - began
    assert.ok(Array.isArray(workflows), `a status call over the Unix socket after ${after}`)
    this.maxMs = Math.max(this.maxMs, health, status)
    this.checks++
    assert.ok(health <= ANSWER_WITHIN_MS, `/health/live took ${health} ms after ${after}`)
    assert.ok(status <= ANSWER_WITHIN_MS, `a status call took ${status} ms after ${after}`)
  }
}

export function openFds (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** File descriptors the node may hold beyond its count before the fuzzing: timers, a lazily opened file. */
const FD_SLACK = 4

/** Rejections counted on /metrics, by `port/reason`. */
export async function rejections (n: FuzzNode): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${n.http}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()
  const family = parsePrometheus(text).get('se_rejected_connections_total')
  assert.ok(family !== undefined, '/metrics has se_rejected_connections_total')
  assert.equal(family.type, 'counter')
  return new Map(family.samples.map(s => [`${s.labels.port}/${s.labels.reason}`, s.value]))
}

/**
 * The end of a run: the node alive, `se status` and `se audit --verify` fine, and its file
 * descriptors back to what it held before (connections closed by both sides take a moment).
 */
export async function finalChecks (t: TestContext, n: FuzzNode, fdsBefore: number, probe: Responsiveness, inputs: Record<string, number>): Promise<void> {
  await probe.check('the whole run')
  const fdsAfter = await waitFor('the node to let go of the fuzzers\' connections', async () => {
    const now = openFds(n.pid)
    return now <= fdsBefore + FD_SLACK ? now : undefined
  }, 20_000).catch(() => openFds(n.pid))
  const status = await se(['status', '--json'], { dataDir: n.dataDir })
  assert.equal(status.code, 0, status.stderr)
  assert.ok(Array.isArray(json(status)))
  const verify = await se(['audit', '--verify', '--json'], { dataDir: n.dataDir })
  assert.equal(verify.code, 0, verify.stdout + verify.stderr)
  assert.equal(json(verify).ok, true)
  assert.equal(n.node.proc.exitCode, null, 'the node is still running')
  const summary = `inputs ${JSON.stringify(inputs)}; slowest answer ${probe.maxMs} ms over ${probe.checks} checks; fds before ${fdsBefore}, after ${fdsAfter}`
  t.diagnostic(summary)
  console.log(`# ${summary}`)
  assert.ok(fdsAfter <= fdsBefore + FD_SLACK, `file descriptors: ${fdsBefore} before, ${fdsAfter} after`)
}

export { sleep }
