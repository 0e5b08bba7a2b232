// A bearer token's user (over HTTP or Avro IPC) held to the node's policy as user:NAME.
// A refusal is kept in the node's own trail before it is thrown, as a member's is
// (core/node/mesh-host.ts), so the owner sees who tried what by which front end.
import { SeError } from '../errors.js'
import { decide, type Policy, type PolicyAction } from './policy.js'

/** The trail entry of a refusal; an AuditInput (core/audit sits above this layer). */
export interface RefusalEntry {
  event: 'action_refused'
  message: string
  domains: string[]
  workflowId?: string
}

export interface UserAccess {
  /** Who may do what here; null: every token may do everything. */
  policy (): Policy | null
  nodeName (): string
  /** The trail's domain for the front end: http or ipc. */
  domain: string
  /** Appends the refusal to the node's trail; resolves once written (or once a failure is logged), never rejects. */
  audit (entry: RefusalEntry): Promise<void>
  /** The name of a workflow held here, for approve rules scoped to workflows; undefined when unknown. */
  workflowName?: (workflowId: string) => Promise<string | undefined>
}

/**
 * Resolves when `user` may do `action` on this node; otherwise the refusal is in
 * the trail (with `workflowId` when the call names one) and NOT_ALLOWED is thrown
 * naming the rules, before anything of the call is done.
 */
export async function mayUser (access: UserAccess, user: string, action: PolicyAction, workflowId?: string): Promise<void> {
  const policy = access.policy()
  if (policy === null) return
  // An approve rule may name workflows: the call's workflow, by its name here, is what it is held to.
  const workflow = action === 'approve' && workflowId !== undefined ? await access.workflowName?.(workflowId) : undefined
  const verdict = decide(policy, action, { nodeKey: null, personKey: null, user }, workflow === undefined ? {} : { workflow })
  if (verdict.allowed) return
  const err = SeError.notAllowedByPolicy(`user ${user}`, action, access.nodeName(), verdict.reason)
  // Written before the caller hears of it, so a client that reads the trail next finds it.
  await access.audit({ event: 'action_refused', message: err.reason, domains: [access.domain, 'security'], ...(workflowId === undefined ? {} : { workflowId }) })
  throw err
}
