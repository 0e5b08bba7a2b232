// One Avro TCP client: our bounded Netty-frame reader in front of avsc's stateful
// channel (in object mode, so avsc never parses the stream itself), a deadline
// for a frame once begun, an idle timeout, and at most so many calls in
// progress. Whatever the client sends, it loses its own connection, nothing else.
import type net from 'node:net'
import { Readable, Writable } from 'node:stream'
import { NettyFrameReader, nettyFrame, type AvroMessage } from '../../../core/protocol/avro-frames.js'
import { MAX_AVRO_BUFFERS, MAX_AVRO_CALLS_IN_PROGRESS, type ListenerLimits } from '../../../core/access/listener-limits.js'
import type { RejectionTally } from '../../../core/metrics/rejections.js'
import { toSeError } from '../../../core/errors.js'
import type { AvscServer } from './node-server.js'

export interface AvroSocketOptions {
  limits: ListenerLimits
  maxMessageBytes: number
  tally: RejectionTally
  log: { warn (message: string): void }
}

export function serveAvroSocket (socket: net.Socket, server: AvscServer, opts: AvroSocketOptions): void {
  const who = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
  const reader = new NettyFrameReader({ maxMessageBytes: opts.maxMessageBytes, maxBuffers: MAX_AVRO_BUFFERS })
  let frameTimer: ReturnType<typeof setTimeout> | null = null
  const drop = (reason: string, why: string): void => {
    if (socket.destroyed) return
    opts.tally.rejectOnce(socket, 'avro-tcp', reason)
    opts.log.warn(`avro ipc from ${who}: ${why}; connection dropped`)
    socket.destroy()
  }
  // A client that breaks the framing loses its own connection, nothing else.
  socket.on('error', err => { if (!opts.tally.has(socket)) opts.log.warn(`avro ipc from ${who}: ${err.message}`) })
  socket.setTimeout(opts.limits.idleTimeoutMs, () => drop('idle', `silent for ${opts.limits.idleTimeoutMs} ms`))

  const incoming = new Readable({ objectMode: true, read () {} })
  // Messages read but not yet handed to avsc, while MAX_AVRO_CALLS_IN_PROGRESS calls are; the socket is not read meanwhile.
  const backlog: AvroMessage[] = []
  let ended = false
  const feed = (): void => {
    while (backlog.length > 0 && channel.pending < MAX_AVRO_CALLS_IN_PROGRESS && !socket.destroyed) incoming.push(backlog.shift())
    if (backlog.length > 0) { socket.pause(); return }
    if (ended) { incoming.push(null); return }
    if (socket.isPaused() && !socket.destroyed) socket.resume()
  }
  const outgoing = new Writable({
    objectMode: true,
    write (message: AvroMessage, _encoding, done) {
      if (socket.writable) socket.write(nettyFrame(message))
      // A call finished: the next may go in (later, not inside avsc's own callback).
      if (backlog.length > 0 || socket.isPaused()) setImmediate(feed)
      done()
    },
    final (done) {
      if (!socket.destroyed) socket.end()
      done()
    }
  })
  const channel = server.createChannel({ readable: incoming, writable: outgoing }, { objectMode: true })

  socket.on('data', (chunk: Buffer) => {
    let messages: AvroMessage[]
    try {
      messages = reader.push(chunk)
    } catch (err) {
      const e = toSeError(err)
      drop(e.code === 'FRAME_TOO_LARGE' ? 'frame_too_large' : 'bad_frame', e.reason)
      return
    }
    // A frame begun must be finished in time: a client cannot hold a half frame open.
    if (reader.partial && frameTimer === null) {
      frameTimer = setTimeout(() => drop('frame_timeout', `a frame did not arrive within ${opts.limits.frameTimeoutMs} ms`), opts.limits.frameTimeoutMs)
    } else if (!reader.partial && frameTimer !== null) {
      clearTimeout(frameTimer)
      frameTimer = null
    }
    backlog.push(...messages)
    feed()
  })
  socket.on('end', () => { ended = true; feed() })
  socket.on('close', () => {
    if (frameTimer !== null) clearTimeout(frameTimer)
    backlog.length = 0
    if (!channel.destroyed) channel.destroy(true)
  })
  // avsc answers bytes that are no handshake request with an error and keeps
  // listening; such a peer is not speaking Avro IPC, so it goes once it has the answer.
  channel.on('handshake', (hreq: unknown) => {
    if (hreq !== undefined) return
    opts.tally.rejectOnce(socket, 'avro-tcp', 'bad_handshake')
    opts.log.warn(`avro ipc from ${who}: the first frame is not an Avro handshake request; connection dropped`)
    setImmediate(() => socket.end(() => socket.destroy()))
  })
}
