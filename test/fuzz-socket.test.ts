// Fuzzing the Unix socket of a real `se node start`, where the CLI and the
// dashboard talk to their node: random bytes, hostile length prefixes, frames of
// garbage, truncations and mutations of the frames a real `se` sent, clients that
// stop halfway through a frame, and more connections than the socket takes.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { se, tempDir } from './helpers/cli.js'
import { HOSTILE_INTS, Responsiveness, Rng, finalChecks, fuzzRounds, fuzzSeed, inParallel, int32be, mutate, openFds, rejections, startFuzzNode, type FuzzNode } from './helpers/fuzz.js'
import { play, recordingProxy, type Plan } from './helpers/fuzz-net.js'
import { FrameDecoder, encodeFrame } from '../core/rpc/framing.js'

const FRAME_TIMEOUT_MS = 2000
const MAX_CONNECTIONS = 32
const ENV = { SE_FRAME_TIMEOUT_MS: String(FRAME_TIMEOUT_MS), SE_MAX_CONNECTIONS: String(MAX_CONNECTIONS) }

/** The frames real `se` commands send, captured through a socket of their own in a data dir of their own. */
async function captureCli (t: TestContext, n: FuzzNode): Promise<Buffer[]> {
  const fake = await tempDir(t, 'se-fuzz-cli-')
  const proxy = await recordingProxy(t, { path: path.join(n.dataDir, 'se.sock') }, { path: path.join(fake, 'se.sock') })
  for (const args of [['status', '--json'], ['nodes', '--json'], ['capabilities', '--json'], ['audit', '--limit', '3', '--json']]) {
    const r = await se(args, { dataDir: fake })
    assert.equal(r.code, 0, `se ${args.join(' ')} through the recording socket: ${r.stderr}`)
  }
  await proxy.close()
  const frames: Buffer[] = []
  for (const sent of proxy.sent) frames.push(...new FrameDecoder(1 << 20).push(sent).map(p => Buffer.from(encodeFrame(p))))
  assert.ok(frames.length >= 4, `captured ${frames.length} frames from the CLI`)
  return frames
}

interface Input { kind: string, plan: Plan }

function corpus (rng: Rng, count: number, frames: Buffer[]): Input[] {
  const inputs: Input[] = []
  const then = (): Plan['then'] => rng.pick(['close', 'end', 'hold'] as const)
  for (let i = 0; i < count; i++) {
    const kind = rng.pick(['random', 'length-prefix', 'garbage-frames', 'truncated', 'mutated', 'mutated', 'valid-then-mutated'])
    switch (kind) {
      case 'random':
        inputs.push({ kind, plan: { steps: [rng.bytes(1 + rng.int(3000))], then: then(), waitMs: 400 } })
        break
      case 'length-prefix':
        inputs.push({ kind, plan: { steps: [int32be(rng.pick(HOSTILE_INTS)), rng.bytes(rng.int(200))], then: then(), waitMs: 400 } })
        break
      case 'garbage-frames':
        // Undecodable frames, each answered with BAD_FRAME until the connection has sent too many.
        inputs.push({ kind, plan: { steps: [Buffer.concat(Array.from({ length: 1 + rng.int(24) }, () => Buffer.from(encodeFrame(rng.bytes(1 + rng.int(64))))))], then: then(), waitMs: 400 } })
        break
      case 'truncated': {
        const f = rng.pick(frames)
        inputs.push({ kind, plan: { steps: [f.subarray(0, 1 + rng.int(f.length - 1))], then: rng.pick(['close', 'end'] as const), waitMs: 400 } })
        break
      }
      case 'mutated':
        inputs.push({ kind, plan: { steps: [mutate(rng, rng.pick(frames))], then: then(), waitMs: 400 } })
        break
      default:
        inputs.push({ kind, plan: { steps: [rng.pick(frames), 10, mutate(rng, rng.pick(frames))], then: then(), waitMs: 400 } })
    }
  }
  return inputs
}

test('the Unix socket survives garbage, hostile lengths, mutated CLI frames, stalled frames and a connection flood', async t => {
  const seed = fuzzSeed(t, 'socket')
  const rng = new Rng(seed)
  const n = await startFuzzNode(t, { env: ENV })
  const probe = new Responsiveness(n)
  await probe.check('start')
  const fdsBefore = openFds(n.pid)
  const frames = await captureCli(t, n)
  const target = { path: path.join(n.dataDir, 'se.sock') }
  const counts: Record<string, number> = {}

  // A frame announcing 2 GiB is refused before a byte of it is buffered.
  const huge = await play(target, { steps: [int32be(0x7fffffff), Buffer.alloc(1000)], then: 'hold', waitMs: 2000 })
  assert.ok(huge.closedByNode && huge.ms < 1000, 'a 2 GiB length prefix closes the connection at once')
  assert.match(huge.reply.toString('latin1'), /FRAME_TOO_LARGE/)
  counts.known = 1

  const inputs = corpus(rng, fuzzRounds(300), frames)
  for (let b = 0; b < inputs.length; b += 50) {
    const batch = inputs.slice(b, b + 50)
    await inParallel(batch, 8, async input => {
      counts[input.kind] = (counts[input.kind] ?? 0) + 1
      const out = await play(target, input.plan)
      assert.doesNotMatch(out.reply.toString('latin1'), /node_modules|\n\s+at .*\(/, `no stack trace in an answer to ${input.kind}`)
    })
    await probe.check(`batch ${b / 50 + 1}`)
  }

  // Clients that begin a frame and stop: cut at the frame deadline, while others are served.
  const stalled = Promise.all(Array.from({ length: 3 }, async () => await play(target, { steps: [int32be(400), Buffer.from('partial'), 700, Buffer.from('x'), 700, Buffer.from('y')], then: 'hold', waitMs: FRAME_TIMEOUT_MS + 4000 })))
  await probe.check('stalled frames')
  for (const s of await stalled) assert.ok(s.closedByNode && s.ms < FRAME_TIMEOUT_MS + 1500, `a stalled frame is cut (${s.ms} ms)`)
  counts.stalled = 3

  // More connections than the socket takes: the rest are closed on arrival.
  const flood = await Promise.all(Array.from({ length: MAX_CONNECTIONS + 12 }, async () => await play(target, { steps: [], then: 'hold', waitMs: 1500 })))
  const refused = flood.filter(o => o.closedByNode).length
  assert.ok(refused >= 12, `${refused} connections past the cap were closed on arrival`)
  counts.flood = flood.length
  await probe.check('a connection flood')

  const rejected = await rejections(n)
  t.diagnostic(`se_rejected_connections_total: ${JSON.stringify(Object.fromEntries(rejected))}`)
  for (const key of ['unix/frame_too_large', 'unix/bad_frame', 'unix/frame_timeout', 'unix/too_many_connections']) {
    assert.ok((rejected.get(key) ?? 0) > 0, `${key} is counted`)
  }
  await finalChecks(t, n, fdsBefore, probe, counts)
})
