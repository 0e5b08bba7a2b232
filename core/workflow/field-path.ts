// A place inside a parsed file as people read it (steps[2].run.timeoutSec), for the
// errors of workflow files and workload manifests alike; apart from validate.ts so
// that a manifest's checks do not load the workflow schema.
export type PathSegment = string | number

export function formatPath (path: readonly PathSegment[]): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else out += out === '' ? segment : `.${segment}`
  }
  return out === '' ? '(top level)' : out
}
