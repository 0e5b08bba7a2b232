// The node's append-only audit trail: one JSON line per entry, hash-chained and
// signed with the node's key. Appends are group-committed: every caller waits for
// durability, and callers that arrive during an fsync share the next one.
import b4a from 'b4a'
import { decisionBytes } from '../access/decision.js'
import { AUDIT_HEAD_INTERVAL_MS, EXECUTION_CONTEXT } from '../constants.js'
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { AppendFile, Clock, Crypto, FileSystem, KeyPair } from '../ports.js'
import type { AuditProblem, AuditQuery, AuditRecord, AuditVerification, DistributedAuditEntry, SignedAuditEntry, SignedDecision } from '../protocol/types.js'
import { GENESIS_HASH, chainHash, entryHash, isValidEntry } from './entry.js'
import { fromHex, toHex } from '../hex.js'

export type AuditEvent =
  | 'node_start' | 'node_stop' | 'leftovers_ended'
  | 'session_new' | 'session_attach' | 'session_detach' | 'session_close'
  | 'workflow_start' | 'workflow_resume' | 'workflow_complete' | 'workflow_failed' | 'workflow_cancelled'
  | 'step_start' | 'step_complete' | 'step_failed' | 'step_skipped' | 'step_retry'
  | 'intervention_request' | 'intervention_approval' | 'intervention_resolved'
  | 'command_execute' | 'rpc_refused'
  | 'node_join' | 'node_up' | 'node_suspect' | 'node_down' | 'peer_rejected' | 'peer_protocol_error'
  | 'workflow_waiting' | 'workflow_handoff' | 'step_handoff' | 'step_reattached'
  | 'step_exec_start' | 'step_exec_complete' | 'step_exec_failed'
  | 'workload_queued' | 'workload_deployed' | 'workload_started' | 'workload_exited' | 'workload_failed' | 'workload_restarted' | 'workload_removed'
  | 'artifact_refused' | 'artifact_lost' | 'action_refused'

export interface AuditInput {
  event: AuditEvent
  message: string
  workflowId?: string
  workflowStep?: string
  domains?: string[]
  files?: string[]
  interventionRequired?: boolean
  performanceMetrics?: Record<string, number>
  /** A person's signed decision the entry records (intervention_approval, intervention_resolved). */
  decision?: SignedDecision | null
}

interface Head { seq: number, hash: string, signature: string }

/** An entry waiting for its batch to be written. */
interface Pending {
  entry: DistributedAuditEntry
  originSignature: string | null
  resolve (record: AuditRecord): void
  reject (err: Error): void
}

const TRAIL_FILE = 'trail.jsonl'
const HEAD_FILE = 'head.json'

export interface AuditLogOptions {
  dir: string
  fs: FileSystem
  crypto: Crypto
  clock: Clock
  identity: KeyPair
  headIntervalMs?: number
}

export class AuditLog {
  readonly nodeId: string
  private file: AppendFile | null = null
  private seq = 0
  private lastHash = GENESIS_HASH
  private readonly remoteSignatures = new Set<string>()
  private readonly pendingRemote = new Map<string, Promise<AuditRecord>>()
  private queue: Pending[] = []
  /** Where the file must be cut before the next append, after a failed write it could not cut at once. */
  private tornAt: number | null = null
  private flushing: Promise<void> | null = null
  private headTimer: ReturnType<typeof setTimeout> | null = null
  private closed = false
  private readonly listeners = new Set<(record: AuditRecord) => void>()

  constructor (private readonly opts: AuditLogOptions) {
    this.nodeId = toHex(opts.identity.publicKey)
  }

  private get trailPath (): string { return join(this.opts.dir, TRAIL_FILE) }
  private get headPath (): string { return join(this.opts.dir, HEAD_FILE) }

  /** Opens the trail, dropping a line torn by a crash mid-append. */
  async open (): Promise<void> {
    await this.opts.fs.mkdirp(this.opts.dir)
    const bytes = await this.opts.fs.read(this.trailPath)
    if (bytes !== null && bytes.byteLength > 0) {
      // A crash mid-append leaves a prefix of the batch: everything after the last newline is torn.
      const text = b4a.toString(bytes, 'utf8')
      const end = text.lastIndexOf('\n') + 1
      if (end < text.length) await this.opts.fs.truncate(this.trailPath, b4a.byteLength(text.slice(0, end)))
      const lines = text.slice(0, end).split('\n')
      // Remote entries are delivered at least once; their origin signatures let a repeat be recognised.
      for (const line of lines) {
        if (!line.includes('"originSignature":"')) continue
        const record = parseRecord(line)
        if (record?.originSignature != null) this.remoteSignatures.add(record.originSignature)
      }
      for (let i = lines.length - 1; i >= 0; i--) {
        const last = parseRecord(lines[i] as string)
        if (last !== null) { this.seq = last.seq; this.lastHash = last.hash; break }
      }
    }
    this.file = await this.opts.fs.openAppend(this.trailPath)
  }

  onRecord (listener: (record: AuditRecord) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Records an event of this node. Resolves once the entry is durable. */
  append (input: AuditInput): Promise<AuditRecord> {
    return this.record(this.makeEntry(input), null)
  }

  /** An entry of this node, not recorded here: for signing and sending to the node that keeps the trail. */
  makeEntry (input: AuditInput): DistributedAuditEntry {
    return {
      timestamp: this.opts.clock.now(),
      sourceNodeId: this.nodeId,
      workflowId: input.workflowId ?? '',
      workflowStep: input.workflowStep ?? '',
      executionContext: EXECUTION_CONTEXT,
      domains: input.domains ?? [],
      files: input.files ?? [],
      interventionRequired: input.interventionRequired ?? false,
      performanceMetrics: input.performanceMetrics ?? {},
      event: input.event,
      message: input.message,
      decision: input.decision ?? null
    }
  }

  /** Signs an entry as its source, for sending it to the node that keeps the trail. */
  signEntry (entry: DistributedAuditEntry): SignedAuditEntry {
    return { entry, signature: toHex(this.opts.crypto.sign(entryHash(this.opts.crypto, entry), this.opts.identity.secretKey)) }
  }

  /** Whether an entry from another node with this origin signature is already in the trail. */
  hasRemote (signature: string): boolean {
    return this.remoteSignatures.has(signature)
  }

  /** Records an entry another node made, after checking its source's signature. One already held is not recorded again (null). */
  appendRemote (signed: SignedAuditEntry): Promise<AuditRecord | null> {
    if (this.remoteSignatures.has(signed.signature)) return Promise.resolve(null)
    if (!isValidEntry(signed.entry)) return Promise.reject(SeError.badAuditEntry('audit entry does not fit DistributedAuditEntry'))
    if (!verifyHex(this.opts.crypto, entryHash(this.opts.crypto, signed.entry), signed.signature, signed.entry.sourceNodeId)) {
      return Promise.reject(SeError.badAuditEntry(`audit entry signature does not verify against its source node ${signed.entry.sourceNodeId.slice(0, 12)}`))
    }
    // A repeat delivered while the first is being written waits for it (and fails with it).
    const pending = this.pendingRemote.get(signed.signature)
    if (pending !== undefined) return pending.then(() => null)
    const recorded = this.record(signed.entry, signed.signature)
    this.pendingRemote.set(signed.signature, recorded)
    return recorded.then(record => {
      this.remoteSignatures.add(signed.signature)
      return record
    }).finally(() => this.pendingRemote.delete(signed.signature))
  }

  private record (entry: DistributedAuditEntry, originSignature: string | null): Promise<AuditRecord> {
    if (this.closed || this.file === null) return Promise.reject(SeError.auditClosed())
    const durable = new Promise<AuditRecord>((resolve, reject) => this.queue.push({ entry, originSignature, resolve, reject }))
    if (this.flushing === null) this.flushing = this.flush()
    return durable
  }

  // Sequence numbers and hashes are given out here, batch by batch, and the head moves
  // only once the batch is durable: a failed write (a full disk) leaves the trail, its
  // file and its head as they were, so the entries can be recorded again later.
  private async flush (): Promise<void> {
    // Yield once so appends made in the same tick share this fsync.
    await Promise.resolve()
    while (this.queue.length > 0) {
      const batch = this.queue
      this.queue = []
      const file = this.file as AppendFile
      const { crypto, identity } = this.opts
      let seq = this.seq
      let hash = this.lastHash
      const records = batch.map(({ entry, originSignature }) => {
        const prevHash = hash
        hash = chainHash(crypto, prevHash, entryHash(crypto, entry))
        return { seq: ++seq, entry, prevHash, hash, signature: toHex(crypto.sign(fromHex(hash), identity.secretKey)), originSignature }
      })
      const before = file.size()
      try {
        await this.repairTail()
        await file.append(records.map(r => JSON.stringify(r) + '\n').join(''))
        await file.sync()
      } catch (err) {
        // Lines that reached the file but not the disk are cut, so no later entry lands behind them.
        if (file.size() !== before) await file.truncate(before).catch(() => { this.tornAt = before })
        for (const item of batch) item.reject(err as Error)
        continue
      }
      this.seq = seq
      this.lastHash = hash
      records.forEach((record, i) => {
        (batch[i] as Pending).resolve(record)
        for (const l of this.listeners) l(record)
      })
    }
    this.flushing = null
    this.scheduleHead()
  }

  /** A failed write whose lines could not be cut then is cut before anything else is written. */
  private async repairTail (): Promise<void> {
    if (this.tornAt === null) return
    await (this.file as AppendFile).truncate(this.tornAt)
    this.tornAt = null
  }

  private scheduleHead (): void {
    if (this.headTimer !== null || this.closed) return
    this.headTimer = setTimeout(() => { this.headTimer = null; this.writeHead().catch(() => { /* retried after the next flush; verify tolerates a lagging head */ }) }, this.opts.headIntervalMs ?? AUDIT_HEAD_INTERVAL_MS)
    ;(this.headTimer as { unref?: () => void }).unref?.()
  }

  // The head checkpoint makes a trail cut short at the end detectable.
  private async writeHead (): Promise<void> {
    const head: Head = { seq: this.seq, hash: this.lastHash, signature: toHex(this.opts.crypto.sign(headMessage(this.seq, this.lastHash), this.opts.identity.secretKey)) }
    await this.opts.fs.writeAtomic(this.headPath, JSON.stringify(head) + '\n')
  }

  async close (): Promise<void> {
    if (this.closed) return
    while (this.flushing !== null) await this.flushing
    this.closed = true
    if (this.headTimer !== null) clearTimeout(this.headTimer)
    if (this.seq > 0) await this.writeHead()
    await this.file?.close()
    this.file = null
  }

  get lastSeq (): number { return this.seq }

  async read (query: Partial<AuditQuery> = {}): Promise<AuditRecord[]> {
    const out: AuditRecord[] = []
    const from = query.fromSeq ?? 0
    // A poll for what is new (the dashboard's, every second) costs nothing when nothing is.
    if (from > this.seq) return []
    const limit = query.limit ?? Number.MAX_SAFE_INTEGER
    for (const { record } of await this.lines()) {
      if (record === null || record.seq < from) continue
      if (query.workflowId !== undefined && query.workflowId !== null && record.entry.workflowId !== query.workflowId) continue
      out.push(record)
    }
    return out.length > limit ? out.slice(out.length - limit) : out
  }

  private async lines (): Promise<Array<{ line: number, text: string, record: AuditRecord | null }>> {
    const bytes = await this.opts.fs.read(this.trailPath)
    if (bytes === null) return []
    const text = b4a.toString(bytes, 'utf8')
    return text.split('\n').map((t, i) => ({ line: i + 1, text: t, record: parseRecord(t) })).filter(l => l.text !== '')
  }

  /** Checks the whole trail: every entry's content, order, chain and signatures. */
  async verify (): Promise<AuditVerification> {
    const { crypto } = this.opts
    const problems: AuditProblem[] = []
    let expectedSeq = 1
    let prevHash = GENESIS_HASH
    let entries = 0
    const hashes = new Map<number, string>()
    for (const { line, record } of await this.lines()) {
      if (record === null) {
        problems.push({ seq: expectedSeq, line, kind: 'garbled', message: `line ${line} is not an audit record` })
        continue
      }
      entries++
      const at = { seq: record.seq, line }
      if (record.seq !== expectedSeq) {
        if (record.seq > expectedSeq) problems.push({ ...at, kind: 'dropped', message: `entr${record.seq - expectedSeq === 1 ? 'y' : 'ies'} ${expectedSeq}${record.seq - expectedSeq > 1 ? `..${record.seq - 1}` : ''} missing before entry ${record.seq} (line ${line})` })
        else problems.push({ ...at, kind: 'reordered', message: `entry ${record.seq} at line ${line} is out of order (expected entry ${expectedSeq})` })
      }
      const recomputed = chainHash(crypto, record.prevHash, entryHash(crypto, record.entry))
      if (recomputed !== record.hash) {
        problems.push({ ...at, kind: 'edited', message: `entry ${record.seq} (line ${line}) was edited: its content does not match its hash` })
      } else if (!verifyHex(crypto, fromHex(record.hash), record.signature, this.nodeId)) {
        problems.push({ ...at, kind: 'forged', message: `entry ${record.seq} (line ${line}) is not signed by this node` })
      }
      if (record.prevHash !== prevHash && record.seq === expectedSeq) {
        problems.push({ ...at, kind: 'inserted', message: `entry ${record.seq} (line ${line}) does not follow the entry before it: an entry was inserted, removed or moved` })
      }
      if (record.entry.sourceNodeId !== this.nodeId) {
        const ok = record.originSignature !== null && verifyHex(crypto, entryHash(crypto, record.entry), record.originSignature, record.entry.sourceNodeId)
        if (!ok) problems.push({ ...at, kind: 'forged', message: `entry ${record.seq} (line ${line}) claims to come from node ${record.entry.sourceNodeId.slice(0, 12)} but its signature does not verify` })
      }
      // A person's decision proves who decided: its own signature, not only the node's.
      const decision = record.entry.decision
      if (decision !== null && decision !== undefined && !(/^[0-9a-f]{64}$/.test(decision.decision.person) && /^[0-9a-f]{128}$/.test(decision.signature) && crypto.verify(decisionBytes(decision.decision), fromHex(decision.signature), fromHex(decision.decision.person)))) {
        problems.push({ ...at, kind: 'forged', message: `entry ${record.seq} (line ${line}) records a decision by person ${decision.decision.person.slice(0, 12)} whose signature does not verify` })
      }
      prevHash = record.hash
      hashes.set(record.seq, record.hash)
      expectedSeq = record.seq + 1
    }
    const head = await this.readHead()
    if (head === 'forged') {
      problems.push({ seq: 0, line: 0, kind: 'forged', message: 'the head checkpoint (audit/head.json) is not signed by this node' })
    } else if (head !== null) {
      if (head.seq >= expectedSeq) {
        problems.push({ seq: head.seq, line: 0, kind: 'truncated', message: `entries ${expectedSeq}..${head.seq} were removed from the end of the trail (the head checkpoint records ${head.seq})` })
      } else if (hashes.get(head.seq) !== head.hash) {
        problems.push({ seq: head.seq, line: 0, kind: 'truncated', message: `entry ${head.seq} is not the one the head checkpoint recorded: the trail was cut and rewritten after it` })
      }
    }
    return { ok: problems.length === 0, entries, problems }
  }

  // The head is written a moment after appends (and at close), so after a crash it may lag the trail: that is fine.
  private async readHead (): Promise<Head | 'forged' | null> {
    const bytes = await this.opts.fs.read(this.headPath)
    if (bytes === null) return null
    try {
      const head = JSON.parse(b4a.toString(bytes, 'utf8')) as Head
      if (typeof head.seq !== 'number' || typeof head.hash !== 'string' || typeof head.signature !== 'string') return 'forged'
      return verifyHex(this.opts.crypto, headMessage(head.seq, head.hash), head.signature, this.nodeId) ? head : 'forged'
    } catch {
      return 'forged'
    }
  }
}

function headMessage (seq: number, hash: string): Uint8Array {
  return b4a.from(`se-audit-head:${seq}:${hash}`)
}

function parseRecord (text: string): AuditRecord | null {
  if (text === '') return null
  try {
    const record = JSON.parse(text) as AuditRecord
    // Entries written before decisions were recorded have no field for one.
    if (record?.entry !== undefined && record.entry !== null && (record.entry as { decision?: unknown }).decision === undefined) record.entry.decision = null
    if (typeof record.seq !== 'number' || typeof record.hash !== 'string' || !isValidEntry(record.entry)) return null
    return record
  } catch {
    return null
  }
}

function verifyHex (crypto: Crypto, message: Uint8Array, signatureHex: string, publicKeyHex: string): boolean {
  if (!/^[0-9a-f]{128}$/.test(signatureHex) || !/^[0-9a-f]{64}$/.test(publicKeyHex)) return false
  return crypto.verify(message, fromHex(signatureHex), fromHex(publicKeyHex))
}
