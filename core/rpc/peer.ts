// Avro RPC over any byte stream, in an envelope of our own so that the same
// bytes work on Node and Bare (avsc's Service does not run on Bare). Both ends
// may call: one connection carries many concurrent calls, each with a timeout
// and cancellation; a message may stream events before its reply. Whatever the
// other end sends, the worst it gets is its own connection closed.
import b4a from 'b4a'
import { RPC_TIMEOUT_MS, MAX_FRAME_BYTES } from '../constants.js'
import { SeError, toSeError, type SeErrorCode } from '../errors.js'
import type { Connection } from '../ports.js'
import { MESSAGES, REMOTE_ERROR, typeOf, type MessageCodec } from '../protocol/codec.js'
import type { RemoteError } from '../protocol/types.js'
import { FrameDecoder, encodeFrame } from './framing.js'

const FRAME = typeOf({
  type: 'record',
  name: 'Frame',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'kind', type: { type: 'enum', name: 'FrameKind', symbols: ['CALL', 'REPLY', 'ERROR', 'EVENT', 'CANCEL'] } },
    { name: 'message', type: 'string' },
    { name: 'body', type: 'bytes' }
  ]
})

type FrameKind = 'CALL' | 'REPLY' | 'ERROR' | 'EVENT' | 'CANCEL'
interface Frame { id: number, kind: FrameKind, message: string, body: Uint8Array }

export interface CallContext {
  readonly peer: string
  emit (event: unknown): void
  onCancel (listener: () => void): void
}

export type Handler = (request: Record<string, unknown>, ctx: CallContext) => Promise<unknown>

export interface CallOptions {
  timeoutMs?: number
  onEvent?: (event: any) => void
  signal?: { aborted: boolean, addEventListener (type: 'abort', listener: () => void): void }
}

interface PendingCall {
  codec: MessageCodec
  resolve (value: unknown): void
  reject (err: Error): void
  onEvent: ((event: unknown) => void) | undefined
  timer: ReturnType<typeof setTimeout> | null
}

export interface RpcPeerOptions {
  handlers?: Map<string, Handler>
  maxFrameBytes?: number
  timeoutMs?: number
  /** Told about bytes from the other end that break the protocol. */
  onProtocolError?: (err: SeError) => void
  /** Told about a call to a message this end does not answer. */
  onUnknownMessage?: (message: string) => void
  /** Told how long each call took: `served` the handling of calls from the other end, `calls` the round trips of ours. */
  observe?: { served?: CallObserver, calls?: CallObserver }
  /** A frame begun but not finished within this closes the connection; the connection's own frameDeadlineMs wins. None by default. */
  frameDeadlineMs?: number
}

export type CallObserver = (message: string, seconds: number, outcome: 'ok' | 'error') => void

/**
 * What a listener may add to the connections it hands over (the Unix socket, a
 * mesh link): how long a begun frame may take, and where a connection closed for
 * what the other end sent is counted.
 */

export class RpcPeer {
  private readonly pending = new Map<number, PendingCall>()
  private readonly serving = new Map<number, Set<() => void>>()
  private readonly decoder: FrameDecoder
  private readonly handlers: Map<string, Handler>
  private readonly timeoutMs: number
  private nextId = 1
  private badFrames = 0
  private closed = false
  private frameTimer: ReturnType<typeof setTimeout> | null = null
  private readonly closeListeners: Array<() => void> = []

  constructor (private readonly conn: Connection, private readonly opts: RpcPeerOptions = {}) {
    this.decoder = new FrameDecoder(opts.maxFrameBytes ?? MAX_FRAME_BYTES)
    this.handlers = opts.handlers ?? new Map()
    this.timeoutMs = opts.timeoutMs ?? RPC_TIMEOUT_MS
    conn.onData(data => this.receive(data))
    conn.onClose(() => this.shutdown())
  }

  get label (): string { return this.conn.label }
  get isClosed (): boolean { return this.closed }

  onClose (listener: () => void): void {
    if (this.closed) listener()
    else this.closeListeners.push(listener)
  }

  call (message: string, request: Record<string, unknown>, opts: CallOptions = {}): Promise<any> {
    const codec = MESSAGES.get(message)
    if (codec === undefined) return Promise.reject(new SeError('UNKNOWN_MESSAGE', `no message '${message}' in the protocol`))
    if (this.closed) return Promise.reject(new SeError('CONNECTION_CLOSED', `connection to ${this.conn.label} is closed`))
    let body: Uint8Array
    try {
      body = codec.request.toBuffer(request)
    } catch (err) {
      return Promise.reject(new SeError('BAD_REQUEST', `request for ${message} does not fit its schema: ${(err as Error).message}`))
    }
    const id = this.nextId++
    const observer = this.opts.observe?.calls
    if (observer !== undefined && codec.stream === null) {
      const began = Date.now()
      const done = (outcome: 'ok' | 'error'): void => observer(message, (Date.now() - began) / 1000, outcome)
      return this.send0(id, codec, message, body, opts).then(v => { done('ok'); return v }, (err: unknown) => { done('error'); throw err })
    }
    return this.send0(id, codec, message, body, opts)
  }

  private send0 (id: number, codec: MessageCodec, message: string, body: Uint8Array, opts: CallOptions): Promise<any> {
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? this.timeoutMs
      const call: PendingCall = { codec, resolve, reject, onEvent: opts.onEvent, timer: null }
      if (timeoutMs > 0) {
        call.timer = setTimeout(() => {
          this.pending.delete(id)
          setTimeout(() => this.send({ id, kind: 'CANCEL', message, body: EMPTY }), 0)
          reject(new SeError('TIMEOUT', `${message} to ${this.conn.label} got no reply within ${timeoutMs} ms`))
        }, timeoutMs)
      }
      this.pending.set(id, call)
      opts.signal?.addEventListener('abort', () => {
        if (!this.pending.has(id)) return
        this.settle(id)
        reject(new SeError('CANCELLED', `${message} was cancelled`))
        this.send({ id, kind: 'CANCEL', message, body: EMPTY })
      })
      this.send({ id, kind: 'CALL', message, body })
    })
  }

  close (): void {
    this.conn.close()
    this.shutdown()
  }

  /** Closes the connection for what the other end sent, and says why to whoever counts such things. */
  private reject (reason: string): void {
    if (this.closed) return
    this.conn.rejected?.(reason)
    this.close()
  }

  private shutdown (): void {
    if (this.closed) return
    this.closed = true
    if (this.frameTimer !== null) clearTimeout(this.frameTimer)
    for (const [id, call] of this.pending) {
      this.settle(id)
      call.reject(new SeError('CONNECTION_CLOSED', `connection to ${this.conn.label} closed before ${call.codec.name} replied`))
    }
    for (const listeners of this.serving.values()) for (const l of listeners) l()
    this.serving.clear()
    for (const l of this.closeListeners.splice(0)) l()
  }

  private settle (id: number): void {
    const call = this.pending.get(id)
    if (call?.timer !== null && call?.timer !== undefined) clearTimeout(call.timer)
    this.pending.delete(id)
  }

  private send (frame: Frame): void {
    if (this.closed) return
    this.conn.write(encodeFrame(FRAME.toBuffer(frame)))
  }

  private receive (data: Uint8Array): void {
    if (this.closed) return
    try {
      this.receiveFrames(data)
    } catch (err) {
      // A fault of ours on bytes from outside (a handler that throws where it should not) costs this connection only.
      this.protocolError(new SeError('INTERNAL', `while reading from ${this.conn.label}: ${(err as Error).message}`))
      this.reject('internal_error')
    }
  }

  private receiveFrames (data: Uint8Array): void {
    let payloads: Uint8Array[]
    try {
      // avsc decodes only Buffers; a transport may hand over plain Uint8Arrays.
      payloads = this.decoder.push(b4a.from(data.buffer, data.byteOffset, data.byteLength))
    } catch (err) {
      // The stream cannot be resynchronised after a bad length: say why, then drop this peer alone.
      const error = toSeError(err)
      this.protocolError(error)
      this.sendError(0, '', error)
      this.reject(error.code === 'FRAME_TOO_LARGE' ? 'frame_too_large' : 'bad_frame')
      return
    }
    this.watchFrameDeadline()
    for (const payload of payloads) {
      if (this.closed) return
      let frame: Frame
      try {
        frame = FRAME.fromBuffer(payload)
      } catch (err) {
        const error = new SeError('BAD_FRAME', `a ${payload.byteLength}-byte frame from ${this.conn.label} is not a protocol frame: ${(err as Error).message}`)
        this.protocolError(error)
        // A peer that keeps sending garbage is dropped rather than answered forever.
        if (++this.badFrames > MAX_BAD_FRAMES) { this.reject('bad_frame'); return }
        this.sendError(0, '', error)
        continue
      }
      this.dispatch(frame)
    }
  }

  /** A frame once begun must be finished within the connection's deadline; a peer cannot hold half a frame open. */
  private watchFrameDeadline (): void {
    const deadline = this.conn.frameDeadlineMs ?? this.opts.frameDeadlineMs
    if (deadline === undefined || deadline <= 0) return
    if (!this.decoder.partial) {
      if (this.frameTimer !== null) clearTimeout(this.frameTimer)
      this.frameTimer = null
      return
    }
    if (this.frameTimer !== null) return
    this.frameTimer = setTimeout(() => {
      this.frameTimer = null
      this.protocolError(new SeError('TIMEOUT', `${this.conn.label} began a frame and did not finish it within ${deadline} ms`))
      this.reject('frame_timeout')
    }, deadline)
  }

  private protocolError (err: SeError): void {
    this.opts.onProtocolError?.(err)
  }

  private dispatch (frame: Frame): void {
    switch (frame.kind) {
      case 'CALL':
        // serve answers every failure it expects; anything else is logged, never left to end the process.
        this.serve(frame).catch((err: unknown) => this.protocolError(new SeError('INTERNAL', `serving ${frame.message} for ${this.conn.label} failed: ${(err as Error).message}`)))
        return
      case 'CANCEL': {
        const listeners = this.serving.get(frame.id)
        this.serving.delete(frame.id)
        for (const l of listeners ?? []) l()
        return
      }
      case 'EVENT': {
        const call = this.pending.get(frame.id)
        if (call?.onEvent === undefined || call.codec.stream === null) return
        try {
          call.onEvent(call.codec.stream.fromBuffer(frame.body))
        } catch (err) {
          this.protocolError(new SeError('BAD_FRAME', `bad event for ${call.codec.name}: ${(err as Error).message}`))
        }
        return
      }
      case 'REPLY':
      case 'ERROR': {
        const call = this.pending.get(frame.id)
        if (call === undefined) {
          if (frame.kind === 'ERROR' && frame.id === 0) {
            try {
              this.protocolError(fromRemote(decodeRemoteError(frame.body)))
            } catch (err) {
              this.protocolError(new SeError('BAD_FRAME', `an undecodable error frame from ${this.conn.label}: ${(err as Error).message}`))
            }
          }
          return
        }
        this.settle(frame.id)
        try {
          if (frame.kind === 'REPLY') call.resolve(call.codec.response.fromBuffer(frame.body))
          else call.reject(fromRemote(decodeRemoteError(frame.body)))
        } catch (err) {
          call.reject(new SeError('BAD_FRAME', `reply to ${call.codec.name} does not fit its schema: ${(err as Error).message}`))
        }
      }
    }
  }

  private async serve (frame: Frame): Promise<void> {
    const codec = MESSAGES.get(frame.message)
    const handler = this.handlers.get(frame.message)
    if (codec === undefined || handler === undefined) {
      this.opts.onUnknownMessage?.(frame.message)
      this.sendError(frame.id, frame.message, new SeError('UNKNOWN_MESSAGE', `this node does not answer '${frame.message}'`))
      return
    }
    let request: Record<string, unknown>
    try {
      request = codec.request.fromBuffer(frame.body)
    } catch (err) {
      this.sendError(frame.id, frame.message, new SeError('BAD_REQUEST', `request body for ${frame.message} does not decode: ${(err as Error).message}`))
      return
    }
    const cancelListeners = new Set<() => void>()
    this.serving.set(frame.id, cancelListeners)
    const ctx: CallContext = {
      peer: this.conn.label,
      emit: event => {
        if (codec.stream === null || !this.serving.has(frame.id)) return
        this.send({ id: frame.id, kind: 'EVENT', message: frame.message, body: codec.stream.toBuffer(event) })
      },
      onCancel: listener => { cancelListeners.add(listener) }
    }
    let body: Uint8Array
    const began = Date.now()
    const observe = (outcome: 'ok' | 'error'): void => { if (codec.stream === null) this.opts.observe?.served?.(frame.message, (Date.now() - began) / 1000, outcome) }
    try {
      const response = await handler(request, ctx)
      try {
        body = codec.response.toBuffer(response)
      } catch (err) {
        throw new SeError('INTERNAL', `the reply to ${frame.message} does not fit its schema: ${(err as Error).message}`)
      }
    } catch (err) {
      observe('error')
      if (!this.serving.delete(frame.id)) return
      this.sendError(frame.id, frame.message, toSeError(err))
      return
    }
    observe('ok')
    if (!this.serving.delete(frame.id)) return
    this.send({ id: frame.id, kind: 'REPLY', message: frame.message, body })
  }

  private sendError (id: number, message: string, err: SeError): void {
    const remote: RemoteError = {
      code: err.code,
      message: err.reason,
      hint: err.hint ?? null,
      details: err.details.map(d => ({ file: d.file ?? null, path: d.path ?? null, line: d.line ?? null, message: d.message }))
    }
    this.send({ id, kind: 'ERROR', message, body: REMOTE_ERROR.toBuffer(remote) })
  }
}

// avsc's bytes type takes only Buffers (b4a gives the runtime's own).
const EMPTY = b4a.alloc(0)
/** Undecodable frames tolerated from one peer before its connection is closed. */
const MAX_BAD_FRAMES = 16

function decodeRemoteError (body: Uint8Array): RemoteError {
  return REMOTE_ERROR.fromBuffer(body) as RemoteError
}

function fromRemote (remote: RemoteError): SeError {
  const details = remote.details.map(d => {
    const out: { file?: string, path?: string, line?: number, message: string } = { message: d.message }
    if (d.file !== null) out.file = d.file
    if (d.path !== null) out.path = d.path
    if (d.line !== null) out.line = d.line
    return out
  })
  return new SeError(remote.code as SeErrorCode, remote.message, remote.hint === null ? { details } : { details, hint: remote.hint })
}
