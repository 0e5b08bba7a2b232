// What the CLI and the dashboard ask a node to run, built from what a person
// named: a workflow file or a catalogue name, and a workload manifest. A workflow
// is parsed once, by the node it is sent to, which must check what any client sends
// anyway; its errors name the file, path and line all the same. Relative paths
// resolve against the directory the command was started in, `workdir`.
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { SeError } from '../../../core/errors.js'
import type { DeployRequest, WorkflowRequest } from '../../../core/protocol/types.js'
import { readText } from './context.js'

/** A workflow started by its catalogue name: the node looks the definition up. */
export function catalogueRequest (name: string, workdir: string, inputs: Record<string, string> = {}): WorkflowRequest {
  return { definition: null, source: name, inputs, workdir, requestedBy: '' }
}

/** A workflow file, or else a catalogue name. */
export async function workflowRequest (workflow: string, inputs: Record<string, string>, workdir: string): Promise<WorkflowRequest> {
  const file = path.resolve(workdir, workflow)
  const looksLikeFile = /[/\\]|\.(ya?ml|json)$/i.test(workflow)
  const isFile = await stat(file).then(s => s.isFile(), () => false)
  if (!isFile) {
    if (looksLikeFile) throw SeError.badInput(`workflow file ${workflow} does not exist`, 'give a path to a YAML or JSON workflow, or a name from `se catalogue`')
    return catalogueRequest(workflow, workdir, inputs)
  }
  const text = await readFile(file, 'utf8')
  return { definition: text, source: file, inputs, workdir, requestedBy: '' }
}

/** A manifest file and how to run it; what is not given is left to the node. */
export async function deployRequest (file: string, workdir: string, opts: Partial<Omit<DeployRequest, 'manifest' | 'source'>> = {}): Promise<DeployRequest> {
  const source = path.resolve(workdir, file)
  return {
    manifest: await readText(source, file),
    source,
    replicas: opts.replicas ?? null,
    memory: opts.memory ?? null,
    cpus: opts.cpus ?? null,
    env: opts.env ?? {},
    engine: opts.engine ?? null
  }
}
