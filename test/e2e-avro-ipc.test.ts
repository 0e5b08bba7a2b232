// Avro IPC to the specification: generic clients built only from `se protocol --avpr`
// (avsc's, and Python's avro package) call a real node over HTTP and TCP.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { writeFile } from 'node:fs/promises'
import avro from 'avsc'
import { execa } from 'execa'
import { REPO, se, startNode, tempDir, waitFor } from './helpers/cli.js'

const TOKEN = 'c'.repeat(40)
const PYTHON = '/usr/bin/python3'
const WORKFLOW = 'name: ipc-demo\nsteps:\n  - id: hello\n    run: { command: echo, args: [hello over avro] }\n'

interface Endpoints { tcp: number, http: number, dataDir: string, avpr: string, stderr: () => string }

async function ipcNode (t: any): Promise<Endpoints> {
  const dataDir = await tempDir(t)
  const node = await startNode(t, dataDir, ['--http', '0', '--avro-tcp', '127.0.0.1:0'], { SE_TOKENS: `carol:${TOKEN}`, SE_EXECUTE_ALLOW: 'echo' })
  const tcp = Number(await waitFor('the avro line', async () => /avro ipc: tcp:\/\/[^:]+:(\d+)/.exec(node.stderr())?.[1]))
  const httpPort = Number(/http: http:\/\/[^:]+:(\d+)/.exec(node.stderr())?.[1])
  const printed = await se(['protocol', '--avpr'], { dataDir })
  assert.equal(printed.code, 0)
  return { tcp, http: httpPort, dataDir, avpr: printed.stdout, stderr: node.stderr }
}

type Call = (message: string, request: Record<string, unknown>) => Promise<any>

/** A generic avsc client: nothing of SE's code, only the protocol text. */
function genericClient (t: any, avpr: unknown, transport: 'tcp' | 'http', port: number, token: string | null): { call: Call, client: any } {
  const svc = avro.Service.forProtocol(avpr as any)
  const client: any = svc.createClient({ buffering: true, strictTypes: false } as any)
  t.after(() => client.destroyChannels({ noWait: true }))
  if (token !== null) {
    client.use((wreq: any, _wres: any, next: any) => { wreq.headers.authorization = Buffer.from(`Bearer ${token}`); next() })
  }
  if (transport === 'tcp') {
    const socket = net.connect(port, '127.0.0.1')
    t.after(() => socket.destroy())
    client.createChannel(socket)
  } else {
    client.createChannel((cb: any) => http.request({ method: 'POST', host: '127.0.0.1', port, path: '/avro', headers: token === null ? {} : { authorization: `Bearer ${token}` } })
      .on('response', res => cb(null, res)))
  }
  const call: Call = (message, request) => new Promise((resolve, reject) => {
    client.emitMessage(message, request, {}, (err: any, res: any) => err != null ? reject(err) : resolve(res))
  })
  return { call, client }
}

const errorOf = (err: any): { code: string, message: string, hint: string | null } => err

for (const transport of ['tcp', 'http'] as const) {
  test(`a generic client from the .avpr round-trips over ${transport}`, async t => {
    const ep = await ipcNode(t)
    const avpr = JSON.parse(ep.avpr)
    assert.equal(avpr.protocol, 'SENode')
    assert.equal(avpr.messages.runStep, undefined, 'mesh-internal messages are not exported')
    assert.equal(avpr.types.some((x: any) => x.name === 'MeshHello' || x.name === 'StepRequest'), false, 'nor the types only they use')
    const { call } = genericClient(t, avpr, transport, transport === 'tcp' ? ep.tcp : ep.http, TOKEN)
    const info = await call('ping', {})
    assert.equal(info.dataDir, ep.dataDir)
    const started = await call('executeWorkflow', { request: { definition: WORKFLOW, source: 'ipc.yaml', inputs: {}, workdir: ep.dataDir, requestedBy: 'carol via avro' } })
    const done = await waitFor('the workflow', async () => {
      const s = await call('getWorkflowStatus', { workflowId: started.id })
      return s.state === 'completed' ? s : undefined
    })
    assert.equal(done.steps[0].stdout.trim(), 'hello over avro')
    assert.deepEqual((await call('listWorkflows', { states: ['completed'] })).map((w: any) => w.id), [started.id])
    const ran = await call('execute', { command: { command: 'echo', args: ['a; b'], workdir: null, sessionId: null, env: {}, timeoutMs: null } })
    assert.equal(ran.stdout.trim(), 'a; b')
    const refused = await call('execute', { command: { command: 'cat', args: ['/etc/passwd'], workdir: null, sessionId: null, env: {}, timeoutMs: null } }).then(() => null, e => e)
    assert.equal(errorOf(refused).code, 'COMMAND_NOT_ALLOWED')
    const unknown = await call('getWorkflowStatus', { workflowId: 'wf-none' }).then(() => null, e => e)
    assert.equal(errorOf(unknown).code, 'UNKNOWN_WORKFLOW')
    assert.doesNotMatch(JSON.stringify(errorOf(unknown)), /\n\s+at /)
  })
}

test('calls without a valid token are refused on both transports', async t => {
  const ep = await ipcNode(t)
  const avpr = JSON.parse(ep.avpr)
  const none = genericClient(t, avpr, 'tcp', ep.tcp, null)
  assert.equal(errorOf(await none.call('ping', {}).then(() => null, e => e)).code, 'UNAUTHENTICATED')
  const wrong = genericClient(t, avpr, 'tcp', ep.tcp, 'd'.repeat(40))
  const refused = errorOf(await wrong.call('listWorkflows', { states: [] }).then(() => null, e => e))
  assert.equal(refused.code, 'UNAUTHENTICATED')
  assert.match(refused.message, /not valid/)
  const res = await fetch(`http://127.0.0.1:${ep.http}/avro`, { method: 'POST', body: Buffer.alloc(4) })
  assert.equal(res.status, 401)
})

test('a client built from an older compatible protocol still works (handshake resolution)', async t => {
  const ep = await ipcNode(t)
  const current = JSON.parse(ep.avpr)
  const older = JSON.parse(ep.avpr)
  // The older protocol: no workload messages yet, NodeInfo without `mesh`, WorkflowRequest without `requestedBy`.
  for (const m of ['deployWorkload', 'listWorkloads', 'removeWorkload', 'workloadStats']) delete older.messages[m]
  const type = (name: string): any => older.types.find((x: any) => x.name === name)
  type('NodeInfo').fields = type('NodeInfo').fields.filter((f: any) => f.name !== 'mesh')
  type('WorkflowRequest').fields = type('WorkflowRequest').fields.filter((f: any) => f.name !== 'requestedBy')
  const oldSvc = avro.Service.forProtocol(older)
  assert.notEqual(oldSvc.hash.toString('hex'), avro.Service.forProtocol(current).hash.toString('hex'), 'the two protocols hash differently, so the handshake must resolve them')
  for (const transport of ['tcp', 'http'] as const) {
    const { call, client } = genericClient(t, older, transport, transport === 'tcp' ? ep.tcp : ep.http, TOKEN)
    const info = await call('ping', {})
    assert.equal(info.dataDir, ep.dataDir)
    assert.equal('mesh' in info, false, 'fields the old client does not know are dropped by resolution')
    const started = await call('executeWorkflow', { request: { definition: WORKFLOW, source: 'old.yaml', inputs: {}, workdir: ep.dataDir } })
    assert.match(started.id, /^wf-/)
    await waitFor('the workflow', async () => (await call('getWorkflowStatus', { workflowId: started.id })).state === 'completed')
    const remote = Object.values(client.remoteProtocols()) as any[]
    assert.equal(remote.length, 1, 'the server sent its protocol in the handshake')
    assert.ok(remote[0].messages.listWorkloads !== undefined)
  }
})

test('garbled frames get an error and harm nothing else', async t => {
  const ep = await ipcNode(t)
  const { call } = genericClient(t, JSON.parse(ep.avpr), 'tcp', ep.tcp, TOKEN)
  assert.equal((await call('ping', {})).dataDir, ep.dataDir)
  // One Netty frame (serial 1, one buffer of 6 bytes) whose buffer is no handshake.
  const socket = net.connect(ep.tcp, '127.0.0.1')
  t.after(() => socket.destroy())
  await new Promise(resolve => socket.once('connect', resolve))
  let reply = ''
  socket.on('data', d => { reply += d.toString('latin1') })
  socket.write(Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 6, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa]))
  await waitFor('the handshake error', async () => /invalid handshake request/.test(reply), 5000)
  const httpBad = await fetch(`http://127.0.0.1:${ep.http}/avro`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: Buffer.from('not avro at all') })
  assert.equal(httpBad.status, 400)
  assert.equal((await httpBad.json()).error.code, 'BAD_FRAME')
  assert.equal((await call('ping', {})).dataDir, ep.dataDir, 'the node and its other connections still answer')
})

test('a Python client from the same .avpr interoperates over HTTP', async t => {
  const ep = await ipcNode(t)
  const file = path.join(await tempDir(t), 'se-node.avpr')
  await writeFile(file, ep.avpr)
  const py = async (message: string, request: unknown = {}): Promise<any> => {
    const r = await execa(PYTHON, [path.join(REPO, 'test/fixtures/avro-ipc/client.py'), file, '127.0.0.1', String(ep.http), TOKEN, message, JSON.stringify(request)], { reject: false })
    assert.equal(r.exitCode, 0, r.stderr)
    return JSON.parse(r.stdout)
  }
  const ping = await py('ping')
  assert.equal(ping.ok.dataDir, ep.dataDir)
  const ran = await py('execute', { command: { command: 'echo', args: ['from python'], workdir: null, sessionId: null, env: {}, timeoutMs: null } })
  assert.equal(ran.ok.stdout.trim(), 'from python')
  const refused = await py('execute', { command: { command: 'rm', args: ['-rf', '/'], workdir: null, sessionId: null, env: {}, timeoutMs: null } })
  assert.equal(refused.error.code, 'COMMAND_NOT_ALLOWED')
  const started = await py('executeWorkflow', { request: { definition: WORKFLOW, source: 'py.yaml', inputs: {}, workdir: ep.dataDir, requestedBy: 'python' } })
  assert.match(started.ok.id, /^wf-/)
  const done = await waitFor('the workflow', async () => { const s = await py('getWorkflowStatus', { workflowId: started.ok.id }); return s.ok.state === 'completed' ? s.ok : undefined })
  assert.equal(done.requestedBy, 'python')
})
