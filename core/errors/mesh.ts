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

  /** `se session new --node NAME` named no member that can be reached. */
  noSuchMember (node: string): SeError {
    return new SeError('NO_CAPABLE_NODE', `no usable mesh member named ${node}`, { hint: 'see `se nodes` for the members and their names' })
  },

  /** Nobody meets what a workflow or step needs; the router words `reason`. */
  noCapableNode (reason: string, alone: boolean): SeError {
    return new SeError('NO_CAPABLE_NODE', reason, {
      hint: alone ? 'install what is missing, add a tag with --capability, or join a mesh with a node that has it' : 'start a node that has it, add a tag with --capability, or check `se nodes`'
    })
  },

  badBootstrapAddress (address: string): SeError {
    return new SeError('BAD_INPUT', `bootstrap address '${address}' is not HOST:PORT`, { hint: 'for example --bootstrap 127.0.0.1:49737' })
  }
}
