// Errors in a mesh's settings: keys, timing, bootstrap addresses.
import { SeError } from './se-error.js'

export const meshErrors = {
  /** `where` (a flag, a file and line) gave something that is not a node key. */
  badNodeKey (where: string, key: string): SeError {
    return new SeError('BAD_INPUT', `${where}: '${key}' is not a node key (64 hex characters)`, { hint: 'a node key is the id `se nodes` or `se capabilities --json` shows' })
  },

  badMeshTiming (heartbeatMs: number, suspectMs: number, downMs: number): SeError {
    return new SeError('BAD_INPUT', `mesh timing must be heartbeat < suspect < down, got ${heartbeatMs} / ${suspectMs} / ${downMs} ms`)
  },

  badBootstrapAddress (address: string): SeError {
    return new SeError('BAD_INPUT', `bootstrap address '${address}' is not HOST:PORT`, { hint: 'for example --bootstrap 127.0.0.1:49737' })
  }
}
