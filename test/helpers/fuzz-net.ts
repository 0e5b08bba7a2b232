// Raw connections for the fuzz suites: play a plan of writes and pauses at a TCP
// port or a Unix socket and see what comes back and who hung up; and a recording
// proxy that captures what real clients send, to mutate afterwards.
import net from 'node:net'
import type { TestContext } from 'node:test'

export type Target = { port: number } | { path: string }

/** A step of a plan: bytes to write, or milliseconds to wait. */
export type Step = Buffer | number

export interface Outcome {
  /** Everything the node sent back. */
  reply: Buffer
  /** The node closed (or reset) the connection before the plan's end did. */
  closedByNode: boolean
  /** Milliseconds from the connection to its close, by either side. */
  ms: number
}

export interface Plan {
  steps: Step[]
  /** After the steps: hang up at once (`close`), half-close and wait for the answer (`end`), or just wait (`hold`). */
  then: 'close' | 'end' | 'hold'
  /** How long `end` and `hold` wait for the node to close; the connection is dropped after it. */
  waitMs?: number
}

function connect (target: Target): net.Socket {
  return 'path' in target ? net.connect(target.path) : net.connect(target.port, '127.0.0.1')
}

/** Plays `plan` on a new connection. Never rejects: a reset is an outcome like any other. */
export async function play (target: Target, plan: Plan): Promise<Outcome> {
  const began = Date.now()
  const socket = connect(target)
  const chunks: Buffer[] = []
  let closed = false
  let byUs = false
  const done = new Promise<void>(resolve => socket.once('close', () => { closed = true; resolve() }))
  socket.on('data', (d: Buffer) => { if (chunks.reduce((n, c) => n + c.length, 0) < 1 << 20) chunks.push(d) })
  socket.on('error', () => {})
  const opened = await Promise.race([new Promise<boolean>(resolve => socket.once('connect', () => resolve(true))), done.then(() => false)])
  if (opened) {
    for (const step of plan.steps) {
      if (closed) break
      if (typeof step === 'number') await new Promise(resolve => setTimeout(resolve, step))
      else if (!socket.destroyed) socket.write(step)
    }
    if (!closed) {
      if (plan.then === 'close') { byUs = true; socket.destroy() } else {
        if (plan.then === 'end' && !socket.destroyed) socket.end()
        const timer = new Promise<void>(resolve => setTimeout(resolve, plan.waitMs ?? 1000))
        await Promise.race([done, timer])
        if (!closed) { byUs = true; socket.destroy() }
      }
    }
  }
  await done
  return { reply: Buffer.concat(chunks), closedByNode: !byUs, ms: Date.now() - began }
}

export interface Recorder {
  target: Target
  /** What each client connection sent, in order of connection. */
  sent: Buffer[]
  close (): Promise<void>
}

/** A proxy in front of `upstream` that records what clients send through it. */
export async function recordingProxy (t: TestContext, upstream: Target, listen: Target = { port: 0 }): Promise<Recorder> {
  const sent: Buffer[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer(client => {
    const index = sent.push(Buffer.alloc(0)) - 1
    const up = connect(upstream)
    sockets.add(client).add(up)
    client.on('data', (d: Buffer) => { sent[index] = Buffer.concat([sent[index] as Buffer, d]); up.write(d) })
    up.on('data', (d: Buffer) => client.write(d))
    const end = (): void => { client.destroy(); up.destroy() }
    for (const s of [client, up]) { s.on('error', end); s.on('close', end) }
  })
  await new Promise<void>(resolve => 'path' in listen ? server.listen(listen.path, resolve) : server.listen(listen.port, '127.0.0.1', resolve))
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
  t.after(close)
  const address = server.address()
  return { target: typeof address === 'string' ? { path: address } : { port: (address as net.AddressInfo).port }, sent, close }
}
