// `se status` draws a workflow's graph: stages by depth, a matrix step once with its
// instances under it, needs that are not simply the step before, every question waiting.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ArtifactRecord, InterventionRequest, StepStatus, WorkflowStatus } from '../core/protocol/types.js'
import { renderList, renderStatus } from '../adapters/node/cli/render.js'

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0)
const NODE_A = 'a1b2c3d4e5f6'.padEnd(64, '0')
const NODE_B = 'b7c8d9e0f1a2'.padEnd(64, '0')

function entry (id: string, over: Partial<StepStatus> = {}): StepStatus {
  const [, step = id, values = ''] = /^([^[]+)(?:\[(.*)\])?$/.exec(id) ?? []
  const instance = Object.fromEntries(values === '' ? [] : values.split(',').map(kv => kv.split('=') as [string, string]))
  return {
    id, kind: 'run', state: 'pending', attempts: 0, exitCode: null, node: null, startedAt: null, endedAt: null, durationMs: null,
    stdout: '', stderr: '', error: null, choice: null, comment: null, step, needs: [], instance, outputs: {}, artifacts: [], uses: [], retryAt: null, ...over
  }
}

function done (id: string, node: string, durationMs: number, over: Partial<StepStatus> = {}): StepStatus {
  return entry(id, { state: 'completed', attempts: 1, exitCode: 0, node, durationMs, ...over })
}

function artifact (name: string, step: string, size: number, files = 1): ArtifactRecord {
  return { name, workflowId: 'wf-ci', step, path: name, hash: 'f00dfeedbeef'.repeat(5) + 'cafe', size, files, directory: files > 1, nodes: [NODE_A] }
}

function ask (stepId: string, prompt: string, requestedAt = T0): InterventionRequest {
  return { stepId, prompt, choices: ['approve', 'reject'], reason: 'step', requestedAt, approvers: [], quorum: 1, approvals: [] }
}

function status (steps: StepStatus[], over: Partial<WorkflowStatus> = {}): WorkflowStatus {
  return {
    id: 'wf-ci', name: 'CI', state: 'running', source: 'ci.yaml', node: NODE_A, requestedBy: 'ann', createdAt: T0, startedAt: T0, endedAt: null,
    currentStep: null, error: null, inputs: {}, steps, intervention: null, interventions: [], ...over
  }
}

const SHARDS = ['test[shard=1]', 'test[shard=2]', 'test[shard=3]', 'test[shard=4]']

/** build → (lint, test × 4 shards) → package: a diamond with a matrix in it. */
export const DIAMOND_MATRIX = status([
  done('build', NODE_A, 1200, { outputs: { version: '1.2.4', sha: 'abc' }, artifacts: [artifact('dist', 'build', 3 * 1024 ** 2, 12)] }),
  done('lint', NODE_B, 800, { needs: ['build'] }),
  done('test[shard=1]', NODE_A, 4100, { needs: ['build'] }),
  done('test[shard=2]', NODE_B, 3900, { needs: ['build'] }),
  done('test[shard=3]', NODE_A, 4300, { needs: ['build'] }),
  entry('test[shard=4]', { state: 'running', attempts: 1, node: NODE_B, needs: ['build'] }),
  entry('package', { needs: ['lint', ...SHARDS] })
])

test('a diamond with a matrix: stages by depth, the matrix once with a summary, needs where they are not the step before', () => {
  const text = renderStatus(DIAMOND_MATRIX, T0)
  assert.equal(text, [
    'wf-ci  CI  running',
    '  stage 1',
    '    ✓ build        completed  exit 0  1.2 s  on a1b2c3d4e5f6  2 outputs',
    '                   ↑ dist  f00dfeedbeef  3.0 MiB, 12 files',
    '  stage 2',
    '    ✓ lint         completed  exit 0  800 ms  on b7c8d9e0f1a2',
    '    ▶ test         3/4 completed, 1 running  ← needs build',
    '        ✓ shard=1  completed  exit 0  4.1 s  on a1b2c3d4e5f6',
    '        ✓ shard=2  completed  exit 0  3.9 s  on b7c8d9e0f1a2',
    '        ✓ shard=3  completed  exit 0  4.3 s  on a1b2c3d4e5f6',
    '        ▶ shard=4  running    on b7c8d9e0f1a2',
    '  stage 3',
    '    · package      pending    ← needs lint, test'
  ].join('\n'))
  for (const line of text.split('\n')) assert.ok(line.length <= 80, `fits 80 columns: ${line}`)
})

test('a linear workflow reads as it always did: no stages, no needs notes', () => {
  const text = renderStatus(status([
    done('bump', NODE_A, 300, { needs: [] }),
    entry('confirm', { state: 'waiting_intervention', attempts: 1, needs: ['bump'] }),
    entry('tag', { needs: ['confirm'] })
  ], { state: 'waiting_intervention', intervention: ask('confirm', 'Tag v1.2.4?'), interventions: [ask('confirm', 'Tag v1.2.4?')] }), T0)
  assert.equal(text, [
    'wf-ci  CI  waiting_intervention',
    '  ✓ bump     completed             exit 0  300 ms  on a1b2c3d4e5f6',
    '  ? confirm  waiting_intervention',
    '  · tag      pending',
    '  waiting for a person at confirm: Tag v1.2.4?',
    '    choices: approve, reject   →   se approve wf-ci'
  ].join('\n'))
})

test('a status from a node before graphs (no step, no needs) is a line, not a row of roots', () => {
  const old = (id: string, over: Partial<StepStatus> = {}): StepStatus => entry(id, { step: '', ...over })
  const text = renderStatus(status([old('one', { state: 'completed' }), old('two', { state: 'running' }), old('three')]), T0)
  assert.doesNotMatch(text, /stage|needs/)
  assert.match(text, /^ {2}✓ one +completed\n {2}▶ two +running\n {2}· three +pending$/m)
})

test('skipped entries, a retry waiting out its backoff, a failure with its error', () => {
  const text = renderStatus(status([
    done('build', NODE_A, 1000),
    entry('deploy', { state: 'skipped', needs: ['build'] }),
    entry('flaky', { state: 'pending', attempts: 2, exitCode: 1, node: NODE_B, durationMs: 500, retryAt: T0 + 4000, error: 'exit code 1', needs: ['build'] }),
    entry('notify', { state: 'failed', attempts: 1, exitCode: 3, node: NODE_A, durationMs: 100, error: 'exit code 3: no route', needs: [] })
  ]), T0)
  assert.match(text, /^ {4}↷ deploy +skipped$/m)
  assert.match(text, /^ {4}· flaky +pending +attempts 2 {2}exit 1 {2}500 ms {2}retry in 4\.0 s {2}on b7c8d9e0f1a2 {2}← needs build$/m)
  assert.match(text, /^ {2}stage 1\n {4}✓ build .*\n {4}✗ notify +failed +exit 3 {2}100 ms {2}on a1b2c3d4e5f6 {2}— exit code 3: no route {2}← needs nothing\n {2}stage 2\n/m)
})

test('every question waiting is shown, each with its --step when there are several', () => {
  const asks = [ask('approve-eu', 'Ship to EU?'), ask('approve-us', 'Ship to US?', T0 + 1)]
  const text = renderStatus(status([
    done('build', NODE_A, 1000),
    entry('approve-eu', { state: 'waiting_intervention', attempts: 1, needs: ['build'] }),
    entry('approve-us', { state: 'waiting_intervention', attempts: 1, needs: ['build'] })
  ], { state: 'waiting_intervention', intervention: asks[0] ?? null, interventions: asks }), T0)
  assert.match(text, /waiting for a person at approve-eu: Ship to EU\?\n {4}choices: approve, reject {3}→ {3}se approve wf-ci --step approve-eu\n/)
  assert.match(text, /waiting for a person at approve-us: Ship to US\?\n {4}choices: approve, reject {3}→ {3}se approve wf-ci --step approve-us$/)
})

test('a matrix with mixed states: failed wins over pending, the summary counts each', () => {
  const text = renderStatus(status([
    done('build', NODE_A, 1000),
    done('test[os=linux,node=20]', NODE_A, 2000, { needs: ['build'] }),
    entry('test[os=linux,node=22]', { state: 'failed', attempts: 1, exitCode: 1, node: NODE_B, durationMs: 900, error: 'exit code 1', needs: ['build'] }),
    entry('test[os=mac,node=20]', { state: 'skipped', needs: ['build'] }),
    entry('test[os=mac,node=22]', { needs: ['build'] })
  ]), T0)
  assert.match(text, /^ {2}✗ test +1\/4 completed, 1 failed, 1 pending, 1 skipped$/m)
  assert.match(text, /^ {6}✗ os=linux, node=22 +failed +exit 1 {2}900 ms {2}on b7c8d9e0f1a2 {2}— exit code 1$/m)
  assert.doesNotMatch(text, /stage/, 'build then test is still a line')
})

test('se status without an id: the STEP column shows a fan-out as its progress', () => {
  assert.match(renderList([DIAMOND_MATRIX], T0), /wf-ci +CI +running +test 4\/4 running +0s/)
})
