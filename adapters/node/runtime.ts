// The composition root for Node: core's ports wired to Node implementations.
import type { Runtime } from '../../core/ports.js'
import { SodiumCrypto } from '../shared/sodium-crypto.js'
import { NodeFileSystem } from './fs.js'
import { ExecaProcessRunner } from './process.js'
import { NodeSystemInfo } from './system.js'

export function nodeRuntime (log: Runtime['log'] = stderrLogger()): Runtime {
  return {
    fs: new NodeFileSystem(),
    processes: new ExecaProcessRunner(),
    clock: { now: () => Date.now() },
    crypto: new SodiumCrypto(),
    system: new NodeSystemInfo(),
    log
  }
}

export function stderrLogger (): Runtime['log'] {
  const line = (level: string, message: string): void => { process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`) }
  return {
    info: m => line('info', m),
    warn: m => line('warn', m),
    error: m => line('error', m)
  }
}
