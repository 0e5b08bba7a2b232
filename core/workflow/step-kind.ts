// What a step is and what it needs of the node that runs it, read off a parsed
// definition. Apart from definition.ts, whose schema (and zod) only parsing needs:
// a node routes and runs workflows without loading either until it parses one.
import type { Requirements, StepDefinition } from './definition.js'

export type StepKind = 'run' | 'container' | 'intervention'

export function stepKind (step: StepDefinition): StepKind {
  if (step.intervention !== undefined) return 'intervention'
  return step.run?.image !== undefined ? 'container' : 'run'
}

/** The capability a container step needs from whichever node runs it. */
export const CONTAINER_CAPABILITY = 'podman'

/** What a step needs of its node beyond the workflow's own requirements: its `requires`, and podman for a container step. */
export function stepRequirements (step: StepDefinition, workflow?: Requirements): Requirements | undefined {
  if (stepKind(step) !== 'container') return step.requires
  const base = step.requires ?? workflow ?? {}
  const capabilities = [...new Set([...(base.capabilities ?? []), CONTAINER_CAPABILITY])]
  return { ...base, capabilities }
}
