// The HTTP API of a real `se node start --http`, spoken to with real HTTP requests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startNode, tempDir, waitFor, se, json } from './helpers/cli.js'
import { parsePrometheus, sample } from './helpers/prometheus.js'
import { TEST_IMAGE, podmanReady } from './helpers/podman.js'
import { OPENAPI_FILE, assertDocumented, assertRequestDocumented, openApiText } from './helpers/openapi.js'
import { readFileSync } from 'node:fs'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { decodePersonKey } from '../core/access/person-key.js'
import { signDecision } from '../core/access/decision.js'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'

/** The document in the repository: every answer below is checked against it. */
const DOC = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))

const ALICE = 'alice:' + 'a'.repeat(32)
const BOB = 'bob:' + 'b'.repeat(32)
const auth = (holder: string): Record<string, string> => ({ authorization: `Bearer ${holder.slice(holder.indexOf(':') + 1)}` })

const WORKFLOW = `name: http-demo
steps:
  - id: hello
    run: { command: echo, args: [hello from http] }
  - id: confirm
    intervention: { prompt: "carry on?", choices: [approve, reject] }
  - id: after
    run: { command: echo, args: [done] }
`

async function httpNode (t: any, env: Record<string, string> = {}, extra: string[] = []): Promise<{ base: string, dataDir: string, stderr: () => string }> {
  const dataDir = await tempDir(t)
  const node = await startNode(t, dataDir, ['--http', '127.0.0.1:0', ...extra], { SE_TOKENS: `${ALICE},${BOB}`, SE_EXECUTE_ALLOW: 'echo,git', ...env })
  const address = await waitFor('the http line', async () => /http: http:\/\/(\S+)/.exec(node.stderr())?.[1])
  return { base: `http://${address}`, dataDir, stderr: node.stderr }
}

async function call (base: string, path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number, body: any, headers: Headers, text: string }> {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) }
  if (init.token !== undefined) Object.assign(headers, auth(init.token))
  if (init.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json'
  const res = await fetch(base + path, { ...init, headers })
  const text = await res.text()
  let body: any = null
  try { body = JSON.parse(text) } catch {}
  // No answer, however bad the request, may show the node's insides.
  assert.doesNotMatch(text, /\n\s+at .*\(|node_modules|\.ts:\d+/, `a stack trace leaked from ${path}: ${text}`)
  const type = res.headers.get('content-type') ?? ''
  assertDocumented(DOC, init.method ?? 'GET', path, res.status, type, /json/.test(type) ? body : text)
  if (res.status < 400 && typeof init.body === 'string') assertRequestDocumented(DOC, init.method ?? 'GET', path, JSON.parse(init.body))
  // Readiness answers 503 with what it waits for; every other error is a problem.
  if (res.status >= 400 && path !== '/health/ready') {
    assert.match(type, /^application\/problem\+json/, `${path}: errors are problem details`)
    assert.equal(body.status, res.status)
    assert.equal(body.type, `urn:se-mesh:problem:${String(body.code)}`)
  }
  return { status: res.status, body, headers: res.headers, text }
}

interface SseEvent { id: string | undefined, event: string | undefined, data: any }

/** Reads a server-sent event stream as it comes; `close` hangs up. */
async function openEvents (t: any, base: string, headers: Record<string, string> = {}): Promise<{ events: SseEvent[], close: () => Promise<void> }> {
  const events: SseEvent[] = []
  const stream = await fetch(`${base}/api/v1/events`, { headers: { ...auth(ALICE), ...headers } })
  assert.equal(stream.status, 200)
  assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/)
  assertDocumented(DOC, 'GET', '/api/v1/events', 200, stream.headers.get('content-type') ?? '', '')
  const reader = stream.body!.getReader()
  let buffered = ''
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
      if (done === true) return
      buffered += Buffer.from(value as Uint8Array).toString()
      let end: number
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (data !== undefined) events.push({ id: /^id: (.*)$/m.exec(block)?.[1], event: /^event: (.*)$/m.exec(block)?.[1], data: JSON.parse(data) })
      }
    }
  })()
  const close = async (): Promise<void> => { await reader.cancel().catch(() => {}) }
  t.after(close)
  return { events, close }
}

test('health answers without a token; everything else needs a valid one', async t => {
  const { base } = await httpNode(t)
  assert.equal((await call(base, '/health/live')).status, 200)
  const ready = await call(base, '/health/ready')
  assert.equal(ready.status, 200)
  assert.equal(ready.body.recovered, true)
  for (const path of ['/metrics', '/api/v1/nodes', '/api/v1/workflows', '/api/v1/workloads']) {
    const none = await call(base, path)
    assert.equal(none.status, 401, path)
    assert.equal(none.body.code, 'UNAUTHENTICATED')
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/)
    const wrong = await call(base, path, { headers: { authorization: 'Bearer ' + 'c'.repeat(32) } })
    assert.equal(wrong.status, 401, path)
    assert.match(wrong.body.detail, /not valid/)
  }
  const nodes = await call(base, '/api/v1/nodes', { token: ALICE })
  assert.equal(nodes.status, 200)
  assert.equal(nodes.body.length, 1)
  assert.equal(nodes.body[0].self, true)
  const workloads = await call(base, '/api/v1/workloads', { token: BOB })
  assert.equal(workloads.status, 200)
  assert.deepEqual(workloads.body, [])
  assert.equal((await call(base, '/api/v1/nope', { token: ALICE })).status, 404)
  const wrongMethod = await call(base, '/api/v1/nodes', { token: ALICE, method: 'DELETE' })
  assert.equal(wrongMethod.status, 405)
  assert.equal(wrongMethod.headers.get('allow'), 'GET')
})

test('/health/ready is 503 while the node has not joined its mesh', async t => {
  // A bootstrap nobody answers: the node recovers its state but never joins.
  const { base } = await httpNode(t, { SE_MESH_SECRET: 'secret' }, ['--mesh', 'lonely', '--bootstrap', '127.0.0.1:9'])
  assert.equal((await call(base, '/health/live')).status, 200)
  const ready = await call(base, '/health/ready')
  assert.equal(ready.status, 503)
  assert.equal(ready.body.recovered, true)
  assert.equal(ready.body.mesh, 'joining')
})

test('POST /api/v1/execute runs allowlisted commands without a shell and refuses the rest', async t => {
  const { base, dataDir } = await httpNode(t)
  const ok = await call(base, '/api/v1/execute', { token: ALICE, method: 'POST', body: JSON.stringify({ command: 'echo', args: ['$(id)', ';', 'ls'], workdir: dataDir }) })
  assert.equal(ok.status, 200)
  assert.equal(ok.body.exitCode, 0)
  assert.equal(ok.body.stdout.trim(), '$(id) ; ls', 'arguments reach the command as they are, never through a shell')
  assert.equal(typeof ok.body.duration, 'number')
  assert.equal(ok.body.sessionId, null)

  const off = await call(base, '/api/v1/execute', { token: ALICE, method: 'POST', body: JSON.stringify({ command: 'cat', args: ['/etc/passwd'] }) })
  assert.equal(off.status, 403)
  assert.equal(off.body.code, 'COMMAND_NOT_ALLOWED')
  assert.match(off.body.hint, /echo, git/)

  const badJson = await call(base, '/api/v1/execute', { token: ALICE, method: 'POST', body: '{"command": "echo",' })
  assert.equal(badJson.status, 400)
  assert.equal(badJson.body.code, 'BAD_INPUT')
  assert.match(badJson.body.detail, /not valid JSON/)

  const badType = await call(base, '/api/v1/execute', { token: ALICE, method: 'POST', body: JSON.stringify({ command: 'echo', args: 'hello' }) })
  assert.equal(badType.status, 422)
  assert.equal(badType.body.code, 'VALIDATION_FAILED')
  assert.equal(badType.body.details[0].path, 'args')

  const typo = await call(base, '/api/v1/execute', { token: ALICE, method: 'POST', body: JSON.stringify({ command: 'echo', argz: ['x'] }) })
  assert.equal(typo.status, 422)
  assert.equal(typo.body.details[0].path, 'argz')

  const form = await call(base, '/api/v1/execute', { token: ALICE, method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'echo hi' })
  assert.equal(form.status, 415)

  const huge = await call(base, '/api/v1/execute', { token: ALICE, method: 'POST', body: JSON.stringify({ command: 'echo', args: ['x'.repeat(2 * 1024 * 1024)] }) })
  assert.equal(huge.status, 413)
  assert.equal(huge.body.code, 'PAYLOAD_TOO_LARGE')

  // The node is unharmed by all of it.
  assert.equal((await call(base, '/api/v1/execute', { token: BOB, method: 'POST', body: JSON.stringify({ command: 'echo', args: ['still here'] }) })).body.stdout.trim(), 'still here')
})

test('a node without a command allowlist runs no commands for HTTP clients', async t => {
  const dataDir = await tempDir(t)
  const node = await startNode(t, dataDir, ['--http', '0'], {})
  const address = await waitFor('the http line', async () => /http: http:\/\/(\S+)/.exec(node.stderr())?.[1])
  // No tokens were given: the node wrote one for its owner, readable only by them.
  const file = /tokens in (\S+)\)/.exec(node.stderr())?.[1] as string
  const { readFile, stat } = await import('node:fs/promises')
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  const line = (await readFile(file, 'utf8')).split('\n').find(l => l !== '' && !l.startsWith('#')) as string
  const r = await call(`http://${address}`, '/api/v1/execute', { token: line, method: 'POST', body: JSON.stringify({ command: 'echo', args: ['x'] }) })
  assert.equal(r.status, 403)
  assert.match(r.body.hint, /SE_EXECUTE_ALLOW/)
})

test('workflows start, stream events, wait for and take an intervention over HTTP; /metrics reports them', async t => {
  const { base, dataDir } = await httpNode(t)
  const { events } = await openEvents(t, base)

  const started = await call(base, '/api/v1/workflows', { token: ALICE, method: 'POST', body: JSON.stringify({ definition: WORKFLOW, inputs: {} }) })
  assert.equal(started.status, 201)
  const id = started.body.id as string
  assert.equal(started.headers.get('location'), `/api/v1/workflows/${id}`)
  assert.equal(started.body.requestedBy, 'alice via http')

  const waiting = await waitFor('the intervention', async () => {
    const s = await call(base, `/api/v1/workflows/${id}`, { token: ALICE })
    return s.body.state === 'waiting_intervention' ? s.body : undefined
  })
  assert.equal(waiting.intervention.prompt, 'carry on?')
  await waitFor('the intervention event', async () => events.some(e => e.event === 'workflow' && e.data.kind === 'INTERVENTION' && e.data.workflowId === id))

  const badChoice = await call(base, `/api/v1/workflows/${id}/intervention`, { token: BOB, method: 'POST', body: JSON.stringify({ choice: 'maybe' }) })
  assert.equal(badChoice.status, 400)
  assert.equal(badChoice.body.code, 'INVALID_CHOICE')
  const approved = await call(base, `/api/v1/workflows/${id}/intervention`, { token: BOB, method: 'POST', body: JSON.stringify({ choice: 'approve', comment: 'fine by me' }) })
  assert.equal(approved.status, 200)
  const done = await waitFor('completion', async () => {
    const s = await call(base, `/api/v1/workflows/${id}`, { token: ALICE })
    return s.body.state === 'completed' ? s.body : undefined
  })
  assert.equal(done.steps.find((s: any) => s.id === 'after').stdout.trim(), 'done')
  await waitFor('the completion event', async () => events.some(e => e.data.workflowId === id && e.data.kind === 'WORKFLOW' && e.data.state === 'completed'))
  assert.equal((await call(base, `/api/v1/workflows/${id}/intervention`, { token: BOB, method: 'POST', body: JSON.stringify({ choice: 'approve' }) })).status, 409)

  const audit = json(await se(['audit', '--workflow', id, '--json'], { dataDir }))
  assert.ok(audit.some((r: any) => /bob via http/.test(r.entry.message)), 'the trail names who approved, from the token')

  const list = await call(base, '/api/v1/workflows?state=completed', { token: ALICE })
  assert.deepEqual(list.body.map((w: any) => w.id), [id])
  const invalid = await call(base, '/api/v1/workflows', { token: ALICE, method: 'POST', body: JSON.stringify({ definition: 'name: broken\nsteps:\n  - id: x\n    run: { args: [1] }\n' }) })
  assert.equal(invalid.status, 422)
  assert.ok(invalid.body.details.length > 0)
  const unknown = await call(base, '/api/v1/workflows', { token: ALICE, method: 'POST', body: JSON.stringify({ workflow: 'NO_SUCH_WORKFLOW' }) })
  assert.equal(unknown.status, 404)
  assert.equal((await call(base, '/api/v1/workflows/wf-nope', { token: ALICE })).status, 404)
  const badInputs = await call(base, '/api/v1/workflows', { token: ALICE, method: 'POST', body: JSON.stringify({ workflow: 'VERSION_TRANSITION', inputs: { repo: 42 } }) })
  assert.equal(badInputs.status, 422)
  assert.match(badInputs.body.details[0].path, /^inputs/)

  const metrics = await call(base, '/metrics', { token: ALICE })
  assert.equal(metrics.status, 200)
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const families = parsePrometheus(metrics.text)
  assert.equal(sample(families, 'se_workflows', { state: 'completed' }), 1)
  assert.equal(sample(families, 'se_workflows', { state: 'running' }), 0)
  assert.equal(sample(families, 'se_steps', { state: 'completed' }), 3)
  assert.equal(sample(families, 'se_step_duration_seconds_count', { kind: 'run', outcome: 'completed' }), 2)
  assert.equal(sample(families, 'se_intervention_wait_seconds_count', { choice: 'approve' }), 1)
  assert.ok((sample(families, 'se_audit_entries_total', {}) ?? 0) >= 5)
  assert.ok((sample(families, 'se_rpc_duration_seconds_count', { transport: 'http', message: '/api/v1/workflows/:id', side: 'server', outcome: 'ok' }) ?? 0) >= 2)
  assert.equal(sample(families, 'se_mesh_peers', { state: 'up' }), 0)
  assert.equal(sample(families, 'se_workloads', { state: 'running' }), 0)
  assert.equal(sample(families, 'se_node_ready', {}), 1)
  assert.equal(families.get('se_step_duration_seconds')?.type, 'histogram')
  assert.ok((sample(families, 'se_http_requests_total', { method: 'POST', route: '/api/v1/workflows', code: '201' }) ?? 0) >= 1)
})

test('the local CLI counts as the unix transport in /metrics', async t => {
  const { base, dataDir } = await httpNode(t)
  assert.equal((await se(['status', '--json'], { dataDir })).code, 0)
  const families = parsePrometheus((await call(base, '/metrics', { token: ALICE })).text)
  assert.ok((sample(families, 'se_rpc_duration_seconds_count', { transport: 'unix', message: 'listWorkflows', side: 'server', outcome: 'ok' }) ?? 0) >= 1)
})

test('the OpenAPI document is served without a token, and docs/openapi.json is what the code generates', async t => {
  assert.equal(readFileSync(OPENAPI_FILE, 'utf8'), openApiText(), 'docs/openapi.json is stale: run `npx tsx test/helpers/openapi-write.ts`')
  const { base } = await httpNode(t)
  const served = await call(base, '/api/v1/openapi.json')
  assert.equal(served.status, 200)
  assert.deepEqual(served.body, DOC)
  assert.equal(served.body.openapi, '3.1.0')
  // Every route the API answers is in it, and every operation names its answers.
  for (const [path, item] of Object.entries(served.body.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(item)) {
      assert.ok(op.operationId !== undefined && op.responses.default !== undefined, `${method} ${path}`)
    }
  }
  const unknown = await call(base, '/api/v2/nope')
  assert.equal(unknown.status, 404)
  assert.equal(unknown.body.code, 'NOT_FOUND')
  assert.equal(unknown.body.title, 'Not Found')
})

test('a workflow is cancelled over HTTP; the audit trail is read and verified over HTTP', async t => {
  const { base } = await httpNode(t)
  const started = await call(base, '/api/v1/workflows', { token: ALICE, method: 'POST', body: JSON.stringify({ definition: WORKFLOW }) })
  const id = started.body.id as string
  await waitFor('the intervention', async () => (await call(base, `/api/v1/workflows/${id}`, { token: ALICE })).body.state === 'waiting_intervention')
  const badReason = await call(base, `/api/v1/workflows/${id}/cancel`, { token: BOB, method: 'POST', body: JSON.stringify({ reason: 7 }) })
  assert.equal(badReason.status, 422)
  const typo = await call(base, `/api/v1/workflows/${id}/cancel`, { token: BOB, method: 'POST', body: JSON.stringify({ reasn: 'x' }) })
  assert.equal(typo.status, 422)
  assert.equal(typo.body.details[0].path, 'reasn')
  const cancelled = await call(base, `/api/v1/workflows/${id}/cancel`, { token: BOB, method: 'POST', body: JSON.stringify({ reason: 'wrong branch' }) })
  assert.equal(cancelled.status, 200)
  assert.equal(cancelled.body.state, 'cancelled')
  const again = await call(base, `/api/v1/workflows/${id}/cancel`, { token: BOB, method: 'POST' })
  assert.equal(again.status, 409)
  assert.equal(again.body.code, 'ALREADY_FINISHED')
  assert.equal((await call(base, '/api/v1/workflows/wf-nope/cancel', { token: BOB, method: 'POST' })).status, 404)

  const trail = await call(base, `/api/v1/audit?workflow=${id}`, { token: ALICE })
  assert.equal(trail.status, 200)
  assert.ok(trail.body.length >= 2)
  assert.ok(trail.body.every((r: any) => r.entry.workflowId === id))
  assert.ok(trail.body.some((r: any) => /wrong branch \(bob via http\)/.test(r.entry.message)), 'the trail says why and who cancelled')
  const page = await call(base, '/api/v1/audit?limit=1&fromSeq=1', { token: ALICE })
  assert.equal(page.body.length, 1)
  const badLimit = await call(base, '/api/v1/audit?limit=many', { token: ALICE })
  assert.equal(badLimit.status, 422)
  assert.equal(badLimit.body.details[0].path, 'limit')
  const verified = await call(base, '/api/v1/audit/verify', { token: ALICE })
  assert.equal(verified.status, 200)
  assert.equal(verified.body.ok, true)
  assert.ok(verified.body.entries >= trail.body.length)
  assert.equal((await call(base, '/api/v1/audit/verify')).status, 401)
})

test('workloads are deployed, read and removed over HTTP; a bad manifest is a problem naming its path', async t => {
  // Before the node starts: it must inherit the containers.conf these sandboxes need.
  const skip = await podmanReady()
  const { base, stderr } = await httpNode(t)
  const bad = await call(base, '/api/v1/workloads', { token: ALICE, method: 'POST', body: JSON.stringify({ manifest: 'kind: Pod\nspec: {}\n' }) })
  assert.ok([422, 503].includes(bad.status), `status ${bad.status}`)
  assert.ok(['VALIDATION_FAILED', 'NO_CONTAINER_ENGINE'].includes(bad.body.code), bad.body.code)
  const noManifest = await call(base, '/api/v1/workloads', { token: ALICE, method: 'POST', body: JSON.stringify({ replicas: 2 }) })
  assert.equal(noManifest.status, 422)
  assert.equal(noManifest.body.details[0].path, 'manifest')
  assert.equal((await call(base, '/api/v1/workloads/nope', { token: ALICE })).status, 404)
  const gone = await call(base, '/api/v1/workloads/nope', { token: ALICE, method: 'DELETE' })
  assert.equal(gone.status, 404)
  assert.equal(gone.body.code, 'UNKNOWN_WORKLOAD')

  if (skip !== null) { t.diagnostic(`no real deploy: ${skip}`); return }
  const manifest = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: http-sleeper\nspec:\n  containers:\n    - name: main\n      image: ${TEST_IMAGE}\n      command: ["/bin/sleep", "600"]\n`
  const deployed = await call(base, '/api/v1/workloads', { token: ALICE, method: 'POST', body: JSON.stringify({ manifest, memory: '64m' }) })
  assert.equal(deployed.status, 201, stderr())
  const wid = deployed.body.id as string
  t.after(async () => { await call(base, `/api/v1/workloads/${wid}`, { token: ALICE, method: 'DELETE' }).catch(() => {}) })
  assert.equal(deployed.headers.get('location'), `/api/v1/workloads/${wid}`)
  assert.equal(deployed.body.source, 'http-request')
  await waitFor('the workload running', async () => (await call(base, `/api/v1/workloads/${wid}`, { token: ALICE })).body.state === 'running', 120_000)
  assert.equal((await call(base, '/api/v1/workloads/http-sleeper', { token: ALICE })).body.id, wid, 'a workload is found by its name too')
  const removed = await call(base, `/api/v1/workloads/${wid}`, { token: ALICE, method: 'DELETE' })
  assert.equal(removed.status, 200)
  assert.equal(removed.body.state, 'removed')
})

test('event streams carry ids; a client that reconnects with Last-Event-ID gets what it missed, once', async t => {
  const { base } = await httpNode(t)
  const first = await openEvents(t, base)
  const started = await call(base, '/api/v1/workflows', { token: ALICE, method: 'POST', body: JSON.stringify({ definition: WORKFLOW }) })
  const id = started.body.id as string
  await waitFor('the intervention event', async () => first.events.some(e => e.data.kind === 'INTERVENTION' && e.data.workflowId === id))
  assert.ok(first.events.every(e => e.id !== undefined), 'every event has an id')
  assert.equal(new Set(first.events.map(e => e.id)).size, first.events.length, 'ids are unique')
  const last = first.events[first.events.length - 1] as SseEvent
  await first.close()

  // While nobody listens, the workflow goes on to its end.
  await call(base, `/api/v1/workflows/${id}/intervention`, { token: BOB, method: 'POST', body: JSON.stringify({ choice: 'approve' }) })
  await waitFor('completion', async () => (await call(base, `/api/v1/workflows/${id}`, { token: ALICE })).body.state === 'completed')

  const resumed = await openEvents(t, base, { 'last-event-id': last.id as string })
  await waitFor('the missed completion event', async () => resumed.events.some(e => e.data.kind === 'WORKFLOW' && e.data.state === 'completed' && e.data.workflowId === id))
  const seen = new Set(first.events.map(e => e.id))
  assert.ok(resumed.events.every(e => !seen.has(e.id)), 'nothing the client had is sent again')
  assert.ok(resumed.events.some(e => e.data.kind === 'STEP' && e.data.stepId === 'after'), 'the steps it missed are there')

  // A fresh stream starts from now; an id of another node process replays what this one kept.
  const fresh = await openEvents(t, base)
  const stale = await openEvents(t, base, { 'last-event-id': 'old-5' })
  await waitFor('the replay', async () => stale.events.length >= resumed.events.length)
  assert.deepEqual(fresh.events, [])
})

test('/metrics has the process figures and the build', async t => {
  const { base } = await httpNode(t)
  const families = parsePrometheus((await call(base, '/metrics', { token: ALICE })).text)
  assert.equal(families.get('process_cpu_seconds_total')?.type, 'counter')
  assert.ok((sample(families, 'process_cpu_seconds_total', {}) ?? 0) > 0)
  const rss = sample(families, 'process_resident_memory_bytes', {}) ?? 0
  assert.ok(rss > 10 * 2 ** 20 && rss < 4 * 2 ** 30, `rss ${rss}`)
  const started = sample(families, 'process_start_time_seconds', {}) ?? 0
  assert.ok(Math.abs(started - Date.now() / 1000) < 120, `started ${started}`)
  assert.ok((sample(families, 'process_open_fds', {}) ?? 0) > 3)
  assert.ok((sample(families, 'process_max_fds', {}) ?? 0) >= (sample(families, 'process_open_fds', {}) ?? 0))
  const build = families.get('se_build_info')?.samples[0]
  assert.equal(build?.value, 1)
  assert.match(build?.labels.version ?? '', /^\d+\.\d+\.\d+/)
  assert.match(build?.labels.runtime ?? '', /^node v/)
})

test('a token\'s user is held to the node\'s policy: bob may read and start, not approve (403); alice approves', async t => {
  const dir = await tempDir(t)
  const policy = path.join(dir, 'policy.yaml')
  await writeFile(policy, "roles:\n  release: [user:alice]\nallow:\n  run: ['*']\n  read: ['*']\n  approve: [release]\n")
  const { base } = await httpNode(t, {}, ['--policy', policy])
  const started = await call(base, '/api/v1/workflows', { token: BOB, method: 'POST', body: JSON.stringify({ definition: WORKFLOW, inputs: {} }) })
  assert.equal(started.status, 201)
  const id = started.body.id as string
  await waitFor('the intervention', async () => (await call(base, `/api/v1/workflows/${id}`, { token: BOB })).body.state === 'waiting_intervention' ? true : undefined)
  const refused = await call(base, `/api/v1/workflows/${id}/intervention`, { token: BOB, method: 'POST', body: JSON.stringify({ choice: 'approve' }) })
  assert.equal(refused.status, 403)
  assert.equal(refused.body.code, 'NOT_ALLOWED')
  assert.match(refused.body.detail, /user bob may not approve on .*policy\.yaml:6 allow\.approve\[0\] allows approve to role release/)
  assert.equal((await call(base, `/api/v1/workflows/${id}`, { token: BOB })).body.state, 'waiting_intervention', 'nothing half done')
  const cancel = await call(base, `/api/v1/workflows/${id}/cancel`, { token: BOB, method: 'POST', body: JSON.stringify({}) })
  assert.equal(cancel.status, 403, 'cancelling ends a workflow: it takes approve')
  // Both refusals are in the node's own trail, under the workflow, as a member's are.
  const trail = (await call(base, `/api/v1/audit?workflow=${id}`, { token: BOB })).body as Array<{ entry: { event: string, message: string, domains: string[], workflowId: string } }>
  const kept = trail.filter(r => r.entry.event === 'action_refused')
  assert.equal(kept.length, 2, JSON.stringify(trail.map(r => r.entry.event)))
  for (const r of kept) {
    assert.match(r.entry.message, /^user bob may not approve on \S+: .*policy\.yaml:6 allow\.approve\[0\] allows approve to role release$/)
    assert.deepEqual(r.entry.domains, ['http', 'security'])
    assert.equal(r.entry.workflowId, id)
  }
  const approved = await call(base, `/api/v1/workflows/${id}/intervention`, { token: ALICE, method: 'POST', body: JSON.stringify({ choice: 'approve' }) })
  assert.equal(approved.status, 200)
})

test('a person\'s decision signed elsewhere travels over HTTP: checked where the workflow is, kept signed; one changed on its way is refused', async t => {
  const dir = await tempDir(t)
  const keyFile = path.join(dir, 'ann.json')
  const ann = json(await se(['key', 'new', '--name', 'ann', '--json'], { dataDir: dir, env: { SE_PERSON_KEY: keyFile } }))
  const policy = path.join(dir, 'policy.yaml')
  await writeFile(policy, `allow:\n  run: ['*']\n  read: ['*']\n  approve: [user:alice, ${ann.person as string}]\n`)
  const { base } = await httpNode(t, {}, ['--policy', policy])
  const crypto = new SodiumCrypto()
  const { key } = decodePersonKey(crypto, readFileSync(keyFile, 'utf8'), keyFile)
  const start = async (): Promise<string> => {
    const id = (await call(base, '/api/v1/workflows', { token: ALICE, method: 'POST', body: JSON.stringify({ definition: WORKFLOW, inputs: {} }) })).body.id as string
    await waitFor('the intervention', async () => (await call(base, `/api/v1/workflows/${id}`, { token: ALICE })).body.state === 'waiting_intervention' ? true : undefined)
    return id
  }
  const id = await start()
  const stepId = (await call(base, `/api/v1/workflows/${id}`, { token: ALICE })).body.intervention.stepId as string
  const signed = signDecision(crypto, key, { workflowId: id, stepId, choice: 'approve', comment: 'go', name: 'ann', decidedAt: Date.now() })
  // The choice changed beside the signature: refused, nothing done.
  const changed = await call(base, `/api/v1/workflows/${id}/intervention`, { token: ALICE, method: 'POST', body: JSON.stringify({ choice: 'reject', comment: 'go', stepId, signed }) })
  assert.equal(changed.status, 403)
  assert.match(changed.body.detail, /said to be by person [0-9a-f]{12} does not hold: it chose approve, not reject/)
  assert.equal((await call(base, `/api/v1/workflows/${id}`, { token: ALICE })).body.state, 'waiting_intervention')
  const carried = await call(base, `/api/v1/workflows/${id}/intervention`, { token: ALICE, method: 'POST', body: JSON.stringify({ choice: 'approve', comment: 'go', stepId, signed }) })
  assert.equal(carried.status, 200, JSON.stringify(carried.body))
  const trail = (await call(base, `/api/v1/audit?workflow=${id}`, { token: ALICE })).body as Array<{ entry: { event: string, message: string, decision: { decision: { person: string } } | null } }>
  const resolved = trail.find(r => r.entry.event === 'intervention_resolved')
  assert.match(resolved?.entry.message ?? '', /approve by ann \(person [0-9a-f]{12}, signed\) \(go\)/)
  assert.equal(resolved?.entry.decision?.decision.person, ann.publicKey)
  // A signed cancel keeps the reason ann signed.
  const other = await start()
  const cancel = signDecision(crypto, key, { workflowId: other, stepId: '', choice: 'cancel', comment: 'wrong branch', name: 'ann', decidedAt: Date.now() })
  const cancelled = await call(base, `/api/v1/workflows/${other}/cancel`, { token: ALICE, method: 'POST', body: JSON.stringify({ reason: 'wrong branch', signed: cancel }) })
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body))
  assert.equal(cancelled.body.state, 'cancelled')
  const malformed = await call(base, `/api/v1/workflows/${other}/cancel`, { token: ALICE, method: 'POST', body: JSON.stringify({ reason: 'x', signed: { decision: 'nope' } }) })
  assert.equal(malformed.status, 422)
  assert.match(malformed.body.detail, /signed decision/)
})
