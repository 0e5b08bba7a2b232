// Fault injection on a real three-node mesh: many workflows in flight, random
// kill -9 of random members (requesters included), restarts on the same data
// dirs, then a Jepsen-style check of everything that happened against the
// README's durability rules. Seeded: SE_CHAOS_SEED replays a run's choices,
// SE_CHAOS_ROUNDS makes it longer.
import assert from 'node:assert/strict'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { json, jsonError, lines, se, sleep, tempDir, type CliResult } from './helpers/cli.js'
import { localBootstrap } from './helpers/mesh.js'
import { Random, chaosSeed } from './helpers/chaos-random.js'
import { chaosPaths, gateFile, writeChaosWorkflow, type WorkflowModel } from './helpers/chaos-workflows.js'
import { ChaosCluster, processesMarked, type ChaosMember, type KillKind } from './helpers/chaos-mesh.js'
import { checkChaos, rejoinTimes, type TrailRecord, type WorkflowStatusLite } from './helpers/chaos-checker.js'
import { heavyFileTurn } from './helpers/heavy.js'

// One CPU-heavy file at a time (test/helpers/heavy.ts).
await heavyFileTurn()

const SEED = chaosSeed()
const ROUNDS = Number(process.env.SE_CHAOS_ROUNDS ?? 5)
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`SE_CHAOS_ROUNDS must be a whole number of rounds, 1 or more; got '${process.env.SE_CHAOS_ROUNDS ?? ''}'`)
/** Each colour is held by two nodes, so every step has a node to fail over to while one is down. */
const MEMBERS = [{ name: 'chaos-a', tags: ['red', 'green'] }, { name: 'chaos-b', tags: ['green', 'blue'] }, { name: 'chaos-c', tags: ['blue', 'red'] }]
const TERMINAL = ['completed', 'failed', 'cancelled']

/** The code of an `se … --json` error (on stderr), if that is what it printed. */
function errorCode (r: CliResult): string | undefined {
  try { return jsonError(r).code } catch { return undefined }
}

test(`chaos: random kill -9 of mesh members with workflows in flight (seed ${SEED}, ${ROUNDS} rounds)`, { timeout: 120_000 + ROUNDS * 60_000 }, async t => {
  // Printed first, so a run that hangs can still be replayed.
  console.log(`# chaos seed ${SEED}: replay with SE_CHAOS_SEED=${SEED}`)
  const rng = new Random(SEED)
  const began = Date.now()
  const bootstrap = await localBootstrap(t)
  const paths = chaosPaths(await tempDir(t, 'se-chaos-work-'))
  await writeFile(paths.round, '0')
  const cluster = await ChaosCluster.start(t, bootstrap, MEMBERS)
  await cluster.waitWhole(60_000)

  const models = new Map<string, WorkflowModel>()
  const started: Array<{ id: string, requester: string }> = []
  const refused: string[] = []
  const startFailures: string[] = []
  const stopFailures: string[] = []
  /** `restarted`: killed again just after it came back. */
  const kills: Array<{ round: number, node: string, kind: KillKind, downMs: number, recoveryMs: number, restarted: boolean }> = []
  let maxRecoveryMs = 0
  let maxStartMs = 0
  // How many questions are waiting depends on timing, so their answers come from a generator of their own and never shift the main draws.
  const answers = new Random(SEED ^ 0x5bd1e995)
  let answered = 0
  /** A person answers every failed step that asks: skip or abort (never retry: a step that is not idempotent must not run twice), from any member. */
  const answerInterventions = async (): Promise<void> => {
    const up = cluster.up()
    for (const holder of up) {
      for (const w of (await cluster.workflows(holder)).filter(w => w.state === 'waiting_intervention')) {
        const via = answers.pick(up)
        if ((await se(['approve', w.id, '--choice', answers.pick(['skip', 'abort'])], { dataDir: via.dataDir })).code === 0) answered++
      }
    }
  }

  // The choices are drawn one after another, then the calls go out together: the seed decides the same run whatever the timing.
  const launch = async (round: number, count: number): Promise<void> => {
    const batch: Array<{ model: WorkflowModel, requester: ChaosMember }> = []
    for (let i = 0; i < count; i++) {
      const model = await writeChaosWorkflow(rng, paths, `CHAOS_${round}_${models.size}`)
      models.set(model.name, model)
      batch.push({ model, requester: rng.pick(cluster.up()) })
    }
    await Promise.all(batch.map(async ({ model, requester }) => {
      const r = await se(['execute', model.file, '--json'], { dataDir: requester.dataDir, cwd: paths.dir })
      if (r.code === 0) { started.push({ id: json(r).id as string, requester: requester.key }); return }
      // Refusing work nobody up can do is right; any other failure to start is not.
      const code = errorCode(r)
      const why = `${model.name} on ${requester.name}: exit ${r.code}: ${(r.stdout.trim() || r.stderr.trim()).replace(/\s+/g, ' ').slice(0, 300)}`
      if (code === 'NO_CAPABLE_NODE') refused.push(why)
      else startFailures.push(why)
    }))
  }

  for (let round = 0; round < ROUNDS; round++) {
    await writeFile(paths.round, String(round))
    await launch(round, rng.between(3, 6))
    await sleep(rng.between(300, 1500))
    const victims = rng.sample(cluster.members, rng.chance(0.3) ? 2 : 1)
    const kinds = victims.map((): KillKind => { const r = rng.next(); return r < 0.6 ? 'tree' : r < 0.85 ? 'node' : 'stop' })
    // Some are killed again soon after they come back, while they resume what they held.
    const again = victims.map(() => rng.chance(0.25) ? rng.between(0, 800) : null)
    const killedAt = Date.now()
    await Promise.all(victims.map(async (v, i) => {
      const code = await cluster.kill(v, kinds[i] as KillKind)
      if (code !== null && code !== 0) stopFailures.push(`${v.name} exited ${code} on SIGTERM in round ${round}`)
    }))
    await launch(round, rng.between(1, 2))
    // Sometimes back before the others call it down (1.6 s), sometimes well after.
    await sleep(rng.between(0, 3000))
    const restarting = Date.now()
    await Promise.all(victims.map(async (v, i) => {
      maxStartMs = Math.max(maxStartMs, await cluster.restart(v))
      const delay = again[i]
      if (delay === null || delay === undefined) return
      await sleep(delay)
      await cluster.kill(v, 'tree')
      kills.push({ round, node: v.name, kind: 'tree', downMs: 0, recoveryMs: 0, restarted: true })
      await cluster.restart(v)
    }))
    await cluster.waitWhole(60_000)
    const recoveryMs = Date.now() - restarting
    maxRecoveryMs = Math.max(maxRecoveryMs, recoveryMs)
    victims.forEach((v, i) => kills.push({ round, node: v.name, kind: kinds[i] as KillKind, downMs: restarting - killedAt, recoveryMs, restarted: false }))
    await answerInterventions()
    await writeFile(gateFile(paths, round), '')
  }

  // Every gate open: whatever still runs can finish.
  await writeFile(gateFile(paths, 'final'), '')
  await writeFile(paths.round, 'final')
  const settleStarted = Date.now()
  const held = new Map<string, WorkflowStatusLite[]>()
  const outboxesEmpty = async (): Promise<boolean> => (await Promise.all(cluster.members.map(async m => (await readdir(path.join(m.dataDir, 'outbox')).catch(() => [])).filter(f => f.endsWith('.json')).length === 0))).every(Boolean)
  for (;;) {
    await answerInterventions()
    for (const m of cluster.members) held.set(m.key, await cluster.workflows(m))
    const settled = [...held.values()].every(list => list.every(w => TERMINAL.includes(w.state))) && await outboxesEmpty()
    if (settled || Date.now() - settleStarted > 120_000) break
    await sleep(1000)
  }
  const settleMs = Date.now() - settleStarted

  const violations: string[] = [...startFailures.map(f => `se execute failed for a reason other than no capable node: ${f}`), ...stopFailures]
  // One audit trail: with every member up again, what waited in an outbox has gone to its requester.
  for (const m of cluster.members) {
    for (const file of (await readdir(path.join(m.dataDir, 'outbox')).catch(() => [])).filter(f => f.endsWith('.json'))) {
      const queued = JSON.parse(await readFile(path.join(m.dataDir, 'outbox', file), 'utf8')) as Array<{ entry: { event: string, workflowId: string, workflowStep: string } }>
      violations.push(`${m.name}'s outbox still holds ${queued.length} entr${queued.length === 1 ? 'y' : 'ies'} for ${file.slice(0, 8)} with the whole mesh up for ${settleMs} ms: ${queued.map(q => `${q.entry.event} ${q.entry.workflowId} ${q.entry.workflowStep}`).join('; ')}`)
    }
  }
  const exits = await cluster.stopAll()
  exits.forEach((code, i) => { if (code !== 0) violations.push(`${cluster.members[i]?.name ?? i} exited ${code} on SIGTERM`) })
  const trails = new Map<string, TrailRecord[]>()
  for (const m of cluster.members) {
    const verify = await se(['audit', '--verify'], { dataDir: m.dataDir })
    if (verify.code !== 0) violations.push(`${m.name}'s audit trail does not verify: ${verify.stdout.trim()}${verify.stderr.trim()}`)
    trails.set(m.key, json<TrailRecord[]>(await se(['audit', '--json'], { dataDir: m.dataDir })))
  }
  // Stopped nodes leave nothing behind: not a step, not a step's child.
  const keys = cluster.members.map(m => m.key)
  let leftovers = processesMarked(keys)
  for (let i = 0; i < 25 && leftovers.length > 0; i++) { await sleep(200); leftovers = processesMarked(keys) }
  for (const p of leftovers) violations.push(`process ${p.pid} of ${p.key.slice(0, 8)} outlived its stopped node: ${p.cmdline}`)

  // What a node says of itself: an audit entry its requester refused for good is a hole in that trail; a BUG line is one.
  for (const m of cluster.members) {
    for (const line of m.logs.join('\n').split('\n').filter(l => /refused for good|BUG: /.test(l))) violations.push(`${m.name} logged: ${line.slice(0, 400)}`)
  }
  const ledger = await lines(paths.ledger)
  const verdict = checkChaos({ started, models, held, ledger, trails })
  violations.push(...verdict.violations)

  const rejoins = rejoinTimes(trails)
  const byKind = (kind: KillKind): number => kills.filter(k => k.kind === kind).length
  const summary = [
    `seed ${SEED} (replay: SE_CHAOS_SEED=${SEED} SE_CHAOS_ROUNDS=${ROUNDS})`,
    `rounds ${ROUNDS}, kills ${kills.length} (kill -9: ${byKind('tree')} with their processes, ${byKind('node')} of the node alone, ${kills.filter(k => k.restarted).length} of them just after a restart; ${byKind('stop')} SIGTERM), per node: ${MEMBERS.map(m => `${m.name} ${kills.filter(k => k.node === m.name).length}`).join(', ')}`,
    `workflows ${started.length} acknowledged, ${verdict.workflows} held at the end, ${refused.length} refused at start; ${verdict.stepRuns} step runs in the ledger`,
    `outcomes: ${Object.entries(verdict.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}; ${answered} failed step(s) answered skip or abort`,
    `max recovery ${maxRecoveryMs} ms (restart until every member sees every other up; the node's own start took up to ${maxStartMs} ms of it); rejoin per the trails (node_start to node_join of both others) max ${Math.max(0, ...rejoins)} ms over ${rejoins.length} restarts; longest downtime ${Math.max(0, ...kills.map(k => k.downMs))} ms; settling after the last round ${settleMs} ms`,
    `total ${Math.round((Date.now() - began) / 1000)} s`
  ]
  for (const line of summary) t.diagnostic(line)
  for (const k of kills) t.diagnostic(k.restarted ? `round ${k.round}: ${k.node} killed again just after its restart` : `round ${k.round}: ${k.node} killed (${k.kind}), down ${k.downMs} ms, mesh whole ${k.recoveryMs} ms after its restart`)
  for (const r of refused) t.diagnostic(`refused: ${r}`)
  if (violations.length > 0) {
    // Everything needed to study the failure, since the data dirs go with the test.
    const report = path.join(os.tmpdir(), `se-chaos-${SEED}.json`)
    await writeFile(report, JSON.stringify({ seed: SEED, rounds: ROUNDS, summary, violations, kills, started, refused, models: [...models.values()], held: Object.fromEntries(held), ledger, trails: Object.fromEntries(trails), members: cluster.members.map(m => ({ name: m.name, key: m.key, tags: m.tags, logs: m.logs })) }, null, 1))
    t.diagnostic(`history written to ${report}`)
  }
  assert.deepEqual(violations, [], `chaos found ${violations.length} violation(s); replay with SE_CHAOS_SEED=${SEED}`)
})
