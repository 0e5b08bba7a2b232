// Errors about workflows and their steps.
import { SeError } from './se-error.js'

export const workflowErrors = {
  unknownWorkflow (id: string): SeError {
    return new SeError('UNKNOWN_WORKFLOW', `no workflow with id or name '${id}' on this node`, { hint: 'list workflows with `se status`, the catalogue with `se catalogue`' })
  },

  notWaiting (id: string, state: string): SeError {
    return new SeError('NOT_WAITING', `workflow ${id} is ${state}, not waiting for an intervention`)
  },

  noContainerEngine (image: string): SeError {
    return new SeError('NO_CONTAINER_ENGINE', `step needs container image '${image}' but no container engine is available on this node`, { hint: 'install podman, or run the workflow on a node that advertises the podman capability' })
  }
}
