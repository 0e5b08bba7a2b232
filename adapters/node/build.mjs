// Bundles the CLI's TypeScript into dist/se.mjs so `se` starts without compiling
// on every run. Dependencies stay in node_modules, but for the few every call
// loads: bundled, they skip Node's resolution and its CommonJS-to-ESM bridge,
// which cost more start-up time than the rest of `se status` (bench/cli.ts).
// So do those `se node start` loads (execa, the Hyperswarm stack: ~270 files
// from node_modules, ~150 ms of a node's start) and the parsers it loads on first
// use (zod, yaml). In a chunk, a bundled CommonJS package has only a default
// export: code that import()s one on demand imports a module of ours that imports it.
import { build } from 'esbuild'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
/** Pure JavaScript, without native parts or files read at run time. */
const BUNDLED = new Set(['commander', 'avsc', 'b4a', 'execa', 'hyperswarm', 'hyperdht', 'protomux', 'shell-quote', 'zod', 'yaml'])
/** Bundled packages' dependencies that load native addons from beside their own files: those stay where they are. */
const NATIVE = ['sodium-native', 'udx-native', 'require-addon', 'fs-native-extensions']
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const external = [...Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter(name => !BUNDLED.has(name)), ...NATIVE].flatMap(name => [name, `${name}/*`])
/**
 * Builtins that bundled packages require when they load but use only on some calls:
 * commander child_process (for subcommands run as separate programs; `se` has none),
 * avsc crypto (for schema fingerprints). They get the module on first use instead,
 * so no `se` call pays for loading it (and what it loads) up front.
 */
const LAZY_BUILTINS = { commander: ['child_process'], avsc: ['crypto'] }
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup (b) {
    b.onResolve({ filter: /^(node:)?[a-z_]+$/ }, args => {
      const name = args.path.replace(/^node:/, '')
      const lazy = Object.entries(LAZY_BUILTINS).some(([pkg, builtins]) => builtins.includes(name) && args.importer.includes(`${path.sep}${pkg}${path.sep}`))
      return lazy ? { path: name, namespace: 'lazy-builtin' } : undefined
    })
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, args => ({
      contents: `let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require('node:${args.path}'))[key] })`,
      loader: 'js'
    }))
  }
}

const result = await build({
  entryPoints: [path.join(root, 'adapters/node/cli/main.ts')],
  outdir: path.join(root, 'dist'),
  entryNames: 'se',
  outExtension: { '.js': '.mjs' },
  // Commands load what they need on use; splitting keeps that lazy in the bundle.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  // Bundled CommonJS calls require() for Node's builtins; an ES module has none of its own.
  banner: { js: "import { createRequire as __seCreateRequire } from 'node:module'; const require = __seCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  plugins: [lazyBuiltins],
  metafile: true,
  logLevel: 'warning',
  write: false
})

// Written here rather than by esbuild: a file that did not change is left alone, and one that
// did is replaced whole (write, rename), so a node or a CLI call starting while a build runs
// (npm install -g . runs one) never reads a chunk half written.
for (const out of result.outputFiles) {
  if (existsSync(out.path) && Buffer.compare(readFileSync(out.path), out.contents) === 0) continue
  mkdirSync(path.dirname(out.path), { recursive: true })
  const tmp = `${out.path}.${process.pid}.tmp`
  writeFileSync(tmp, out.contents)
  renameSync(tmp, out.path)
}

// The sources the bundle was made from, for bin/se.js to tell whether it is stale by
// looking at these files alone rather than walking every directory on each call.
const sources = Object.keys(result.metafile.inputs).filter(f => !f.startsWith('node_modules/') && f.endsWith('.ts')).sort()
const sourcesFile = path.join(root, 'dist', 'sources.json')
writeFileSync(`${sourcesFile}.${process.pid}.tmp`, JSON.stringify(sources) + '\n')
renameSync(`${sourcesFile}.${process.pid}.tmp`, sourcesFile)

// Chunks of earlier builds are kept for a day, not forever: a node started before this
// build may still load one of them the first time it needs it (dist/chunks grew to 35 MB).
const KEEP_OLD_CHUNKS_MS = 24 * 3600_000
const chunks = path.join(root, 'dist', 'chunks')
const made = new Set(Object.keys(result.metafile.outputs).map(f => path.resolve(root, f)))
for (const name of readdirSync(chunks)) {
  const file = path.join(chunks, name)
  if (!made.has(file) && Date.now() - statSync(file).mtimeMs > KEEP_OLD_CHUNKS_MS) rmSync(file, { force: true })
}
