// The chaos suite's cluster: three real `se node start` processes on a local
// bootstrap, each on a data dir that survives its kills, with the two kinds of
// kill -9 the suite deals out and a wait for the mesh to be whole again.
import { readdirSync, readFileSync } from 'node:fs'
import type { TestContext } from 'node:test'
import { json, se, sleep, tempDir, type RunningNode } from './cli.js'
import { meshNode, nodesOf, type MeshNodeProc } from './mesh.js'
import type { WorkflowStatusLite } from './chaos-checker.js'

export interface ChaosMember {
  name: string
  tags: string[]
  dataDir: string
  key: string
  /** Null while it is down. */
  proc: RunningNode | null
  /** What each run of it wrote to stderr, oldest first, for the report of a failed run. */
  logs: string[]
}

/**
 * `tree`: kill -9 of the node and every process it started (a power cut); `node`: kill -9
 * of the node process alone, its steps live on; `stop`: SIGTERM, the graceful stop.
 */
export type KillKind = 'tree' | 'node' | 'stop'

export class ChaosCluster {
  private constructor (private readonly t: TestContext, private readonly bootstrap: string, readonly members: ChaosMember[]) {}

  static async start (t: TestContext, bootstrap: string, specs: Array<{ name: string, tags: string[] }>): Promise<ChaosCluster> {
    const members = await Promise.all(specs.map(async s => {
      const dataDir = await tempDir(t, `se-chaos-${s.name}-`)
      const n = await meshNode(t, bootstrap, s.name, { tags: s.tags, dataDir })
      return { name: s.name, tags: s.tags, dataDir, key: n.key, proc: n.proc, logs: [] }
    }))
    return new ChaosCluster(t, bootstrap, members)
  }

  up (): ChaosMember[] { return this.members.filter(m => m.proc !== null) }

  /** Takes it down; for `stop`, its exit code (a graceful stop exits 0), else null. */
  async kill (m: ChaosMember, kind: KillKind): Promise<number | null> {
    const proc = m.proc
    if (proc === null) return null
    m.proc = null
    let code: number | null = null
    if (kind === 'tree') await proc.crash()
    else if (kind === 'node') { proc.proc.kill('SIGKILL'); await proc.proc }
    else code = await proc.stop()
    m.logs.push(proc.stderr())
    return code
  }

  /** Starts it again on its data dir; how long until it served its socket and answered. */
  async restart (m: ChaosMember): Promise<number> {
    if (m.proc !== null) return 0
    const started = Date.now()
    const n = await meshNode(this.t, this.bootstrap, m.name, { tags: m.tags, dataDir: m.dataDir })
    if (n.key !== m.key) throw new Error(`${m.name} came back as ${n.key}, not ${m.key}: its identity did not survive`)
    m.proc = n.proc
    return Date.now() - started
  }

  /** Waits until every member is running and sees every other one up; how long that took. */
  async waitWhole (timeoutMs: number): Promise<number> {
    const started = Date.now()
    for (;;) {
      const whole = this.members.every(m => m.proc !== null) && (await Promise.all(this.members.map(async m => {
        const rows = await nodesOf(this.asProc(m)).catch(() => [])
        return this.members.every(o => o === m || rows.some(r => r.nodeId === o.key && r.state === 'up'))
      }))).every(Boolean)
      if (whole) return Date.now() - started
      if (Date.now() - started > timeoutMs) throw new Error(`the mesh was not whole again within ${timeoutMs} ms`)
      await sleep(200)
    }
  }

  async workflows (m: ChaosMember): Promise<WorkflowStatusLite[]> {
    return json<WorkflowStatusLite[]>(await se(['status', '--json'], { dataDir: m.dataDir }))
  }

  async stopAll (): Promise<number[]> {
    return await Promise.all(this.members.map(async m => {
      const proc = m.proc
      m.proc = null
      if (proc === null) return 0
      const code = await proc.stop()
      m.logs.push(proc.stderr())
      return code
    }))
  }

  private asProc (m: ChaosMember): MeshNodeProc {
    return { name: m.name, dataDir: m.dataDir, key: m.key, proc: m.proc as RunningNode }
  }
}

/** Processes that carry one of these node ids in their environment: what a node started, or what its steps did. */
export function processesMarked (keys: string[]): Array<{ pid: number, key: string, cmdline: string }> {
  const marks = keys.map(key => ({ key, mark: `\0SE_NODE_ID=${key}\0` }))
  const out: Array<{ pid: number, key: string, cmdline: string }> = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    let environ: string
    try { environ = '\0' + readFileSync(`/proc/${name}/environ`, 'utf8') } catch { continue }
    const hit = marks.find(m => environ.includes(m.mark))
    if (hit === undefined) continue
    let cmdline = ''
    try { cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim() } catch {}
    out.push({ pid: Number(name), key: hit.key, cmdline })
  }
  return out
}
