// Workflow files: what parseWorkflow accepts, and how it names what it rejects
// (file, path inside the file, line). Also the checks on a caller's inputs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { SeError, type ErrorDetail } from '../core/errors.js'
import { parseWorkflow } from '../core/workflow/validate.js'
import { resolveInputs } from '../core/workflow/inputs.js'
import type { WorkflowDefinition } from '../core/workflow/definition.js'

const EXAMPLES = path.resolve(import.meta.dirname, '..', 'examples', 'workflows')
const FILE = 'flows/test.yaml'

/** Parses `text`, expecting VALIDATION_FAILED; returns the error's details. */
function rejects (text: string, file = FILE): ErrorDetail[] {
  let caught: unknown
  try {
    parseWorkflow(text, file)
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof SeError, `expected an SeError, got ${String(caught)}`)
  assert.equal(caught.code, 'VALIDATION_FAILED')
  assert.ok(caught.details.length > 0, 'expected at least one detail')
  for (const d of caught.details) assert.equal(d.file, file, `detail names the file: ${JSON.stringify(d)}`)
  assert.match(caught.message, new RegExp(`workflow ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is invalid \\(${caught.details.length} problems?\\)`))
  return caught.details
}

/** The single detail at `path`, failing with every detail when there is none. */
function detailAt (details: ErrorDetail[], at: string): ErrorDetail {
  const found = details.find(d => d.path === at)
  assert.ok(found !== undefined, `no detail at ${at}; got ${JSON.stringify(details)}`)
  return found
}

test('the example workflows parse', async () => {
  const expected: Record<string, { name: string, steps: number }> = {
    'audit-analysis.yaml': { name: 'AUDIT_ANALYSIS', steps: 3 },
    'repository-maintenance.yaml': { name: 'REPOSITORY_MAINTENANCE', steps: 6 },
    'version-transition.yaml': { name: 'VERSION_TRANSITION', steps: 5 }
  }
  for (const [file, want] of Object.entries(expected)) {
    const text = await readFile(path.join(EXAMPLES, file), 'utf8')
    const def = parseWorkflow(text, file)
    assert.equal(def.name, want.name, file)
    assert.equal(def.steps.length, want.steps, file)
  }
  const vt = parseWorkflow(await readFile(path.join(EXAMPLES, 'version-transition.yaml'), 'utf8'), 'version-transition.yaml')
  assert.deepEqual(vt.steps.map(s => s.id), ['clean', 'bump', 'commit', 'confirm', 'tag'])
  assert.equal(vt.steps[0]?.onFailure, 'intervene')
  assert.equal(vt.steps[0]?.run?.timeoutSec, 30)
  assert.deepEqual(vt.steps[3]?.intervention?.choices, ['approve', 'reject'])
  assert.equal(vt.inputs?.repo?.type, 'path')
  assert.equal(vt.inputs?.level?.default, 'patch')
  const rm = parseWorkflow(await readFile(path.join(EXAMPLES, 'repository-maintenance.yaml'), 'utf8'), 'rm.yaml')
  assert.deepEqual(rm.steps[2]?.onFailure, { retry: 2 })
})

test('JSON is accepted as well as YAML, and non-string args become strings', () => {
  const def = parseWorkflow(JSON.stringify({ name: 'j', steps: [{ id: 'a', run: { command: 'echo', args: [1, true, 'x'], env: { N: 3 } } }] }), 'j.json')
  assert.deepEqual(def.steps[0]?.run?.args, ['1', 'true', 'x'])
  assert.deepEqual(def.steps[0]?.run?.env, { N: '3' })
})

test('an unknown key is named with its path and line, and the allowed keys are listed', () => {
  const details = rejects([
    'name: demo',
    'steps:',
    '  - id: a',
    '    run: { command: echo }',
    '    colour: red'
  ].join('\n'))
  assert.equal(details.length, 1)
  const d = detailAt(details, 'steps[0].colour')
  assert.equal(d.line, 5)
  assert.match(d.message, /unknown key 'colour'/)
  for (const key of ['id', 'run', 'intervention', 'onFailure', 'idempotent']) assert.match(d.message, new RegExp(`\\b${key}\\b`))
})

test('an unknown key inside run lists the keys run takes', () => {
  const details = rejects([
    'name: demo',
    'steps:',
    '  - id: a',
    '    run:',
    '      command: echo',
    '      timeout: 5'
  ].join('\n'))
  const d = detailAt(details, 'steps[0].run.timeout')
  assert.equal(d.line, 6)
  assert.match(d.message, /unknown key 'timeout' \(expected one of: .*timeoutSec/)
})

test('an unknown top-level key is reported', () => {
  const d = detailAt(rejects('name: demo\nstesp: []\nsteps:\n  - id: a\n    run: { command: echo }\n'), 'stesp')
  assert.equal(d.line, 2)
  assert.match(d.message, /expected one of: .*steps/)
})

test('a run without a command is rejected at run.command', () => {
  const details = rejects([
    'name: demo',
    'steps:',
    '  - id: a',
    '    run: { args: [x] }'
  ].join('\n'))
  const d = detailAt(details, 'steps[0].run.command')
  assert.equal(d.line, 4)
  assert.match(d.message, /missing command/)
})

test('an empty command is rejected', () => {
  const d = detailAt(rejects('name: demo\nsteps:\n  - id: a\n    run: { command: "" }\n'), 'steps[0].run.command')
  assert.match(d.message, /expected a command to run/)
})

for (const [label, value, pattern] of [
  ['negative', '-5', /greater than 0, got -5/],
  ['zero', '0', /greater than 0, got 0/],
  ['string', '"ten"', /expected a number of seconds, got "ten"/],
  ['over a week', String(7 * 24 * 3600 + 1), /at most 604800 seconds/]
] as const) {
  test(`timeoutSec ${label} is rejected with its path and line`, () => {
    const details = rejects([
      'name: demo',
      'steps:',
      '  - id: a',
      '    run: { command: echo }',
      '  - id: b',
      '    run: { command: echo }',
      '  - id: c',
      '    run:',
      '      command: echo',
      `      timeoutSec: ${value}`
    ].join('\n'))
    assert.equal(details.length, 1)
    const d = detailAt(details, 'steps[2].run.timeoutSec')
    assert.equal(d.line, 10)
    assert.match(d.message, pattern)
  })
}

test('a duplicate step id is named at the second use, pointing at the first', () => {
  const details = rejects([
    'name: demo',
    'steps:',
    '  - id: build',
    '    run: { command: make }',
    '  - id: test',
    '    run: { command: make }',
    '  - id: build',
    '    run: { command: make }'
  ].join('\n'))
  assert.equal(details.length, 1)
  const d = detailAt(details, 'steps[2].id')
  assert.equal(d.line, 7)
  assert.match(d.message, /duplicate step id 'build' \(first used at steps\[0\]\)/)
})

test('a reference to a step that does not exist is rejected', () => {
  const details = rejects([
    'name: demo',
    'steps:',
    '  - id: a',
    '    run: { command: echo }',
    '  - id: b',
    '    run:',
    '      command: echo',
    '      args: [ok, "${steps.nosuch.stdout}"]'
  ].join('\n'))
  const d = detailAt(details, 'steps[1].run.args[1]')
  assert.equal(d.line, 8)
  assert.match(d.message, /\$\{steps\.nosuch\.stdout\} refers to step 'nosuch', which does not exist/)
})

test('a reference to a later step (dangling) is rejected', () => {
  const details = rejects([
    'name: demo',
    'steps:',
    '  - id: a',
    '    run: { command: echo, args: ["${steps.b.stdout}"] }',
    '  - id: b',
    '    run: { command: echo }'
  ].join('\n'))
  const d = detailAt(details, 'steps[0].run.args[0]')
  assert.equal(d.line, 4)
  assert.match(d.message, /refers to step 'b', which has not run yet/)
})

test('a step referring to its own output is rejected', () => {
  const d = detailAt(rejects('name: demo\nsteps:\n  - id: a\n    run: { command: echo, args: ["${steps.a.stdout}"] }\n'), 'steps[0].run.args[0]')
  assert.match(d.message, /has not run yet/)
})

test('an unknown step field is rejected, listing the fields', () => {
  const d = detailAt(rejects([
    'name: demo',
    'steps:',
    '  - id: a',
    '    run: { command: echo }',
    '  - id: b',
    '    run: { command: echo, args: ["${steps.a.output}"] }'
  ].join('\n')), 'steps[1].run.args[0]')
  assert.match(d.message, /unknown step field 'output' \(expected one of: stdout, stderr, exitCode/)
})

test('references to earlier steps, including ids with dots, are accepted', () => {
  const def = parseWorkflow([
    'name: demo',
    'inputs: { who: { default: world } }',
    'steps:',
    '  - id: build.linux',
    '    run: { command: echo, args: ["${inputs.who}"] }',
    '  - id: b',
    '    run:',
    '      command: echo',
    '      args: ["${steps.build.linux.stdout}", "${steps.build.linux.exitCode}", "${workflow.dir}", "${node.cli}", "${env.HOME}", "$${literal}"]',
    '      env: { OUT: "${steps.build.linux.stderr}" }',
    '      cwd: "${inputs.who}"'
  ].join('\n'), FILE)
  assert.equal(def.steps.length, 2)
})

test('an undeclared input is rejected', () => {
  const details = rejects([
    'name: demo',
    'inputs:',
    '  repo: { type: path }',
    'steps:',
    '  - id: a',
    '    run: { command: git, cwd: "${inputs.nope}" }'
  ].join('\n'))
  const d = detailAt(details, 'steps[0].run.cwd')
  assert.equal(d.line, 6)
  assert.match(d.message, /\$\{inputs\.nope\} refers to input 'nope', which is not declared under inputs/)
})

test('an undeclared input in an intervention prompt is rejected', () => {
  const d = detailAt(rejects('name: demo\nsteps:\n  - id: ask\n    intervention: { prompt: "Ship ${inputs.nope}?" }\n'), 'steps[0].intervention.prompt')
  assert.equal(d.line, 4)
  assert.match(d.message, /input 'nope'/)
})

test('an unknown reference root is rejected', () => {
  const d = detailAt(rejects('name: demo\nsteps:\n  - id: a\n    run: { command: echo, args: ["${secrets.token}"] }\n'), 'steps[0].run.args[0]')
  assert.equal(d.line, 4)
  assert.match(d.message, /unknown reference root 'secrets' \(expected inputs, matrix, steps, workflow, node or env\)/)
})

test('malformed workflow and node references are rejected', () => {
  const details = rejects([
    'name: demo',
    'steps:',
    '  - id: a',
    '    run: { command: echo, args: ["${workflow.owner}", "${node.secret}", "${inputs}", "${env.A.B}"] }'
  ].join('\n'))
  assert.match(detailAt(details, 'steps[0].run.args[0]').message, /expected one of \$\{workflow\.id\}/)
  assert.match(detailAt(details, 'steps[0].run.args[1]').message, /expected one of \$\{node\.id\}/)
  assert.match(detailAt(details, 'steps[0].run.args[2]').message, /expected \$\{inputs\.NAME\}/)
  assert.match(detailAt(details, 'steps[0].run.args[3]').message, /expected \$\{env\.NAME\}/)
})

test('an unterminated ${ is rejected with its position', () => {
  const d = detailAt(rejects('name: demo\nsteps:\n  - id: a\n    run: { command: echo, args: ["v-${inputs.x"] }\n'), 'steps[0].run.args[0]')
  assert.equal(d.line, 4)
  assert.match(d.message, /unterminated '\$\{' at character 3/)
})

test('a step with both run and intervention is rejected', () => {
  const details = rejects([
    'name: demo',
    'steps:',
    '  - id: ok',
    '    run: { command: echo }',
    '  - id: a',
    '    run: { command: echo }',
    '    intervention: { prompt: Proceed? }'
  ].join('\n'))
  const d = detailAt(details, 'steps[1]')
  assert.equal(d.line, 5)
  assert.match(d.message, /exactly one of 'run'.*or 'intervention'/)
})

test('a step with neither run nor intervention is rejected', () => {
  const d = detailAt(rejects('name: demo\nsteps:\n  - id: a\n    name: nothing\n'), 'steps[0]')
  assert.match(d.message, /exactly one of/)
})

test('onFailure on an intervention step is rejected', () => {
  const d = detailAt(rejects('name: demo\nsteps:\n  - id: a\n    intervention: { prompt: ok? }\n    onFailure: abort\n'), 'steps[0].onFailure')
  assert.equal(d.line, 5)
})

test('a bad onFailure value is rejected', () => {
  const details = rejects('name: demo\nsteps:\n  - id: a\n    run: { command: echo }\n    onFailure: ignore\n')
  const d = details.find(x => x.path?.startsWith('steps[0].onFailure') === true)
  assert.ok(d !== undefined, JSON.stringify(details))
  assert.equal(d.line, 5)
})

test('invalid YAML syntax is reported with its line', () => {
  const details = rejects([
    'name: demo',
    'steps:',
    '  - id: a',
    '    run: { command: echo',
    '  - id: b'
  ].join('\n'))
  assert.match(details[0]?.message ?? '', /not valid YAML or JSON/)
  assert.equal(typeof details[0]?.line, 'number', `the YAML error names a line: ${JSON.stringify(details)}`)
  assert.ok((details[0]?.line ?? 0) >= 4, `the YAML error points at or after the unclosed flow map: ${JSON.stringify(details)}`)
})

test('a duplicate YAML key is reported with its line', () => {
  const details = rejects('name: demo\nname: other\nsteps:\n  - id: a\n    run: { command: echo }\n')
  assert.match(details[0]?.message ?? '', /not valid YAML or JSON/)
  assert.equal(details[0]?.line, 2, `the duplicate key's line: ${JSON.stringify(details)}`)
})

test('empty steps are rejected', () => {
  const d = detailAt(rejects('name: demo\nsteps: []\n'), 'steps')
  assert.equal(d.line, 2)
  assert.match(d.message, /at least one step/)
})

test('missing steps and name are reported as missing', () => {
  const details = rejects('description: nothing here\n')
  assert.match(detailAt(details, 'steps').message, /^missing/)
  assert.match(detailAt(details, 'name').message, /^missing/)
})

test('a document that is not a mapping is rejected', () => {
  for (const text of ['', '- a\n- b\n', 'just a string\n']) {
    const details = rejects(text)
    assert.match(details[0]?.message ?? '', /expected a mapping/)
  }
})

test('every problem is reported at once', () => {
  const details = rejects([
    'name: demo',
    'steps:',
    '  - id: a',
    '    run: { command: echo, args: ["${inputs.nope}"] }',
    '  - id: a',
    '    run: { command: echo, args: ["${steps.zz.stdout}"] }'
  ].join('\n'))
  assert.deepEqual(details.map(d => d.path).sort(), ['steps[0].run.args[0]', 'steps[1].id', 'steps[1].run.args[0]'])
})

// --- inputs -------------------------------------------------------------------

const withInputs: WorkflowDefinition = parseWorkflow([
  'name: INPUTS',
  'inputs:',
  '  repo: { type: path, required: true, description: the repository }',
  '  level: { default: patch }',
  '  count: { type: number, default: 3 }',
  '  dry: { type: boolean }',
  'steps:',
  '  - id: a',
  '    run: { command: echo }'
].join('\n'), 'inputs.yaml')

function inputErrors (given: Record<string, string>): ErrorDetail[] {
  try {
    resolveInputs(withInputs, given, '/home/me/work', 'cli')
  } catch (err) {
    assert.ok(err instanceof SeError)
    assert.equal(err.code, 'VALIDATION_FAILED')
    assert.match(err.message, /inputs for INPUTS \(cli\)/)
    return err.details
  }
  assert.fail('expected the inputs to be rejected')
}

test('resolveInputs: a missing required input is named with how to pass it', () => {
  const details = inputErrors({})
  assert.equal(details.length, 1)
  assert.equal(details[0]?.path, 'inputs.repo')
  assert.match(details[0]?.message ?? '', /required input 'repo' is missing \(the repository\): pass --input repo=VALUE/)
})

test('resolveInputs: an undeclared input is rejected, listing the declared ones', () => {
  const details = inputErrors({ repo: '.', colour: 'red' })
  assert.equal(details.length, 1)
  assert.equal(details[0]?.path, 'inputs.colour')
  assert.match(details[0]?.message ?? '', /input 'colour' is not declared by INPUTS \(it takes: repo, level, count, dry\)/)
})

test('resolveInputs: a workflow without inputs says it takes none', () => {
  const bare = parseWorkflow('name: BARE\nsteps:\n  - id: a\n    run: { command: echo }\n', 'bare.yaml')
  assert.throws(() => resolveInputs(bare, { x: '1' }, '/', 'cli'), (err: SeError) => err.code === 'VALIDATION_FAILED' && /it takes no inputs/.test(err.details[0]?.message ?? ''))
  assert.deepEqual(resolveInputs(bare, {}, '/', 'cli'), {})
})

test('resolveInputs: defaults fill in, given values win, optional inputs without default stay absent', () => {
  assert.deepEqual(resolveInputs(withInputs, { repo: '/abs/repo' }, '/home/me/work', 'cli'), { repo: '/abs/repo', level: 'patch', count: '3' })
  assert.deepEqual(resolveInputs(withInputs, { repo: '/r', level: 'minor', count: '7', dry: 'true' }, '/w', 'cli'), { repo: '/r', level: 'minor', count: '7', dry: 'true' })
})

test('resolveInputs: path inputs resolve against the caller\'s working directory', () => {
  assert.equal(resolveInputs(withInputs, { repo: 'sub/dir' }, '/home/me/work', 'cli').repo, '/home/me/work/sub/dir')
  assert.equal(resolveInputs(withInputs, { repo: '.' }, '/home/me/work', 'cli').repo, '/home/me/work')
  assert.equal(resolveInputs(withInputs, { repo: '../other/./x/' }, '/home/me/work', 'cli').repo, '/home/me/other/x')
  assert.equal(resolveInputs(withInputs, { repo: '/abs//p/../q' }, '/home/me/work', 'cli').repo, '/abs/q')
  // A string input is not a path: it is passed through untouched.
  assert.equal(resolveInputs(withInputs, { repo: '.', level: '../x' }, '/w', 'cli').level, '../x')
})

test('resolveInputs: number and boolean inputs are checked', () => {
  const details = inputErrors({ repo: '.', count: 'many', dry: 'yes' })
  assert.deepEqual(details.map(d => d.path), ['inputs.count', 'inputs.dry'])
  assert.match(details[0]?.message ?? '', /expected a number, got 'many'/)
  assert.match(details[1]?.message ?? '', /expected true or false, got 'yes'/)
})

// Graphs (needs, matrix, artifacts, outputs, if): problems named by file, path and line.

test('a cycle among needs is named with the steps along it', () => {
  const details = rejects(['name: g', 'steps:', '  - { id: a, needs: [c], run: { command: "true" } }', '  - { id: b, needs: [a], run: { command: "true" } }', '  - { id: c, needs: [b], run: { command: "true" } }'].join('\n'))
  const d = detailAt(details, 'steps[0].needs')
  assert.equal(d.line, 3)
  assert.match(d.message, /form a cycle: a → c → b → a/)
})

test('needs naming a step that does not exist is rejected where it is written', () => {
  const d = detailAt(rejects(['name: g', 'steps:', '  - { id: a, run: { command: "true" } }', '  - { id: b, needs: [a, ghost], run: { command: "true" } }'].join('\n')), 'steps[1].needs[1]')
  assert.equal(d.line, 4)
  assert.match(d.message, /needs 'ghost': no step has that id \(expected one of: a, b\)/)
})

test('uses of an artifact no earlier step publishes is rejected, and so is one from a step that may not have run', () => {
  const details = rejects([
    'name: g',
    'steps:',
    '  - { id: build, run: { command: make }, artifacts: { dist: dist/ } }',
    '  - { id: lint, needs: [], uses: [build.dist], run: { command: lint } }',
    '  - { id: test, needs: [build], uses: [build.docs, nope.x], run: { command: t } }'
  ].join('\n'))
  assert.match(detailAt(details, 'steps[1].uses[0]').message, /step 'build' has not run yet at this point \(add it to needs\)/)
  assert.match(detailAt(details, 'steps[2].uses[0]').message, /step 'build' publishes no artifact 'docs' \(it publishes: dist\)/)
  assert.match(detailAt(details, 'steps[2].uses[1]').message, /no step 'nope'/)
})

test('${matrix.x} outside a matrix step, or naming a key the matrix lacks, is rejected', () => {
  const details = rejects([
    'name: g',
    'steps:',
    '  - { id: plain, run: { command: echo, args: ["${matrix.shard}"] } }',
    '  - { id: m, matrix: { shard: [1, 2] }, run: { command: echo, args: ["${matrix.os}"] } }'
  ].join('\n'))
  assert.match(detailAt(details, 'steps[0].run.args[0]').message, /\$\{matrix.shard\}: step 'plain' has no matrix/)
  assert.match(detailAt(details, 'steps[1].run.args[0]').message, /the matrix of step 'm' has no key 'os' \(it has: shard\)/)
})

test('outputs must be declared, and a matrix step\'s outputs are read from one instance', () => {
  const details = rejects([
    'name: g',
    'steps:',
    '  - { id: a, outputs: [version], run: { command: "true" } }',
    '  - { id: m, needs: [], matrix: { n: [1, 2] }, outputs: [r], run: { command: "true" } }',
    '  - id: b',
    '    needs: [a, m]',
    '    run: { command: echo, args: ["${steps.a.outputs.tag}", "${steps.m.outputs.r}", "${steps.m[n=1].outputs.r}", "${steps.m[n=9].outputs.r}"] }'
  ].join('\n'))
  assert.match(detailAt(details, 'steps[2].run.args[0]').message, /step 'a' declares no output 'tag' \(it declares: version\)/)
  assert.match(detailAt(details, 'steps[2].run.args[1]').message, /is a matrix step: name one instance, e.g. \$\{steps.m\[n=1\].outputs.r\}/)
  assert.equal(details.filter(d => d.path === 'steps[2].run.args[2]').length, 0, 'an instance that exists is fine')
  assert.match(detailAt(details, 'steps[2].run.args[3]').message, /has no instance \[n=9\]/)
})

test('an if that does not parse, or refers to what may not have run, is rejected', () => {
  const details = rejects([
    'name: g',
    'inputs: { release: { default: "no" } }',
    'steps:',
    '  - { id: a, run: { command: "true" } }',
    '  - { id: b, if: "${inputs.release} == \'yes\' &&", run: { command: "true" } }',
    '  - { id: c, needs: [], if: "steps.a.state == \'completed\'", run: { command: "true" } }'
  ].join('\n'))
  assert.match(detailAt(details, 'steps[1].if').message, /^condition: /)
  assert.match(detailAt(details, 'steps[2].if').message, /refers to step 'a', which has not run yet at this point/)
})

test('a graph file that is right parses, and a file without needs keeps its order', () => {
  const def = parseWorkflow(['name: g', 'steps:', '  - { id: a, run: { command: "true" }, artifacts: { out: out/ }, outputs: [v] }', '  - { id: b, uses: [a.out], if: "steps.a.outputs.v != \'\'", matrix: { n: [1, 2] }, maxParallel: 1, failFast: false, onFailure: { retry: 2, backoffSec: 5 }, run: { command: "true" } }'].join('\n'), FILE)
  assert.equal(def.steps[1]?.matrix?.n?.[0], '1')
  assert.deepEqual(def.steps[1]?.onFailure, { retry: 2, backoffSec: 5 })
})
