// `npm run bare:pack -- DIR [--target linux-arm64,…]`: what an edge device needs, and nothing else — the
// launcher, the bundle (and the files it loads on first use), and the packages the bundle leaves
// external (those with native addons) with their dependencies. Copy DIR to the
// device next to a `bare` binary and run `bare DIR/bare/se-node.cjs …` there.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values, positionals } = parseArgs({ allowPositionals: true, options: { target: { type: 'string' } } })
const out = positionals[0]
if (out === undefined || positionals.length > 1) {
  process.stderr.write('usage: npm run bare:pack -- DIR [--target linux-x64,linux-arm64]\n')
  process.exit(2)
}
// Prebuilt addons for every platform make up most of the size; a device needs its own only.
const targets = values.target === undefined ? null : values.target.split(',').map(s => s.trim()).filter(s => s !== '')
const target = path.resolve(out)
if (existsSync(target) && !statSync(target).isDirectory()) {
  process.stderr.write(`error: ${target} exists and is not a directory\n`)
  process.exit(2)
}
const manifest = JSON.parse(readFileSync(path.join(root, 'dist/bare/manifest.json'), 'utf8'))

// The externals and everything they depend on, found the way Bare will: in node_modules.
const packages = new Set()
const visit = name => {
  if (packages.has(name)) return
  const dir = path.join(root, 'node_modules', name)
  if (!existsSync(dir)) throw new Error(`${name} is needed on Bare but not installed (run npm install)`)
  packages.add(name)
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
    if (existsSync(path.join(dir, 'node_modules', dep))) continue // nested: copied with its parent
    if (existsSync(path.join(root, 'node_modules', dep))) visit(dep)
  }
}
for (const spec of manifest.imports) visit(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0])

rmSync(target, { recursive: true, force: true })
mkdirSync(path.join(target, 'bare'), { recursive: true })
mkdirSync(path.join(target, 'dist/bare'), { recursive: true })
cpSync(path.join(root, 'bare/se-node.cjs'), path.join(target, 'bare/se-node.cjs'))
// The bundle and the files it loads on first use (dist/bare/lazy: the parsers of workflow files and manifests).
for (const file of manifest.files) cpSync(path.join(root, 'dist/bare', file), path.join(target, 'dist/bare', file))
const keep = source => {
  const at = source.split(path.sep).lastIndexOf('prebuilds')
  return targets === null || at === -1 || at === source.split(path.sep).length - 1 || targets.includes(source.split(path.sep)[at + 1])
}
for (const name of packages) {
  cpSync(path.join(root, 'node_modules', name), path.join(target, 'node_modules', name), { recursive: true, dereference: true, filter: keep })
}
// The runtime itself, for each target whose bare-runtime package is installed here.
const runtimes = []
for (const t of targets ?? []) {
  const binary = path.join(root, 'node_modules', `bare-runtime-${t}`, 'bin', 'bare')
  if (!existsSync(binary)) continue
  mkdirSync(path.join(target, 'runtime', t), { recursive: true })
  cpSync(binary, path.join(target, 'runtime', t, 'bare'))
  runtimes.push(`runtime/${t}/bare`)
}
if (runtimes.length > 0) process.stdout.write(`start it with: ${path.join(target, runtimes[0] ?? '')} ${path.join(target, 'bare/se-node.cjs')} --mesh NAME --bootstrap HOST:PORT\n`)
process.stdout.write(`${target}: the Bare node and ${packages.size} packages (${[...packages].sort().join(', ')})\n`)
