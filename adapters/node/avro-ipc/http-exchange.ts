// One Avro IPC exchange over HTTP (POST /avro): the body read through our
// bounded frame reader and handed to avsc's stateless channel as one message (in
// object mode, so avsc never parses the body itself), and the answer written by
// us, once: either avsc's response or, if the body is refused, a JSON error.
import type http from 'node:http'
import { Readable, Writable } from 'node:stream'
import { HttpFrameReader, httpFrames, type AvroMessage } from '../../../core/protocol/avro-frames.js'
import { MAX_AVRO_BUFFERS } from '../../../core/access/listener-limits.js'
import type { RejectionTally } from '../../../core/metrics/rejections.js'
import { toSeError } from '../../../core/errors.js'
import type { AvscServer } from './node-server.js'

export interface AvroExchangeOptions {
  maxBodyBytes: number
  tally: RejectionTally
  log: { warn (message: string): void }
  /** Reads and drops the rest of a refused body, so that the client gets to read the refusal. */
  discardBody (req: http.IncomingMessage): void
}

/** Serves `req`; `onChannel` learns the avsc channel first, to tie the caller's identity to it. */
export function serveAvroExchange (req: http.IncomingMessage, res: http.ServerResponse, server: AvscServer, opts: AvroExchangeOptions, onChannel: (channel: object) => void): void {
  let answered = false
  const refuse = (status: number, code: string, why: string, hint: string, reason: string): void => {
    if (answered) return
    answered = true
    opts.log.warn(`avro ipc over http from ${req.socket.remoteAddress ?? '?'}: ${why}`)
    opts.tally.rejectOnce(req.socket, 'avro-http', reason)
    channel.destroy(true)
    if (res.headersSent) { res.destroy(); return }
    // A client still sending must get to read this: the connection closes after it only when
    // the body is all in (closing on unread bytes resets it, answer and all); otherwise the rest is read and dropped.
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...(req.complete ? { connection: 'close' } : {}) })
    res.end(JSON.stringify({ error: { code, message: why, hint } }) + '\n')
    opts.discardBody(req)
  }
  // With a content-length, a buffer longer than the body is a lie about the framing; without one, the body is too large.
  const declared = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length'])
  const badFrame = (err: unknown): void => {
    const e = toSeError(err)
    if (e.code === 'FRAME_TOO_LARGE' && declared === null) {
      refuse(413, 'PAYLOAD_TOO_LARGE', `${e.reason}: more than this node's limit of ${opts.maxBodyBytes} bytes`, 'send smaller requests', 'frame_too_large')
      return
    }
    refuse(400, 'BAD_FRAME', e.reason, 'POST Avro IPC framed buffers: a handshake and a call, as Avro\'s HTTPTransceiver sends', e.code === 'FRAME_TOO_LARGE' ? 'frame_too_large' : 'bad_frame')
  }

  const incoming = new Readable({ objectMode: true, read () {} })
  const outgoing = new Writable({
    objectMode: true,
    write (message: AvroMessage, _encoding, done) {
      if (!answered && !res.writableEnded) {
        answered = true
        res.writeHead(200, { 'content-type': 'avro/binary' })
        res.end(httpFrames(message.payload))
      }
      done()
    }
  })
  const channel = server.createChannel((cb: (err: unknown, writable: Writable) => void) => { cb(null, outgoing); return incoming }, { objectMode: true })
  onChannel(channel)

  const reader = new HttpFrameReader({ maxMessageBytes: Math.min(opts.maxBodyBytes, declared !== null && Number.isFinite(declared) ? declared : Infinity), maxBuffers: MAX_AVRO_BUFFERS })
  let received = 0
  req.on('data', (chunk: Buffer) => {
    if (answered) return
    received += chunk.byteLength
    // A chunked body has no content-length for the HTTP server to refuse early: it is counted here.
    if (received > opts.maxBodyBytes) {
      refuse(413, 'PAYLOAD_TOO_LARGE', `the body is larger than this node's limit of ${opts.maxBodyBytes} bytes`, 'send smaller requests', 'frame_too_large')
      return
    }
    try {
      const message = reader.push(chunk)
      if (message !== null) incoming.push(message)
    } catch (err) {
      badFrame(err)
    }
  })
  req.on('end', () => {
    if (answered) return
    try {
      reader.end()
    } catch (err) {
      badFrame(err)
      return
    }
    incoming.push(null)
  })
  // Gone before it sent its whole body: there is no one to answer.
  req.on('close', () => { if (!req.complete && !channel.destroyed) channel.destroy(true) })
  // avsc answers every whole message; should it ever end a channel without answering, the client still hears.
  channel.once('eot', () => { if (!answered && req.complete) refuse(400, 'BAD_FRAME', 'the body is not a framed Avro IPC request', 'POST Avro IPC framed buffers: a handshake and a call', 'bad_frame') })
}
