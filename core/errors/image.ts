// Errors of the SE node's container image: what building it needs from this machine,
// and what stops it running as the owner of /workspace.
import { SeError, messageOf } from './se-error.js'

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
  },

  /** In the image, root could not hand the node to the owner of /workspace (SE_RUN_AS_OWNER_OF); se does not go on as root. */
  imageCannotRunAsOwner (dir: string, uid: number, gid: number, cause: unknown): SeError {
    return new SeError('BAD_INPUT', `cannot run as ${uid}:${gid}, the owner of ${dir}: ${messageOf(cause)}`, {
      cause,
      hint: 'start the container as a user who may write there: --user "$(id -u):$(id -g)" (rootless podman: --userns=keep-id:uid=1000,gid=1000)'
    })
  }
}
