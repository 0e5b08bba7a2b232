// Errors about the node itself: the data dir's lock, starting, stopping.
import { SeError, messageOf } from './se-error.js'

export const nodeErrors = {
  /** Another node holds the data dir's lock: it is running, or starting. */
  nodeRunning (dataDir: string, pid: number | null): SeError {
    return new SeError('NODE_RUNNING', `a node already runs on data dir ${dataDir}${pid === null ? '' : ` (pid ${pid})`}`, { hint: 'use that node (the CLI talks to it), stop it first, or give this one another --data-dir' })
  },

  /** The data dir's node holds its lock but does not answer yet; `cause` is the last refusal to connect. */
  nodeStarting (dataDir: string, pid: number | null, waitedMs: number, cause?: unknown): SeError {
    return new SeError('NODE_STARTING', `the node on data dir ${dataDir}${pid === null ? '' : ` (pid ${pid})`} is starting and did not answer within ${(waitedMs / 1000).toFixed(0)} s`, {
      hint: 'try again in a moment; its log says what it is doing',
      ...(cause === undefined ? {} : { cause })
    })
  },

  /** A mistake in this program's own declarations, found when it loads: never the user's. */
  internal (what: string): SeError {
    return new SeError('INTERNAL', what)
  },

  /** Asked of a node before start() has finished: a bug in whoever asked. */
  notStarted (): SeError {
    return new SeError('INTERNAL', 'the node has not been started')
  },

  /** start() called twice, or after stop(). */
  cannotStart (state: string): SeError {
    return new SeError('INTERNAL', `node cannot start from state ${state}`)
  },

  /** A new workflow asked of a node that is stopping. */
  notAcceptingWorkflows (): SeError {
    return new SeError('SHUTTING_DOWN', 'this node is not accepting workflows')
  },

  /** The node's key pair cannot be read: never replaced silently, the node would become a stranger. */
  identityUnreadable (path: string, cause: unknown): SeError {
    return new SeError('STORE_CORRUPT', `node identity ${path} is unreadable: ${(cause as Error).message}`, { hint: 'restore it from a backup; a new identity would make this node a stranger to its mesh and its audit trail', cause })
  },

  /** Read offline (the audit trail), a data dir no node has ever run in. */
  noNodeEverRan (dataDir: string): SeError {
    return new SeError('NO_NODE', `no node has run with data dir ${dataDir}`, { hint: 'start one with `se node start`, or pass the right --data-dir' })
  },

  /** The node's local socket is already answered by a live node. */
  nodeRunningOnSocket (socketPath: string): SeError {
    return new SeError('NODE_RUNNING', `a node is already running on ${socketPath}`, { hint: 'use that node, or give this one another --data-dir' })
  },

  /** Nothing listens on the node's local socket. */
  noNodeAt (socketPath: string): SeError {
    return new SeError('NO_NODE', `no node is running at ${socketPath}`, { hint: 'start one with `se node start` (or pass --data-dir / SE_DATA_DIR to reach another)' })
  },

  /** The node's local socket exists but could not be reached; `cause` says why. */
  cannotReachNode (socketPath: string, cause: unknown): SeError {
    return new SeError('NO_NODE', `cannot reach the node at ${socketPath}: ${messageOf(cause)}`, { cause })
  },

  /** The node is stopping and takes no new work. */
  shuttingDown (): SeError {
    return new SeError('SHUTTING_DOWN', 'this node is shutting down')
  }
}
