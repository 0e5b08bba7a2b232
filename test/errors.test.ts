// Errors are built by named factories: each gives a known code, a message that
// starts with it, an exit code the CLI can end with, and keeps the error it wraps.
// The source scan holds the whole tree to that: no error built inline outside
// core/errors/, no decision made on an error's wording.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { ERROR_FACTORIES, EXIT_CODES, SE_ERROR_CODES, SeError, exitCodeFor, toSeError } from '../core/errors.js'
import { problemFrom } from '../core/http/problem.js'
import { REPO } from './helpers/cli.js'

const CAUSE = Object.assign(new Error('the wrapped error'), { code: 'EIO' })
const PEER = 'ab'.repeat(32)

/** One call of every factory; a factory that takes a cause gets CAUSE. */
const SAMPLES: Record<keyof typeof ERROR_FACTORIES, () => SeError> = {
  validation: () => SeError.validation('workflow w.yaml', [{ path: 'steps', message: 'missing' }]),
  badInput: () => SeError.badInput('not a number', 'give a number', CAUSE),
  cannotRead: () => SeError.cannotRead('allowlist /etc/allow', CAUSE),
  addressInUse: () => SeError.addressInUse('--http', '127.0.0.1', 8080, CAUSE),
  noSuchAddress: () => SeError.noSuchAddress('--http', '10.9.9.9', 8080, CAUSE),
  badFlag: () => SeError.badFlag('--limit', 'abc', 'a whole number, 1 or more'),
  commandNotFound: () => SeError.commandNotFound('w.yaml', [{ step: 'steps[0]', command: 'no-such-tool' }]),
  decisionForged: () => SeError.decisionForged('wf-1', 'ab'.repeat(32), 'its signature does not match what it says'),
  badPersonKey: () => SeError.badPersonKey('/home/ann/.config/se-mesh/person-key.json', 'it is not JSON', CAUSE),
  noPersonKey: () => SeError.noPersonKey('/home/ann/.config/se-mesh/person-key.json'),
  noPolicyFile: () => SeError.noPolicyFile('/etc/se/policy.yaml'),
  approvalNotSigned: () => SeError.approvalNotSigned('wf-1', 'ship', '2 of release'),
  alreadyApproved: () => SeError.alreadyApproved('wf-1', 'ship', 'ann', '1/2'),
  notAllowedByPolicy: () => SeError.notAllowedByPolicy('edge-7 (3f2a0c1d)', 'run steps', 'builder', 'policy.yaml:4 allow.run[0] allows run to role ci'),
  personKeyExists: () => SeError.personKeyExists('/home/ann/.config/se-mesh/person-key.json'),
  nodeStopTimedOut: () => SeError.nodeStopTimedOut('/data', 42, 60),
  nodeRunning: () => SeError.nodeRunning('/data', 42),
  nodeStarting: () => SeError.nodeStarting('/data', 42, 5000, CAUSE),
  shuttingDown: () => SeError.shuttingDown(),
  noNodeEverRan: () => SeError.noNodeEverRan('/data'),
  notStarted: () => SeError.notStarted(),
  internal: () => SeError.internal('core/protocol/avpr.ts: a declaration is missing'),
  cannotStart: () => SeError.cannotStart('stopped'),
  notAcceptingWorkflows: () => SeError.notAcceptingWorkflows(),
  identityUnreadable: () => SeError.identityUnreadable('/data/identity.json', CAUSE),
  noSpace: () => SeError.noSpace('/data', 1024, CAUSE),
  writeFailed: () => SeError.writeFailed('/data/x.json', CAUSE),
  badAuditEntry: () => SeError.badAuditEntry('audit entry does not fit DistributedAuditEntry'),
  auditClosed: () => SeError.auditClosed(),
  unknownWorkflow: () => SeError.unknownWorkflow('wf-1'),
  unknownArtifact: () => SeError.unknownArtifact('wf-1', 'dist', ['build.dist']),
  ambiguousArtifact: () => SeError.ambiguousArtifact('wf-1', 'report', ['test[n=1]', 'test[n=2]']),
  notWaiting: () => SeError.notWaiting('wf-1', 'running'),
  engineStopping: () => SeError.engineStopping(),
  invalidChoice: () => SeError.invalidChoice('maybe', 'approve', 'wf-1', ['approve', 'reject']),
  alreadyFinished: () => SeError.alreadyFinished('wf-1', 'completed'),
  ambiguousWorkflow: () => SeError.ambiguousWorkflow('wf-a', ['wf-a1', 'wf-a2']),
  notInCatalogue: () => SeError.notInCatalogue('DEPLOY', ['/data/catalogue'], ['BUILD']),
  notOurWorkflow: () => SeError.notOurWorkflow('ab'.repeat(32), 'wf-1'),
  noContainerEngine: () => SeError.noContainerEngine('alpine'),
  unknownWorkload: () => SeError.unknownWorkload('web'),
  runsNoWorkloads: () => SeError.runsNoWorkloads('alpha'),
  engineUnavailable: () => SeError.engineUnavailable('podman', null),
  noEngineFits: () => SeError.noEngineFits('web', [{ message: 'podman: not installed' }]),
  engineNotOnNode: () => SeError.engineNotOnNode('podman'),
  podmanUnavailable: () => SeError.podmanUnavailable('not found', 'install podman'),
  engineCommandFailed: () => SeError.engineCommandFailed('podman stats', 'exit 125'),
  engineOutputNotJson: () => SeError.engineOutputNotJson('podman ps', 'oops', CAUSE),
  kubePlayFailed: () => SeError.kubePlayFailed('web', 'exit 125', 'look at the manifest'),
  workloadLogsUnopenable: () => SeError.workloadLogsUnopenable('web', '/data/w', CAUSE),
  containerDidNotStart: () => SeError.containerDidNotStart('web', 'web-1/app', null),
  removedWhileStarting: () => SeError.removedWhileStarting('web'),
  mockEngineFailed: () => SeError.mockEngineFailed('deploy'),
  overBudget: () => SeError.overBudget('web', { needed: '512 MiB', used: '1 GiB', budget: '1.2 GiB', left: '204.8 MiB' }),
  noCommandAllowlist: () => SeError.noCommandAllowlist(),
  commandNotAllowed: () => SeError.commandNotAllowed('rm', []),
  noSessionOfUser: () => SeError.noSessionOfUser('s-1', 'carol'),
  sessionNowhere: () => SeError.sessionNowhere('ss-1'),
  sessionNotOpen: () => SeError.sessionNotOpen('s-1', 'carol'),
  badNodeKey: () => SeError.badNodeKey('--allow', 'abc'),
  badMeshTiming: () => SeError.badMeshTiming(3000, 2000, 1000),
  badBootstrapAddress: () => SeError.badBootstrapAddress('nowhere'),
  noSuchMember: () => SeError.noSuchMember('beta'),
  noCapableNode: () => SeError.noCapableNode('no node that is up meets capability \'gpu\'', false),
  imageNeedsGit: () => SeError.imageNeedsGit(),
  imageNeedsPodman: () => SeError.imageNeedsPodman(),
  imageBuildFailed: () => SeError.imageBuildFailed(125),
  imageNeedsBusybox: () => SeError.imageNeedsBusybox('/bin/busybox'),
  imageCannotRunAsOwner: () => SeError.imageCannotRunAsOwner('/workspace', 65534, 65534, CAUSE),
  nodeRunningOnSocket: () => SeError.nodeRunningOnSocket('/data/se.sock'),
  noNodeAt: () => SeError.noNodeAt('/data/se.sock'),
  cannotReachNode: () => SeError.cannotReachNode('/data/se.sock', CAUSE),
  noHello: () => SeError.noHello(PEER, 5000),
  closedDuringHandshake: () => SeError.closedDuringHandshake(PEER),
  oversizedHello: () => SeError.oversizedHello(PEER),
  garbledHello: () => SeError.garbledHello(PEER, CAUSE),
  meshVersionMismatch: () => SeError.meshVersionMismatch(PEER, 2, 1),
  memberUnreachable: () => SeError.memberUnreachable('beta', PEER, 5000),
  helloOfAnother: () => SeError.helloOfAnother(PEER, 'cd'.repeat(32)),
  noMeshSecret: () => SeError.noMeshSecret(PEER, 'beta', 'team'),
  notForMembers: () => SeError.notForMembers('execute'),
  capabilitiesOfAnother: () => SeError.capabilitiesOfAnother(PEER, 'cd'.repeat(32)),
  auditEntryOfAnother: () => SeError.auditEntryOfAnother(PEER),
  gaveUp: () => SeError.gaveUp(5000),
  stepNotHere: () => SeError.stepNotHere(PEER, 'wf-1', 'build', 2),
  fromRemote: () => SeError.fromRemote({ code: 'NOT_WAITING', message: 'wf-1 is running', hint: null, details: [] }),
  noSuchMessage: () => SeError.noSuchMessage('nope'),
  notAnswered: () => SeError.notAnswered('nope'),
  connectionClosed: () => SeError.connectionClosed('node'),
  closedBeforeReply: () => SeError.closedBeforeReply('node', 'ping'),
  callCancelled: () => SeError.callCancelled('watchWorkflow'),
  callTimedOut: () => SeError.callTimedOut('ping', 'node', 30000),
  requestDoesNotFit: () => SeError.requestDoesNotFit('ping', CAUSE),
  requestUndecodable: () => SeError.requestUndecodable('ping', CAUSE),
  replyDoesNotFit: () => SeError.replyDoesNotFit('ping', CAUSE),
  badReply: () => SeError.badReply('ping', CAUSE),
  badEvent: () => SeError.badEvent('runStep', CAUSE),
  undecodableErrorFrame: () => SeError.undecodableErrorFrame('node', CAUSE),
  notAFrame: () => SeError.notAFrame(12, 'node', CAUSE),
  frameTooLarge: () => SeError.frameTooLarge(1 << 30, 1 << 24),
  frameUnfinished: () => SeError.frameUnfinished('node', 10000),
  readFailed: () => SeError.readFailed('node', CAUSE),
  servingFailed: () => SeError.servingFailed('ping', 'node', CAUSE),
  badAvroData: () => SeError.badAvroData('a block of 1099511627776 items in 40 bytes'),
  badIpcFrame: () => SeError.badIpcFrame('the message has no buffers'),
  ipcMessageTooLarge: () => SeError.ipcMessageTooLarge('a message of more than 64 buffers'),
  artifactMissing: () => SeError.artifactMissing('dist', 'dist/', '/tmp/x'),
  artifactEscapes: () => SeError.artifactEscapes('dist', '../dist', '/tmp/x'),
  artifactUnsupported: () => SeError.artifactUnsupported('dist', 'dist/fifo', 'is neither a file nor a directory'),
  artifactTooLarge: () => SeError.artifactTooLarge('dist', 'dist/', '12 GiB', '10 GiB'),
  badArtifactMax: () => SeError.badArtifactMax('lots'),
  artifactRefused: () => SeError.artifactRefused('builder (ab12)', 'wf-1', 'dist', 'cd'.repeat(32)),
  artifactNotHeld: () => SeError.artifactNotHeld('wf-1', 'cd'.repeat(32)),
  artifactChunkCorrupt: () => SeError.artifactChunkCorrupt('dist', 'cd'.repeat(32), 'app.js', 3, 'ab'.repeat(32), 3),
  artifactManifestCorrupt: () => SeError.artifactManifestCorrupt('dist', 'cd'.repeat(32), 'ab'.repeat(32)),
  artifactUnreachable: () => SeError.artifactUnreachable('dist', 'cd'.repeat(32), ['ab'.repeat(32)], CAUSE),
  artifactNoReply: () => SeError.artifactNoReply('ab'.repeat(32), 30000),
  artifactBadMessage: () => SeError.artifactBadMessage('ab'.repeat(32), 'too short'),
  artifactWriteFailed: () => SeError.artifactWriteFailed('dist', '/tmp/x/dist/app.js', CAUSE),
  outputTooLarge: () => SeError.outputTooLarge('build', '2 MiB', '1 MiB'),
  badOutput: () => SeError.badOutput('build', 3, 'no = in it')
}

/** The names of a function's parameters, from its source. */
function parameters (fn: (...args: never[]) => unknown): string[] {
  const list = /\(([^)]*)\)/.exec(fn.toString())?.[1] ?? ''
  return list.split(',').map(p => p.trim().split(/[\s=]/)[0] as string).filter(p => p !== '')
}

test('every factory has a sample here', () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), Object.keys(ERROR_FACTORIES).sort())
})

test('every factory gives an SeError with a known code, its message prefixed with the code, and an exit code', () => {
  const exitCodes = new Set<number>(Object.values(EXIT_CODES))
  for (const [name, make] of Object.entries(SAMPLES)) {
    const err = make()
    assert.ok(err instanceof SeError, name)
    assert.ok(err instanceof Error, name)
    assert.ok(SE_ERROR_CODES.includes(err.code), `${name}: ${err.code}`)
    assert.equal(err.message, `${err.code}: ${err.reason}`, name)
    assert.notEqual(err.reason.trim(), '', name)
    assert.ok(exitCodes.has(exitCodeFor(err.code)), name)
  }
})

test('every factory that takes a cause keeps it', () => {
  const wrapping = Object.entries(ERROR_FACTORIES).filter(([, fn]) => parameters(fn).includes('cause')).map(([name]) => name)
  assert.ok(wrapping.length >= 9, `only ${wrapping.join(', ')} take a cause`)
  for (const name of wrapping) assert.equal(SAMPLES[name as keyof typeof SAMPLES]().cause, CAUSE, name)
  // …and one without a cause has none, rather than an undefined one.
  assert.equal(Object.hasOwn(SeError.badInput('x'), 'cause'), false)
  assert.equal(Object.hasOwn(SeError.nodeStarting('/d', null, 0), 'cause'), false)
  assert.equal(toSeError(CAUSE).cause, CAUSE)
  assert.equal(toSeError(CAUSE).code, 'INTERNAL')
})

test('every code maps to one of EXIT_CODES', () => {
  const exitCodes = new Set<number>(Object.values(EXIT_CODES))
  for (const code of SE_ERROR_CODES) assert.ok(exitCodes.has(exitCodeFor(code)), code)
  assert.equal(exitCodeFor('BAD_INPUT'), EXIT_CODES.USAGE)
  assert.equal(exitCodeFor('SESSION_NOT_FOUND'), EXIT_CODES.USAGE)
  assert.equal(exitCodeFor('NO_NODE'), EXIT_CODES.NO_NODE)
  assert.equal(exitCodeFor('NODE_STARTING'), EXIT_CODES.NO_NODE)
  assert.equal(exitCodeFor('NO_SPACE'), EXIT_CODES.NO_SPACE)
  assert.equal(exitCodeFor('INTERNAL'), EXIT_CODES.FAILED)
})

test('factories keep the wording people and scripts know', () => {
  assert.equal(SeError.cannotRead('allowlist /a', Object.assign(new Error('gone'), { code: 'ENOENT' })).message, 'BAD_INPUT: cannot read allowlist /a: no such file')
  assert.equal(SAMPLES.cannotRead().message, 'BAD_INPUT: cannot read allowlist /etc/allow: the wrapped error')
  assert.equal(SAMPLES.engineUnavailable().message, 'NO_CONTAINER_ENGINE: engine podman is not available on this node: unknown reason')
  assert.equal(SAMPLES.engineUnavailable().hint, undefined)
  assert.equal(SeError.engineUnavailable('podman', 'no runc', 'install runc').hint, 'install runc')
  assert.equal(SAMPLES.engineOutputNotJson().reason, 'podman ps printed something other than JSON: oops')
  assert.equal(SeError.engineOutputNotJson('podman ps', 'x'.repeat(500), CAUSE).reason.length, 'podman ps printed something other than JSON: '.length + 120)
  assert.equal(SAMPLES.overBudget().reason, 'web needs 512 MiB of memory, but 1 GiB of this node\'s 1.2 GiB workload memory budget is taken (204.8 MiB left); nothing was deployed')
  assert.equal(SAMPLES.commandNotAllowed().hint, 'allowed: nothing')
  assert.equal(SAMPLES.addressInUse().reason, '--http 127.0.0.1:8080: that address is already in use')
  assert.equal(SAMPLES.noSpace().reason, 'no space left for the data dir /data (1.0 KiB free): nothing was recorded')
  assert.deepEqual(SAMPLES.noEngineFits().details, [{ message: 'podman: not installed' }])
  // The same refusal from the Node and the Bare socket, and node keys shortened to 12 characters.
  assert.equal(SAMPLES.nodeRunningOnSocket().message, 'NODE_RUNNING: a node is already running on /data/se.sock')
  assert.equal(SAMPLES.noMeshSecret().reason, `peer ${'ab'.repeat(6)} (beta) does not hold the mesh secret of 'team'`)
  assert.equal(SAMPLES.servingFailed().reason, 'serving ping for node failed: the wrapped error')
})

test('an error another node sent back keeps its code, hint and details, and only the details it set', () => {
  const err = SeError.fromRemote({
    code: 'VALIDATION_FAILED',
    message: 'workflow w.yaml is invalid (2 problems)',
    hint: 'fix the file',
    details: [{ file: 'w.yaml', path: 'steps[2].run', line: 7, message: 'missing' }, { file: null, path: null, line: null, message: 'and this' }]
  })
  assert.equal(err.code, 'VALIDATION_FAILED')
  assert.equal(err.message, 'VALIDATION_FAILED: workflow w.yaml is invalid (2 problems)')
  assert.equal(err.hint, 'fix the file')
  assert.deepEqual(err.details, [{ file: 'w.yaml', path: 'steps[2].run', line: 7, message: 'missing' }, { message: 'and this' }])
  assert.equal(SAMPLES.fromRemote().hint, undefined)
})

test('over HTTP, a session that is not the user\'s is not found, as over Avro IPC', () => {
  const answer = problemFrom(SeError.noSessionOfUser('s-1', 'carol'))
  assert.equal(answer.status, 404)
  assert.deepEqual((answer.json as { code: string }).code, 'SESSION_NOT_FOUND')
})

// The whole tree but core/errors/, where the factories are: every source file of core, the adapters, bare and tui.
const SCANNED = ['core', 'adapters', 'bare', 'tui']
const EXEMPT = 'core/errors/'

function sources (): string[] {
  const out: string[] = []
  const walk = (rel: string): void => {
    if (fs.statSync(path.join(REPO, rel)).isDirectory()) { for (const e of fs.readdirSync(path.join(REPO, rel))) walk(`${rel}/${e}`); return }
    if (/\.(ts|js|mjs|cjs)$/.test(rel) && !rel.startsWith(EXEMPT)) out.push(rel)
  }
  for (const rel of SCANNED) walk(rel)
  return out
}

/** `file:line: text` for every line of the scanned sources that `pattern` matches. */
function linesMatching (pattern: RegExp): string[] {
  const files = sources()
  assert.ok(files.length > 100, `only ${files.length} files scanned`)
  return files.flatMap(f => fs.readFileSync(path.join(REPO, f), 'utf8').split('\n').flatMap((line, i) => pattern.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : []))
}

test('no SeError is built inline: only core/errors/ calls the constructor', () => {
  assert.deepEqual(linesMatching(/new SeError\s*\(/), [], 'use (or add) a named factory in core/errors/')
})

test('the tree decides on error codes, never on message text', () => {
  // Searching any `.message` or `.reason` is flagged; comparing a `.reason` with a string only on names that hold errors
  // (err, error, cause, remote), since an intervention's or a cancellation's `reason` is data, not an error's wording.
  const onText = /\.(message|reason)\s*\.\s*(includes|startsWith|endsWith|match|indexOf|search)\s*\(|\.test\(\s*[\w.]*\.(message|reason)\s*\)|\.message\s*[!=]==?\s*['"`]|\b(err|error|cause|remote)\.reason\s*[!=]==?\s*['"`]/
  assert.deepEqual(linesMatching(onText), [])
})
