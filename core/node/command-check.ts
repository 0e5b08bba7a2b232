// Before a workflow's first step starts, every command its steps name must be on
// the PATH of a node that may run that step: this node, or in a mesh the members
// able to. A missing tool is then refused at once (exit 2), naming the step and
// where it was looked for, instead of failing its step after the earlier ones ran.
import { SeError } from '../errors.js'
import type { SystemInfo } from '../ports.js'
import type { Member } from '../mesh/mesh.js'
import type { Router, Routing } from '../mesh/router.js'
import { stepCommands } from '../workflow/commands.js'
import type { WorkflowDefinition } from '../workflow/definition.js'

export interface CommandCheckOptions {
  system: SystemInfo
  router: Router
  member: (nodeId: string) => Member | undefined
  /** How long a member may take to answer; one that does not is given the benefit of the doubt. */
  deadlineMs: number
}

/** The commands of the list that are on this node's PATH. */
export async function foundOnPath (system: SystemInfo, commands: string[]): Promise<string[]> {
  const found = await Promise.all(commands.map(async c => (await system.hasTool(c)) ? c : null))
  return found.filter((c): c is string => c !== null)
}

/** Throws VALIDATION_FAILED naming every step whose command no node that may run it has. */
export async function checkCommands (definition: WorkflowDefinition, file: string, routing: Routing | undefined, o: CommandCheckOptions): Promise<void> {
  const commands = stepCommands(definition)
  if (commands.length === 0) return
  const where = commands.map(c => ({ ...c, nodes: o.router.nodesFor(definition, c.step, routing) }))
  const asked = new Map<string | null, Set<string>>()
  for (const w of where) for (const n of w.nodes) asked.set(n.nodeId, (asked.get(n.nodeId) ?? new Set()).add(w.command))
  // Null: the node could not say (gone, too slow, or too old to be asked), so it may have it.
  const found = new Map<string | null, Set<string> | null>()
  await Promise.all([...asked].map(async ([nodeId, names]) => {
    found.set(nodeId, nodeId === null ? new Set(await foundOnPath(o.system, [...names])) : await askMember(o.member(nodeId), [...names], o.deadlineMs))
  }))
  const missing = where.filter(w => w.nodes.every(n => found.get(n.nodeId)?.has(w.command) === false))
  if (missing.length > 0) throw SeError.commandNotFound(file, missing.map(m => ({ step: m.at, command: m.command, where: m.nodes.map(n => n.nodeId === null ? `this node (${n.name})` : n.name) })))
}

async function askMember (member: Member | undefined, commands: string[], deadlineMs: number): Promise<Set<string> | null> {
  const api = member?.api
  if (api == null) return null
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<null>(resolve => { timer = setTimeout(() => resolve(null), deadlineMs) })
  try {
    return await Promise.race([api.findCommands(commands).then(list => new Set(list), () => null), late])
  } finally {
    clearTimeout(timer)
  }
}
