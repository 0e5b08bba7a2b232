// Avro RPC over any byte stream, in an envelope of our own so that the same
// bytes work on Node and Bare (avsc's Service does not run on Bare). Both ends
// may call: one connection carries many concurrent calls, each with a timeout
// and cancellation; a message may stream events before its reply. Whatever the
// other end sends, the worst it gets is its own connection closed.
import b4a from 'b4a'
import { RPC_TIMEOUT_MS, MAX_FRAME_BYTES } from '../constants.js'
import { SeError, toSeError } from '../errors.js'
import type { Connection } from '../ports.js'
import { MESSAGES, remoteErrorType, type AvroType, type MessageCodec } from '../protocol/codec.js'
import type { RemoteError } from '../protocol/types.js'
import { FrameDecoder } from './framing.js'
import { KIND, decodeBody, decodeEnvelope, encodeEnvelope, type Envelope } from './envelope.js'

/** Why a call being served ends early: its caller cancelled it, or its connection is gone (the caller may come back on another). */
export type CancelReason = 'cancelled' | 'gone'

export interface CallContext {
  readonly peer: string
  emit (event: unknown): void
  onCancel (listener: (why: CancelReason) => void): void
}

export type Handler = (request: Record<string, unknown>, ctx: CallContext) => Promise<unknown>

export interface CallOptions {
  timeoutMs?: number
  onEvent?: (event: any) => void
  signal?: { aborted: boolean, addEventListener (type: 'abort', listener: () => void): void }
}

interface PendingCall {
  codec: MessageCodec
  message: string
  resolve (value: unknown): void
  reject (err: Error): void
  onEvent: ((event: unknown) => void) | undefined
  timeoutMs: number
  /** Date.now() past which the call times out; Infinity for none. */
  deadline: number
  /** When it was sent, for the `calls` observer; NaN when nobody observes it. */
  began: number
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
  private readonly serving = new Map<number, ServedCall>()
  private readonly decoder: FrameDecoder
  private readonly handlers: Map<string, Handler>
  private readonly timeoutMs: number
  private nextId = 1
  private badFrames = 0
  private closed = false
  private frameTimer: ReturnType<typeof setTimeout> | null = null
  /**
   * One timer for every pending call's deadline, set for the earliest; it is not moved when calls settle, only
   * when a call with an earlier deadline comes, so a call that is answered in time costs no timer of its own.
   */
  private deadlineTimer: ReturnType<typeof setTimeout> | null = null
  private deadlineAt = Infinity
  /** Whether the deadline timer keeps the process alive: only while a call waits on it, as a call's own timer would. */
  private deadlineHeld = false
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
  /** Calls under way either way: a connection with some is not idle, however long they take. */
  get busy (): boolean { return this.pending.size > 0 || this.serving.size > 0 }

  onClose (listener: () => void): void {
    if (this.closed) listener()
    else this.closeListeners.push(listener)
  }

  call (message: string, request: Record<string, unknown>, opts: CallOptions = {}): Promise<any> {
    const codec = MESSAGES.get(message)
    if (codec === undefined) return Promise.reject(SeError.noSuchMessage(message))
    if (this.closed) return Promise.reject(SeError.connectionClosed(this.conn.label))
    const id = this.nextId
    let frame: Uint8Array
    try {
      frame = encodeEnvelope(id, KIND.CALL, message, codec.request, request)
    } catch (err) {
      return Promise.reject(SeError.requestDoesNotFit(message, err))
    }
    this.nextId++
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs
    const observed = this.opts.observe?.calls !== undefined && codec.stream === null
    return new Promise((resolve, reject) => {
      const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity
      this.pending.set(id, { codec, message, resolve, reject, onEvent: opts.onEvent, timeoutMs, deadline, began: observed ? Date.now() : NaN })
      if (deadline !== Infinity) this.watchDeadline(deadline)
      const signal = opts.signal
      if (signal !== undefined) {
        signal.addEventListener('abort', () => {
          const call = this.settle(id)
          if (call === undefined) return
          this.observed(call, 'error')
          reject(SeError.callCancelled(message))
          this.sendFrame(id, KIND.CANCEL, message, null, null)
        })
      }
      this.write(frame)
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
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer)
    this.deadlineTimer = null
    for (const [id, call] of this.pending) {
      this.settle(id)
      this.observed(call, 'error')
      call.reject(SeError.closedBeforeReply(this.conn.label, call.codec.name))
    }
    for (const served of this.serving.values()) served.cancelled('gone')
    this.serving.clear()
    for (const l of this.closeListeners.splice(0)) l()
  }

  /** Takes a call off the pending list; undefined if it was not (or no longer) there. */
  private settle (id: number): PendingCall | undefined {
    const call = this.pending.get(id)
    if (call === undefined) return undefined
    this.pending.delete(id)
    if (this.pending.size === 0 && this.deadlineHeld) this.holdDeadline(false)
    return call
  }

  private holdDeadline (hold: boolean): void {
    this.deadlineHeld = hold
    const timer = this.deadlineTimer as { ref?: () => void, unref?: () => void } | null
    if (hold) timer?.ref?.()
    else timer?.unref?.()
  }

  private observed (call: PendingCall, outcome: 'ok' | 'error'): void {
    if (Number.isNaN(call.began)) return
    const observer = this.opts.observe?.calls
    if (observer !== undefined) report(observer, call.message, (Date.now() - call.began) / 1000, outcome)
  }

  /** Makes sure the deadline timer fires by `deadline`. */
  private watchDeadline (deadline: number): void {
    if (this.deadlineTimer !== null) {
      if (this.deadlineAt <= deadline) {
        if (!this.deadlineHeld) this.holdDeadline(true)
        return
      }
      clearTimeout(this.deadlineTimer)
    }
    this.deadlineAt = deadline
    this.deadlineTimer = setTimeout(() => this.expire(), Math.max(0, deadline - Date.now()))
    this.deadlineHeld = true
  }

  /** Fails the calls past their deadline, and sets the timer for the next one due. */
  private expire (): void {
    this.deadlineTimer = null
    this.deadlineAt = Infinity
    this.deadlineHeld = false
    if (this.closed) return
    const now = Date.now()
    let next = Infinity
    for (const [id, call] of this.pending) {
      if (call.deadline > now) {
        if (call.deadline < next) next = call.deadline
        continue
      }
      this.settle(id)
      this.observed(call, 'error')
      // Told after the caller has its TIMEOUT, so the other end stops working on it.
      setTimeout(() => this.sendFrame(id, KIND.CANCEL, call.message, null, null), 0)
      call.reject(SeError.callTimedOut(call.message, this.conn.label, call.timeoutMs))
    }
    if (next !== Infinity) this.watchDeadline(next)
  }

  private write (frame: Uint8Array): void {
    if (this.closed) return
    this.conn.write(frame)
  }

  /** @internal Encodes and writes one frame; the body is `value` in `type`. Throws if the value does not fit. */
  sendFrame (id: number, kind: number, message: string, type: AvroType | null, value: unknown): void {
    if (this.closed) return
    this.conn.write(encodeEnvelope(id, kind, message, type, value))
  }

  private receive (data: Uint8Array): void {
    if (this.closed) return
    try {
      this.receiveFrames(data)
    } catch (err) {
      // A fault of ours on bytes from outside (a handler that throws where it should not) costs this connection only.
      this.protocolError(SeError.readFailed(this.conn.label, err))
      this.reject('internal_error')
    }
  }

  private receiveFrames (data: Uint8Array): void {
    let payloads: Uint8Array[]
    try {
      // avsc decodes only Buffers; a transport may hand over plain Uint8Arrays.
      payloads = this.decoder.push(b4a.toBuffer(data))
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
      let frame: Envelope
      try {
        frame = decodeEnvelope(payload)
      } catch (err) {
        const error = SeError.notAFrame(payload.byteLength, this.conn.label, err)
        this.protocolError(error)
        // A peer that keeps sending garbage is dropped rather than answered forever.
        if (++this.badFrames > MAX_BAD_FRAMES) { this.reject('bad_frame'); return }
        this.sendError(0, '', error)
        continue
      }
      this.dispatch(frame, payload)
    }
  }

  /** A frame once begun must be finished within the connection's deadline; a peer cannot hold half a frame open. */
  private watchFrameDeadline (): void {
    if (!this.decoder.partial) {
      if (this.frameTimer !== null) clearTimeout(this.frameTimer)
      this.frameTimer = null
      return
    }
    if (this.frameTimer !== null) return
    const deadline = this.conn.frameDeadlineMs ?? this.opts.frameDeadlineMs
    if (deadline === undefined || deadline <= 0) return
    this.frameTimer = setTimeout(() => {
      this.frameTimer = null
      this.protocolError(SeError.frameUnfinished(this.conn.label, deadline))
      this.reject('frame_timeout')
    }, deadline)
  }

  private protocolError (err: SeError): void {
    this.opts.onProtocolError?.(err)
  }

  private dispatch (frame: Envelope, payload: Uint8Array): void {
    switch (frame.kind) {
      case 'CALL':
        // serve answers every failure it expects; anything else is logged, never left to end the process.
        try {
          this.serve(frame, payload)
        } catch (err) {
          this.protocolError(SeError.servingFailed(frame.message, this.conn.label, err))
        }
        return
      case 'CANCEL': {
        const served = this.serving.get(frame.id)
        this.serving.delete(frame.id)
        served?.cancelled('cancelled')
        return
      }
      case 'EVENT': {
        const call = this.pending.get(frame.id)
        if (call?.onEvent === undefined || call.codec.stream === null) return
        try {
          call.onEvent(decodeBody(call.codec.stream, payload, frame.bodyStart))
        } catch (err) {
          this.protocolError(SeError.badEvent(call.codec.name, err))
        }
        return
      }
      case 'REPLY':
      case 'ERROR': {
        const call = this.settle(frame.id)
        if (call === undefined) {
          if (frame.kind === 'ERROR' && frame.id === 0) {
            try {
              this.protocolError(SeError.fromRemote(decodeBody(remoteErrorType(), payload, frame.bodyStart)))
            } catch (err) {
              this.protocolError(SeError.undecodableErrorFrame(this.conn.label, err))
            }
          }
          return
        }
        let value: unknown
        try {
          value = frame.kind === 'REPLY' ? decodeBody(call.codec.response, payload, frame.bodyStart) : SeError.fromRemote(decodeBody(remoteErrorType(), payload, frame.bodyStart))
        } catch (err) {
          this.observed(call, 'error')
          call.reject(SeError.badReply(call.codec.name, err))
          return
        }
        if (frame.kind === 'REPLY') {
          this.observed(call, 'ok')
          call.resolve(value)
        } else {
          this.observed(call, 'error')
          call.reject(value as SeError)
        }
      }
    }
  }

  private serve (frame: Envelope, payload: Uint8Array): void {
    const { id, message } = frame
    const codec = MESSAGES.get(message)
    const handler = this.handlers.get(message)
    if (codec === undefined || handler === undefined) {
      this.opts.onUnknownMessage?.(message)
      this.sendError(id, message, SeError.notAnswered(message))
      return
    }
    let request: Record<string, unknown>
    try {
      request = decodeBody(codec.request, payload, frame.bodyStart)
    } catch (err) {
      this.sendError(id, message, SeError.requestUndecodable(message, err))
      return
    }
    const served = new ServedCall(this, this.conn.label, id, codec, codec.stream === null && this.opts.observe?.served !== undefined ? Date.now() : NaN)
    this.serving.set(id, served)
    let result: unknown
    try {
      result = handler(request, served)
    } catch (err) {
      this.answered(served, false, err)
      return
    }
    if (typeof (result as Promise<unknown> | null)?.then !== 'function') { this.answered(served, true, result); return }
    ;(result as Promise<unknown>).then(response => this.answered(served, true, response), (err: unknown) => this.answered(served, false, err))
  }

  /** A served call's handler is done: the reply (or the error) goes back unless the caller cancelled meanwhile. */
  private answered (served: ServedCall, ok: boolean, outcome: unknown): void {
    // Anything thrown here is a fault of ours: logged, never left to end the process.
    try {
      const { id, codec } = served
      let frame: Uint8Array | null = null
      let failure = outcome
      if (ok) {
        try {
          frame = encodeEnvelope(id, KIND.REPLY, codec.name, codec.response, outcome)
        } catch (err) {
          failure = SeError.replyDoesNotFit(codec.name, err)
        }
      }
      if (this.isServing(served)) {
        this.serving.delete(id)
        if (frame === null) this.sendError(id, codec.name, toSeError(failure))
        else this.write(frame)
      }
      // Measured once the reply is on its way: the metrics never hold it up.
      this.observeServed(served, frame === null ? 'error' : 'ok')
    } catch (err) {
      this.protocolError(SeError.servingFailed(served.codec.name, this.conn.label, err))
    }
  }

  private observeServed (served: ServedCall, outcome: 'ok' | 'error'): void {
    if (Number.isNaN(served.began)) return
    const observer = this.opts.observe?.served
    if (observer !== undefined) reportNow(observer, served.codec.name, (Date.now() - served.began) / 1000, outcome)
  }

  /** @internal Whether the other end still waits for this call (it has not cancelled, nor gone). */
  isServing (served: ServedCall): boolean {
    return this.serving.get(served.id) === served
  }

  private sendError (id: number, message: string, err: SeError): void {
    const remote: RemoteError = {
      code: err.code,
      message: err.reason,
      hint: err.hint ?? null,
      details: err.details.map(d => ({ file: d.file ?? null, path: d.path ?? null, line: d.line ?? null, message: d.message }))
    }
    this.sendFrame(id, KIND.ERROR, message, remoteErrorType(), remote)
  }
}

/** A call from the other end being served: the handler's context. */
class ServedCall implements CallContext {
  private cancelListeners: Set<(why: CancelReason) => void> | null = null
  /** Why it ended, once it has: a listener added later (the handler awaited first) still hears it. */
  private ended: CancelReason | null = null

  constructor (private readonly rpc: RpcPeer, readonly peer: string, readonly id: number, readonly codec: MessageCodec, readonly began: number) {}

  emit (event: unknown): void {
    const stream = this.codec.stream
    if (stream === null || !this.rpc.isServing(this)) return
    this.rpc.sendFrame(this.id, KIND.EVENT, this.codec.name, stream, event)
  }

  onCancel (listener: (why: CancelReason) => void): void {
    if (this.ended !== null) { listener(this.ended); return }
    (this.cancelListeners ??= new Set()).add(listener)
  }

  /** The caller cancelled or went away. */
  cancelled (why: CancelReason): void {
    if (this.ended !== null) return
    this.ended = why
    if (this.cancelListeners !== null) for (const l of this.cancelListeners) l(why)
    this.cancelListeners = null
  }
}

/**
 * Durations are measured when a call ends and handed to the observers a moment later, off the call's path:
 * a caller gets its reply, and a reply goes out, before the metrics are updated (which costs about as much
 * as the rest of the round trip). One setImmediate per batch of calls.
 */
const observations: Array<CallObserver | string | number> = []

function report (observer: CallObserver, message: string, seconds: number, outcome: 'ok' | 'error'): void {
  if (observations.length === 0) setImmediate(flushObservations)
  observations.push(observer, message, seconds, outcome)
}

/** For a call already answered: nothing waits on it, and a setImmediate would cost the loop a turn. */
function reportNow (observer: CallObserver, message: string, seconds: number, outcome: 'ok' | 'error'): void {
  try {
    observer(message, seconds, outcome)
  } catch {
    // An observer's fault is its own; the call it watched is done.
  }
}

function flushObservations (): void {
  const batch = observations.splice(0)
  for (let i = 0; i < batch.length; i += 4) {
    try {
      ;(batch[i] as CallObserver)(batch[i + 1] as string, batch[i + 2] as number, batch[i + 3] as 'ok' | 'error')
    } catch {
      // An observer's fault is its own; the calls it watched are done.
    }
  }
}

/** Undecodable frames tolerated from one peer before its connection is closed. */
const MAX_BAD_FRAMES = 16
