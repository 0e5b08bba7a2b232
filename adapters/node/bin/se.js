#!/usr/bin/env node
// The `se` command. Runs the bundle in dist/ (made by `npm install` / `npm run build`)
// when it is newer than every source file; otherwise the TypeScript through tsx,
// so an edited checkout never runs stale code. An installed copy (no .git) is not
// edited in place: it skips the look at every source file, which every call would pay.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
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

/** The newest of the sources the bundle was made from (dist/sources.json); a source gone since is newer than any bundle. */
function newestOfBuilt () {
  const sources = JSON.parse(readFileSync(path.join(root, 'dist', 'sources.json'), 'utf8'))
  let newest = 0
  for (const file of sources) newest = Math.max(newest, statSync(path.join(root, file), { throwIfNoEntry: false })?.mtimeMs ?? Infinity)
  return newest
}

function bundleIsFresh () {
  try {
    statSync(bundle)
    if (!existsSync(path.join(root, '.git'))) return true
    // When the build ended: sources.json is written last, every build (files it found unchanged keep their old times).
    const built = statSync(existsSync(path.join(root, 'dist', 'sources.json')) ? path.join(root, 'dist', 'sources.json') : bundle).mtimeMs
    // A new file matters only once an existing one imports it, which makes that one newer.
    const newest = existsSync(path.join(root, 'dist', 'sources.json')) ? newestOfBuilt() : Math.max(...['core', 'adapters', 'tui'].map(dir => newestSource(path.join(root, dir))))
    return built >= newest
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
