// The composition root for Bare: core's ports wired to Bare implementations.
import b4a from 'b4a'
import type { Runtime } from '../../core/ports.js'
import { SodiumCrypto } from '../shared/sodium-crypto.js'
import { BareFileSystem } from './fs.js'
import { BareProcessRunner } from './process.js'
import { BareSystemInfo } from './system.js'

export function bareRuntime (version: string, log: Runtime['log']): Runtime {
  const crypto = new SodiumCrypto()
  const processes = new BareProcessRunner()
  return {
    fs: new BareFileSystem(() => b4a.toString(crypto.randomBytes(4), 'hex')),
    processes,
    clock: { now: () => Date.now() },
    crypto,
    system: new BareSystemInfo(`bare ${version}`, processes),
    log
  }
}
