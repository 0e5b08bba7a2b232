// Bundles the Bare node (bare/main.ts with core, adapters/bare, adapters/shared
// and the pure-JavaScript dependencies) into dist/bare/se-node.cjs: Bare runs
// JavaScript only, and one file loads faster and in less memory than ~500
// modules. Packages with native addons (bare-*, sodium-native, udx-native, fs-native-extensions) stay
// in node_modules, where Bare loads their prebuilt .bare addons.
// `--entry FILE --outfile FILE` bundles another program the same way (bench/bare-peer.ts, the
// bench's plain Hyperswarm peer, so both are measured as built alike); it writes no manifest.
import { build } from 'esbuild'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({ options: { entry: { type: 'string' }, outfile: { type: 'string' } } })
const node = values.entry === undefined
const outfile = node ? path.join(root, 'dist/bare/se-node.cjs') : path.resolve(values.outfile ?? 'out.cjs')

// When Bare loads a file it reads and compiles every module the file names in a literal
// require() or import(), whether or not the code naming it ever runs, and what it compiled
// stays in memory for as long as the process lives. What a node at rest does not use is
// therefore named through a variable, which Bare cannot see ahead, and loads on first use:
/**
 * Parsers only a workflow file, a workload manifest, a policy file or a session's line needs: bundled into
 * files of their own beside the bundle (dist/bare/lazy/NAME.cjs). Compiled, zod and yaml alone held about 11 MiB.
 * A file is loaded when one of its package's members is first read, not when a module importing it starts:
 * core/access/policy.ts imports yaml and starts with the node, which parses YAML only when it has a policy file.
 */
const SEPARATE = ['zod', 'yaml', 'shell-quote']
// The members each stand-in offers: the package's own, as Node loads it here (the same API the lazy file has).
const membersOf = name => Object.keys(createRequire(path.join(root, 'package.json'))(name))
const separateStandIn = name => [
  `const file = './lazy/${name}.cjs'`,
  'let loaded = null',
  'const load = () => (loaded ??= require(file))',
  `for (const key of ${JSON.stringify(membersOf(name))}) Object.defineProperty(module.exports, key, { enumerable: true, get: () => load()[key] })`
].join('\n')
/**
 * Addon packages used only sometimes (--http; a command to run), loaded on first use, with what the
 * node imports of each: `default` (a stand-in that loads the package when a member is read) or named
 * functions (stand-ins that load it when called). Importing anything else fails the build.
 */
const ON_FIRST_USE = { 'bare-http1': ['default'], 'bare-subprocess': ['spawn'] }
const standIn = (name, members) => [
  `const name = ${JSON.stringify(name)}`,
  'let loaded = null',
  'const load = () => (loaded ??= require(name))',
  ...members.map(m => m === 'default'
    ? 'export default new Proxy({}, { get: (_, key) => load()[key] })'
    : `export function ${m} (...args) { return load().${m}(...args) }`)
].join('\n')
const onFirstUse = {
  name: 'on-first-use',
  setup (b) {
    b.onResolve({ filter: new RegExp(`^(${SEPARATE.join('|')})$`) }, args => ({ path: args.path, namespace: 'separate' }))
    b.onLoad({ filter: /.*/, namespace: 'separate' }, args => ({ contents: separateStandIn(args.path), loader: 'js' }))
    b.onResolve({ filter: new RegExp(`^(${Object.keys(ON_FIRST_USE).join('|')})$`) }, args => ({ path: args.path, namespace: 'on-first-use' }))
    b.onLoad({ filter: /.*/, namespace: 'on-first-use' }, args => ({ contents: standIn(args.path, ON_FIRST_USE[args.path]), loader: 'js' }))
    // avsc hashes (for Type#fingerprint, which a node never calls at rest) through `crypto`: bare-crypto, loaded then.
    b.onResolve({ filter: /^crypto$/ }, args => args.importer.includes(`${path.sep}avsc${path.sep}`) ? { path: path.join(root, 'bare/shims/avsc-crypto.ts') } : undefined)
  }
}

/**
 * CommonJS packages the node's modules import by default (`import b4a from 'b4a'`): each importing
 * module would get an interop copy of the package's exports, one getter per export (b4a alone: 33 copies).
 * Through one shared module they get one.
 */
const SHARED_DEFAULT = ['b4a', 'bare-fs', 'bare-env', 'bare-os', 'bare-path', 'bare-process']
const sharedDefault = {
  name: 'shared-default',
  setup (b) {
    b.onResolve({ filter: new RegExp(`^(${SHARED_DEFAULT.join('|')})$`) }, args =>
      args.namespace === 'shared-default' || args.importer.includes(`${path.sep}node_modules${path.sep}`) ? undefined : { path: args.path, namespace: 'shared-default' })
    b.onLoad({ filter: /.*/, namespace: 'shared-default' }, args => ({ contents: `import m from ${JSON.stringify(args.path)}\nexport default m\n`, resolveDir: root, loader: 'js' }))
  }
}

// The Node builtins dependencies name, pointed at Bare's modules at build time: the bundle needs no map at run time.
const imports = JSON.parse(readFileSync(path.join(root, 'bare/imports.json'), 'utf8'))
const options = {
  bundle: true,
  platform: 'neutral',
  format: 'cjs',
  target: 'es2022',
  // Holepunch packages pick their Bare implementations under the `bare` condition.
  conditions: ['bare', 'require'],
  mainFields: ['main', 'module'],
  alias: imports,
  external: ['bare-*', 'sodium-native', 'udx-native', 'require-addon', 'fs-native-extensions'],
  // Bare keeps each file's text in memory as long as it runs, and a single character past ASCII
  // (a dash in a comment) makes V8 hold all of it at two bytes a character: without comments and
  // indentation, the bundle's text takes 0.8 MiB instead of 2.2 (names are kept; the source map has the rest).
  minifyWhitespace: true,
  logLevel: 'warning'
}
const result = await build({
  ...options,
  entryPoints: [node ? path.join(root, 'bare/main.ts') : path.resolve(values.entry)],
  outfile,
  plugins: [onFirstUse, sharedDefault],
  sourcemap: node ? 'linked' : false,
  metafile: true
})
const inputs = Object.keys(result.metafile.inputs)
const separate = SEPARATE.filter(name => inputs.includes(`separate:${name}`))
const outputs = [result]
for (const name of separate) {
  outputs.push(await build({ ...options, stdin: { contents: `module.exports = require(${JSON.stringify(name)})`, resolveDir: root, loader: 'js' }, outfile: path.join(path.dirname(outfile), 'lazy', `${name}.cjs`), metafile: true }))
}
if (node) {
  // What went in and what it imports, for the test that proves nothing Node-only is in or behind the bundle,
  // and for bare:pack, which copies these files and the packages named here (those loaded on first use too).
  const firstUse = Object.keys(ON_FIRST_USE).filter(name => inputs.includes(`on-first-use:${name}`))
  if (inputs.includes('bare/shims/avsc-crypto.ts')) firstUse.push('bare-crypto')
  writeFileSync(path.join(root, 'dist/bare/manifest.json'), JSON.stringify({
    // The stubs that name the modules loaded on first use (namespace:name) are left out; the separate files' sources are in.
    sources: [...new Set(outputs.flatMap(o => Object.keys(o.metafile.inputs)).filter(source => !/^([a-z-]+:|<stdin>$)/.test(source)))],
    imports: [...new Set([...outputs.flatMap(o => Object.values(o.metafile.outputs).flatMap(out => out.imports.filter(i => i.external).map(i => i.path))), ...firstUse])].sort(),
    files: ['se-node.cjs', ...separate.map(name => `lazy/${name}.cjs`)]
  }, null, 1))
}
