// One error class for the whole node: every error carries a stable `code` that
// tests and scripts match, a message that says what happened, and where it can,
// what to do next. The CLI maps codes to exit codes (see EXIT_CODES).
//
// Errors are built by named factories, one per kind of error, grouped by area in
// errors/*.ts and gathered here on SeError: `throw SeError.unknownWorkload(id)`.
// A factory that wraps another error takes it as `cause` and keeps it. Code that
// decides what to do with an error looks at its `code`, never at its message.
import { SeError as SeErrorClass } from './errors/se-error.js'
import { accessErrors } from './errors/access.js'
import { artifactErrors } from './errors/artifact.js'
import { imageErrors } from './errors/image.js'
import { inputErrors } from './errors/input.js'
import { meshErrors } from './errors/mesh.js'
import { nodeErrors } from './errors/node.js'
import { rpcErrors } from './errors/rpc.js'
import { storageErrors } from './errors/storage.js'
import { workflowErrors } from './errors/workflow.js'
import { workloadErrors } from './errors/workload.js'

export const ERROR_FACTORIES = {
  ...inputErrors,
  ...nodeErrors,
  ...storageErrors,
  ...workflowErrors,
  ...workloadErrors,
  ...accessErrors,
  ...meshErrors,
  ...imageErrors,
  ...rpcErrors,
  ...artifactErrors
}

export const SeError: typeof SeErrorClass & typeof ERROR_FACTORIES = Object.assign(SeErrorClass, ERROR_FACTORIES)
export type SeError = SeErrorClass

export { SE_ERROR_CODES, isSeError, toSeError, type ErrorDetail, type SeErrorCode, type SeErrorOptions } from './errors/se-error.js'
export type { WireError } from './errors/rpc.js'
export { EXIT_CODES, exitCodeFor } from './errors/exit-codes.js'
