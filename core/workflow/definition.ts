// The workflow file format. This schema is the contract with users' files:
// extend it, never break it. Semantic checks that a schema cannot express
// (step references, templates) live in validate.ts.
import { z } from 'zod'
import { MAX_MATRIX_INSTANCES, MAX_RETRY_BACKOFF_SEC, MAX_STEP_TIMEOUT_SEC } from '../constants.js'

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
/** Artifact names have no dots, so `uses: [STEP.NAME]` splits at the last one even when a step id has dots. */
export const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/
/** Output keys are what a shell can write as KEY=VALUE. */
export const OUTPUT_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
const MATRIX_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/

const timeoutSec = z.number({ error: 'expected a number of seconds' })
  .positive({ error: 'expected a number of seconds greater than 0' })
  .max(MAX_STEP_TIMEOUT_SEC, { error: `expected at most ${MAX_STEP_TIMEOUT_SEC} seconds (a week)` })

export const requirementsSchema = z.strictObject({
  capabilities: z.array(z.string().min(1)).optional(),
  memoryMb: z.number().int().positive({ error: 'expected a whole number of MiB greater than 0' }).optional(),
  cpus: z.number().positive({ error: 'expected a number of CPUs greater than 0' }).optional()
})

export const inputSchema = z.strictObject({
  description: z.string().optional(),
  required: z.boolean().optional(),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  /** `path` inputs are resolved against the caller's working directory. */
  type: z.enum(['string', 'path', 'number', 'boolean']).optional()
})

export const mountSchema = z.strictObject({
  source: z.string().min(1),
  target: z.string().min(1),
  readOnly: z.boolean().optional()
})

export const runSchema = z.strictObject({
  command: z.string().min(1, { error: 'expected a command to run' }).optional(),
  args: z.array(z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
  cwd: z.string().min(1).optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
  timeoutSec: timeoutSec.optional(),
  // Container steps (run with an image); the engine for them is a later issue's.
  image: z.string().min(1).optional(),
  mounts: z.array(mountSchema).optional(),
  memory: z.string().regex(/^\d+(\.\d+)?[bkmgBKMG]?$/, { error: 'expected a size such as 512m or 2g' }).optional(),
  cpus: z.number().positive().optional(),
  workdir: z.string().min(1).optional()
})

/** Who must decide an intervention: a role of the holding node's policy, or person:KEY. */
const APPROVER = /^(person:[0-9a-f]{64}|[a-z][a-z0-9_-]{0,63})$/

export const interventionSchema = z.strictObject({
  prompt: z.string().min(1, { error: 'expected the question to put to a person' }),
  choices: z.array(z.string().regex(ID, { error: 'expected a choice name of letters, digits, - or _' })).min(1).optional(),
  /** Only these people may decide it, each with a signed decision (se key new). */
  approvers: z.array(z.string().regex(APPROVER, { error: 'expected a role of the node\'s policy or person:KEY (64 hex characters)' })).min(1).optional(),
  /** How many distinct approvers must agree on a choice; any stopping choice (reject, abort) ends it at once. */
  quorum: z.number().int().min(1, { error: 'expected 1 or more people' }).max(100).optional()
}).superRefine((v, ctx) => {
  // Only named people can be counted here; roles are the node's to resolve when someone decides.
  const people = new Set(v.approvers ?? [])
  if (v.quorum !== undefined && v.approvers !== undefined && v.approvers.every(a => a.startsWith('person:')) && v.quorum > people.size) {
    ctx.addIssue({ code: 'custom', path: ['quorum'], message: `expected at most ${people.size}: approvers names only ${people.size} ${people.size === 1 ? 'person' : 'people'}` })
  }
})

export const onFailureSchema = z.union([
  z.enum(['intervene', 'abort']),
  z.strictObject({
    retry: z.number().int().min(1, { error: 'expected 1 or more retries' }).max(100),
    /** The first retry waits this long, each next one twice as long, up to MAX_RETRY_BACKOFF_SEC. */
    backoffSec: z.number().min(0, { error: 'expected a number of seconds, 0 or more' }).max(MAX_RETRY_BACKOFF_SEC, { error: `expected at most ${MAX_RETRY_BACKOFF_SEC} seconds` }).optional()
  })
], { error: "expected 'intervene', 'abort' or { retry: N, backoffSec: S }" })

const matrixValue = z.union([z.string(), z.number(), z.boolean()]).transform(String)

export const matrixSchema = z.record(
  z.string().regex(MATRIX_KEY, { error: 'expected a matrix key of letters, digits, - or _' }),
  z.array(matrixValue).min(1, { error: 'expected at least one value' })
).refine(m => Object.keys(m).length > 0, { error: 'expected at least one key with its values' })
  .refine(m => Object.values(m).reduce((n, v) => n * v.length, 1) <= MAX_MATRIX_INSTANCES, { error: `expected at most ${MAX_MATRIX_INSTANCES} combinations` })

export const stepSchema = z.strictObject({
  id: z.string({ error: 'expected a step id' }).regex(ID, { error: 'expected an id of letters, digits, ., - or _' }),
  name: z.string().optional(),
  description: z.string().optional(),
  run: runSchema.optional(),
  intervention: interventionSchema.optional(),
  onFailure: onFailureSchema.optional(),
  idempotent: z.boolean().optional(),
  requires: requirementsSchema.optional(),
  /** The steps this one waits for; absent: the step before it in the file; []: none. */
  needs: z.array(z.string().regex(ID, { error: 'expected a step id' })).optional(),
  /** One instance of the step per combination of these values. */
  matrix: matrixSchema.optional(),
  maxParallel: z.number().int().min(1, { error: 'expected 1 or more' }).optional(),
  failFast: z.boolean().optional(),
  /** Files the step publishes from its working directory once it succeeds: name → relative path. */
  artifacts: z.record(z.string().regex(ARTIFACT_NAME, { error: 'expected an artifact name of letters, digits, - or _' }), z.string().min(1, { error: 'expected a path relative to the working directory' })).optional(),
  /** Artifacts of earlier steps placed in this step's working directory before it starts: STEP.NAME. */
  uses: z.array(z.string().min(3, { error: 'expected STEP.NAME' })).optional(),
  /** Keys the step writes as KEY=VALUE lines to the file $SE_OUTPUT names. */
  outputs: z.array(z.string().regex(OUTPUT_KEY, { error: 'expected an output key of letters, digits and _' })).optional(),
  /** A condition (expression.ts): when false the step is skipped. */
  if: z.string().min(1, { error: 'expected a condition' }).optional()
})

export const workflowSchema = z.strictObject({
  name: z.string({ error: 'expected a workflow name' }).regex(ID, { error: 'expected a name of letters, digits, ., - or _' }),
  description: z.string().optional(),
  version: z.union([z.string(), z.number()]).optional(),
  requires: requirementsSchema.optional(),
  inputs: z.record(z.string().regex(ID), inputSchema).optional(),
  steps: z.array(stepSchema).min(1, { error: 'expected at least one step' })
})

export type Requirements = z.infer<typeof requirementsSchema>
export type InputDefinition = z.infer<typeof inputSchema>
export type RunDefinition = z.infer<typeof runSchema>
export type InterventionDefinition = z.infer<typeof interventionSchema>
export type OnFailure = z.infer<typeof onFailureSchema>
export type StepDefinition = z.infer<typeof stepSchema>
export type WorkflowDefinition = z.infer<typeof workflowSchema>
