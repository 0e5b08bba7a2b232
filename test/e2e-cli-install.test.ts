// The one documented way to have `se` on PATH (README, Quick start): `npm install -g`
// of the clone. Checked on a clean HOME and an empty global prefix, offline, so it
// holds on a machine that has never seen SE Mesh.
import assert from 'node:assert/strict'
import { execa } from 'execa'
import path from 'node:path'
import { test } from 'node:test'
import { REPO, tempDir } from './helpers/cli.js'

test('npm install -g of the clone puts a working se on PATH, on a clean HOME', async t => {
  const home = await tempDir(t, 'se-home-')
  const prefix = await tempDir(t, 'se-prefix-')
  const env = { HOME: home, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH ?? ''}`, npm_config_prefix: prefix, npm_config_update_notifier: 'false', npm_config_cache: path.join(home, '.npm') }
  const installed = await execa('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', REPO], { env, extendEnv: false, reject: false, timeout: 240_000 })
  assert.equal(installed.exitCode, 0, installed.stderr)
  const se = async (...args: string[]): Promise<{ exitCode?: number, stdout: string, stderr: string }> => await execa('se', args, { env, extendEnv: false, reject: false, cwd: home })
  const version = await se('--version')
  assert.equal(version.exitCode, 0, version.stderr)
  assert.match(version.stdout, /^\d+\.\d+\.\d+$/)
  // The data dir defaults under that HOME, where no node has run.
  const status = await se('node', 'status')
  assert.equal(status.exitCode, 4)
  assert.match(status.stdout, new RegExp(`no node is running on ${path.join(home, '.local', 'share', 'se-mesh')}`))
  assert.match((await se('completion', 'bash')).stdout, /complete -o default -F _se se/)
})
