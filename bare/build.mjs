// Bundles the Bare node's TypeScript (bare/main.ts, core, adapters/bare and
// adapters/shared) into dist/bare/se-node.cjs: Bare runs JavaScript only.
// Dependencies stay in node_modules and are resolved by Bare at run time.
import { build } from 'esbuild'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const result = await build({
  entryPoints: [path.join(root, 'bare/main.ts')],
  outfile: path.join(root, 'dist/bare/se-node.cjs'),
  bundle: true,
  platform: 'neutral',
  format: 'cjs',
  target: 'es2022',
  packages: 'external',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning'
})
// What went in and what it imports, for the test that proves nothing Node-only is in or behind the bundle.
const output = Object.values(result.metafile.outputs).find(o => o.entryPoint !== undefined)
writeFileSync(path.join(root, 'dist/bare/manifest.json'), JSON.stringify({
  sources: Object.keys(result.metafile.inputs),
  imports: [...new Set(output.imports.filter(i => i.external).map(i => i.path))].sort()
}, null, 1))
