// Binds the NodeApi to RPC messages in both directions: a node's handlers from
// its API, and a typed client that turns method calls into messages.
import { MESSAGES } from '../protocol/codec.js'
import type { NodeApi } from '../protocol/types.js'
import type { CallOptions, Handler, RpcPeer } from './peer.js'

type ApiMethod = (...args: unknown[]) => Promise<unknown>

export function handlersFor (api: NodeApi): Map<string, Handler> {
  const handlers = new Map<string, Handler>()
  for (const codec of MESSAGES.values()) {
    const method = (api as unknown as Record<string, ApiMethod | undefined>)[codec.name]
    if (typeof method !== 'function') continue
    if (codec.stream === null) {
      // The hot path (heartbeats, pings): no wrapper promise of its own; a method that throws is answered as one that rejects.
      handlers.set(codec.name, (request) => method.apply(api, codec.params.map(p => request[p])))
      continue
    }
    handlers.set(codec.name, async (request, ctx) => {
      const args = codec.params.map(p => request[p])
      // A streaming call ends early when the caller cancels or goes away.
      let cancelled = false
      ctx.onCancel(() => { cancelled = true })
      args.push((event: unknown) => { if (!cancelled) ctx.emit(event) })
      // Handlers that keep streaming until told (logs --follow) learn of the cancel this way.
      args.push((listener: () => void) => { if (cancelled) listener(); else ctx.onCancel(listener) })
      return await method.apply(api, args)
    })
  }
  return handlers
}

export function nodeClient (peer: RpcPeer, defaults: CallOptions = {}): NodeApi {
  return rpcClient<NodeApi>(peer, defaults)
}

/** A typed promise client over every message of the protocol; T says which of them the caller means to use. */
export function rpcClient<T> (peer: RpcPeer, defaults: CallOptions = {}): T {
  const client: Record<string, ApiMethod> = {}
  for (const codec of MESSAGES.values()) {
    if (codec.stream === null) {
      client[codec.name] = (...args: unknown[]) => peer.call(codec.name, requestOf(codec.params, args), defaults)
      continue
    }
    client[codec.name] = async (...args: unknown[]) => {
      const request = requestOf(codec.params, args)
      const opts: CallOptions = { ...defaults }
      // A listener that returns false ends the stream: the call is cancelled and rejects with CANCELLED.
      const listener = args[codec.params.length] as (e: unknown) => unknown
      const abort = new CancelToken()
      // A caller forwarding a stream passes its own cancel registrar, so the far end stops at once.
      const onCancel = args[codec.params.length + 1]
      if (typeof onCancel === 'function') (onCancel as (l: () => void) => void)(() => abort.cancel())
      opts.signal = abort
      opts.onEvent = event => { if (listener(event) === false) abort.cancel() }
      opts.timeoutMs = 0
      return await peer.call(codec.name, request, opts)
    }
  }
  return client as unknown as T
}

function requestOf (params: string[], args: unknown[]): Record<string, unknown> {
  const request: Record<string, unknown> = {}
  for (let i = 0; i < params.length; i++) request[params[i] as string] = args[i]
  return request
}

class CancelToken {
  aborted = false
  private readonly listeners: Array<() => void> = []
  addEventListener (_type: 'abort', listener: () => void): void { this.listeners.push(listener) }
  cancel (): void {
    if (this.aborted) return
    this.aborted = true
    for (const l of this.listeners) l()
  }
}
