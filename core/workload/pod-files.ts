// How SE finds its own pods and the file podman plays them from: what the engines
// need at start, apart from manifest.ts, whose YAML parser only a deploy loads.
import { join } from '../paths.js'
import type { WorkloadPlan } from './types.js'

/** Labels SE puts on every pod it creates, so it finds (and removes) exactly its own. */
export const WORKLOAD_LABEL = 'io.se-mesh.workload'
export const NODE_LABEL = 'io.se-mesh.node'

/** The plan's pods as one multi-document YAML file, for `podman kube play` and `kube down`. */
export function renderPods (plan: WorkloadPlan, stringify: (doc: unknown) => string): string {
  return plan.pods.map(p => stringify(p.document)).join('---\n')
}

export function planFile (plan: WorkloadPlan): string {
  return join(plan.dir, 'pods.yaml')
}
