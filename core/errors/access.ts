// Refusals of what a client may do: commands it may run, sessions it may use.
import { SeError } from './se-error.js'

export const accessErrors = {
  /** Without SE_EXECUTE_ALLOW the node runs no command for a network client. */
  noCommandAllowlist (): SeError {
    return new SeError('COMMAND_NOT_ALLOWED', 'this node has no command allowlist, so it runs no commands for network clients', { hint: 'list the commands it may run in SE_EXECUTE_ALLOW, e.g. SE_EXECUTE_ALLOW=git,npm' })
  },

  commandNotAllowed (command: string, allowed: readonly string[]): SeError {
    return new SeError('COMMAND_NOT_ALLOWED', `'${command}' is not on this node's command allowlist`, { hint: `allowed: ${allowed.join(', ') || 'nothing'}` })
  },

  /** A client named a session that is not its user's: to it, the session does not exist. */
  noSessionOfUser (sessionId: string, user: string): SeError {
    return new SeError('SESSION_NOT_FOUND', `no session ${sessionId} of user ${user} on this node`, { hint: 'list yours with `se session list`' })
  },

  /** The session's id names a node that cannot be reached, or none. */
  sessionNowhere (sessionId: string): SeError {
    return new SeError('SESSION_NOT_FOUND', `no open session ${sessionId} here or on a reachable mesh member`, { hint: 'list yours with `se session list`' })
  },

  /** No open session with that id belongs to `owner`. */
  sessionNotOpen (sessionId: string, owner: string): SeError {
    return new SeError('SESSION_NOT_FOUND', `no open session ${sessionId} of ${owner}`, { hint: 'list yours with `se session list`' })
  },

  /** A person's decision whose signature does not hold: made up, or changed on its way. */
  decisionForged (workflowId: string, person: string, why: string): SeError {
    return new SeError('NOT_ALLOWED', `a decision on workflow ${workflowId} said to be by person ${person.slice(0, 12)} does not hold: ${why}`, { hint: 'decisions are signed where they are made (se key new); one changed on its way, or made without the key, is refused' })
  },

  /** A person's key file that cannot be used. */
  badPersonKey (file: string, why: string, cause?: unknown): SeError {
    return new SeError('BAD_INPUT', `the person key in ${file} cannot be used: ${why}`, { hint: 'make a new one with `se key new --force` (decisions signed with the old key stay verifiable)', ...(cause === undefined ? {} : { cause }) })
  },

  /** No person key where one is looked for. */
  noPersonKey (file: string): SeError {
    return new SeError('BAD_INPUT', `no person key in ${file}`, { hint: 'make one with `se key new` (or point SE_PERSON_KEY at yours)' })
  },

  /** `se key new` would replace a key decisions may have been signed with. */
  personKeyExists (file: string): SeError {
    return new SeError('BAD_INPUT', `a person key already exists in ${file}`, { hint: 'se key show prints it; --force replaces it' })
  },

  noPolicyFile (file: string): SeError {
    return new SeError('BAD_INPUT', `no policy file ${file}`, { hint: 'give --policy (or SE_POLICY) a file that exists; without either, the data dir\'s policy.yaml is used when there is one' })
  },

  /** An intervention that names approvers or a quorum counts only people's signed decisions. */
  approvalNotSigned (workflowId: string, stepId: string, needs: string): SeError {
    return new SeError('NOT_ALLOWED', `step ${stepId} of workflow ${workflowId} needs signed approvals (${needs}); an unsigned one cannot count`, { hint: 'make your key with `se key new`; se approve then signs with it' })
  },

  /** The same person approving twice toward a quorum counts once. */
  alreadyApproved (workflowId: string, stepId: string, name: string, count: string): SeError {
    return new SeError('NOT_WAITING', `${name} has already approved step ${stepId} of workflow ${workflowId} (${count}); it needs another person`, { hint: 'se status shows who has approved and who is still needed' })
  },

  /** A member or person the node's policy does not allow an action; `rules` names what the policy allows instead. */
  notAllowedByPolicy (who: string, action: string, node: string, rules: string): SeError {
    return new SeError('NOT_ALLOWED', `${who} may not ${action} on ${node}: ${rules}`, { hint: `the policy of ${node} decides; its owner adds you to a role there (se policy show on that node)` })
  }
}
