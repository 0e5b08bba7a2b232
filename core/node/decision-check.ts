// Before a node acts on a person's signed decision about a workflow it holds: the
// signature holds, it answers this very question (workflow, step, choice, comment),
// and the node's policy lets that person approve here. Then the trail keeps the
// signed decision, and names the person, not the member that passed it on.
import { decide, isAmong, type Policy } from '../access/policy.js'
import { verifyDecision } from '../access/decision.js'
import { SeError } from '../errors.js'
import type { Crypto } from '../ports.js'
import type { InterventionResult, SignedDecision } from '../protocol/types.js'
import type { WorkflowRun } from '../workflow/run.js'

/** How long a signed decision may take to arrive, and how far ahead of this node's clock it may be dated. */
export const DECISION_MAX_AGE_MS = 10 * 60_000
export const DECISION_MAX_SKEW_MS = 60_000

export interface DecisionCheck { crypto: Crypto, policy: () => Policy | null, now: () => number }

/** The result to act on: unsigned ones as they came; signed ones checked, with the person as decidedBy. */
export function checkedResult (c: DecisionCheck, run: WorkflowRun, result: InterventionResult, fromNode: string | null): InterventionResult {
  const signed = result.signed
  if (signed === null || signed === undefined) return result
  const d = verified(c, signed)
  const step = result.stepId !== '' ? result.stepId : run.interventions[0]?.stepId ?? ''
  const differs = d.workflowId !== run.id
    ? `it is about workflow ${d.workflowId}, not ${run.id}`
    : d.stepId !== step ? `it answers step ${d.stepId || '(none)'}, not ${step || '(none)'}`
      : d.choice !== result.choice ? `it chose ${d.choice}, not ${result.choice}`
        : d.comment !== result.comment ? 'its comment is not the one sent with it' : null
  if (differs !== null) throw SeError.decisionForged(run.id, d.person, differs)
  const policy = c.policy()
  // An intervention that names its approvers takes only them, whatever else the policy allows.
  const approvers = run.interventions.find(i => i.stepId === step)?.approvers ?? []
  if (approvers.length > 0) {
    const among = approvers.map(a => isAmong(policy, a, { nodeKey: null, personKey: d.person }))
    if (!among.includes(true)) {
      const unknown = approvers.filter((_, i) => among[i] === null)
      const reason = `step ${step} of ${run.name} is for ${approvers.join(', ')} to decide${unknown.length === 0 ? '' : ` (${unknown.join(', ')}: no such role in ${policy === null ? 'a policy; this node has none' : policy.file})`}`
      throw SeError.notAllowedByPolicy(personOf(d), `decide step ${step}`, 'this node', reason)
    }
  }
  mayApprove(c, d, run, fromNode, 'answer interventions')
  return { ...result, stepId: step, decidedBy: signedBy(d) }
}

/** A person's signed cancel of a workflow held here: it names this workflow, choice cancel, the reason as its comment, and the person may approve here. */
export function checkedCancel (c: DecisionCheck, run: WorkflowRun, reason: string, signed: SignedDecision): { decidedBy: string } {
  const d = verified(c, signed)
  const differs = d.workflowId !== run.id
    ? `it is about workflow ${d.workflowId}, not ${run.id}`
    : d.choice !== 'cancel' || d.stepId !== '' ? `it is ${d.choice} at step ${d.stepId || '(none)'}, not a cancel` : d.comment !== reason ? 'its reason is not the one sent with it' : null
  if (differs !== null) throw SeError.decisionForged(run.id, d.person, differs)
  mayApprove(c, d, run, null, 'cancel workflows')
  return { decidedBy: signedBy(d) }
}

type Decided = ReturnType<typeof verifyDecision>

function verified (c: DecisionCheck, signed: SignedDecision): Decided {
  return verifyDecision(c.crypto, signed, { now: c.now(), maxAgeMs: DECISION_MAX_AGE_MS, maxSkewMs: DECISION_MAX_SKEW_MS })
}

/** Cancelling ends a workflow as a reject does: both take approve for the person, by the workflow's name. */
function mayApprove (c: DecisionCheck, d: Decided, run: WorkflowRun, fromNode: string | null, verb: string): void {
  const policy = c.policy()
  if (policy === null) return
  const verdict = decide(policy, 'approve', { nodeKey: fromNode, personKey: d.person }, { workflow: run.name })
  if (!verdict.allowed) throw SeError.notAllowedByPolicy(personOf(d), verb, 'this node', verdict.reason)
}

function personOf (d: Decided): string { return `person ${d.name} (${d.person.slice(0, 8)})` }
function signedBy (d: Decided): string { return `${d.name} (person ${d.person.slice(0, 12)}, signed)` }
