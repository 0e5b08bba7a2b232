// Avro IPC to the specification: generic clients built only from `se protocol --avpr`
// (avsc's, and Python's avro package) call a real `se node start` over HTTP and TCP.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { writeFile } from 'node:fs/promises'
import avro from 'avsc'
import { execa } from 'execa'
import { REPO, json, se, startNode, tempDir, waitFor } from './helpers/cli.js'

const TOKEN = 'c'.repeat(40)
const PYTHON = '/usr/bin/python3'
const WORKFLOW = 'name: ipc-demo\nsteps:\n  - id: hello\n    run: { command: echo, args: [hello over avro] }\n'
const ASKING = 'name: ipc-ask\nsteps:\n  - id: ship\n    intervention: { prompt: "Ship it?", choices: [approve, reject] }\n'

interface Endpoints { tcp: number, http: number, dataDir: string, avpr: string, stderr: () => string }

/** A node serving Avro IPC on both transports to carol's token (`tokens` when given); `allow` is SE_EXECUTE_ALLOW, null for none. */
async function ipcNode (t: TestContext, allow: string | null = 'echo,pwd', opts: { tokens?: string, extra?: string[] } = {}): Promise<Endpoints> {
  const dataDir = await tempDir(t)
  const node = await startNode(t, dataDir, ['--http', '0', '--avro-tcp', '127.0.0.1:0', ...(opts.extra ?? [])], { SE_TOKENS: opts.tokens ?? `carol:${TOKEN}`, ...(allow === null ? {} : { SE_EXECUTE_ALLOW: allow }) })
  const tcp = Number(await waitFor('the avro line', async () => /avro ipc: tcp:\/\/[^:]+:(\d+)/.exec(node.stderr())?.[1]))
  const httpPort = Number(/http: http:\/\/[^:]+:(\d+)/.exec(node.stderr())?.[1])
  const printed = await se(['protocol', '--avpr'], { dataDir })
  assert.equal(printed.code, 0)
  return { tcp, http: httpPort, dataDir, avpr: printed.stdout, stderr: node.stderr }
}

type Call = (message: string, request: Record<string, unknown>) => Promise<any>
interface Generic { call: Call, client: any, matches: string[] }

/** A generic avsc client: nothing of SE's code, only the protocol text. `matches` records each handshake's answer. */
function genericClient (t: TestContext, avpr: unknown, transport: 'tcp' | 'http', port: number, token: string | null): Generic {
  const client: any = avro.Service.forProtocol(avpr as any).createClient({ buffering: true, strictTypes: false } as any)
  t.after(() => client.destroyChannels({ noWait: true }))
  if (token !== null) {
    client.use((wreq: any, _wres: any, next: any) => { wreq.headers.authorization = Buffer.from(`Bearer ${token}`); next() })
  }
  let channel: any
  if (transport === 'tcp') {
    const socket = net.connect(port, '127.0.0.1')
    t.after(() => socket.destroy())
    channel = client.createChannel(socket)
  } else {
    channel = client.createChannel((cb: any) => http.request({ method: 'POST', host: '127.0.0.1', port, path: '/avro', headers: token === null ? {} : { authorization: `Bearer ${token}` } })
      .on('response', res => cb(null, res)))
  }
  const matches: string[] = []
  channel.on('handshake', (hreq: { clientProtocol: string | null }, hres: { match: string }) => matches.push(`${hres.match}${hreq.clientProtocol === null ? '' : ' (sent its protocol)'}`))
  const call: Call = async (message, request) => await new Promise((resolve, reject) => {
    client.emitMessage(message, request, {}, (err: any, res: any) => err != null ? reject(err) : resolve(res))
  })
  return { call, client, matches }
}

const command = (cmd: string, args: string[], sessionId: string | null = null): Record<string, unknown> => ({ command: cmd, args, workdir: null, sessionId, env: {}, timeoutMs: null })
const failure = async (p: Promise<unknown>): Promise<{ code: string, message: string, hint: string | null }> => await p.then(() => assert.fail('the call should have failed'), e => e)

for (const transport of ['tcp', 'http'] as const) {
  test(`a generic client from the .avpr round-trips over ${transport}`, async t => {
    const ep = await ipcNode(t)
    const avpr = JSON.parse(ep.avpr)
    assert.equal(avpr.protocol, 'SENode')
    assert.equal(avpr.messages.runStep, undefined, 'mesh-internal messages are not exported')
    assert.equal(avpr.messages.watchWorkflow, undefined, 'nor streaming ones')
    assert.equal(avpr.types.some((x: any) => x.name === 'MeshHello' || x.name === 'StepRequest'), false, 'nor the types only they use')
    const { call, matches } = genericClient(t, avpr, transport, transport === 'tcp' ? ep.tcp : ep.http, TOKEN)
    const info = await call('ping', {})
    assert.equal(info.dataDir, ep.dataDir)
    assert.equal(matches[0], 'BOTH', 'the same protocol: the hashes match at once')

    // Who asked is the token's holder, whatever the request claims.
    const started = await call('executeWorkflow', { request: { definition: WORKFLOW, source: 'ipc.yaml', inputs: {}, workdir: ep.dataDir, requestedBy: 'mallory' } })
    assert.equal(started.requestedBy, `carol via avro-${transport}`)
    const done = await waitFor('the workflow', async () => {
      const s = await call('getWorkflowStatus', { workflowId: started.id })
      return s.state === 'completed' ? s : undefined
    })
    assert.equal(done.steps[0].stdout.trim(), 'hello over avro')
    assert.deepEqual((await call('listWorkflows', { states: ['completed'] })).map((w: any) => w.id), [started.id])

    const asking = await call('executeWorkflow', { request: { definition: ASKING, source: 'ask.yaml', inputs: {}, workdir: ep.dataDir, requestedBy: '' } })
    await waitFor('the intervention', async () => (await call('getWorkflowStatus', { workflowId: asking.id })).state === 'waiting_intervention')
    await call('resumeWorkflow', { workflowId: asking.id, result: { choice: 'approve', comment: null, decidedBy: 'mallory' } })
    const trail = JSON.stringify(await call('readAudit', { query: { workflowId: asking.id, fromSeq: 0, limit: 100 } }))
    assert.match(trail, new RegExp(`carol via avro-${transport}`))
    assert.doesNotMatch(trail, /mallory/)

    const ran = await call('execute', { command: command('echo', ['a; b']) })
    assert.equal(ran.stdout.trim(), 'a; b', 'arguments are passed as they are, without a shell')
    const refused = await failure(call('execute', { command: command('cat', ['/etc/passwd']) }))
    assert.equal(refused.code, 'COMMAND_NOT_ALLOWED')
    const batch = await failure(call('executeBatch', { job: { commands: [command('echo', ['ok']), command('rm', ['-rf', '/tmp/x'])], stopOnError: true, sessionId: null } }))
    assert.equal(batch.code, 'COMMAND_NOT_ALLOWED', 'a batch runs nothing unless every command is allowed')
    const unknown = await failure(call('getWorkflowStatus', { workflowId: 'wf-none' }))
    assert.equal(unknown.code, 'UNKNOWN_WORKFLOW')
    assert.doesNotMatch(JSON.stringify(unknown), /\n\s+at /, 'no stack traces to clients')
  })
}

test('commands in a session run only for the session\'s owner', async t => {
  const ep = await ipcNode(t)
  const open = async (user: string): Promise<string> => json(await se(['session', 'new', '--json'], { dataDir: ep.dataDir, env: { SE_USER: user } })).id
  const mine = await open('carol')
  const theirs = await open('dave')
  const { call } = genericClient(t, JSON.parse(ep.avpr), 'tcp', ep.tcp, TOKEN)
  const ran = await call('execute', { command: command('echo', ['in my session'], mine) })
  assert.equal(ran.sessionId, mine)
  const refused = await failure(call('execute', { command: command('echo', ['in dave\'s'], theirs) }))
  assert.equal(refused.code, 'SESSION_NOT_FOUND')
  assert.match(refused.message, /of user carol/)
  const batch = await failure(call('executeBatch', { job: { commands: [command('pwd', [])], stopOnError: true, sessionId: theirs } }))
  assert.equal(batch.code, 'SESSION_NOT_FOUND')
})

test('calls without a valid token are refused, and with no allowlist nothing runs', async t => {
  const ep = await ipcNode(t, null)
  const avpr = JSON.parse(ep.avpr)
  const none = genericClient(t, avpr, 'tcp', ep.tcp, null)
  const missing = await failure(none.call('ping', {}))
  assert.equal(missing.code, 'UNAUTHENTICATED')
  assert.match(missing.message, /required/)
  const wrong = genericClient(t, avpr, 'tcp', ep.tcp, 'd'.repeat(40))
  const refused = await failure(wrong.call('listWorkflows', { states: [] }))
  assert.equal(refused.code, 'UNAUTHENTICATED')
  assert.match(refused.message, /not valid/)
  for (const authorization of [undefined, `Bearer ${'d'.repeat(40)}`]) {
    const res = await fetch(`http://127.0.0.1:${ep.http}/avro`, { method: 'POST', headers: authorization === undefined ? {} : { authorization }, body: Buffer.alloc(4) })
    assert.equal(res.status, 401)
  }
  for (const transport of ['tcp', 'http'] as const) {
    const { call } = genericClient(t, avpr, transport, transport === 'tcp' ? ep.tcp : ep.http, TOKEN)
    const off = await failure(call('execute', { command: command('echo', ['hi']) }))
    assert.equal(off.code, 'COMMAND_NOT_ALLOWED')
    assert.match(off.hint ?? '', /SE_EXECUTE_ALLOW/)
  }
})

test('a token\'s user is held to the node\'s policy: carol may start and read, not approve or cancel (audited, still waiting); alice approves', async t => {
  const ALICE = 'a'.repeat(40)
  const EVE = 'e'.repeat(40)
  const policy = path.join(await tempDir(t), 'policy.yaml')
  await writeFile(policy, "roles:\n  release: [user:alice]\nallow:\n  run: ['*']\n  read: [release, user:carol]\n  approve: [release]\n")
  const ep = await ipcNode(t, 'echo,pwd', { tokens: `carol:${TOKEN},alice:${ALICE},eve:${EVE}`, extra: ['--policy', policy] })
  const avpr = JSON.parse(ep.avpr)
  for (const transport of ['tcp', 'http'] as const) {
    const port = transport === 'tcp' ? ep.tcp : ep.http
    const carol = genericClient(t, avpr, transport, port, TOKEN)
    const alice = genericClient(t, avpr, transport, port, ALICE)
    const asking = await carol.call('executeWorkflow', { request: { definition: ASKING, source: 'ask.yaml', inputs: {}, workdir: ep.dataDir, requestedBy: '' } })
    await waitFor('the intervention', async () => (await carol.call('getWorkflowStatus', { workflowId: asking.id })).state === 'waiting_intervention')

    const refused = await failure(carol.call('resumeWorkflow', { workflowId: asking.id, result: { choice: 'approve', comment: null, decidedBy: 'alice' } }))
    assert.equal(refused.code, 'NOT_ALLOWED', transport)
    assert.match(refused.message, /^user carol may not approve on \S+: .*policy\.yaml:6 allow\.approve\[0\] allows approve to role release$/)
    const cancel = await failure(carol.call('cancelWorkflow', { workflowId: asking.id, reason: 'mine now' }))
    assert.equal(cancel.code, 'NOT_ALLOWED', 'cancelling ends a workflow: it takes approve')
    assert.equal((await carol.call('getWorkflowStatus', { workflowId: asking.id })).state, 'waiting_intervention', 'nothing half done')
    const trail = await carol.call('readAudit', { query: { workflowId: asking.id, fromSeq: 0, limit: 100 } }) as Array<{ entry: { event: string, message: string, domains: string[] } }>
    const kept = trail.filter(r => r.entry.event === 'action_refused')
    assert.deepEqual(kept.map(r => [r.entry.message.replace(/ on \S+:.*/, ''), r.entry.domains]), [['user carol may not approve', ['ipc', 'security']], ['user carol may not approve', ['ipc', 'security']]], 'both refusals are in the node\'s trail, under the workflow')
    assert.ok(!trail.some(r => r.entry.event === 'intervention_resolved' || r.entry.event === 'workflow_cancelled'))

    await alice.call('resumeWorkflow', { workflowId: asking.id, result: { choice: 'approve', comment: null, decidedBy: 'carol' } })
    await waitFor(`completion over ${transport}`, async () => (await alice.call('getWorkflowStatus', { workflowId: asking.id })).state === 'completed')
    assert.match(JSON.stringify(await alice.call('readAudit', { query: { workflowId: asking.id, fromSeq: 0, limit: 100 } })), new RegExp(`approve by alice via avro-${transport}`))
  }

  // eve holds a token and nothing else: the node says who it is, and nothing more.
  const eve = genericClient(t, avpr, 'tcp', ep.tcp, EVE)
  assert.equal((await eve.call('ping', {})).dataDir, ep.dataDir)
  assert.ok((await eve.call('getCapabilities', {})).nodeId !== undefined)
  const read = await failure(eve.call('listWorkflows', { states: [] }))
  assert.equal(read.code, 'NOT_ALLOWED')
  assert.match(read.message, /user eve may not read on \S+: .*policy\.yaml:5 allow\.read\[0\] allows read to role release; .*policy\.yaml:5 allow\.read\[1\] allows read to user carol$/)
  const deploy = await failure(eve.call('deployWorkload', { request: { manifest: 'kind: Pod\n', source: 'x.yaml', replicas: null, memory: null, cpus: null, env: {}, engine: null } }))
  assert.match(deploy.message, /may not deploy on \S+: .*policy\.yaml allows deploy to nobody/)
  const all = json<Array<{ entry: { event: string, message: string, workflowId: string } }>>(await se(['audit', '--json'], { dataDir: ep.dataDir }))
  const eves = all.filter(r => r.entry.event === 'action_refused' && r.entry.message.startsWith('user eve'))
  assert.deepEqual(eves.map(r => [r.entry.message.replace(/ on \S+:.*/, ''), r.entry.workflowId]), [['user eve may not read', ''], ['user eve may not deploy', '']])
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
  assert.notEqual(avro.Service.forProtocol(older).hash.toString('hex'), avro.Service.forProtocol(current).hash.toString('hex'))
  for (const transport of ['tcp', 'http'] as const) {
    const { call, client, matches } = genericClient(t, older, transport, transport === 'tcp' ? ep.tcp : ep.http, TOKEN)
    const info = await call('ping', {})
    assert.equal(info.dataDir, ep.dataDir)
    assert.equal('mesh' in info, false, 'fields the old client does not know are dropped by resolution')
    // The server did not know the old hash (NONE); the client sent its protocol, and the server resolved it.
    // (over HTTP each exchange is separate, so a call racing the first one may also meet NONE)
    assert.equal(matches[0], 'NONE', transport)
    assert.ok(matches.includes('BOTH (sent its protocol)'), `${transport}: ${matches.join(', ')}`)
    const started = await call('executeWorkflow', { request: { definition: WORKFLOW, source: 'old.yaml', inputs: {}, workdir: ep.dataDir } })
    assert.equal(started.requestedBy, `carol via avro-${transport}`)
    await waitFor('the workflow', async () => (await call('getWorkflowStatus', { workflowId: started.id })).state === 'completed')
    const remote = Object.values(client.remoteProtocols()) as any[]
    assert.equal(remote.length, 1, 'the server sent its protocol in the handshake')
    assert.ok(remote[0].messages.listWorkloads !== undefined)
  }
})

test('garbled frames and oversized bodies get an error and harm nothing else', async t => {
  const ep = await ipcNode(t)
  const { call } = genericClient(t, JSON.parse(ep.avpr), 'tcp', ep.tcp, TOKEN)
  assert.equal((await call('ping', {})).dataDir, ep.dataDir)
  // One Netty frame (serial 1, one buffer of 6 bytes) whose buffer is no handshake.
  const socket = net.connect(ep.tcp, '127.0.0.1')
  t.after(() => socket.destroy())
  await new Promise(resolve => socket.once('connect', resolve))
  let reply = ''
  let closed = false
  socket.on('data', d => { reply += d.toString('latin1') })
  socket.on('close', () => { closed = true })
  socket.write(Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 6, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa]))
  await waitFor('the handshake error', async () => /invalid handshake request/.test(reply), 5000)
  await waitFor('the garbled connection to be dropped', async () => closed, 5000)
  assert.match(ep.stderr(), /avro ipc from 127\.0\.0\.1:\d+: .*connection dropped/)

  const auth = { authorization: `Bearer ${TOKEN}` }
  const httpBad = await fetch(`http://127.0.0.1:${ep.http}/avro`, { method: 'POST', headers: auth, body: Buffer.from('not avro at all') })
  assert.equal(httpBad.status, 400)
  assert.equal((await httpBad.json()).error.code, 'BAD_FRAME')
  // Chunked, so no content-length warns the HTTP server: the handler counts.
  const chunk = Buffer.alloc(64 * 1024, 1)
  const big = await new Promise<number>((resolve, reject) => {
    const req = http.request({ method: 'POST', host: '127.0.0.1', port: ep.http, path: '/avro', headers: auth }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    let sent = 0
    const more = (): void => { while (sent < 40 && req.write(chunk)) sent++; if (sent < 40) req.once('drain', more); else req.end() }
    more()
  })
  assert.equal(big, 413)
  assert.equal((await call('ping', {})).dataDir, ep.dataDir, 'the node and its other connections still answer')
})

test('a Python client from the same .avpr interoperates over HTTP', async t => {
  const ep = await ipcNode(t)
  const file = path.join(await tempDir(t), 'se-node.avpr')
  await writeFile(file, ep.avpr)
  const py = async (message: string, request: unknown = {}, token = TOKEN): Promise<any> => {
    const r = await execa(PYTHON, [path.join(REPO, 'test/fixtures/avro-ipc/client.py'), file, '127.0.0.1', String(ep.http), token, message, JSON.stringify(request)], { reject: false })
    assert.equal(r.exitCode, 0, r.stderr)
    return JSON.parse(r.stdout)
  }
  const ping = await py('ping')
  assert.equal(ping.ok.dataDir, ep.dataDir)
  const ran = await py('execute', { command: command('echo', ['from python']) })
  assert.equal(ran.ok.stdout.trim(), 'from python')
  const refused = await py('execute', { command: command('rm', ['-rf', '/']) })
  assert.equal(refused.error.code, 'COMMAND_NOT_ALLOWED')
  const started = await py('executeWorkflow', { request: { definition: WORKFLOW, source: 'py.yaml', inputs: {}, workdir: ep.dataDir, requestedBy: 'python' } })
  assert.match(started.ok.id, /^wf-/)
  const done = await waitFor('the workflow', async () => { const s = await py('getWorkflowStatus', { workflowId: started.ok.id }); return s.ok.state === 'completed' ? s.ok : undefined })
  assert.equal(done.requestedBy, 'carol via avro-http')
  const unknown = await py('getWorkflowStatus', { workflowId: 'wf-none' })
  assert.equal(unknown.error.code, 'UNKNOWN_WORKFLOW')
  const wrong = await py('ping', {}, 'd'.repeat(40))
  assert.equal(wrong.httpStatus, 401)
})
