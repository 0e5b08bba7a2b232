// Benchmark 3: a ping round trip through the real RPC stack over the node's Unix socket,
// against a raw echo of the same byte counts over a Unix socket in the same process.
import net from 'node:net'
import path from 'node:path'
import { RpcPeer } from '../core/rpc/peer.js'
import { handlersFor, nodeClient } from '../core/rpc/node-api.js'
import type { Connection } from '../core/ports.js'
import type { NodeApi } from '../core/protocol/types.js'
import { connectNode } from '../adapters/node/client.js'
import { startLocalNode } from '../adapters/node/local-node.js'
import { connectUnix } from '../adapters/node/unix-socket.js'
import { info, mean, median, now, percentile, quietLogger, tempDir, type Result } from './lib.js'

const us = (msValue: number): string => `${(msValue * 1000).toFixed(1)} µs`

const N = 2000
const WARMUP = 500
const ROUNDS = 3
/** The RPC stack may add this much to a raw echo's p50 (issue 14). */
const RPC_GOAL = 1.3

/** Bytes one ping puts on the wire each way, seen through a counting connection. */
async function pingBytes (socket: string): Promise<{ request: number, reply: number }> {
  const conn = await connectUnix(socket)
  const counts = { request: 0, reply: 0 }
  const counting: Connection = {
    label: conn.label,
    write: data => { counts.request += data.byteLength; conn.write(data) },
    onData: listener => conn.onData(data => { counts.reply += data.byteLength; listener(data) }),
    onClose: listener => conn.onClose(listener),
    close: () => conn.close()
  }
  const peer = new RpcPeer(counting)
  await nodeClient(peer).ping()
  peer.close()
  return counts
}

interface Echo {
  call (): Promise<void>
  close (): Promise<void>
}

/** A server that answers every `request` bytes with `reply` bytes, and a client that waits for them. */
async function rawEcho (socket: string, request: number, reply: number): Promise<Echo> {
  const replyBuf = Buffer.alloc(reply, 0x61)
  const requestBuf = Buffer.alloc(request, 0x62)
  const server = net.createServer(s => {
    let pending = 0
    s.on('data', d => {
      pending += d.byteLength
      while (pending >= request) { pending -= request; s.write(replyBuf) }
    })
    s.on('error', () => {})
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(socket, resolve) })
  const client = net.connect(socket)
  await new Promise<void>((resolve, reject) => { client.once('connect', resolve); client.once('error', reject) })
  let received = 0
  let waiting: (() => void) | null = null
  client.on('data', d => {
    received += d.byteLength
    if (received >= reply && waiting !== null) {
      received -= reply
      const done = waiting
      waiting = null
      done()
    }
  })
  return {
    call: () => new Promise<void>(resolve => { waiting = resolve; client.write(requestBuf) }),
    close: async () => {
      client.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/** Two RpcPeers joined in memory: codec, envelope and dispatch cost with no socket. */
function inMemoryClient (api: NodeApi): { api: NodeApi, close (): void } {
  const make = (label: string): Connection & { deliver (d: Uint8Array): void, other: Connection & { deliver (d: Uint8Array): void } | null } => {
    const listeners: Array<(d: Uint8Array) => void> = []
    const conn = {
      label,
      other: null as (Connection & { deliver (d: Uint8Array): void }) | null,
      deliver: (d: Uint8Array) => { for (const l of listeners) l(d) },
      write: (d: Uint8Array) => { const o = conn.other; setImmediate(() => o?.deliver(d)) },
      onData: (l: (d: Uint8Array) => void) => { listeners.push(l) },
      onClose: () => {},
      close: () => {}
    }
    return conn
  }
  const a = make('client')
  const b = make('server')
  a.other = b
  b.other = a
  const serverPeer = new RpcPeer(b, { handlers: handlersFor(api) })
  const clientPeer = new RpcPeer(a)
  return { api: nodeClient(clientPeer), close: () => { clientPeer.close(); serverPeer.close() } }
}

async function sample (n: number, fn: () => Promise<unknown>, out: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const start = now()
    await fn()
    out.push(now() - start)
  }
}

export async function benchRpc (): Promise<Result[]> {
  const dataDir = await tempDir('rpc')
  const local = await startLocalNode({ dataDir, log: quietLogger })
  const echoDir = await tempDir('rpc-echo')
  try {
    const bytes = await pingBytes(local.socketPath)
    const echo = await rawEcho(path.join(echoDir, 'echo.sock'), bytes.request, bytes.reply)
    const client = await connectNode(dataDir)
    const memory = inMemoryClient(local.node)
    try {
      const ping = (): Promise<unknown> => client.api.ping()
      await sample(WARMUP, ping, [])
      await sample(WARMUP, echo.call, [])
      await sample(WARMUP, memory.api.ping, [])
      const rpc: number[] = []
      const raw: number[] = []
      const mem: number[] = []
      const direct: number[] = []
      for (let round = 0; round < ROUNDS; round++) {
        await sample(N, echo.call, raw)
        await sample(N, ping, rpc)
        await sample(N, memory.api.ping, mem)
        await sample(N, () => local.node.ping(), direct)
      }
      const p50 = median(rpc)
      const rawP50 = median(raw)
      info(`${bytes.request} B request / ${bytes.reply} B reply per ping; ${ROUNDS}×${N} calls each`)
      info(`ping  p50 ${us(p50)}  mean ${us(mean(rpc))}  p99 ${us(percentile(rpc, 99))}`)
      info(`echo  p50 ${us(rawP50)}  mean ${us(mean(raw))}  p99 ${us(percentile(raw, 99))}`)
      info(`context: same ping over an in-memory peer pair (setImmediate hops, no socket) p50 ${us(median(mem))}; node.ping() called directly p50 ${us(median(direct))}`)
      return [
        {
          name: 'rpc ping round trip',
          subject: `${us(p50)} p50`,
          baseline: `${us(rawP50)} echo p50`,
          ratio: p50 / rawP50,
          goal: { kind: 'lt', limit: RPC_GOAL },
          note: `mean ${us(mean(rpc))} vs ${us(mean(raw))} (ratio ${(mean(rpc) / mean(raw)).toFixed(2)}x); the goal is judged on p50`
        },
        {
          name: 'rpc ping round trip p99',
          subject: `${us(percentile(rpc, 99))} p99`,
          baseline: `${us(percentile(raw, 99))} echo p99`,
          ratio: percentile(rpc, 99) / percentile(raw, 99),
          goal: null
        }
      ]
    } finally {
      memory.close()
      client.close()
      await echo.close()
    }
  } finally {
    await local.close()
  }
}
