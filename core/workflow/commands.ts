// The commands a workflow's steps name, as written: what can be looked up on a
// PATH before anything runs, so a misspelt or missing tool is refused at once
// rather than found at its step an hour in.
import { SeError } from '../errors.js'
import type { StepDefinition, WorkflowDefinition } from './definition.js'

export interface StepCommand {
  step: StepDefinition
  /** Where it is in the file: steps[2]. */
  at: string
  command: string
}

/**
 * Steps that run a named program on a node's PATH. Left out: container steps (the
 * command is the image's), paths (./build.sh is the workspace's), and names made
 * from inputs, a matrix or the node (known only when the step runs).
 */
export function stepCommands (def: WorkflowDefinition): StepCommand[] {
  const out: StepCommand[] = []
  for (const [i, step] of def.steps.entries()) {
    const command = step.run?.command
    if (command === undefined || step.run?.image !== undefined) continue
    if (command.includes('/') || command.includes('${')) continue
    out.push({ step, at: `steps[${i}]`, command })
  }
  return out
}

/** More than any workflow names: a member asking about more is refused, not served. */
export const MAX_COMMANDS_ASKED = 256
const COMMAND_NAME = /^[^/\0]{1,255}$/

/** A member's question, checked: a bounded list of plain names, never paths to probe. */
export function commandNames (asked: string[]): string[] {
  if (asked.length > MAX_COMMANDS_ASKED) throw SeError.badInput(`findCommands: ${asked.length} commands asked, at most ${MAX_COMMANDS_ASKED}`)
  const bad = asked.find(c => !COMMAND_NAME.test(c) || c === '.' || c === '..')
  if (bad !== undefined) throw SeError.badInput(`findCommands: '${bad.slice(0, 64)}' is not a command name (no slashes, 1 to 255 characters)`)
  return [...new Set(asked)]
}
