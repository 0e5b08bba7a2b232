// A token's user over HTTP and Avro IPC (issue 17): which policy action each public
// message needs, held to the list of messages and to the HTTP routes that answer the
// same; and a refusal audited before it is thrown, naming the rule.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MESSAGE_ACTIONS } from '../core/access/message-actions.js'
import { POLICY_ACTIONS, parsePolicy } from '../core/access/policy.js'
import { mayUser, type RefusalEntry } from '../core/access/user-access.js'
import type { SeError } from '../core/errors.js'
import { ROUTE_ACTIONS } from '../core/http/api.js'
import { ROUTES } from '../core/http/routes.js'
import { PUBLIC_MESSAGES } from '../core/protocol/avpr.js'

test('every public Avro IPC message needs a named action, the same one its HTTP route needs', () => {
  // The type makes a missing message a compile error; this holds the table to the list at run time too.
  assert.deepEqual(Object.keys(MESSAGE_ACTIONS).sort(), [...PUBLIC_MESSAGES].sort())
  for (const [message, action] of Object.entries(MESSAGE_ACTIONS)) assert.ok(action === null || POLICY_ACTIONS.includes(action), `${message}: ${String(action)}`)
  assert.deepEqual(Object.entries(MESSAGE_ACTIONS).filter(([, a]) => a === null).map(([m]) => m).sort(), ['getCapabilities', 'ping'], 'only who the node is goes without an action')
  // A route that answers what a message answers asks the same of its caller.
  let compared = 0
  for (const route of ROUTES) {
    const message = Object.values(route.responses).map(r => (r as { message?: string }).message).find(m => m !== undefined)
    if (message === undefined || !(message in MESSAGE_ACTIONS)) continue
    assert.equal(ROUTE_ACTIONS[route.id], MESSAGE_ACTIONS[message as keyof typeof MESSAGE_ACTIONS], `route ${route.id} and message ${message}`)
    compared++
  }
  assert.ok(compared >= 10, `only ${compared} routes compared`)
})

test('a token\'s user refused is audited before the refusal is thrown, naming the rule; allowed, nothing is written', async () => {
  const policy = parsePolicy("roles:\n  release: [user:alice]\nallow:\n  approve: [release]\n", 'policy.yaml')
  const written: RefusalEntry[] = []
  const access = { policy: () => policy, nodeName: () => 'builder', domain: 'ipc', audit: async (e: RefusalEntry) => { written.push(e) } }
  await mayUser(access, 'alice', 'approve', 'wf-1')
  assert.equal(written.length, 0)
  await assert.rejects(mayUser(access, 'bob', 'approve', 'wf-1'), (e: SeError) => e.code === 'NOT_ALLOWED' && e.reason === 'user bob may not approve on builder: policy.yaml:4 allow.approve[0] allows approve to role release')
  assert.deepEqual(written.slice(), [{ event: 'action_refused', message: 'user bob may not approve on builder: policy.yaml:4 allow.approve[0] allows approve to role release', domains: ['ipc', 'security'], workflowId: 'wf-1' }])
  await assert.rejects(mayUser(access, 'alice', 'deploy'), (e: SeError) => /allows deploy to nobody/.test(e.reason))
  assert.equal(written[1]?.workflowId, undefined, 'no workflow named, none recorded')
  await mayUser({ ...access, policy: () => null }, 'bob', 'deploy')
  assert.equal(written.length, 2, 'no policy: every token may do everything')
})

test('an approve rule scoped to workflows holds a token user by the named workflow\'s name', async () => {
  const policy = parsePolicy('allow:\n  approve: [{ who: user:alice, workflows: [RELEASE] }]\n', 'policy.yaml')
  const names: Record<string, string> = { 'wf-r': 'RELEASE', 'wf-o': 'OTHER' }
  const access = { policy: () => policy, nodeName: () => 'builder', domain: 'http', audit: async () => {}, workflowName: async (id: string) => names[id] }
  await mayUser(access, 'alice', 'approve', 'wf-r')
  await assert.rejects(mayUser(access, 'alice', 'approve', 'wf-o'), (e: SeError) => e.code === 'NOT_ALLOWED' && /allows approve to user alice for RELEASE/.test(e.reason))
  await assert.rejects(mayUser(access, 'alice', 'approve', 'wf-unknown'), (e: SeError) => e.code === 'NOT_ALLOWED', 'a workflow not held here matches no scoped rule')
})
