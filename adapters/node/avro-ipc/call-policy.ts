// What an Avro IPC caller may do, and whom the node records as doing it. The
// caller is the holder of the bearer token, never what the request claims: the
// trail names `USER via avro-tcp` whatever `requestedBy` or `decidedBy` said.
// The node's policy is asked first (as user:NAME, the action MESSAGE_ACTIONS names),
// so a refused call does nothing at all.
import { SeError } from '../../../core/errors.js'
import { MESSAGE_ACTIONS, type PublicMessage } from '../../../core/access/message-actions.js'
import { mayUser, type UserAccess } from '../../../core/access/user-access.js'
import type { BatchJob, Command, InterventionResult, WorkflowRequest } from '../../../core/protocol/types.js'

export interface Caller {
  user: string
  /** How the call arrived, as the trail and the metrics name it: avro-http or avro-tcp. */
  transport: string
}

export interface CallRules {
  /** Commands network clients may run; null means none. */
  allowedCommands (): string[] | null
  /** The user a session belongs to; null when there is no such session. */
  sessionOwner (sessionId: string): Promise<string | null>
  /** The node's policy, and where its refusals go. */
  access: UserAccess
}

/** The request as the node should run it for `caller`; throws SeError when the caller may not. */
export async function authorize (message: PublicMessage, request: Record<string, unknown>, caller: Caller, rules: CallRules): Promise<Record<string, unknown>> {
  const action = MESSAGE_ACTIONS[message]
  if (action !== null) await mayUser(rules.access, caller.user, action, typeof request.workflowId === 'string' ? request.workflowId : undefined)
  const by = `${caller.user} via ${caller.transport}`
  switch (message) {
    case 'executeWorkflow':
      return { ...request, request: { ...(request.request as WorkflowRequest), requestedBy: by } }
    case 'resumeWorkflow':
      return { ...request, result: { ...(request.result as InterventionResult), decidedBy: by } }
    case 'cancelWorkflow':
      // As over HTTP, the reason says who; a person's signed cancel keeps the reason it signed (and names them).
      return request.signed == null ? { ...request, reason: `${String(request.reason)} (${by})` } : request
    case 'execute':
      await mayRun([request.command as Command], null, caller, rules)
      return request
    case 'executeBatch': {
      const job = request.job as BatchJob
      await mayRun(job.commands, job.sessionId, caller, rules)
      return request
    }
    default:
      return request
  }
}

async function mayRun (commands: Command[], batchSession: string | null, caller: Caller, rules: CallRules): Promise<void> {
  const allowed = rules.allowedCommands()
  for (const c of commands) {
    if (allowed === null) throw SeError.noCommandAllowlist()
    if (!allowed.includes(c.command)) throw SeError.commandNotAllowed(c.command, allowed)
  }
  // A command in a session shows in that session's output, so only its owner may send one.
  const sessions = new Set([batchSession, ...commands.map(c => c.sessionId)].filter((s): s is string => s !== null))
  for (const id of sessions) {
    if (await rules.sessionOwner(id) !== caller.user) throw SeError.noSessionOfUser(id, caller.user)
  }
}
