#!/usr/bin/env node
// The `se` command. Runs the bundle in dist/ (made by `npm install` / `npm run build`)
// when it is newer than every source file; otherwise the TypeScript through tsx,
// so an edited checkout never runs stale code. An installed copy (no .git) is not
// edited in place: it skips the look at every source file, which every call would pay.
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const bundle = path.join(root, 'dist', 'se.mjs')

function newestSource (dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs)
  }
  return newest
}

function bundleIsFresh () {
  try {
    const built = statSync(bundle).mtimeMs
    if (!existsSync(path.join(root, '.git'))) return true
    return built >= Math.max(...['core', 'adapters', 'tui'].map(dir => newestSource(path.join(root, dir))))
  } catch {
    return false
  }
}

let main
if (bundleIsFresh()) {
  ({ main } = await import(pathToFileURL(bundle).href))
} else {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import('../cli/main.ts'))
}
process.exitCode = await main(process.argv.slice(2))
