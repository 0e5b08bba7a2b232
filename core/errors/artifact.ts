// Errors of artifacts: publishing a step's files, placing them for another step,
// fetching them from the member that holds them, and a step's $SE_OUTPUT file.
// Sizes come formatted (core/artifact/size.ts) since this layer sits below it.
import { SeError, messageOf } from './se-error.js'

const short = (id: string): string => id.slice(0, 12)

export const artifactErrors = {
  /** A step said it publishes PATH, and after it succeeded there was nothing there. */
  artifactMissing (name: string, path: string, cwd: string): SeError {
    return new SeError('BAD_INPUT', `artifact ${name}: ${path} does not exist in ${cwd}`, { hint: 'the step must create it in its working directory before it ends' })
  },

  /** PATH leaves the working directory: absolute, through `..`, or through a symlink. */
  artifactEscapes (name: string, path: string, cwd: string): SeError {
    return new SeError('BAD_INPUT', `artifact ${name}: ${path} is outside the working directory ${cwd}`, { hint: 'an artifact path is relative to the step\'s working directory and stays inside it' })
  },

  /** Something in it that is neither a file nor a directory (a device, a socket, a symlinked directory). */
  artifactUnsupported (name: string, path: string, why: string): SeError {
    return new SeError('BAD_INPUT', `artifact ${name}: ${path} ${why}`)
  },

  /** Summed before anything is copied: nothing was published. */
  artifactTooLarge (name: string, path: string, size: string, max: string): SeError {
    return new SeError('OVER_BUDGET', `artifact ${name}: ${path} holds ${size}, more than SE_ARTIFACT_MAX (${max}); nothing was published`, { hint: 'publish less, or raise SE_ARTIFACT_MAX (bytes, or with a suffix: 20G) on the node that runs the step' })
  },

  badArtifactMax (value: string): SeError {
    return new SeError('BAD_INPUT', `SE_ARTIFACT_MAX '${value}' is not a size`, { hint: 'bytes, or a number with K, M, G or T: 10G' })
  },

  /** A member asked for an artifact of a workflow it has no step in, without the requester's grant. */
  artifactRefused (member: string, workflowId: string, name: string, hash: string): SeError {
    return new SeError('NOT_ALLOWED', `${member} may not fetch artifact ${name} (${short(hash)}) of workflow ${workflowId}: it is not the workflow's requester and has no grant from it`)
  },

  /** Asked for something this node does not hold. */
  artifactNotHeld (workflowId: string, hash: string): SeError {
    return new SeError('BAD_REQUEST', `this node holds no artifact ${short(hash)} of workflow ${workflowId}`)
  },

  /** A chunk failed its SHA-256 every time it was fetched. */
  artifactChunkCorrupt (name: string, hash: string, file: string, chunk: number, node: string, attempts: number): SeError {
    return new SeError('STORE_CORRUPT', `artifact ${name} (${short(hash)}): chunk ${chunk} of ${file === '' ? 'its file' : file} from node ${short(node)} failed verification ${attempts} times; refused`, { hint: 'the holding node\'s copy or the connection corrupts data; look at that node' })
  },

  /** The manifest a node sent does not hash to the artifact's hash. */
  artifactManifestCorrupt (name: string, hash: string, node: string): SeError {
    return new SeError('STORE_CORRUPT', `artifact ${name} (${short(hash)}): the manifest from node ${short(node)} does not match its hash; refused`)
  },

  /** No node that holds it gave it: none connected, or each failed (the last failure is the cause). */
  artifactUnreachable (name: string, hash: string, tried: string[], cause?: unknown): SeError {
    const why = tried.length === 0 ? 'no node that holds it is connected' : `tried ${tried.map(short).join(', ')}${cause === undefined ? '' : `: ${messageOf(cause)}`}`
    return new SeError('NO_NODE', `artifact ${name} (${short(hash)}) could not be fetched: ${why}`, cause === undefined ? { hint: 'the node that made it must be up and in the mesh' } : { hint: 'the node that made it must be up and in the mesh', cause })
  },

  /** The holding node did not answer a request in time. */
  artifactNoReply (node: string, timeoutMs: number): SeError {
    return new SeError('TIMEOUT', `node ${short(node)} sent no artifact data within ${timeoutMs} ms`)
  },

  /** A message on the artifact channel that is not one. */
  artifactBadMessage (node: string, why: string): SeError {
    return new SeError('BAD_FRAME', `artifact message from ${short(node)}: ${why}`)
  },

  /** Writing its files (into the store or the working directory) failed. */
  artifactWriteFailed (name: string, path: string, cause: unknown): SeError {
    return new SeError('WRITE_FAILED', `artifact ${name}: could not write ${path}: ${messageOf(cause)}`, { cause })
  },

  /** A step wrote more to $SE_OUTPUT than is read back. */
  outputTooLarge (stepId: string, size: string, max: string): SeError {
    return new SeError('BAD_INPUT', `step ${stepId} wrote ${size} to $SE_OUTPUT, more than ${max}`, { hint: 'write values to a file and publish it as an artifact instead' })
  },

  /** A line of $SE_OUTPUT that is neither KEY=VALUE nor KEY<<DELIMITER, or a heredoc never closed. */
  badOutput (stepId: string, line: number, why: string): SeError {
    return new SeError('BAD_INPUT', `step ${stepId}: $SE_OUTPUT line ${line}: ${why}`, { hint: 'write KEY=VALUE lines, or KEY<<EOF, the lines, then EOF' })
  }
}
