// A workflow engine on a temporary data dir, with the real store and audit trail and a
// scripted process runner: what the engine tests build on. `crash()` stops it the way a
// kill -9 would: nothing more is written (the trail is closed), and no shutdown runs.
import type { TestContext } from 'node:test'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { SodiumCrypto } from '../../adapters/shared/sodium-crypto.js'
import { AuditLog } from '../../core/audit/log.js'
import type { FileSystem, KeyPair } from '../../core/ports.js'
import { WorkflowEngine, type EngineOptions } from '../../core/workflow/engine.js'
import type { WorkflowRun, WorkflowState } from '../../core/workflow/run.js'
import { WorkflowStore } from '../../core/workflow/store.js'
import type { FakeProcessRunner } from './fake-processes.js'
import { defer, eventually } from './tmp.js'

export const crypto = new SodiumCrypto()

export interface World { dir: string, identity: KeyPair }

export interface OpenedEngine {
  engine: WorkflowEngine
  store: WorkflowStore
  audit: AuditLog
  crash: () => Promise<void>
}

let engines = 0

export async function openEngine (t: TestContext, w: World, o: { fs: FileSystem, processes: FakeProcessRunner, nodeId: string, cli: string, prefix: string } & Partial<Pick<EngineOptions, 'env' | 'maxConcurrent' | 'executors'>>): Promise<OpenedEngine> {
  const clock = { now: () => Date.now() }
  const store = new WorkflowStore(o.fs, path.join(w.dir, 'workflows'))
  await store.open()
  const audit = new AuditLog({ dir: path.join(w.dir, 'audit'), fs: o.fs, crypto, clock, identity: w.identity, headIntervalMs: 60_000 })
  await audit.open()
  const prefix = `${o.prefix}${++engines}`
  let ids = 0
  const engine = new WorkflowEngine({
    node: { id: o.nodeId, name: 'testnode', dataDir: w.dir, cli: o.cli },
    store,
    audit,
    processes: o.processes,
    clock,
    newId: () => `${prefix}-wf${++ids}`,
    env: o.env ?? (() => undefined),
    ...(o.maxConcurrent === undefined ? {} : { maxConcurrent: o.maxConcurrent }),
    ...(o.executors === undefined ? {} : { executors: o.executors })
  })
  let crashed = false
  defer(t, async () => {
    if (crashed) return
    // Let hanging fake processes be killed, then close the trail.
    await engine.shutdown(50)
    await audit.close()
  })
  return {
    engine,
    store,
    audit,
    crash: async () => {
      crashed = true
      await audit.close()
    }
  }
}

/** Waits until the engine shows the workflow in `state`. */
export async function reach (h: { engine: WorkflowEngine }, id: string, state: WorkflowState): Promise<WorkflowRun> {
  return await eventually(`workflow ${id} to be ${state} (it is ${h.engine.get(id)?.state ?? 'unknown'})`, () => {
    const run = h.engine.get(id)
    return run?.state === state ? run : undefined
  })
}

/** The run record as persisted. */
export async function onDisk (w: World, id: string): Promise<WorkflowRun> {
  return JSON.parse(await readFile(path.join(w.dir, 'workflows', `${id}.json`), 'utf8')) as WorkflowRun
}
