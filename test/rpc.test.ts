// Framing and the RPC peer: over an in-memory connection pair, then over a real
// Unix socket with the Node adapter.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { connectUnix, listenUnix } from '../adapters/node/unix-socket.js'
import { SeError } from '../core/errors.js'
import type { Connection } from '../core/ports.js'
import { FrameDecoder, encodeFrame } from '../core/rpc/framing.js'
import { handlersFor, nodeClient } from '../core/rpc/node-api.js'
import { RpcPeer, type Handler, type RpcPeerOptions } from '../core/rpc/peer.js'
import type { NodeApi, NodeInfo, WorkflowEvent, WorkflowStatus } from '../core/protocol/types.js'
import { connectionPair } from './helpers/memory-connection.js'
import { defer, delay, eventually, makeTempDir } from './helpers/tmp.js'

// --- framing ------------------------------------------------------------------

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)
/** Avro decodes records as class instances; compare their data. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

test('encodeFrame prefixes a 4-byte big-endian length', () => {
  assert.deepEqual([...encodeFrame(text('abc'))], [0, 0, 0, 3, 97, 98, 99])
  assert.deepEqual([...encodeFrame(new Uint8Array(0))], [0, 0, 0, 0])
  assert.deepEqual([...encodeFrame(new Uint8Array(258)).subarray(0, 4)], [0, 0, 1, 2])
})

test('FrameDecoder: merged frames in one chunk come out one by one', () => {
  const d = new FrameDecoder(1024)
  const merged = Buffer.concat([encodeFrame(text('one')), encodeFrame(new Uint8Array(0)), encodeFrame(text('three'))])
  assert.deepEqual(d.push(merged).map(str), ['one', '', 'three'])
  assert.deepEqual(d.push(new Uint8Array(0)), [])
})

test('FrameDecoder: frames split at every possible point reassemble', () => {
  const payloads = ['alpha', 'b', '', 'a somewhat longer payload '.repeat(20)]
  const stream = Buffer.concat(payloads.map(p => encodeFrame(text(p))))
  for (let cut = 0; cut <= stream.byteLength; cut++) {
    const d = new FrameDecoder(4096)
    const out = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))].map(str)
    assert.deepEqual(out, payloads, `cut at ${cut}`)
  }
})

test('FrameDecoder: one byte at a time', () => {
  const payloads = ['x', 'hello world', '']
  const stream = Buffer.concat(payloads.map(p => encodeFrame(text(p))))
  const d = new FrameDecoder(64)
  const out: string[] = []
  for (const b of stream) out.push(...d.push(bytes(b)).map(str))
  assert.deepEqual(out, payloads)
})

test('FrameDecoder: a frame at the limit passes; one byte over throws FRAME_TOO_LARGE from its header alone', () => {
  const d = new FrameDecoder(16)
  assert.equal(d.push(encodeFrame(new Uint8Array(16)))[0]?.byteLength, 16)
  const big = new FrameDecoder(16)
  // Only the 4-byte header of a 17-byte frame: refused before any body is buffered.
  assert.throws(() => big.push(bytes(0, 0, 0, 17)), (err: SeError) => err instanceof SeError && err.code === 'FRAME_TOO_LARGE' && /17 bytes exceeds the limit of 16/.test(err.message))
  const huge = new FrameDecoder(8 * 1024 * 1024)
  assert.throws(() => huge.push(bytes(0xff, 0xff, 0xff, 0xff)), (err: SeError) => err.code === 'FRAME_TOO_LARGE')
})

test('FrameDecoder: a header split across chunks is still checked', () => {
  const d = new FrameDecoder(100)
  assert.deepEqual(d.push(bytes(0, 1)), [])
  assert.throws(() => d.push(bytes(0, 0)), (err: SeError) => err.code === 'FRAME_TOO_LARGE')
})

// --- RpcPeer over an in-memory pair -------------------------------------------

function nodeInfo (name = 'n1'): NodeInfo {
  return { nodeId: 'ab'.repeat(32), name, version: '0.1.0', dataDir: '/tmp/x', pid: 42, startedAt: 1000, workflowsRunning: 0, workflowsWaiting: 0, mesh: null }
}

function workflowStatus (id: string, state = 'running', stdout = ''): WorkflowStatus {
  return {
    id, name: 'DEMO', state, source: 'demo.yaml', node: 'n1', requestedBy: 'me', createdAt: 1, startedAt: 2, endedAt: null,
    currentStep: 'a', error: null, inputs: { k: 'v' },
    steps: [{ id: 'a', kind: 'run', state, attempts: 1, exitCode: null, node: 'n1', startedAt: 2, endedAt: null, durationMs: null, stdout, stderr: '', error: null, choice: null, comment: null, step: '', needs: [], instance: {}, outputs: {}, artifacts: [], uses: [], retryAt: null }],
    intervention: null, interventions: []
  }
}

interface Pair {
  client: RpcPeer
  server: RpcPeer
  clientConn: Connection
  serverConn: Connection
  clientErrors: SeError[]
  serverErrors: SeError[]
}

function rpcPair (t: TestContext, handlers: Map<string, Handler>, opts: { chunkSize?: number, plainBytes?: boolean, server?: RpcPeerOptions, client?: RpcPeerOptions } = {}): Pair {
  const [clientConn, serverConn] = connectionPair({ chunkSize: opts.chunkSize, plainBytes: opts.plainBytes, labels: ['client', 'server'] })
  const clientErrors: SeError[] = []
  const serverErrors: SeError[] = []
  const server = new RpcPeer(serverConn, { handlers, onProtocolError: e => serverErrors.push(e), ...opts.server })
  const client = new RpcPeer(clientConn, { onProtocolError: e => clientErrors.push(e), ...opts.client })
  defer(t, () => { client.close(); server.close() })
  return { client, server, clientConn, serverConn, clientErrors, serverErrors }
}

function basicHandlers (): Map<string, Handler> {
  return new Map<string, Handler>([
    ['ping', async () => nodeInfo()],
    ['getWorkflowStatus', async (req) => {
      const id = req.workflowId as string
      // Later requests answer sooner, so replies arrive out of order.
      await delay(Number(id.split('-')[1] ?? 0) % 5 === 0 ? 20 : 1)
      if (id === 'missing') throw SeError.unknownWorkflow(id)
      return workflowStatus(id)
    }]
  ])
}

test('a call gets its reply', async (t) => {
  const { client } = rpcPair(t, basicHandlers())
  assert.deepEqual(plain(await client.call('ping', {})), nodeInfo())
})

test('a transport delivering plain Uint8Arrays (all the Connection port promises) works', async (t) => {
  const { client, serverErrors, clientErrors } = rpcPair(t, basicHandlers(), { plainBytes: true, client: { timeoutMs: 2000 } })
  try {
    assert.deepEqual(plain(await client.call('ping', {})), nodeInfo())
  } finally {
    assert.deepEqual([...serverErrors, ...clientErrors].map(e => e.message), [], 'no protocol errors')
  }
})

test('many concurrent calls each get their own reply, out of order', async (t) => {
  const { client } = rpcPair(t, basicHandlers(), { chunkSize: 7 })
  const ids = Array.from({ length: 40 }, (_, i) => `wf-${i}`)
  const replies = await Promise.all(ids.map(id => client.call('getWorkflowStatus', { workflowId: id })))
  assert.deepEqual(replies.map(r => (r as WorkflowStatus).id), ids)
  assert.deepEqual(plain((replies[3] as WorkflowStatus).inputs), { k: 'v' })
  assert.deepEqual(plain(replies[3]), workflowStatus('wf-3'))
})

test('both ends may call each other over one connection', async (t) => {
  const [a, b] = connectionPair()
  const left = new RpcPeer(a, { handlers: new Map<string, Handler>([['ping', async () => nodeInfo('left')]]) })
  const right = new RpcPeer(b, { handlers: new Map<string, Handler>([['ping', async () => nodeInfo('right')]]) })
  defer(t, () => { left.close(); right.close() })
  const [fromRight, fromLeft] = await Promise.all([left.call('ping', {}), right.call('ping', {})])
  assert.equal(fromRight.name, 'right')
  assert.equal(fromLeft.name, 'left')
})

test('a handler error arrives as an SeError with its code, hint and details', async (t) => {
  const handlers = new Map<string, Handler>([
    ['getWorkflowStatus', async () => { throw SeError.validation('workflow x.yaml', [{ file: 'x.yaml', path: 'steps[2].run.timeoutSec', line: 9, message: 'bad' }, { message: 'bare' }]) }],
    ['ping', async () => { throw new SeError('NOT_WAITING', 'not now', { hint: 'try later' }) }],
    ['verifyAudit', async () => { throw new TypeError('boom') }]
  ])
  const { client } = rpcPair(t, handlers)
  await assert.rejects(client.call('getWorkflowStatus', { workflowId: 'x' }), (err: unknown) => {
    assert.ok(err instanceof SeError)
    assert.equal(err.code, 'VALIDATION_FAILED')
    assert.equal(err.reason, 'workflow x.yaml is invalid (2 problems)')
    assert.deepEqual(err.details, [{ file: 'x.yaml', path: 'steps[2].run.timeoutSec', line: 9, message: 'bad' }, { message: 'bare' }])
    return true
  })
  await assert.rejects(client.call('ping', {}), (err: SeError) => err instanceof SeError && err.code === 'NOT_WAITING' && err.hint === 'try later' && err.reason === 'not now')
  await assert.rejects(client.call('verifyAudit', {}), (err: SeError) => err.code === 'INTERNAL' && /boom/.test(err.message))
  // The connection is still good afterwards.
  await assert.rejects(client.call('ping', {}), (err: SeError) => err.code === 'NOT_WAITING')
})

test('a message the protocol lacks is refused locally with UNKNOWN_MESSAGE', async (t) => {
  const { client, clientConn } = rpcPair(t, basicHandlers())
  const before = (clientConn as unknown as { bytesWritten: number }).bytesWritten
  await assert.rejects(client.call('noSuchMessage', {}), (err: SeError) => err.code === 'UNKNOWN_MESSAGE')
  assert.equal((clientConn as unknown as { bytesWritten: number }).bytesWritten, before, 'nothing was sent')
})

test('a message the other end has no handler for is answered with UNKNOWN_MESSAGE', async (t) => {
  const { client } = rpcPair(t, basicHandlers())
  await assert.rejects(client.call('listCatalogue', {}), (err: SeError) => err instanceof SeError && err.code === 'UNKNOWN_MESSAGE' && /listCatalogue/.test(err.message))
  assert.equal((await client.call('ping', {})).name, 'n1')
})

test('a request that does not fit its schema is refused with BAD_REQUEST', async (t) => {
  const { client } = rpcPair(t, basicHandlers())
  await assert.rejects(client.call('getWorkflowStatus', { workflowId: 42 }), (err: SeError) => err.code === 'BAD_REQUEST')
})

test('a call with no reply in time fails with TIMEOUT and the handler is told to cancel', async (t) => {
  let cancelled = false
  const handlers = new Map<string, Handler>([
    ['getWorkflowStatus', (_req, ctx) => new Promise(() => { ctx.onCancel(() => { cancelled = true }) })],
    ['ping', async () => nodeInfo()]
  ])
  const { client } = rpcPair(t, handlers)
  const started = Date.now()
  await assert.rejects(client.call('getWorkflowStatus', { workflowId: 'slow' }, { timeoutMs: 60 }), (err: SeError) => err.code === 'TIMEOUT' && /getWorkflowStatus/.test(err.message))
  assert.ok(Date.now() - started >= 55, 'waited about the timeout')
  await eventually('the server to see the cancel', () => cancelled)
  assert.equal((await client.call('ping', {})).name, 'n1')
})

test('the peer-wide timeout applies when a call gives none', async (t) => {
  const handlers = new Map<string, Handler>([['ping', () => new Promise(() => {})]])
  const { client } = rpcPair(t, handlers, { client: { timeoutMs: 40 } })
  await assert.rejects(client.call('ping', {}), (err: SeError) => err.code === 'TIMEOUT')
})

test('a streaming call delivers its events before its reply', async (t) => {
  const handlers = new Map<string, Handler>([
    ['watchWorkflow', async (req, ctx) => {
      const id = req.workflowId as string
      for (let i = 0; i < 3; i++) {
        ctx.emit({ workflowId: id, kind: 'STEP', state: 'running', stepId: `s${i}`, text: `step ${i}`, at: 100 + i } satisfies WorkflowEvent)
        await delay(1)
      }
      ctx.emit({ workflowId: id, kind: 'WORKFLOW', state: 'completed', stepId: null, text: 'done', at: 200 } satisfies WorkflowEvent)
      return workflowStatus(id, 'completed')
    }]
  ])
  const { client } = rpcPair(t, handlers, { chunkSize: 5 })
  const events: WorkflowEvent[] = []
  const status = await client.call('watchWorkflow', { workflowId: 'w1' }, { onEvent: e => events.push(e) })
  assert.equal(status.state, 'completed')
  assert.deepEqual(events.map(e => e.text), ['step 0', 'step 1', 'step 2', 'done'])
  assert.equal(events[0]?.kind, 'STEP')
  assert.equal(events[3]?.stepId, null)
})

test('handlersFor/nodeClient: a watch listener returning false cancels the stream on both ends', async (t) => {
  let serverCancelled = false
  let emitted = 0
  const api: Partial<NodeApi> = {
    ping: async () => nodeInfo('api'),
    watchWorkflow: async (workflowId, onEvent) => {
      for (let i = 0; i < 50 && !serverCancelled; i++) {
        onEvent({ workflowId, kind: 'OUTPUT', state: 'stdout', stepId: 'a', text: `line ${i}`, at: i })
        emitted++
        await delay(2)
      }
      return workflowStatus(workflowId, 'completed')
    }
  }
  const handlers = handlersFor(api as NodeApi)
  assert.deepEqual([...handlers.keys()].sort(), ['ping', 'watchWorkflow'])
  // Observe the cancel through the handler context.
  const watch = handlers.get('watchWorkflow') as Handler
  handlers.set('watchWorkflow', (req, ctx) => { ctx.onCancel(() => { serverCancelled = true }); return watch(req, ctx) })
  const { client } = rpcPair(t, handlers)
  const remote = nodeClient(client)
  assert.equal((await remote.ping()).name, 'api')
  const seen: string[] = []
  await assert.rejects(remote.watchWorkflow('w9', e => { seen.push(e.text); return seen.length < 3 }), (err: SeError) => err.code === 'CANCELLED')
  assert.deepEqual(seen, ['line 0', 'line 1', 'line 2'])
  await eventually('the server handler to be cancelled', () => serverCancelled)
  assert.ok(emitted < 50, `the handler stopped early (emitted ${emitted})`)
})

test('handlersFor: a streaming handler learns when its client goes away, so a watch does not outlive it', async (t) => {
  let released = false
  const api: Partial<NodeApi> = {
    // Like a watch of a workflow waiting for a person: nothing to send for a long time.
    watchWorkflow: async (workflowId, _onEvent, onCancel?: (listener: () => void) => void) => await new Promise(resolve => {
      onCancel?.(() => { released = true; resolve(workflowStatus(workflowId, 'waiting_intervention')) })
    })
  }
  const { client } = rpcPair(t, handlersFor(api as NodeApi))
  const watching = nodeClient(client).watchWorkflow('w1', () => {})
  await delay(20)
  assert.equal(released, false)
  client.close()
  await assert.rejects(watching, (err: SeError) => err.code === 'CONNECTION_CLOSED')
  await eventually('the server side to release the watch', () => released)
})

test('a garbled frame is a BAD_FRAME protocol error on the receiving side; later calls still work', async (t) => {
  const { client, clientConn, serverErrors, clientErrors } = rpcPair(t, basicHandlers())
  // Valid length prefixes, bodies that are not Frame records: all 0xff (a varint that never ends),
  // an out-of-range enum index, and random bytes whose first byte makes the kind index invalid.
  const garbage = [
    new Uint8Array(12).fill(0xff),
    bytes(0x02, 0x7e, 0x00, 0x00),
    Buffer.concat([bytes(0x02, 0x40), randomBytes(30)])
  ]
  for (const g of garbage) clientConn.write(encodeFrame(g))
  await eventually('the server to report three BAD_FRAME errors', () => serverErrors.length >= 3)
  assert.deepEqual(serverErrors.map(e => e.code), ['BAD_FRAME', 'BAD_FRAME', 'BAD_FRAME'])
  assert.match(serverErrors[0]?.message ?? '', /12-byte frame from server is not a protocol frame/)
  // The server says why to the sender, which hears it as a protocol error of its own.
  await eventually('the client to hear of them', () => clientErrors.length >= 3)
  assert.ok(clientErrors.every(e => e.code === 'BAD_FRAME'), JSON.stringify(clientErrors.map(e => e.message)))
  assert.equal((await client.call('ping', {})).name, 'n1')
  const many = await Promise.all([1, 2, 3].map(i => client.call('getWorkflowStatus', { workflowId: `wf-${i}` })))
  assert.deepEqual(many.map(s => s.id), ['wf-1', 'wf-2', 'wf-3'])
})

test('a garbled frame in the middle of a chunk does not disturb the frames around it', async (t) => {
  const { client, clientConn, serverErrors } = rpcPair(t, basicHandlers())
  const pending = client.call('ping', {})
  clientConn.write(encodeFrame(new Uint8Array(8).fill(0xff)))
  const second = client.call('getWorkflowStatus', { workflowId: 'wf-7' })
  assert.equal((await pending).name, 'n1')
  assert.equal((await second).id, 'wf-7')
  assert.equal(serverErrors.length, 1)
})

test('an oversized length prefix closes that connection only', async (t) => {
  const handlers = basicHandlers()
  const bad = rpcPair(t, handlers)
  const good = rpcPair(t, handlers)
  let closed = false
  bad.client.onClose(() => { closed = true })
  // A call in flight on the bad connection fails when it closes.
  const inflight = bad.client.call('getWorkflowStatus', { workflowId: 'wf-5' })
  bad.clientConn.write(bytes(0x7f, 0xff, 0xff, 0xff))
  await assert.rejects(inflight, (err: SeError) => err.code === 'CONNECTION_CLOSED')
  await eventually('the bad connection to close', () => closed && bad.server.isClosed)
  assert.deepEqual(bad.serverErrors.map(e => e.code), ['FRAME_TOO_LARGE'])
  assert.ok(bad.clientErrors.some(e => e.code === 'FRAME_TOO_LARGE'), 'the sender is told why before the close')
  await assert.rejects(bad.client.call('ping', {}), (err: SeError) => err.code === 'CONNECTION_CLOSED')
  // The other connection to the same handlers is unaffected.
  assert.equal((await good.client.call('ping', {})).name, 'n1')
  assert.equal(good.server.isClosed, false)
})

test('closing rejects pending calls with CONNECTION_CLOSED and cancels the handlers being served', async (t) => {
  let cancelled = 0
  const handlers = new Map<string, Handler>([['ping', (_r, ctx) => new Promise(() => { ctx.onCancel(() => { cancelled++ }) })]])
  const { client, server } = rpcPair(t, handlers)
  const calls = [client.call('ping', {}), client.call('ping', {})]
  await eventually('both calls to reach the server', () => (server as unknown as { serving: Map<number, unknown> }).serving.size === 2)
  let closeHeard = false
  server.onClose(() => { closeHeard = true })
  client.close()
  for (const c of calls) await assert.rejects(c, (err: SeError) => err.code === 'CONNECTION_CLOSED')
  await eventually('the server side to close and cancel its handlers', () => closeHeard && cancelled === 2)
  let lateListener = false
  client.onClose(() => { lateListener = true })
  assert.equal(lateListener, true, 'onClose after the close fires at once')
})

test('a handler learns why its call ended (cancelled, or its connection gone), even when it listens only after that', async (t) => {
  const heard: string[] = []
  let release = (): void => {}
  const late = new Promise<void>(resolve => { release = resolve })
  const handlers = new Map<string, Handler>([
    ['getWorkflowStatus', (_req, ctx) => new Promise(() => { ctx.onCancel(why => { heard.push(`early ${why}`) }) })],
    // Awaits something first, as a handler that checks a policy or reads a file does, then listens.
    ['ping', async (_req, ctx) => { await late; ctx.onCancel(why => { heard.push(`late ${why}`) }); return await new Promise(() => {}) }]
  ])
  const { client, server } = rpcPair(t, handlers)
  await assert.rejects(client.call('getWorkflowStatus', { workflowId: 'w' }, { timeoutMs: 50 }), (err: SeError) => err.code === 'TIMEOUT')
  await eventually('the cancel to be heard', () => heard.includes('early cancelled'))
  const pending = client.call('ping', {}).catch(() => {})
  await eventually('the call to reach the server', () => (server as unknown as { serving: Map<number, unknown> }).serving.size === 1)
  client.close()
  await pending
  await eventually('the server side to close', () => server.isClosed)
  release()
  await eventually('the late listener to hear it', () => heard.includes('late gone'))
  assert.deepEqual(heard, ['early cancelled', 'late gone'])
})

test('a handler whose reply does not fit the schema fails the call rather than leaving it hanging', async (t) => {
  const handlers = new Map<string, Handler>([['ping', async () => ({ name: 'missing every other field' })]])
  const { client } = rpcPair(t, handlers)
  await assert.rejects(client.call('ping', {}, { timeoutMs: 1000 }), (err: SeError) => {
    assert.ok(err instanceof SeError)
    assert.notEqual(err.code, 'TIMEOUT', 'the caller got no answer at all and waited for its timeout')
    return true
  })
})

// --- over a real Unix socket ----------------------------------------------------

async function unixServer (t: TestContext, handlers: Map<string, Handler>): Promise<{ socketPath: string, servers: RpcPeer[], errors: SeError[] }> {
  const dir = await makeTempDir(t, 'se-rpc-')
  const socketPath = path.join(dir, 'node.sock')
  const servers: RpcPeer[] = []
  const errors: SeError[] = []
  const server = await listenUnix(socketPath, conn => { servers.push(new RpcPeer(conn, { handlers, onProtocolError: e => errors.push(e) })) })
  defer(t, () => server.close())
  return { socketPath, servers, errors }
}

async function unixClient (t: TestContext, socketPath: string, opts: RpcPeerOptions = {}): Promise<{ peer: RpcPeer, conn: Connection }> {
  const conn = await connectUnix(socketPath)
  const peer = new RpcPeer(conn, opts)
  defer(t, () => peer.close())
  return { peer, conn }
}

test('unix socket: calls, concurrency, errors and large replies', async (t) => {
  const big = 'x'.repeat(2 * 1024 * 1024)
  const handlers = basicHandlers()
  handlers.set('listWorkflows', async () => [workflowStatus('big', 'completed', big)])
  const { socketPath } = await unixServer(t, handlers)
  const mode = (await stat(socketPath)).mode & 0o777
  assert.equal(mode, 0o600, 'the socket is for its owner only')
  const { peer } = await unixClient(t, socketPath)
  assert.deepEqual(plain(await peer.call('ping', {})), nodeInfo())
  const ids = Array.from({ length: 25 }, (_, i) => `wf-${i}`)
  assert.deepEqual((await Promise.all(ids.map(id => peer.call('getWorkflowStatus', { workflowId: id })))).map(s => s.id), ids)
  await assert.rejects(peer.call('getWorkflowStatus', { workflowId: 'missing' }), (err: SeError) => err.code === 'UNKNOWN_WORKFLOW' && err.hint !== undefined)
  const list = await peer.call('listWorkflows', { states: [] })
  assert.equal(list[0].steps[0].stdout.length, big.length)
})

test('unix socket: streaming events', async (t) => {
  const api: Partial<NodeApi> = {
    watchWorkflow: async (workflowId, onEvent) => {
      for (let i = 0; i < 5; i++) onEvent({ workflowId, kind: 'OUTPUT', state: 'stdout', stepId: 'a', text: `out ${i}`, at: i })
      return workflowStatus(workflowId, 'completed')
    }
  }
  const { socketPath } = await unixServer(t, handlersFor(api as NodeApi))
  const { peer } = await unixClient(t, socketPath)
  const seen: string[] = []
  const status = await nodeClient(peer).watchWorkflow('w', e => { seen.push(e.text) })
  assert.equal(status.state, 'completed')
  assert.deepEqual(seen, ['out 0', 'out 1', 'out 2', 'out 3', 'out 4'])
})

test('unix socket: garbage from one client closes that client only', async (t) => {
  const { socketPath, errors } = await unixServer(t, basicHandlers())
  const victim = await unixClient(t, socketPath)
  const bystander = await unixClient(t, socketPath)
  assert.equal((await victim.peer.call('ping', {})).name, 'n1')
  // A garbled frame first: reported, connection kept.
  victim.conn.write(encodeFrame(new Uint8Array(10).fill(0xff)))
  assert.equal((await victim.peer.call('ping', {})).name, 'n1')
  assert.deepEqual(errors.map(e => e.code), ['BAD_FRAME'])
  // Then a length over the limit: that connection is dropped.
  let closed = false
  victim.peer.onClose(() => { closed = true })
  victim.conn.write(bytes(0xff, 0xff, 0xff, 0xff))
  await eventually('the server to drop the victim', () => closed)
  assert.deepEqual(errors.map(e => e.code), ['BAD_FRAME', 'FRAME_TOO_LARGE'])
  await assert.rejects(victim.peer.call('ping', {}), (err: SeError) => err.code === 'CONNECTION_CLOSED')
  assert.equal((await bystander.peer.call('ping', {})).name, 'n1')
  // And new clients are still served.
  const later = await unixClient(t, socketPath)
  assert.equal((await later.peer.call('ping', {})).name, 'n1')
})

test('unix socket: no node there is NO_NODE; a live socket is NODE_RUNNING; a stale file is replaced', async (t) => {
  const dir = await makeTempDir(t, 'se-rpc-')
  const missing = path.join(dir, 'none.sock')
  await assert.rejects(connectUnix(missing), (err: SeError) => err.code === 'NO_NODE' && /no node is running/.test(err.message))
  const { socketPath } = await unixServer(t, basicHandlers())
  await assert.rejects(listenUnix(socketPath, () => {}), (err: SeError) => err.code === 'NODE_RUNNING')
  // A plain file where the socket should be (left by a dead node) is removed and replaced.
  const stale = path.join(dir, 'stale.sock')
  await writeFile(stale, '')
  await assert.rejects(connectUnix(stale), (err: SeError) => err.code === 'NO_NODE')
  const server = await listenUnix(stale, conn => { void new RpcPeer(conn, { handlers: basicHandlers() }) })
  defer(t, () => server.close())
  const { peer } = await unixClient(t, stale)
  assert.equal((await peer.call('ping', {})).name, 'n1')
})

test('unix socket: closing the server closes its clients', async (t) => {
  const dir = await makeTempDir(t, 'se-rpc-')
  const socketPath = path.join(dir, 'n.sock')
  const server = await listenUnix(socketPath, conn => { void new RpcPeer(conn, { handlers: new Map<string, Handler>([['ping', () => new Promise(() => {})]]) }) })
  const { peer } = await unixClient(t, socketPath)
  const pending = peer.call('ping', {})
  await delay(20)
  await server.close()
  await assert.rejects(pending, (err: SeError) => err.code === 'CONNECTION_CLOSED')
})
