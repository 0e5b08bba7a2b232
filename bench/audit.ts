// Benchmark 2: durable audit appends, one at a time and group-committed, against a
// plain write+fsync loop of lines of the same size.
import { closeSync, constants, fsyncSync, openSync, write, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'
import { AuditLog, type AuditInput } from '../core/audit/log.js'
import type { AppendFile, FileSystem } from '../core/ports.js'
import { SodiumCrypto } from '../adapters/shared/sodium-crypto.js'
import { NodeFileSystem } from '../adapters/node/fs.js'
import { info, median, ms, now, rate, tempDir, type Result } from './lib.js'

const N = 1000
const WARMUP = 100
const ROUNDS = 3
const WRITERS = 16
const GROUP_N = 4000

const INPUT: AuditInput = {
  event: 'step_start',
  message: 'bench-200-steps step s17 (attempt 1): true',
  workflowId: 'wf-bench-0000',
  workflowStep: 's17',
  domains: ['step'],
  files: ['/tmp/se-bench-work']
}

/** NodeFileSystem whose append files count their syncs; `discard` drops writes and syncs (CPU cost only). */
class BenchFs extends NodeFileSystem {
  syncs = 0
  constructor (private readonly discard = false) { super() }

  override async openAppend (file: string): Promise<AppendFile> {
    if (this.discard) {
      let size = 0
      return { append: async data => { size += data.length }, sync: async () => { this.syncs++ }, truncate: async n => { size = n }, size: () => size, close: async () => {} }
    }
    const inner = await super.openAppend(file)
    return { ...inner, sync: async () => { this.syncs++; await inner.sync() } }
  }
}

async function openLog (fs: FileSystem, prefix: string): Promise<AuditLog> {
  const crypto = new SodiumCrypto()
  const log = new AuditLog({ dir: await tempDir(prefix), fs, crypto, clock: { now: Date.now }, identity: crypto.generateKeyPair() })
  await log.open()
  return log
}

async function appendSequential (log: AuditLog, n: number): Promise<number> {
  const start = now()
  for (let i = 0; i < n; i++) await log.append(INPUT)
  return now() - start
}

/** `writers` loops appending concurrently until `total` appends are durable. */
async function appendConcurrent (log: AuditLog, writers: number, total: number): Promise<number> {
  let issued = 0
  const start = now()
  await Promise.all(Array.from({ length: writers }, async () => {
    while (issued < total) {
      issued++
      await log.append(INPUT)
    }
  }))
  return now() - start
}

function plainLoop (file: string, line: string, n: number): number {
  const fd = openSync(file, 'a', 0o600)
  try {
    const start = now()
    for (let i = 0; i < n; i++) {
      writeSync(fd, line)
      fsyncSync(fd)
    }
    return now() - start
  } finally {
    closeSync(fd)
  }
}

/** What AuditLog's file does (FileHandle.appendFile + datasync) without hashing, signing or JSON. */
async function asyncHandleLoop (file: string, line: string, n: number): Promise<number> {
  const handle = await open(file, 'a', 0o600)
  try {
    const start = now()
    for (let i = 0; i < n; i++) {
      await handle.appendFile(line)
      await handle.datasync()
    }
    return now() - start
  } finally {
    await handle.close()
  }
}

/** One thread-pool hop per durable append: an O_APPEND|O_DSYNC descriptor and a single write. */
async function dsyncLoop (file: string, line: string, n: number): Promise<number> {
  const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC, 0o600)
  try {
    const start = now()
    for (let i = 0; i < n; i++) {
      await new Promise<void>((resolve, reject) => write(fd, line, err => { if (err === null) resolve(); else reject(err) }))
    }
    return now() - start
  } finally {
    closeSync(fd)
  }
}

/** ms per ed25519 signature through SodiumCrypto, the biggest CPU item of an append. */
function signCost (): number {
  const crypto = new SodiumCrypto()
  const { secretKey } = crypto.generateKeyPair()
  const message = crypto.sha256(Buffer.from('bench'))
  for (let i = 0; i < 200; i++) crypto.sign(message, secretKey)
  const start = now()
  for (let i = 0; i < 2000; i++) crypto.sign(message, secretKey)
  return (now() - start) / 2000
}

export async function benchAudit (): Promise<Result[]> {
  const fs = new BenchFs()
  const log = await openLog(fs, 'audit')
  const first = await log.append(INPUT)
  const line = JSON.stringify(first) + '\n'
  const plainDir = await tempDir('audit-plain')
  const plainFile = path.join(plainDir, 'plain.jsonl')
  const asyncFile = path.join(plainDir, 'async.jsonl')
  const dsyncFile = path.join(plainDir, 'dsync.jsonl')

  // Warm up every contender.
  await appendSequential(log, WARMUP)
  plainLoop(plainFile, line, WARMUP)
  await asyncHandleLoop(asyncFile, line, WARMUP)
  await dsyncLoop(dsyncFile, line, WARMUP)
  await appendConcurrent(log, WRITERS, WARMUP * 4)

  const seq: number[] = []
  const plain: number[] = []
  const asyncLoop: number[] = []
  const dsync: number[] = []
  const group: number[] = []
  const batch: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    plain.push(plainLoop(plainFile, line, N) / N)
    seq.push(await appendSequential(log, N) / N)
    asyncLoop.push(await asyncHandleLoop(asyncFile, line, N) / N)
    dsync.push(await dsyncLoop(dsyncFile, line, N) / N)
    const syncsBefore = fs.syncs
    group.push(await appendConcurrent(log, WRITERS, GROUP_N) / GROUP_N)
    batch.push(GROUP_N / (fs.syncs - syncsBefore))
  }
  const cpuLog = await openLog(new BenchFs(true), 'audit-cpu')
  await appendSequential(cpuLog, WARMUP)
  const cpu = await appendSequential(cpuLog, N) / N
  await cpuLog.close()
  const verify = await log.verify()
  await log.close()
  if (!verify.ok) throw new Error(`audit trail written by the bench does not verify: ${verify.problems[0]?.message ?? ''}`)

  const seqMs = median(seq)
  const plainMs = median(plain)
  const groupMs = median(group)
  info(`record line ${Buffer.byteLength(line)} B; rounds (ms/append): AuditLog ${seq.map(ms).join(' / ')}   plain ${plain.map(ms).join(' / ')}`)
  const asyncMs = median(asyncLoop)
  const dsyncMs = median(dsync)
  info(`context: AuditLog CPU only (no I/O) ${ms(cpu)} ms/append, of which ed25519 sign ${ms(signCost())} ms`)
  info(`         I/O as AuditLog does it (FileHandle.appendFile + datasync, 2 thread-pool hops, no CPU work) ${ms(asyncMs)} ms (${(asyncMs / plainMs).toFixed(2)}x plain)`)
  info(`         O_DSYNC descriptor, one fs.write per append (1 hop) ${ms(dsyncMs)} ms (${(dsyncMs / plainMs).toFixed(2)}x plain)`)
  info(`group commit: ${WRITERS} writers, ${GROUP_N} appends/round, mean batch ${median(batch).toFixed(1)} entries per fsync; ` +
    `CPU ceiling at ${ms(cpu)} ms/append ≈ ${rate(1000 / cpu)} appends/s`)
  return [
    {
      name: 'audit append (sequential)',
      subject: `${rate(1000 / seqMs)} appends/s`,
      baseline: `${rate(1000 / plainMs)} plain/s`,
      ratio: seqMs / plainMs,
      goal: { kind: 'lt', limit: 1.2 },
      note: `${ms(seqMs)} ms vs ${ms(plainMs)} ms per durable append (ratio = time per append)`
    },
    {
      name: `audit group commit (${WRITERS}w)`,
      subject: `${rate(1000 / groupMs)} appends/s`,
      baseline: `${rate(1000 / plainMs)} plain/s`,
      ratio: plainMs / groupMs,
      goal: { kind: 'gt', limit: 1 },
      note: 'ratio = throughput over the plain sequential loop'
    }
  ]
}
