// `se key new|show` through the real CLI on a clean HOME: a key pair in the user's
// config dir, 0600, never replaced by accident, read back and checked; a damaged
// or missing file says what to do.
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { json, se, tempDir } from './helpers/cli.js'

test('se key new makes a 0600 key in the config dir; show reads it back; it is never replaced by accident', async t => {
  const home = await tempDir(t)
  const dataDir = await tempDir(t)
  const env = { HOME: home, XDG_CONFIG_HOME: '', USER: 'ann' }
  const made = await se(['key', 'new', '--json'], { dataDir, env })
  assert.equal(made.code, 0, made.stderr)
  const k = json(made)
  assert.equal(k.file, path.join(home, '.config', 'se-mesh', 'person-key.json'))
  assert.equal(k.name, 'ann')
  assert.match(k.person, /^person:[0-9a-f]{64}$/)
  assert.equal((await stat(k.file)).mode & 0o777, 0o600)
  assert.equal((await stat(path.dirname(k.file))).mode & 0o777, 0o700)

  const shown = await se(['key', 'show'], { dataDir, env })
  assert.equal(shown.stdout.trim(), `${k.person as string}  (ann; ${k.file as string})`)
  assert.equal((await se(['key', 'show', '-q'], { dataDir, env })).stdout.trim(), k.person, '-q: what a policy names you by, alone')

  const again = await se(['key', 'new'], { dataDir, env })
  assert.equal(again.code, 2)
  assert.match(again.stderr, /a person key already exists in .*person-key\.json/)
  assert.match(again.stderr, /--force replaces it/)
  const replaced = json(await se(['key', 'new', '--force', '--name', 'Ann B', '--json'], { dataDir, env }))
  assert.notEqual(replaced.publicKey, k.publicKey)
  assert.equal(replaced.name, 'Ann B')

  // A secret key that is not the public key's own is refused before anything is signed with it.
  const file = JSON.parse(await readFile(k.file, 'utf8'))
  await writeFile(k.file, JSON.stringify({ ...file, publicKey: k.publicKey }))
  const mismatched = await se(['key', 'show'], { dataDir, env })
  assert.equal(mismatched.code, 2)
  assert.match(mismatched.stderr, /cannot be used: its secretKey does not belong to its publicKey/)
  await writeFile(k.file, '{ not json')
  assert.match((await se(['key', 'show'], { dataDir, env })).stderr, /cannot be used: it is not JSON/)

  const elsewhere = await se(['key', 'show'], { dataDir, env: { ...env, SE_PERSON_KEY: path.join(home, 'none.json') } })
  assert.equal(elsewhere.code, 2)
  assert.match(elsewhere.stderr, /no person key in .*none\.json/)
  assert.match(elsewhere.stderr, /se key new/)
})
