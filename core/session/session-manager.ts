// The sessions a node holds: opened, fed lines one at a time, watched by any
// number of attached clients, kept on disk across restarts, closed by their owner
// or when idle. A session that does not exist and one of another user look the same.
import b4a from 'b4a'
import { SESSION_IDLE_MS, SESSION_SWEEP_MS } from '../constants.js'
import { SeError } from '../errors.js'
import { join } from '../paths.js'
import type { Clock, FileSystem, Logger } from '../ports.js'
import type { ExecutionResult, SessionInfo, SessionOutput } from '../protocol/types.js'
import type { AuditInput } from '../audit/log.js'
import { runLine, type LineHost } from './line-interpreter.js'
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
  private sweeper: ReturnType<typeof setInterval> | null = null
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
    this.sweeper = setInterval(() => { void this.sweep() }, every)
    ;(this.sweeper as { unref?: () => void }).unref?.()
  }

  async close (): Promise<void> {
    if (this.sweeper !== null) clearInterval(this.sweeper)
    this.sweeper = null
    await Promise.all([...this.queues.values()])
  }

  has (id: string): boolean { return this.sessions.has(id) }

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
    void this.save(session)
  }

  cwdOf (id: string): string | null { return this.sessions.get(id)?.record.cwd ?? null }

  private async run (session: Session, line: string): Promise<void> {
    if (!session.isOpen) return
    session.append('input', line, this.opts.clock.now())
    session.remember(line)
    session.record.running = line
    await this.save(session)
    const outcome = await runLine(line, {
      sessionId: session.id,
      owner: session.owner,
      cwd: session.record.cwd,
      history: session.record.history,
      emit: (stream, text) => { session.append(stream, text, this.opts.clock.now()) }
    }, this.opts.host)
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
    this.sessions.delete(session.id)
    await this.opts.fs.remove(this.file(session.id))
    this.opts.audit({ event: 'session_close', message: `session ${session.id} of ${session.owner} ${reason}`, domains: ['session'] })
    return session.info()
  }

  private async sweep (): Promise<void> {
    const now = this.opts.clock.now()
    for (const s of [...this.sessions.values()]) {
      if (s.attached === 0 && s.record.running === null && now - s.record.lastActiveAt > this.idleMs) {
        await this.end(s, `closed after ${Math.round(this.idleMs / 1000)} s idle`).catch(err => this.opts.log.warn(`session ${s.id}: ${(err as Error).message}`))
      }
    }
  }

  private mine (id: string, owner: string): Session {
    const s = this.sessions.get(id)
    if (s === undefined || s.owner !== owner) throw new SeError('SESSION_NOT_FOUND', `no open session ${id} of ${owner}`, { hint: 'list yours with `se session list`' })
    return s
  }

  private file (id: string): string { return join(this.opts.dir, `${id}.json`) }

  private async save (session: Session): Promise<void> {
    if (!session.isOpen) return
    await this.opts.fs.writeAtomic(this.file(session.id), JSON.stringify(session.record))
  }
}
