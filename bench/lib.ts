// Shared helpers for the benchmark suite: temp dirs, timing, statistics and the report table.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Logger } from '../core/ports.js'

export const quietLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} }

const tempDirs: string[] = []

/** A fresh directory under os.tmpdir(), removed by cleanupTempDirs(). */
export async function tempDir (prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `se-bench-${prefix}-`))
  tempDirs.push(dir)
  return dir
}

export async function cleanupTempDirs (): Promise<void> {
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true })
}

export const now = (): number => performance.now()

/** Wall time of one call, in ms. */
export async function timed (fn: () => Promise<unknown>): Promise<number> {
  const start = now()
  await fn()
  return now() - start
}

export function median (values: number[]): number {
  return percentile(values, 50)
}

export function percentile (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] as number
}

export function mean (values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length
}

/** Milliseconds with a precision that suits their size. */
export function ms (value: number): string {
  if (!Number.isFinite(value)) return String(value)
  if (value >= 100) return value.toFixed(0)
  if (value >= 10) return value.toFixed(1)
  if (value >= 1) return value.toFixed(2)
  return value.toFixed(3)
}

export function rate (value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

export interface Goal {
  /** 'lt': the ratio must be below `limit`; 'gt': above it. */
  kind: 'lt' | 'gt'
  limit: number
}

export interface Result {
  name: string
  /** e.g. "2.31 ms/step" */
  subject: string
  /** e.g. "2.05 ms/spawn" */
  baseline: string
  ratio: number
  goal: Goal | null
  /** Shown after the verdict: what the ratio means, extra figures. */
  note?: string
}

export function met (r: Result): boolean | null {
  if (r.goal === null || !Number.isFinite(r.ratio)) return r.goal === null ? null : false
  return r.goal.kind === 'lt' ? r.ratio < r.goal.limit : r.ratio > r.goal.limit
}

const COL = { name: 28, subject: 18, baseline: 20 }

export function formatResult (r: Result): string {
  const goal = r.goal === null ? '(context)' : `goal ${r.goal.kind === 'lt' ? '<' : '>'} ${r.goal.limit}x`
  const ok = met(r)
  const verdict = ok === null ? '' : ok ? '✓' : '✗ MISSED'
  const line = [
    r.name.padEnd(COL.name),
    r.subject.padStart(COL.subject),
    '  vs ',
    r.baseline.padEnd(COL.baseline),
    `ratio ${r.ratio.toFixed(2)}x`.padStart(13),
    '  ',
    goal.padEnd(14),
    verdict
  ].join('')
  return r.note === undefined ? line : `${line}\n${' '.repeat(COL.name + 2)}${r.note}`
}

export function section (title: string): void {
  process.stdout.write(`\n── ${title} ${'─'.repeat(Math.max(0, 100 - title.length))}\n`)
}

export function info (text: string): void {
  process.stdout.write(`  ${text}\n`)
}
