// Bundles the CLI's TypeScript into dist/se.mjs so `se` starts without compiling
// on every run. Dependencies stay in node_modules; only our own code is bundled.
import { build } from 'esbuild'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
await build({
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
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning'
})
