// A node started inside a CLI call when none runs on the data dir (`se execute`,
// `se shell`, and so a container started with either): it serves the usual socket,
// so `se approve` from another terminal (or `podman exec`) reaches it, and it
// stops gracefully on SIGTERM and SIGINT, as PID 1 in a container must, and on
// SIGHUP, when the terminal it ran in goes away.
import { startLocalNode, type LocalNode } from '../local-node.js'
import type { CliIO } from './context.js'

export interface EmbeddedNode {
  node: LocalNode
  close (): Promise<void>
}

export async function startEmbeddedNode (io: CliIO, dataDir: string): Promise<EmbeddedNode> {
  const quiet = { info: () => {}, warn: (m: string) => io.err(`warning: ${m}`), error: (m: string) => io.err(`error: ${m}`) }
  const node = await startLocalNode({ dataDir, log: quiet })
  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('SIGTERM', onTerm)
      process.off('SIGINT', onInt)
      process.off('SIGHUP', onHup)
      await node.close()
    })()
    return closing
  }
  const stop = (signal: string): void => {
    io.err(`${signal}: stopping the embedded node (running steps get a grace period, then are checkpointed; they resume when a node starts on ${dataDir})`)
    close().then(() => { io.err('node stopped'); process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal] ?? 15)) }, () => process.exit(1))
  }
  const onTerm = (): void => stop('SIGTERM')
  const onInt = (): void => stop('SIGINT')
  const onHup = (): void => { process.stderr.on('error', () => {}); stop('SIGHUP') }
  process.on('SIGTERM', onTerm)
  process.on('SIGINT', onInt)
  process.on('SIGHUP', onHup)
  return { node, close }
}
