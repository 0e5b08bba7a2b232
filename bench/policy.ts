// Benchmark 12: what a node's policy and people's signed decisions cost on the hot path
// (issue 17: "< 5% against the same with no policy, measured in one run").
//  a. a one-step workflow routed from node A (this process) to a builder node in a child
//     process, the same kind of nodes as benchmark 4's routed step: a builder with no policy
//     against one whose policy lets A run steps through a role (decide() on 'run', and again
//     for the credential the builders hold, before the step runs). Both builders live in the
//     same child process, so that what that process costs falls on both alike;
//  b. an approval of an intervention held on a node, through that node's API in this process
//     (SeNode.resumeWorkflow, what `se approve` asks of it; no CLI start-up): unsigned on a
//     node with no policy against signed with a person's key on a node whose policy names that
//     person for approve (verifyDecision, decide() on 'approve', the signed decision kept in the
//     trail entry). The decision is signed before the clock starts: signing is the person's
//     machine's work, once per `se approve` (its cost is printed with the checks');
//  c. the same approvals given at node A for workflows the builders hold: carried over the
//     mesh to the holder, which checks them there.
// The contenders run in turn, the order rotated every round, so that the drift of a busy
// machine falls on all alike; the figures are medians.
import { createInterface } from 'node:readline'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { decide, parsePolicy, type Policy } from '../core/access/policy.js'
import { signDecision, verifyDecision } from '../core/access/decision.js'
import { DECISION_MAX_AGE_MS, DECISION_MAX_SKEW_MS } from '../core/node/decision-check.js'
import type { SeNode } from '../core/node/se-node.js'
import type { InterventionResult, SignedDecision } from '../core/protocol/types.js'
import type { KeyPair } from '../core/ports.js'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { startLocalNode, type LocalNode } from '../adapters/node/local-node.js'
import { startBootstrap } from '../adapters/node/swarm.js'
import type { BootstrapAddress } from '../core/mesh/bootstrap-address.js'
import { hex, meshConfig, meshOf, startChildProcess, waitUntil, type ChildNode } from './mesh.js'
import { info, median, ms, now, percentile, quietLogger, tempDir, type Result } from './lib.js'

const CHILD_FLAG = '--se-bench-policy-child'
/** Issue 17: policy and signature checks cost < 5% against the same with no policy. */
const GOAL = 1.05
/**
 * How many alternating rounds each part runs: at least `min`, then more while its time
 * budget lasts, up to `max`. The checks cost microseconds against milliseconds of noise on a
 * busy machine, so a quiet machine gets more samples and a busy one still ends in time.
 */
interface Rounds { warmup: number, min: number, max: number, budgetMs: number }
const ROUTED: Rounds = { warmup: 5, min: 30, max: 400, budgetMs: 20_000 }
const LOCAL: Rounds = { warmup: 10, min: 50, max: 500, budgetMs: 12_000 }
const MESH: Rounds = { warmup: 10, min: 40, max: 400, budgetMs: 14_000 }
/** Which parts run: SE_BENCH_POLICY_PARTS=routed,local,mesh (a comma list); all by default. */
const PARTS = new Set((process.env.SE_BENCH_POLICY_PARTS ?? 'routed,local,mesh').split(',').map(p => p.trim()))
/** SE_BENCH_POLICY_AA=1: neither side has a policy or signs (an A/A run, to see the noise floor between the two sides). */
const AA = process.env.SE_BENCH_POLICY_AA === '1'

/** A credential both builders hold: under a policy each routed step also asks decide() whether it may have it. */
const CREDENTIAL = 'SE_BENCH_TOKEN'
const OPEN_TAG = 'bench-open'
const POLICY_TAG = 'bench-policy'
const ASK_NAME = 'BENCH-ASK'
const ASK_STEP = 'ship'
const ASK = JSON.stringify({ name: ASK_NAME, steps: [{ id: ASK_STEP, intervention: { prompt: 'Ship?', choices: ['approve', 'reject'] } }] })

const crypto = new SodiumCrypto()
const randomKey = (): string => hex(crypto.randomBytes(32))

/**
 * A policy of the size a small team writes: four roles, rules for every action, and the
 * rules that let the requester run and the person approve after others that do not,
 * so decide() walks roles and rules before it says yes.
 */
function policyText (requester: string, person: string): string {
  return `# SE Mesh bench policy (benchmark 12)
roles:
  ops: [${randomKey()}, ${randomKey()}, person:${randomKey()}]
  ci: [${randomKey()}, ${randomKey()}, ${randomKey()}, ${requester}]
  release: [person:${randomKey()}, person:${randomKey()}, person:${person}]
  auditors: [user:alice, user:bob, person:${randomKey()}]
allow:
  run:
    - { who: [ops], capabilities: [deploy, gpu] }
    - { who: [auditors], capabilities: [report] }
    - { who: [ops, ci], capabilities: [${POLICY_TAG}, builder, "credential:${CREDENTIAL}"] }
  approve:
    - { who: [ops], workflows: [DEPLOY, ROLLBACK] }
    - { who: [auditors], workflows: [REPORT] }
    - { who: [ops, release], workflows: [RELEASE, ${ASK_NAME}] }
  session: [ops]
  deploy: [ops, ${randomKey()}]
  read: [ops, ci, auditors, release]
  relay: [ci]
`
}

// ---- a node that holds interventions: asked here, or in a child over stdin

/** Starts the one-step question on `node` and returns its id once it waits for the answer. */
async function ask (node: SeNode, workdir: string): Promise<string> {
  const status = await node.executeWorkflow({ definition: ASK, source: 'bench-ask.yaml', inputs: {}, workdir, requestedBy: '' })
  const waiting = await node.watchWorkflow(status.id, event => event.kind === 'INTERVENTION' ? false : undefined)
  if (waiting.state !== 'waiting_intervention') throw new Error(`the bench question ended ${waiting.state}: ${waiting.error ?? ''}`)
  return status.id
}

/** Waits until the answered workflow has finished, so that its last commit falls outside the next timing. */
async function settle (node: SeNode, id: string): Promise<void> {
  const final = await node.watchWorkflow(id, () => {})
  if (final.state !== 'completed') throw new Error(`the approved bench question ended ${final.state}: ${final.error ?? ''}`)
}

/** The two builders: one with no policy, one with the bench's policy. */
type Side = 'open' | 'policy'
interface BuilderSpec { dataDir: string, nodeName: string, tag: string, policyFile: string | null }
interface ChildArgs { bootstrap: BootstrapAddress, name: string, secret: string, workdir: string, builders: Record<Side, BuilderSpec> }
type ChildReady = Record<Side, string>
type ChildRequest = { op: 'ask', side: Side } | { op: 'settle', side: Side, id: string }

/**
 * Both builders in one child process: whatever that process costs (its scheduling, its
 * connections) falls on both alike, and while one works the other idles.
 */
async function childMain (args: ChildArgs): Promise<void> {
  const start = async (b: BuilderSpec): Promise<LocalNode> => await startLocalNode({
    dataDir: b.dataDir,
    name: b.nodeName,
    tags: [b.tag],
    log: quietLogger,
    mesh: meshConfig(args.name, args.secret, args.bootstrap),
    ...(b.policyFile === null ? {} : { policyFile: b.policyFile })
  })
  const [open, guarded] = await Promise.all([start(args.builders.open), start(args.builders.policy)])
  const nodes: Record<Side, LocalNode> = { open, policy: guarded }
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    Promise.all([open.close(), guarded.close()]).finally(() => process.exit(0))
  }
  // One request at a time, each answered with one line; the bench closes stdin to stop this process.
  const requests = createInterface({ input: process.stdin })
  let queue = Promise.resolve()
  requests.on('line', line => {
    queue = queue.then(async () => {
      const req = JSON.parse(line) as ChildRequest
      const node = nodes[req.side].node
      try {
        if (req.op === 'ask') process.stdout.write(JSON.stringify({ id: await ask(node, args.workdir) }) + '\n')
        else { await settle(node, req.id); process.stdout.write('{}\n') }
      } catch (err) {
        process.stdout.write(JSON.stringify({ error: (err as Error).message }) + '\n')
      }
    })
  })
  requests.on('close', stop)
  process.on('SIGTERM', stop)
  process.stdout.write(JSON.stringify({ open: open.node.id, policy: guarded.node.id } satisfies ChildReady) + '\n')
}

interface Builders { child: ChildNode<ChildReady>, request (req: ChildRequest): Promise<Record<string, unknown>> }

async function startBuilders (args: ChildArgs): Promise<Builders> {
  const env = { ...process.env, SE_CREDENTIALS: CREDENTIAL, [CREDENTIAL]: 'bench-secret' }
  const child = await startChildProcess<ChildReady>(fileURLToPath(import.meta.url), CHILD_FLAG, args, env)
  const replies: Array<(line: string) => void> = []
  child.lines.on('line', line => replies.shift()?.(line))
  return {
    child,
    request: async req => {
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the builders did not answer ${req.op} within 30 s`)), 30_000)
        replies.push(l => { clearTimeout(timer); resolve(l) })
        child.child.stdin?.write(JSON.stringify(req) + '\n')
      })
      const reply = JSON.parse(line) as Record<string, unknown>
      if (typeof reply.error === 'string') throw new Error(`builder ${req.side}: ${reply.error}`)
      return reply
    }
  }
}

// ---- timing

interface Alternated { base: number[], subj: number[], extra: number[], seconds: number }

/**
 * Rounds of the baseline, the subject and optionally a third contender, one after the
 * other, the order rotated every round so that each runs first as often; the warm-up
 * rounds are not kept.
 */
async function alternate (rounds: Rounds, baseline: () => Promise<number>, subject: () => Promise<number>, extra?: () => Promise<number>): Promise<Alternated> {
  const contenders = extra === undefined ? [baseline, subject] : [baseline, subject, extra]
  const times: number[][] = contenders.map(() => [])
  for (let i = 0; i < rounds.warmup; i++) for (const c of contenders) await c()
  const start = now()
  for (let i = 0; i < rounds.max && (i < rounds.min || now() - start < rounds.budgetMs); i++) {
    for (let k = 0; k < contenders.length; k++) {
      const at = (i + k) % contenders.length
      ;(times[at] as number[]).push(await (contenders[at] as () => Promise<number>)())
    }
  }
  return { base: times[0] as number[], subj: times[1] as number[], extra: times[2] ?? [], seconds: (now() - start) / 1000 }
}

/**
 * A 95% interval for the ratio of the medians, subject over baseline: 1,000 resamples of
 * the rounds (each round's times kept together). On a busy machine it says how far the
 * ratio itself can be trusted.
 */
function ratioInterval (r: { base: number[], subj: number[] }): string {
  const n = r.base.length
  const ratios: number[] = []
  for (let k = 0; k < 1000; k++) {
    const base: number[] = []
    const subj: number[] = []
    for (let i = 0; i < n; i++) {
      const at = Math.floor(Math.random() * n)
      base.push(r.base[at] as number)
      subj.push(r.subj[at] as number)
    }
    ratios.push(median(subj) / median(base))
  }
  return `ratio 95% interval ${percentile(ratios, 2.5).toFixed(2)}–${percentile(ratios, 97.5).toFixed(2)}`
}

/** The median of the paired differences, subject minus baseline, in ms. */
function pairedDelta (r: { base: number[], subj: number[] }): number {
  return median(r.subj.map((s, i) => s - (r.base[i] as number)))
}

function approval (id: string, signer: { key: KeyPair, name: string } | null): InterventionResult {
  const signed: SignedDecision | null = signer === null
    ? null
    : signDecision(crypto, signer.key, { workflowId: id, stepId: ASK_STEP, choice: 'approve', comment: null, name: signer.name, decidedAt: Date.now() })
  return { choice: 'approve', comment: null, decidedBy: signer?.name ?? 'bench', stepId: ASK_STEP, signed }
}

/** µs per call of `fn`, the median of 5 batches of `n`. */
function microseconds (n: number, fn: () => unknown): number {
  for (let i = 0; i < n; i++) fn()
  const batches: number[] = []
  for (let b = 0; b < 5; b++) {
    const start = now()
    for (let i = 0; i < n; i++) fn()
    batches.push((now() - start) * 1000 / n)
  }
  return median(batches)
}

interface CheckCosts { run: number, credential: number, approve: number, sign: number, verify: number }

/** What the checks cost by themselves in this process, µs: the context for the ratios. */
function checkCosts (policy: Policy, requester: string, person: { key: KeyPair, name: string }): CheckCosts {
  const personKey = hex(person.key.publicKey)
  for (const [what, verdict] of [
    ['run', decide(policy, 'run', { nodeKey: requester, personKey: null }, { capabilities: [POLICY_TAG] })],
    ['the credential', decide(policy, 'run', { nodeKey: requester, personKey: null }, { capabilities: [`credential:${CREDENTIAL}`] })],
    ['approve', decide(policy, 'approve', { nodeKey: requester, personKey }, { workflow: ASK_NAME })]
  ] as const) {
    if (!verdict.allowed) throw new Error(`the bench policy does not allow ${what}: ${verdict.reason}`)
  }
  const decision = (): SignedDecision => signDecision(crypto, person.key, { workflowId: 'wf-bench', stepId: ASK_STEP, choice: 'approve', comment: null, name: person.name, decidedAt: Date.now() })
  const signed = decision()
  return {
    run: microseconds(20_000, () => decide(policy, 'run', { nodeKey: requester, personKey: null }, { capabilities: [POLICY_TAG] })),
    credential: microseconds(20_000, () => decide(policy, 'run', { nodeKey: requester, personKey: null }, { capabilities: [`credential:${CREDENTIAL}`] })),
    approve: microseconds(20_000, () => decide(policy, 'approve', { nodeKey: requester, personKey }, { workflow: ASK_NAME })),
    sign: microseconds(1000, decision),
    verify: microseconds(1000, () => verifyDecision(crypto, signed, { now: Date.now(), maxAgeMs: DECISION_MAX_AGE_MS, maxSkewMs: DECISION_MAX_SKEW_MS }))
  }
}

/** `us` µs as a share of `baseMs` ms. */
const share = (us: number, baseMs: number): string => `${(us / 10 / baseMs).toFixed(us / 10 / baseMs < 0.1 ? 3 : 2)}%`

// ---- the benchmark

export async function benchPolicy (): Promise<Result[]> {
  const results: Result[] = []
  const person = { key: crypto.generateKeyPair(), name: 'ann' }
  const signer = AA ? null : person
  const boot = await startBootstrap('127.0.0.1', 0)
  const secret = hex(crypto.randomBytes(16))
  const name = `bench-policy-${secret.slice(0, 8)}`
  let a: LocalNode | null = null
  const locals: LocalNode[] = []
  let builders: Builders | null = null
  try {
    const [aDir, openDir, policyDir, holderOpenDir, holderPolicyDir, holderSignedDir, workdir, filesDir] = await Promise.all([
      tempDir('policy-a'), tempDir('policy-open'), tempDir('policy-builder'), tempDir('policy-holder-open'), tempDir('policy-holder'), tempDir('policy-holder-signed'), tempDir('policy-work'), tempDir('policy-files')
    ])
    a = await startLocalNode({ dataDir: aDir, name: 'bench-a', log: quietLogger, mesh: meshConfig(name, secret, boot.address) })
    const node = a.node
    const policyFile = path.join(filesDir, 'policy.yaml')
    const text = policyText(node.id, hex(person.key.publicKey))
    await writeFile(policyFile, text)
    const policy = parsePolicy(text, policyFile)
    const costs = checkCosts(policy, node.id, person)
    const runChecks = costs.run + costs.credential
    const approveChecks = costs.verify + costs.approve
    info(`policy: ${policy.roles.size} roles, ${policy.rules.length} rules; alone, in this process: decide() for run ${costs.run.toFixed(2)} µs, for a credential ${costs.credential.toFixed(2)} µs, for approve ${costs.approve.toFixed(2)} µs; ` +
      `signDecision ${costs.sign.toFixed(0)} µs, verifyDecision ${costs.verify.toFixed(0)} µs`)
    if (AA) info('SE_BENCH_POLICY_AA=1: neither side has a policy or signs; the ratios show the noise between the two sides')
    const holderPolicy = AA ? null : policyFile

    if (PARTS.has('routed') || PARTS.has('mesh')) {
      const started = await startBuilders({
        bootstrap: boot.address,
        name,
        secret,
        workdir,
        builders: {
          open: { dataDir: openDir, nodeName: 'builder-open', tag: OPEN_TAG, policyFile: null },
          policy: { dataDir: policyDir, nodeName: 'builder-policy', tag: POLICY_TAG, policyFile: holderPolicy }
        }
      })
      builders = started
      const mesh = meshOf(node)
      const ids = started.child.ready
      await waitUntil('node A to see both builders', () => mesh.member(ids.open)?.usable === true && mesh.member(ids.policy)?.usable === true, 15_000)
    }
    const b = builders

    if (PARTS.has('routed') && b !== null) {
      // a. routed one-step workflow
      const routed = async (tag: string, expected: string): Promise<number> => {
        const definition = JSON.stringify({ name: 'bench-policy-routed', requires: { capabilities: [tag] }, steps: [{ id: 'one', run: { command: 'true' } }] })
        const start = now()
        const status = await node.executeWorkflow({ definition, source: 'bench.yaml', inputs: {}, workdir, requestedBy: '' })
        const final = await node.watchWorkflow(status.id, () => {})
        const elapsed = now() - start
        if (final.state !== 'completed') throw new Error(`the routed bench workflow (${tag}) ended ${final.state}: ${final.steps[0]?.error ?? final.error ?? ''}`)
        if (final.steps[0]?.node !== expected) throw new Error(`the routed step (${tag}) ran on ${final.steps[0]?.node ?? 'no node'}, not ${expected}`)
        return elapsed
      }
      const r = await alternate(ROUTED,
        async () => await routed(OPEN_TAG, b.child.ready.open),
        async () => await routed(POLICY_TAG, b.child.ready.policy))
      const [baseMs, subjMs] = [median(r.base), median(r.subj)]
      info(`routed one-step workflow (\`true\`) from A to a builder node in the child process, ${r.base.length} each alternating in ${r.seconds.toFixed(0)} s: no policy p50 ${ms(baseMs)} ms, policy p50 ${ms(subjMs)} ms; paired difference p50 ${ms(pairedDelta(r))} ms; ${ratioInterval(r)}`)
      results.push({
        name: 'policy: routed 1-step wf',
        subject: `${ms(subjMs)} ms policy`,
        baseline: `${ms(baseMs)} ms no policy`,
        ratio: subjMs / baseMs,
        goal: { kind: 'lt', limit: GOAL },
        note: 'A executes a one-step workflow routed by capability tag to a builder node (both builders share one child process); the builder checks run (a role) and the credential it holds against its policy, vs a builder with none; ' +
          `the two decide() calls alone: ${runChecks.toFixed(1)} µs, ${share(runChecks, baseMs)} of the baseline`
      })
    }

    if (PARTS.has('local')) {
      // b. approval on the node that holds the workflow, through its API in this process
      // A third holder, with no policy, takes signed approvals all the same: what the signature costs without decide().
      const [holderOpen, holderGuarded, holderSigned] = await Promise.all([
        startLocalNode({ dataDir: holderOpenDir, name: 'holder-open', log: quietLogger }),
        startLocalNode({ dataDir: holderPolicyDir, name: 'holder-policy', log: quietLogger, ...(holderPolicy === null ? {} : { policyFile: holderPolicy }) }),
        startLocalNode({ dataDir: holderSignedDir, name: 'holder-signed', log: quietLogger })
      ])
      locals.push(holderOpen, holderGuarded, holderSigned)
      const approveOn = async (holder: SeNode, by: typeof signer): Promise<number> => {
        const id = await ask(holder, workdir)
        // Signed before the clock starts: the person's machine signs (se approve), the node checks.
        const result = approval(id, by)
        const start = now()
        const status = await holder.resumeWorkflow(id, result)
        const elapsed = now() - start
        if (status.state === 'waiting_intervention') throw new Error(`the approval of ${id} on ${holder.name} left it waiting`)
        await settle(holder, id)
        return elapsed
      }
      const r = await alternate(LOCAL,
        async () => await approveOn(holderOpen.node, null),
        async () => await approveOn(holderGuarded.node, signer),
        async () => await approveOn(holderSigned.node, signer))
      const [baseMs, subjMs] = [median(r.base), median(r.subj)]
      info(`approval on the holder (SeNode.resumeWorkflow in this process, to its durable commit), ${r.base.length} each in rotation in ${r.seconds.toFixed(0)} s: unsigned, no policy p50 ${ms(baseMs)} ms; signed, policy p50 ${ms(subjMs)} ms; paired difference p50 ${ms(pairedDelta(r))} ms; ${ratioInterval(r)}`)
      info(`context: signed, to a third holder with no policy (the signature checked and kept, no decide()) p50 ${ms(median(r.extra))} ms, ${(median(r.extra) / baseMs).toFixed(2)}x`)
      results.push({
        name: 'policy: approval on holder',
        subject: `${ms(subjMs)} ms signed`,
        baseline: `${ms(baseMs)} ms unsigned`,
        ratio: subjMs / baseMs,
        goal: { kind: 'lt', limit: GOAL },
        note: 'resumeWorkflow on the node holding the question, to its durable commit: signed by a person (before the clock starts) and checked against a policy naming them for approve, vs unsigned with no policy; ' +
          `verifyDecision + decide() alone: ${approveChecks.toFixed(0)} µs, ${share(approveChecks, baseMs)} of the baseline`
      })
    }

    if (PARTS.has('mesh') && b !== null) {
      // c. the same approval given at A for a workflow a builder holds
      const approveVia = async (side: Side, by: typeof signer): Promise<number> => {
        const id = (await b.request({ op: 'ask', side })).id as string
        const result = approval(id, by)
        const start = now()
        const status = await node.resumeWorkflow(id, result)
        const elapsed = now() - start
        if (status.state === 'waiting_intervention') throw new Error(`the approval of ${id} via A left it waiting`)
        await b.request({ op: 'settle', side, id })
        return elapsed
      }
      const r = await alternate(MESH,
        async () => await approveVia('open', null),
        async () => await approveVia('policy', signer))
      const [baseMs, subjMs] = [median(r.base), median(r.subj)]
      info(`approval at A of a question a builder holds (over the mesh), ${r.base.length} each alternating in ${r.seconds.toFixed(0)} s: unsigned, no policy p50 ${ms(baseMs)} ms; signed, policy p50 ${ms(subjMs)} ms; paired difference p50 ${ms(pairedDelta(r))} ms; ${ratioInterval(r)}`)
      results.push({
        name: 'policy: approval via member',
        subject: `${ms(subjMs)} ms signed`,
        baseline: `${ms(baseMs)} ms unsigned`,
        ratio: subjMs / baseMs,
        goal: { kind: 'lt', limit: GOAL },
        note: 'A.resumeWorkflow for a question a builder node holds: A asks its members, the holder checks the signature and its policy for the person, then commits; vs unsigned to a holder with no policy; ' +
          `verifyDecision + decide() alone: ${approveChecks.toFixed(0)} µs, ${share(approveChecks, baseMs)} of the baseline`
      })
    }
  } finally {
    await Promise.all(locals.map(async l => await l.close().catch(() => {})))
    await a?.close().catch(() => {})
    await builders?.child.stop()
    await boot.close()
  }
  return results
}

if (process.argv[2] === CHILD_FLAG && process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  childMain(JSON.parse(process.argv[3] as string) as ChildArgs).catch(err => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}
