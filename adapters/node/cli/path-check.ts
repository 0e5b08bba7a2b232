// `se validate`: the commands a workflow's steps run, looked up on this machine's
// PATH, so a misspelt or missing tool is found before anything runs rather than
// at its step. Steps that may run elsewhere are left alone: a container step
// (its command is the image's), and a step the workflow routes to members with a
// capability (`requires`), whose tools are theirs, not this machine's.
import { access, constants } from 'node:fs/promises'
import path from 'node:path'
import type { WorkflowDefinition } from '../../../core/workflow/definition.js'
import { stepCommands } from '../../../core/workflow/commands.js'

/** `step` is where it is in the file: steps[2]. */
export interface MissingCommand { step: string, command: string }

export async function onPath (command: string, pathVar = process.env.PATH ?? ''): Promise<boolean> {
  for (const dir of pathVar.split(path.delimiter).filter(d => d !== '')) {
    if (await access(path.join(dir, command), constants.X_OK).then(() => true, () => false)) return true
  }
  return false
}

/** The steps whose command this machine would run and cannot find. */
export async function missingCommands (def: WorkflowDefinition): Promise<MissingCommand[]> {
  if (def.requires !== undefined) return []
  const missing: MissingCommand[] = []
  for (const c of stepCommands(def)) {
    if (c.step.requires !== undefined) continue
    if (!await onPath(c.command)) missing.push({ step: c.at, command: c.command })
  }
  return missing
}
