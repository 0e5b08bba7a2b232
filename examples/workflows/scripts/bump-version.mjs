#!/usr/bin/env node
// Bumps "version" in ./package.json by a semver level and prints the new version.
// Usage: bump-version.mjs major|minor|patch|prerelease
import { readFileSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs'

const level = process.argv[2] ?? 'patch'
const file = 'package.json'
let pkg
try {
  pkg = JSON.parse(readFileSync(file, 'utf8'))
} catch (err) {
  console.error(`cannot read ${process.cwd()}/${file}: ${err.message}`)
  process.exit(1)
}
const match = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(String(pkg.version ?? ''))
if (match === null) {
  console.error(`package.json version '${pkg.version}' is not a semantic version (x.y.z)`)
  process.exit(1)
}
let [major, minor, patch] = match.slice(1, 4).map(Number)
const pre = match[4]
switch (level) {
  case 'major': major++; minor = 0; patch = 0; break
  case 'minor': minor++; patch = 0; break
  case 'patch': if (pre === undefined) patch++; break
  case 'prerelease': break
  default:
    console.error(`unknown level '${level}': expected major, minor, patch or prerelease`)
    process.exit(1)
}
let version = `${major}.${minor}.${patch}`
if (level === 'prerelease') {
  const n = pre !== undefined && /^\d+$/.test(pre.split('.').pop()) ? Number(pre.split('.').pop()) + 1 : 0
  version = pre === undefined ? `${major}.${minor}.${patch + 1}-${n}` : `${version}-${pre.replace(/\d+$/, '')}${n}`
}
pkg.version = version
const tmp = `${file}.tmp`
writeFileSync(tmp, JSON.stringify(pkg, null, 2) + '\n')
const fd = openSync(tmp, 'r+'); fsyncSync(fd); closeSync(fd)
renameSync(tmp, file)
console.log(version)
