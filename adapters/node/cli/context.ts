// What every `se` subcommand shares: where it writes, what it reports back, how it
// reaches its node, and the small parsing helpers of its flags. It sits below
// program.ts and the subcommand files, which all import it and never each other.
import type { Command } from 'commander'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { SeError } from '../../../core/errors.js'
import type { NodeApi } from '../../../core/protocol/types.js'
import { defaultDataDir } from '../config.js'
import { connectNode } from '../client.js'

export interface CliIO {
  out (text: string): void
  err (text: string): void
  isTTY: boolean
}

export interface CliState {
  exitCode: number
  /** Set by `se shell` to run its loop after parsing. */
  shell?: { dataDir: string }
  /** Set by `se node start`: resolves when the node has shut down. */
  daemon?: Promise<void>
}

/** The process's own terminal. */
export const stdio: CliIO = {
  out: text => { process.stdout.write(text + '\n') },
  err: text => { process.stderr.write(text + '\n') },
  isTTY: process.stderr.isTTY === true
}

/** For repeatable flags: each use adds a value. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

export function dataDirOf (cmd: Command): string {
  const opts = cmd.optsWithGlobals<{ dataDir?: string }>()
  return opts.dataDir === undefined ? defaultDataDir() : path.resolve(opts.dataDir)
}

/** Says on stderr that a call waits for a node that is starting (stdout stays the command's). */
export const sayWaiting = (message: string): void => { process.stderr.write(`${message}\n`) }

export async function withNode<T> (cmd: Command, fn: (api: NodeApi) => Promise<T>): Promise<T> {
  const conn = await connectNode(dataDirOf(cmd), { onWait: sayWaiting })
  try {
    return await fn(conn.api)
  } finally {
    conn.close()
  }
}

export function json (io: CliIO, value: unknown): void {
  io.out(JSON.stringify(value, null, 2))
}

/** How a command prints its answer: for a person, as JSON (--json), or its ids alone (-q). */
export interface OutputOptions { json?: boolean, quiet?: boolean }

/** What `-q` prints of a value: the id of each thing (else its name, else its node key), one a line. */
export function idsOf (value: unknown): string[] {
  const one = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v
    if (v === null || typeof v !== 'object') return undefined
    const o = v as Record<string, unknown>
    const id = o.id ?? o.name ?? o.nodeId ?? o.workflowId ?? o.file
    return typeof id === 'string' ? id : undefined
  }
  return (Array.isArray(value) ? value : [value]).map(one).filter((id): id is string => id !== undefined)
}

/** Prints a command's answer: as JSON with --json, its ids with -q, else as `text` puts it for a person. */
export function print<T> (io: CliIO, opts: OutputOptions, value: T, text: (value: T) => string): void {
  if (opts.json === true) json(io, value)
  else if (opts.quiet === true) { for (const id of idsOf(value)) io.out(id) }
  else io.out(text(value))
}

/** Asks the node one thing and prints the answer (see `print`). */
export async function askAndPrint<T> (io: CliIO, cmd: Command, opts: OutputOptions, ask: (api: NodeApi) => Promise<T>, text: (value: T) => string): Promise<T> {
  return await withNode(cmd, async api => {
    const value = await ask(api)
    print(io, opts, value, text)
    return value
  })
}

/** `shown` is the name the person gave, for the error. */
export async function readText (file: string, shown = file): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    throw SeError.cannotRead(shown, err)
  }
}
