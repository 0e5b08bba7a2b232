// Errors building the SE node's container image: what this machine must provide.
import { SeError } from './se-error.js'

export const imageErrors = {
  imageNeedsGit (): SeError {
    return new SeError('BAD_INPUT', 'git is not installed here, and the image carries this machine\'s copy', { hint: 'apt-get install git' })
  },

  /** `se image build` needs podman on this machine. */
  imageNeedsPodman (): SeError {
    return new SeError('NO_CONTAINER_ENGINE', 'podman is not installed or does not run here', { hint: 'install podman (apt-get install podman) and try again' })
  },

  /** podman build printed why above; the runtime hint is the one that has mattered. */
  imageBuildFailed (exitCode: number | null | undefined): SeError {
    return new SeError('ENGINE_FAILED', `podman build failed (exit ${exitCode ?? '?'})`, { hint: 'its output is above; CONTAINERS_CONF may need runtime = "runc" on machines where crun fails' })
  },

  imageNeedsBusybox (path: string): SeError {
    return new SeError('BAD_INPUT', `${path} is missing: the image's /bin/sh is a static busybox`, { hint: 'apt-get install busybox-static' })
  }
}
