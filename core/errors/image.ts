// Errors building the SE node's container image: what this machine must provide.
import { SeError } from './se-error.js'

export const imageErrors = {
  imageNeedsGit (): SeError {
    return new SeError('BAD_INPUT', 'git is not installed here, and the image carries this machine\'s copy', { hint: 'apt-get install git' })
  },

  imageNeedsBusybox (path: string): SeError {
    return new SeError('BAD_INPUT', `${path} is missing: the image's /bin/sh is a static busybox`, { hint: 'apt-get install busybox-static' })
  }
}
