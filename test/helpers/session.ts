// A SessionManager on a temporary directory with the real file system and real
// processes; only the clock is the test's, so idle expiry needs no waiting.
import type { TestContext } from 'node:test'
import { NodeFileSystem } from '../../adapters/node/fs.js'
import { ExecaProcessRunner } from '../../adapters/node/process.js'
import type { AuditInput } from '../../core/audit/log.js'
import { SeError } from '../../core/errors.js'
import type { ProcessSpec } from '../../core/ports.js'
import type { NodeApi, SessionOutput } from '../../core/protocol/types.js'
import type { LineHost } from '../../core/session/line-interpreter.js'
import { SessionManager } from '../../core/session/session-manager.js'
import { defer, eventually, makeTempDir } from './tmp.js'

export const NODE_ID = 'ab12cd34'.repeat(8)

export interface SessionRig {
  manager: SessionManager
  /** The sessions directory. */
  dir: string
  /** Where new sessions start. */
  home: string
  clock: { now (): number, advance (ms: number): void }
  audits: AuditInput[]
  warnings: string[]
  /** The node restarts: this manager closes and a new one opens on the same directory. */
  restart (): Promise<SessionManager>
}

export interface RigOptions {
  idleMs?: number
  /** SE_EXECUTE_ALLOW. */
  allow?: string[]
  /** What SE verbs (`nodes`, `status`) see. */
  api?: Partial<NodeApi>
}

export async function sessionRig (t: TestContext, opts: RigOptions = {}): Promise<SessionRig> {
  const root = await makeTempDir(t, 'se-session-')
  const home = await makeTempDir(t, 'se-session-home-')
  const fs = new NodeFileSystem()
  const processes = new ExecaProcessRunner()
  let now = 1_700_000_000_000
  let ids = 0
  const clock = { now: () => now, advance: (ms: number) => { now += ms } }
  const audits: AuditInput[] = []
  const warnings: string[] = []
  // What SeNode.runCommand does, in short: the allowlist, no shell, output as it comes.
  const host: LineHost = {
    api: (opts.api ?? {}) as NodeApi,
    runCommand: async (command, io) => {
      if (opts.allow !== undefined && !opts.allow.includes(command.command)) throw new SeError('COMMAND_NOT_ALLOWED', `'${command.command}' is not on this node's command allowlist`)
      const spec: ProcessSpec = { command: command.command, args: command.args, cwd: command.workdir ?? home, env: command.env, processGroup: true }
      const handle = processes.run(spec, io?.onOutput)
      io?.onStart(() => { handle.kill() })
      const r = await handle.result
      return { exitCode: r.exitCode ?? (r.spawnError !== null ? 127 : 128), stdout: r.stdout, stderr: r.spawnError ?? r.stderr, duration: r.durationMs, sessionId: command.sessionId }
    },
    isDirectory: async path => await fs.isDirectory(path),
    readText: async path => { const b = await fs.read(path); return b === null ? null : Buffer.from(b).toString('utf8') }
  }
  const dir = `${root}/sessions`
  const make = (): SessionManager => new SessionManager({
    fs,
    clock,
    log: { info: () => {}, warn: m => { warnings.push(m) }, error: m => { warnings.push(m) } },
    dir,
    nodeId: NODE_ID,
    nodeName: 'rig',
    home,
    ...(opts.idleMs === undefined ? {} : { idleMs: opts.idleMs }),
    newId: () => `ss-${NODE_ID.slice(0, 8)}-${(++ids).toString(16).padStart(6, '0')}`,
    audit: input => { audits.push(input) },
    host
  })
  const rig: SessionRig = {
    manager: make(),
    dir,
    home,
    clock,
    audits,
    warnings,
    restart: async () => {
      await rig.manager.close()
      rig.manager = make()
      await rig.manager.open()
      return rig.manager
    }
  }
  await rig.manager.open()
  defer(t, async () => { await rig.manager.close() })
  return rig
}

/** Waits until the session has run every line sent to it. */
export async function settled (rig: SessionRig, id: string, owner: string, timeoutMs = 10_000): Promise<void> {
  await eventually(`session ${id} to finish its lines`, () => rig.manager.list(owner).find(s => s.id === id)?.busy === false, timeoutMs)
}

/** The session's kept output from the start, as a client attaching now would see it (then detached). */
export async function backlog (rig: SessionRig, id: string, owner: string, fromSeq = 0): Promise<SessionOutput[]> {
  const seen: SessionOutput[] = []
  let detach = (): void => {}
  const done = rig.manager.attach(id, owner, fromSeq, o => { seen.push(o) }, l => { detach = l }, '')
  detach()
  await done
  return seen
}

/** The backlog as the CLI prints it: input lines after `se> `. */
export function text (outputs: SessionOutput[]): string {
  return outputs.map(o => o.stream === 'input' ? `se> ${o.text}` : o.text).join('\n')
}
