// Questions a node puts to the whole mesh for a person waiting at a prompt (what
// waits for an answer, which sessions are mine, who holds this workflow). Every
// member is asked at once, and one that has stopped answering but is not yet
// suspect must not hold the answer up for the whole RPC timeout.
import { SeError } from '../errors.js'
import type { Member } from './mesh.js'
import type { MeshPeerApi } from '../protocol/types.js'

export interface AskOptions {
  deadlineMs: number
  /** Opens a connection to a member asked that this node holds none to (within the deadline, like its answer). */
  reach?: (nodeId: string) => Promise<MeshPeerApi>
  /** Told which members had not answered by the deadline. */
  onLate?: (names: string[]) => void
}

/** The members that can be asked: over their connection, or one opened for the question when `reach` is given. */
function withApi (members: Member[], reach: AskOptions['reach']): Array<{ name: string, api: Promise<MeshPeerApi> }> {
  return members.flatMap(m => m.api !== null ? [{ name: m.name, api: Promise.resolve(m.api) }] : reach === undefined ? [] : [{ name: m.name, api: reach(m.nodeId) }])
}

/** Every answer that came within the deadline; a member that failed or was late adds nothing. */
export async function gatherFromMembers<T> (members: Member[], ask: (api: MeshPeerApi) => Promise<T[]>, opts: AskOptions): Promise<T[]> {
  const asked = withApi(members, opts.reach)
  if (asked.length === 0) return []
  const answers: Array<T[] | undefined> = asked.map(() => undefined)
  let timer: ReturnType<typeof setTimeout> | undefined
  const all = Promise.all(asked.map(async ({ api }, i) => { answers[i] = await api.then(ask).catch(() => []) }))
  const deadline = new Promise<void>(resolve => { timer = setTimeout(resolve, opts.deadlineMs) })
  await Promise.race([all, deadline])
  clearTimeout(timer)
  const late = asked.filter((_, i) => answers[i] === undefined).map(a => a.name)
  if (late.length > 0) opts.onLate?.(late)
  return answers.flatMap(a => a ?? [])
}

/**
 * The answer of the one member that holds the thing asked about. Members that do not
 * hold it say `notHere`; the first real answer wins, and a real error from the holder is
 * passed on. None holding it, or none answering in time, is `notFound`.
 */
export async function askTheHolder<T> (members: Member[], ask: (api: MeshPeerApi) => Promise<T>, notHere: (err: unknown) => boolean, notFound: () => SeError, opts: AskOptions): Promise<T> {
  const asked = withApi(members, opts.reach)
  if (asked.length === 0) throw notFound()
  return await new Promise<T>((resolve, reject) => {
    let pending = asked.length
    let settled = false
    const answered = new Set<number>()
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      opts.onLate?.(asked.filter((_, i) => !answered.has(i)).map(a => a.name))
      reject(notFound())
    }, opts.deadlineMs)
    const finish = (fn: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      fn()
    }
    asked.forEach(({ api }, i) => {
      api.then(ask).then(value => { answered.add(i); finish(() => resolve(value)) }, (err: unknown) => {
        answered.add(i)
        if (!notHere(err)) { finish(() => reject(err)); return }
        if (--pending === 0) finish(() => reject(notFound()))
      })
    })
  })
}
