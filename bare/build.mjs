// Bundles the Bare node (bare/main.ts with core, adapters/bare, adapters/shared
// and the pure-JavaScript dependencies) into dist/bare/se-node.cjs: Bare runs
// JavaScript only, and one file loads faster and in less memory than ~500
// modules. Packages with native addons (bare-*, sodium-native, udx-native, fs-native-extensions) stay
// in node_modules, where Bare loads their prebuilt .bare addons.
// `--entry FILE --outfile FILE` bundles another program the same way (bench/bare-peer.ts, the
// bench's plain Hyperswarm peer, so both are measured as built alike); it writes no manifest.
import { build } from 'esbuild'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({ options: { entry: { type: 'string' }, outfile: { type: 'string' } } })
const node = values.entry === undefined
// The Node builtins dependencies name, pointed at Bare's modules at build time: the bundle needs no map at run time.
const imports = JSON.parse(readFileSync(path.join(root, 'bare/imports.json'), 'utf8'))
const result = await build({
  entryPoints: [node ? path.join(root, 'bare/main.ts') : path.resolve(values.entry)],
  outfile: node ? path.join(root, 'dist/bare/se-node.cjs') : path.resolve(values.outfile ?? 'out.cjs'),
  bundle: true,
  platform: 'neutral',
  format: 'cjs',
  target: 'es2022',
  // Holepunch packages pick their Bare implementations under the `bare` condition.
  conditions: ['bare', 'require'],
  mainFields: ['main', 'module'],
  alias: imports,
  external: ['bare-*', 'sodium-native', 'udx-native', 'require-addon', 'fs-native-extensions'],
  sourcemap: node ? 'linked' : false,
  metafile: true,
  logLevel: 'warning'
})
if (node) {
  // What went in and what it imports, for the test that proves nothing Node-only is in or behind the bundle.
  const output = Object.values(result.metafile.outputs).find(o => o.entryPoint !== undefined)
  writeFileSync(path.join(root, 'dist/bare/manifest.json'), JSON.stringify({
    sources: Object.keys(result.metafile.inputs),
    imports: [...new Set(output.imports.filter(i => i.external).map(i => i.path))].sort()
  }, null, 1))
}
