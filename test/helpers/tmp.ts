// Temporary directories for unit tests, removed when the test ends.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'

const stacks = new WeakMap<TestContext, Array<() => unknown>>()

/**
 * Registers cleanup to run when the test ends, last registered first (t.after
 * alone runs hooks in registration order, which would remove a directory
 * before the log or engine living in it is closed).
 */
export function defer (t: TestContext, fn: () => unknown): void {
  let stack = stacks.get(t)
  if (stack === undefined) {
    const fns: Array<() => unknown> = []
    stack = fns
    stacks.set(t, fns)
    t.after(async () => {
      let first: unknown
      for (const f of fns.splice(0).reverse()) {
        try { await f() } catch (err) { first ??= err }
      }
      if (first !== undefined) throw first
    })
  }
  stack.push(fn)
}

export async function makeTempDir (t: TestContext, prefix = 'se-unit-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  defer(t, () => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Polls `check` until it returns a value other than undefined/false, or fails after timeoutMs. */
export async function eventually<T> (what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, pollMs = 5): Promise<T> {
  const started = Date.now()
  for (;;) {
    const v = await check()
    if (v !== undefined && v !== false) return v
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, pollMs))
  }
}

export function delay (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
