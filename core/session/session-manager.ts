// The sessions a node holds: opened, fed lines one at a time, watched by any
// number of attached clients, kept on disk across restarts, closed by their owner
// or when idle. A session that does not exist and one of another user look the same.
import b4a from 'b4a'
import { SESSION_IDLE_MS, SESSION_SAVE_MS, SESSION_SWEEP_MS } from '../constants.js'
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { Clock, FileSystem, Logger } from '../ports.js'
import type { ExecutionResult, SessionInfo, SessionOutput } from '../protocol/types.js'
import type { AuditInput } from '../audit/log.js'
import type { LineHost } from './line-interpreter.js'
import { Session, type SessionRecord } from './session.js'

export interface SessionManagerOptions {
  fs: FileSystem
  clock: Clock
  log: Logger
  dir: string
  nodeId: string
  nodeName: string
  /** Where a new session starts. */
  home: string
  idleMs?: number
  newId (): string
  audit (input: AuditInput): void
  host: LineHost
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>()
  /** Lines wait their turn: a session runs one at a time, like a terminal. */
  private readonly queues = new Map<string, Promise<void>>()
  /** How to stop the command each busy session runs. */
  private readonly kills = new Map<string, () => void>()
  /** Writes of one session go one after another, so an older snapshot never lands last. */
  private readonly writes = new Map<string, Promise<void>>()
  private readonly saveTimers = new Map<string, ReturnType<typeof setTimeout>>()
  private sweeper: ReturnType<typeof setInterval> | null = null
  private stopping = false
  private readonly idleMs: number

  constructor (private readonly opts: SessionManagerOptions) {
    this.idleMs = opts.idleMs ?? SESSION_IDLE_MS
  }

  async open (): Promise<void> {
    await this.opts.fs.mkdirp(this.opts.dir)
    for (const file of await this.opts.fs.list(this.opts.dir)) {
      if (!file.endsWith('.json')) continue
      const bytes = await this.opts.fs.read(join(this.opts.dir, file))
      try {
        const record = JSON.parse(b4a.toString(bytes ?? b4a.alloc(0), 'utf8')) as SessionRecord
        if (record.state !== 'open') continue
        const session = new Session(record)
        if (record.running !== null) {
          session.append('info', `(interrupted: the node stopped while \`${record.running}\` ran)`, this.opts.clock.now())
          record.running = null
        }
        this.sessions.set(record.id, session)
      } catch (err) {
        this.opts.log.warn(`session file ${file} is unreadable and was left in place: ${(err as Error).message}`)
      }
    }
    const every = Math.max(1000, Math.min(SESSION_SWEEP_MS, Math.floor(this.idleMs / 4)))
    this.sweeper = setInterval(() => { void this.expireIdle() }, every)
    ;(this.sweeper as { unref?: () => void }).unref?.()
  }

  /** The node stops: running commands are stopped (and said so on the next start), queued lines dropped. */
  async close (): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    if (this.sweeper !== null) clearInterval(this.sweeper)
    this.sweeper = null
    for (const kill of this.kills.values()) kill()
    await Promise.all([...this.queues.values()])
    for (const timer of this.saveTimers.values()) clearTimeout(timer)
    await Promise.all([...this.writes.values()])
  }

  has (id: string): boolean { return this.sessions.has(id) }

  /** Open sessions, whoever owns them: members ask only a node that holds some. */
  get openCount (): number { let n = 0; for (const s of this.sessions.values()) if (s.isOpen) n++; return n }

  ownerOf (id: string): string | null { return this.sessions.get(id)?.owner ?? null }

  async create (owner: string, name: string | null, via: string): Promise<SessionInfo> {
    const now = this.opts.clock.now()
    const session = new Session({
      id: this.opts.newId(), name, owner, nodeId: this.opts.nodeId, nodeName: this.opts.nodeName, cwd: this.opts.home,
      createdAt: now, lastActiveAt: now, state: 'open', closedReason: null, running: null, nextSeq: 1, transcript: [], history: []
    })
    this.sessions.set(session.id, session)
    session.append('info', `session ${session.id}${name === null ? '' : ` (${name})`} on ${this.opts.nodeName}, in ${session.record.cwd}; type help`, now)
    await this.save(session)
    this.opts.audit({ event: 'session_new', message: `session ${session.id} opened for ${owner}${via}`, domains: ['session'] })
    return session.info()
  }

  list (owner: string): SessionInfo[] {
    return [...this.sessions.values()].filter(s => s.owner === owner && s.isOpen).map(s => s.info())
  }

  /** Output from `fromSeq`, then live output until `onCancel` fires or the session closes. */
  attach (id: string, owner: string, fromSeq: number, emit: (o: SessionOutput) => void, onCancel: (listener: () => void) => void, via: string): Promise<SessionInfo> {
    const session = this.mine(id, owner)
    return new Promise(resolve => {
      for (const o of session.backlog(fromSeq)) emit(o)
      session.attached++
      session.record.lastActiveAt = this.opts.clock.now()
      this.opts.audit({ event: 'session_attach', message: `${owner}${via} attached to session ${id}`, domains: ['session'] })
      let done = false
      const finish = (): void => {
        if (done) return
        done = true
        stop()
        session.attached--
        session.record.lastActiveAt = this.opts.clock.now()
        if (session.isOpen) this.opts.audit({ event: 'session_detach', message: `${owner}${via} detached from session ${id}`, domains: ['session'] })
        resolve(session.info())
      }
      const stop = session.listen(o => {
        emit(o)
        if (o.stream === 'closed') finish()
      })
      onCancel(finish)
      if (!session.isOpen) finish()
    })
  }

  /** Queues a line; answers how many lines run before it. Its echo and output reach attached clients when it runs. */
  input (id: string, owner: string, line: string): number {
    const session = this.mine(id, owner)
    session.record.lastActiveAt = this.opts.clock.now()
    const ahead = session.queued++
    const previous = this.queues.get(id) ?? Promise.resolve()
    const next = previous.then(async () => await this.run(session, line)).catch(err => this.opts.log.warn(`session ${id}: ${(err as Error).message}`))
    this.queues.set(id, next)
    void next.then(() => {
      session.queued--
      if (this.queues.get(id) === next) this.queues.delete(id)
    })
    return ahead
  }

  async closeSession (id: string, owner: string, reason: string): Promise<SessionInfo> {
    return await this.end(this.mine(id, owner), reason)
  }

  /** A command the `execute` message ran in a session: it belongs in the session's output too. */
  record (id: string, line: string, result: ExecutionResult): void {
    const session = this.sessions.get(id)
    if (session === undefined) return
    const now = this.opts.clock.now()
    session.append('input', line, now)
    if (result.stdout !== '') session.append('stdout', result.stdout.replace(/\n$/, ''), now)
    if (result.stderr !== '') session.append('stderr', result.stderr.replace(/\n$/, ''), now)
    session.record.lastActiveAt = now
    this.save(session).catch(err => this.opts.log.warn(`session ${id}: ${(err as Error).message}`))
  }

  cwdOf (id: string): string | null { return this.sessions.get(id)?.record.cwd ?? null }

  private async run (session: Session, line: string): Promise<void> {
    // The interpreter (and its shell-style line splitter) loads with the first line a session runs,
    // before the line counts as running: a close meanwhile finds nothing started, as before.
    const { runLine } = await import('./line-interpreter.js')
    if (!session.isOpen) return
    if (this.stopping) {
      session.append('info', `(not run: the node stopped before \`${line}\`)`, this.opts.clock.now())
      await this.save(session)
      return
    }
    session.append('input', line, this.opts.clock.now())
    session.remember(line)
    session.record.running = line
    await this.save(session)
    const outcome = await runLine(line, {
      sessionId: session.id,
      owner: session.owner,
      cwd: session.record.cwd,
      home: this.opts.home,
      history: session.record.history,
      emit: (stream, text) => {
        session.append(stream, text, this.opts.clock.now())
        this.saveSoon(session)
      },
      started: kill => { this.kills.set(session.id, kill) }
    }, this.opts.host)
    this.kills.delete(session.id)
    if (this.stopping) session.append('info', `(interrupted: the node stopped while \`${line}\` ran)`, this.opts.clock.now())
    session.record.running = null
    session.record.lastActiveAt = this.opts.clock.now()
    if (outcome.cwd !== undefined) session.record.cwd = outcome.cwd
    if (outcome.close === true) { await this.end(session, `closed by ${session.owner}`); return }
    await this.save(session)
  }

  private async end (session: Session, reason: string): Promise<SessionInfo> {
    if (!session.isOpen) return session.info()
    session.record.state = 'closed'
    session.record.closedReason = reason
    session.append('closed', `session closed: ${reason}`, this.opts.clock.now())
    // Nobody could see its output any more.
    this.kills.get(session.id)?.()
    this.sessions.delete(session.id)
    await this.writes.get(session.id)
    await this.opts.fs.remove(this.file(session.id))
    this.opts.audit({ event: 'session_close', message: `session ${session.id} of ${session.owner} ${reason}`, domains: ['session'] })
    return session.info()
  }

  /** Closes the sessions nobody typed into or watched for the idle time; a running command keeps its session. Answers their ids. */
  async expireIdle (): Promise<string[]> {
    const now = this.opts.clock.now()
    const closed: string[] = []
    for (const s of [...this.sessions.values()]) {
      if (this.stopping) break
      if (s.attached === 0 && s.queued === 0 && s.record.running === null && now - s.record.lastActiveAt > this.idleMs) {
        await this.end(s, `closed after ${Math.round(this.idleMs / 1000)} s idle`).then(() => closed.push(s.id), err => this.opts.log.warn(`session ${s.id}: ${(err as Error).message}`))
      }
    }
    return closed
  }

  private mine (id: string, owner: string): Session {
    const s = this.sessions.get(id)
    if (s === undefined || s.owner !== owner) throw SeError.sessionNotOpen(id, owner)
    return s
  }

  private file (id: string): string { return join(this.opts.dir, `${id}.json`) }

  private async save (session: Session): Promise<void> {
    const timer = this.saveTimers.get(session.id)
    if (timer !== undefined) clearTimeout(timer)
    this.saveTimers.delete(session.id)
    const previous = this.writes.get(session.id) ?? Promise.resolve()
    const write = previous.then(async () => {
      // Closed meanwhile: its file is gone for good.
      if (session.isOpen) await this.opts.fs.writeAtomic(this.file(session.id), JSON.stringify(session.record))
    })
    const settled = write.catch(() => {})
    this.writes.set(session.id, settled)
    void settled.then(() => { if (this.writes.get(session.id) === settled) this.writes.delete(session.id) })
    await write
  }

  /** Output of a running command reaches the disk within SESSION_SAVE_MS, not with every chunk. */
  private saveSoon (session: Session): void {
    if (this.saveTimers.has(session.id)) return
    const timer = setTimeout(() => {
      this.saveTimers.delete(session.id)
      this.save(session).catch(err => this.opts.log.warn(`session ${session.id}: ${(err as Error).message}`))
    }, SESSION_SAVE_MS)
    ;(timer as { unref?: () => void }).unref?.()
    this.saveTimers.set(session.id, timer)
  }
}
