// Questions to the whole mesh: every member at once, and one that stopped
// answering neither holds the answer up nor hides the one that holds it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeError } from '../core/errors.js'
import { askTheHolder, gatherFromMembers } from '../core/mesh/ask-members.js'
import { Member } from '../core/mesh/mesh.js'
import type { MeshPeerApi } from '../core/protocol/types.js'

const never = new Promise<never>(() => {})

function member (name: string, api: Partial<MeshPeerApi> | null): Member {
  const m = new Member(name.padEnd(64, '0'), name, 0)
  m.api = api as MeshPeerApi | null
  return m
}

test('gather keeps the answers that came in time and names the members that did not answer', async () => {
  const late: string[][] = []
  const members = [
    member('fast', { sessionList: async () => [{ id: 'a' }] as any }),
    member('stuck', { sessionList: async () => await never }),
    member('failing', { sessionList: async () => { throw new SeError('INTERNAL', 'boom') } }),
    member('no-api', null)
  ]
  const got = await gatherFromMembers(members, async api => await api.sessionList('me'), { deadlineMs: 100, onLate: names => late.push(names) })
  assert.deepEqual(got, [{ id: 'a' }])
  assert.deepEqual(late, [['stuck']])
})

test('gather with every member answering does not wait for the deadline or report anyone late', async () => {
  const late: string[][] = []
  const members = [member('a', { sessionList: async () => [1] as any }), member('b', { sessionList: async () => [2, 3] as any })]
  const started = Date.now()
  const got = await gatherFromMembers(members, async api => await api.sessionList('me'), { deadlineMs: 60_000, onLate: names => late.push(names) })
  assert.deepEqual(got, [1, 2, 3])
  assert.deepEqual(late, [])
  assert.ok(Date.now() - started < 30_000, 'it did not sit out the deadline')
})

const unknown = (): SeError => new SeError('UNKNOWN_WORKFLOW', 'not here')
const notHere = (err: unknown): boolean => err instanceof SeError && err.code === 'UNKNOWN_WORKFLOW'

test('the holder answers even when a member asked alongside it never does', async () => {
  const members = [
    member('stuck', { resumeWorkflow: async () => await never }),
    member('other', { resumeWorkflow: async () => { throw unknown() } }),
    member('holder', { resumeWorkflow: async () => ({ id: 'wf-1', state: 'running' }) as any })
  ]
  const got = await askTheHolder(members, async api => await api.resumeWorkflow('wf-1', {} as any), notHere, () => new SeError('UNKNOWN_WORKFLOW', 'nobody'), { deadlineMs: 60_000 })
  assert.equal(got.id, 'wf-1')
})

test('none holding it is not found; the holder\'s own error is passed on; silence until the deadline is not found', async () => {
  const nobody = (): SeError => new SeError('UNKNOWN_WORKFLOW', 'nobody has it')
  await assert.rejects(askTheHolder([member('a', { resumeWorkflow: async () => { throw unknown() } })], async api => await api.resumeWorkflow('x', {} as any), notHere, nobody, { deadlineMs: 60_000 }), /nobody has it/)
  await assert.rejects(askTheHolder([], async api => await api.resumeWorkflow('x', {} as any), notHere, nobody, { deadlineMs: 60_000 }), /nobody has it/)
  const invalid = new SeError('INVALID_CHOICE', 'choose approve or reject')
  await assert.rejects(askTheHolder([member('a', { resumeWorkflow: async () => { throw unknown() } }), member('h', { resumeWorkflow: async () => { throw invalid } })], async api => await api.resumeWorkflow('x', {} as any), notHere, nobody, { deadlineMs: 60_000 }), (err: SeError) => err.code === 'INVALID_CHOICE')
  const late: string[][] = []
  await assert.rejects(askTheHolder([member('stuck', { resumeWorkflow: async () => await never })], async api => await api.resumeWorkflow('x', {} as any), notHere, nobody, { deadlineMs: 50, onLate: n => late.push(n) }), /nobody has it/)
  assert.deepEqual(late, [['stuck']])
})
