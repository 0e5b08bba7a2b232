// The shape of the tree, checked on every run: no import cycles anywhere (a module is
// understood from the modules below it), and core/ imports nothing of a runtime.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { REPO } from './helpers/cli.js'

const DIRS = ['core', 'adapters', 'tui', 'bare', 'bench', 'test']

function sources (): string[] {
  const out: string[] = []
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (p.endsWith('.ts')) out.push(p)
    }
  }
  for (const d of DIRS) walk(path.join(REPO, d))
  return out
}

/** The repository files a file imports (static, dynamic, type-only and re-exports alike). */
function importsOf (file: string): { local: string[], packages: string[] } {
  const text = fs.readFileSync(file, 'utf8')
  const local: string[] = []
  const packages: string[] = []
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"\n]*?(?:from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2] as string
    if (!spec.startsWith('.')) { packages.push(spec); continue }
    const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts')
    if (fs.existsSync(target)) local.push(target)
  }
  return { local, packages }
}

test('no import cycles anywhere in the tree', () => {
  const graph = new Map(sources().map(f => [f, importsOf(f).local]))
  // Tarjan's strongly connected components: every one larger than a file is a cycle.
  let index = 0
  const stack: string[] = []
  const onStack = new Set<string>()
  const indexOf = new Map<string, number>()
  const low = new Map<string, number>()
  const cycles: string[][] = []
  const visit = (v: string): void => {
    indexOf.set(v, index); low.set(v, index); index++
    stack.push(v); onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) { visit(w); low.set(v, Math.min(low.get(v) as number, low.get(w) as number)) } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, indexOf.get(w) as number))
    }
    if (low.get(v) === indexOf.get(v)) {
      const group: string[] = []
      let w: string
      do { w = stack.pop() as string; onStack.delete(w); group.push(path.relative(REPO, w)) } while (w !== v)
      if (group.length > 1) cycles.push(group.sort())
    }
  }
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v)
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.map(c => c.join(' <-> ')).join('\n')}`)
})

test('core/ imports no runtime: no node: builtins, execa, blessed or bare-* packages', () => {
  const runtime = /^(node:|fs$|path$|os$|net$|child_process$|crypto$|http$|https$|stream$|events$|worker_threads$|execa$|blessed|bare-)/
  const bad = sources().filter(f => f.startsWith(path.join(REPO, 'core') + path.sep))
    .flatMap(f => importsOf(f).packages.filter(p => runtime.test(p)).map(p => `${path.relative(REPO, f)} imports ${p}`))
  assert.deepEqual(bad, [])
})

// core/ in layers, lowest first: a module imports only its own layer or those below.
// The root files (errors, ports, hex, paths, constants) are the floor; the node composes everything.
const CORE_LAYERS = [['', 'errors'], ['config'], ['protocol'], ['metrics'], ['access'], ['audit'], ['rpc'], ['session'], ['artifact'], ['workflow'], ['workload'], ['mesh'], ['http'], ['node']]

test('core/ has no upward arrows: each layer imports only the layers below it', () => {
  const core = path.join(REPO, 'core')
  const layerOf = (file: string): number => {
    const dir = path.relative(core, path.dirname(file)).split(path.sep)[0] as string
    const layer = CORE_LAYERS.findIndex(l => l.includes(dir))
    assert.notEqual(layer, -1, `core/${dir} is in no layer: add it to CORE_LAYERS where it belongs`)
    return layer
  }
  const upward = sources().filter(f => f.startsWith(core + path.sep)).flatMap(f => importsOf(f).local
    .filter(t => t.startsWith(core + path.sep) && layerOf(t) > layerOf(f))
    .map(t => `${path.relative(REPO, f)} imports ${path.relative(REPO, t)}`))
  assert.deepEqual(upward, [])
})
