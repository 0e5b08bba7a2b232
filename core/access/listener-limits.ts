// What one client may hold of a node's listening ports: connections, time to
// send its headers, its body or the rest of a frame, time idle. From SE_*
// variables over defaults, so tests can shorten them; one table for every port.
import { numberFrom, type EnvLookup } from '../config/env.js'

export interface ListenerLimits {
  /** Open connections per port; more are closed on arrival (SE_MAX_CONNECTIONS). */
  maxConnections: number
  /** Time an HTTP client has to send its request line and headers (SE_HTTP_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number
  /** Time an HTTP client has to send its whole request, body included (SE_HTTP_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number
  /** Time a frame may take to arrive once its first byte has, on the Unix socket and Avro TCP (SE_FRAME_TIMEOUT_MS). */
  frameTimeoutMs: number
  /** Time an Avro TCP connection may stay silent (SE_AVRO_IDLE_MS); clients reconnect and handshake again. */
  idleTimeoutMs: number
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  maxConnections: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  frameTimeoutMs: 30_000,
  idleTimeoutMs: 5 * 60_000
}

/** How long a refused request's remaining body is read and dropped before the connection is cut. */
export const DISCARD_BODY_MS = 5_000
/** Buffers one Avro IPC message may have: Java's transceivers cut messages into 8 KiB buffers, so a 1 MiB message has 128. */
export const MAX_AVRO_BUFFERS = 1024
/** Calls one Avro TCP connection may have in progress; its socket is not read beyond that. */
export const MAX_AVRO_CALLS_IN_PROGRESS = 32
/** Client protocols avsc keeps resolvers for; past that the cache starts again (clients resend their protocol). */
export const MAX_CACHED_PROTOCOLS = 64

export function listenerLimitsFrom (env: EnvLookup): ListenerLimits {
  const d = DEFAULT_LISTENER_LIMITS
  const requestTimeoutMs = numberFrom(env, 'SE_HTTP_REQUEST_TIMEOUT_MS') ?? d.requestTimeoutMs
  return {
    maxConnections: Math.floor(numberFrom(env, 'SE_MAX_CONNECTIONS') ?? d.maxConnections),
    // node:http refuses a headers timeout longer than the request's.
    headersTimeoutMs: Math.min(numberFrom(env, 'SE_HTTP_HEADERS_TIMEOUT_MS') ?? d.headersTimeoutMs, requestTimeoutMs),
    requestTimeoutMs,
    frameTimeoutMs: numberFrom(env, 'SE_FRAME_TIMEOUT_MS') ?? d.frameTimeoutMs,
    idleTimeoutMs: numberFrom(env, 'SE_AVRO_IDLE_MS') ?? d.idleTimeoutMs
  }
}
