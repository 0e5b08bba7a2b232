// Errors of the wire: frames, connections and calls, ours (core/rpc) and Avro
// IPC's (core/protocol), and an error another node sent back.
import { SeError, messageOf, type ErrorDetail, type SeErrorCode } from './se-error.js'

/** An error as it crosses the wire (the RemoteError record): absent fields are null. */
export interface WireError {
  code: string
  message: string
  hint: string | null
  details: ReadonlyArray<{ file: string | null, path: string | null, line: number | null, message: string }>
}

export const rpcErrors = {
  /** An error the other end answered with, rebuilt with its code, hint and details. Its code is the other end's word. */
  fromRemote (remote: WireError): SeError {
    const details = remote.details.map(d => {
      const out: ErrorDetail = { message: d.message }
      if (d.file !== null) out.file = d.file
      if (d.path !== null) out.path = d.path
      if (d.line !== null) out.line = d.line
      return out
    })
    return new SeError(remote.code as SeErrorCode, remote.message, remote.hint === null ? { details } : { details, hint: remote.hint })
  },

  /** A call of a message the protocol does not declare: a bug in the caller. */
  noSuchMessage (message: string): SeError {
    return new SeError('UNKNOWN_MESSAGE', `no message '${message}' in the protocol`)
  },

  /** The other end called a message this end does not serve. */
  notAnswered (message: string): SeError {
    return new SeError('UNKNOWN_MESSAGE', `this node does not answer '${message}'`)
  },

  /** A call on a connection already closed. */
  connectionClosed (label: string): SeError {
    return new SeError('CONNECTION_CLOSED', `connection to ${label} is closed`)
  },

  /** The connection closed while a call waited for its reply. */
  closedBeforeReply (label: string, message: string): SeError {
    return new SeError('CONNECTION_CLOSED', `connection to ${label} closed before ${message} replied`)
  },

  callCancelled (message: string): SeError {
    return new SeError('CANCELLED', `${message} was cancelled`)
  },

  callTimedOut (message: string, label: string, timeoutMs: number): SeError {
    return new SeError('TIMEOUT', `${message} to ${label} got no reply within ${timeoutMs} ms`)
  },

  /** Our own request does not fit its schema; `cause` is the encoder's complaint. */
  requestDoesNotFit (message: string, cause: unknown): SeError {
    return new SeError('BAD_REQUEST', `request for ${message} does not fit its schema: ${messageOf(cause)}`, { cause })
  },

  /** A request from the other end whose body does not decode. */
  requestUndecodable (message: string, cause: unknown): SeError {
    return new SeError('BAD_REQUEST', `request body for ${message} does not decode: ${messageOf(cause)}`, { cause })
  },

  /** A handler answered with something its reply schema does not take: a bug of this node's. */
  replyDoesNotFit (message: string, cause: unknown): SeError {
    return new SeError('INTERNAL', `the reply to ${message} does not fit its schema: ${messageOf(cause)}`, { cause })
  },

  /** A reply from the other end that does not fit the message's reply schema. */
  badReply (message: string, cause: unknown): SeError {
    return new SeError('BAD_FRAME', `reply to ${message} does not fit its schema: ${messageOf(cause)}`, { cause })
  },

  /** An event streamed by the other end that does not fit the message's event schema. */
  badEvent (message: string, cause: unknown): SeError {
    return new SeError('BAD_FRAME', `bad event for ${message}: ${messageOf(cause)}`, { cause })
  },

  /** An error frame not tied to a call whose body does not decode. */
  undecodableErrorFrame (label: string, cause: unknown): SeError {
    return new SeError('BAD_FRAME', `an undecodable error frame from ${label}: ${messageOf(cause)}`, { cause })
  },

  /** A whole frame whose envelope does not decode. */
  notAFrame (bytes: number, label: string, cause: unknown): SeError {
    return new SeError('BAD_FRAME', `a ${bytes}-byte frame from ${label} is not a protocol frame: ${messageOf(cause)}`, { cause })
  },

  frameTooLarge (bytes: number, maxBytes: number): SeError {
    return new SeError('FRAME_TOO_LARGE', `a frame of ${bytes} bytes exceeds the limit of ${maxBytes} bytes`)
  },

  /** The other end began a frame and left it unfinished past the connection's deadline. */
  frameUnfinished (label: string, deadlineMs: number): SeError {
    return new SeError('TIMEOUT', `${label} began a frame and did not finish it within ${deadlineMs} ms`)
  },

  /** A fault of this node's while reading what a connection sent. */
  readFailed (label: string, cause: unknown): SeError {
    return new SeError('INTERNAL', `while reading from ${label}: ${messageOf(cause)}`, { cause })
  },

  /** A fault of this node's while serving a call. */
  servingFailed (message: string, label: string, cause: unknown): SeError {
    return new SeError('INTERNAL', `serving ${message} for ${label} failed: ${messageOf(cause)}`, { cause })
  },

  /** Avro bytes that cannot hold what they announce (core/protocol/avsc-guard.ts). */
  badAvroData (why: string): SeError {
    return new SeError('BAD_FRAME', `invalid Avro data: ${why}`)
  },

  /** A body that is not Avro IPC framed buffers; `why` says what is wrong with it. */
  badIpcFrame (why: string): SeError {
    return new SeError('BAD_FRAME', why, { hint: 'send Avro IPC framed buffers, as Avro\'s transceivers do' })
  },

  /** An Avro IPC message over its limits; `why` says which. */
  ipcMessageTooLarge (why: string): SeError {
    return new SeError('FRAME_TOO_LARGE', why)
  }
}
