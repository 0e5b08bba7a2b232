// The SE node as a container image: built offline by `se image build`, then run
// both ways people run it (an interactive shell, fire-and-forget workflows), as the
// owner of the mounted workspace (or --user), stopped gracefully, with its data dir
// on a volume. Podman here is rootful: the tests run as root.
import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execa } from 'execa'
import { chmod, chown, readFile, stat, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { gitRepo, json, se, tempDir, waitFor } from './helpers/cli.js'
import { podmanReady } from './helpers/podman.js'
import { terminal, tmuxAvailable } from './helpers/tmux.js'

const skip = await podmanReady()
if (skip !== null) console.log(`# skipping image tests: ${skip}`)
const opts = { skip: skip ?? false }
const IMAGE = 'localhost/se-node:latest'
let built: { image: string, tags: string[], sizeBytes: number, seconds: number }

const podman = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => {
  const r = await execa('podman', args, { reject: false })
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr }
}

function container (t: any, name: string): string {
  // -v: its anonymous /data volume goes with it.
  t.after(() => podman('rm', '-f', '-v', '-t', '0', name))
  return name
}

/** A repository owned by uid 1000, as `--userns=keep-id:uid=1000` shows rootless users theirs: the node runs as its owner. */
async function writableRepo (t: any): Promise<string> {
  const repo = await gitRepo(t)
  await execa('chown', ['-R', '1000:1000', repo])
  // Same content, new mtime: the index's stat cache is stale, as after any
  // copy or chmod. The release must still see a clean tree.
  await utimes(path.join(repo, 'package.json'), new Date(), new Date(Date.now() + 5_000))
  return repo
}

before(async () => {
  if (skip !== null) return
  const dataDir = '/tmp/se-image-build-client'
  const r = await se(['image', 'build', '--json'], { dataDir })
  assert.equal(r.code, 0, r.stderr)
  built = json(r)
}, { timeout: 240_000 })

test('se image build makes localhost/se-node from scratch, root only until it becomes the workspace owner, and reports its size', opts, async () => {
  assert.deepEqual(built.tags.slice(0, 2).map(t => t.replace(/:.*/, '')), ['localhost/se-node', 'localhost/se-node'])
  assert.match(built.tags[0] as string, /:\d+\.\d+\.\d+$/)
  const info = JSON.parse((await podman('image', 'inspect', IMAGE)).stdout)[0]
  assert.equal(info.Size, built.sizeBytes)
  assert.ok(built.sizeBytes > 50e6 && built.sizeBytes < 400e6, `size ${built.sizeBytes}`)
  // Root only to become the owner of /workspace (see the tests below).
  assert.equal(info.Config.User, '0:0')
  assert.ok((info.Config.Env as string[]).includes('SE_RUN_AS_OWNER_OF=/workspace'), info.Config.Env.join(' '))
  assert.deepEqual(info.Config.Entrypoint, ['/usr/bin/node', '/opt/se/se.mjs'])
  assert.ok(info.Config.Volumes['/data'] !== undefined)
  // From scratch: every layer is one of ours, none pulled from a registry.
  const history = JSON.parse((await podman('image', 'history', '--format', 'json', IMAGE)).stdout) as Array<{ created_by: string }>
  assert.ok(history.every(h => !/FROM (?!scratch)/.test(h.created_by)), JSON.stringify(history))
})

test('interactive mode: `podman run -it … shell` gives the se> prompt', { ...opts, skip: skip ?? await tmuxAvailable() ?? false }, async t => {
  const name = container(t, `se-shell-${process.pid}`)
  // A tmux server started elsewhere gives the pane its own environment, not this process's.
  const term = await terminal(t, `podman run -it --rm --name ${name} ${IMAGE} shell`, { env: { CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? '' } })
  await term.waitFor('the se> prompt', s => /^se>/m.test(s), 30_000)
  await term.type('catalogue')
  await term.keys('Enter')
  await term.waitFor('the catalogue', s => s.includes('VERSION_TRANSITION'), 20_000)
  await term.type('exit')
  await term.keys('Enter')
  await waitFor('the container to end', async () => (await podman('container', 'exists', name)).code !== 0, 20_000)
})

test('fire-and-forget: two containers run VERSION_TRANSITION side by side and exit 0 once approved', opts, async t => {
  const repos = [await writableRepo(t), await writableRepo(t)]
  const names = repos.map((_, i) => container(t, `se-fire-${process.pid}-${i}`))
  for (const [i, repo] of repos.entries()) {
    const r = await podman('run', '-d', '--name', names[i] as string, '-v', `${repo}:/workspace`, IMAGE, 'execute', 'VERSION_TRANSITION', '--input', 'repo=/workspace')
    assert.equal(r.code, 0, r.stderr)
  }
  for (const name of names) {
    const waiting = await waitFor(`${name} to wait for approval`, async () => {
      const list = JSON.parse((await podman('exec', name, 'se', 'status', '--json')).stdout) as Array<{ id: string, state: string }>
      return list.find(w => w.state === 'waiting_intervention')
    }, 60_000)
    const uid = await podman('exec', name, 'sh', '-c', 'grep ^Uid /proc/1/status')
    assert.match(uid.stdout, /Uid:\s+1000\s/, 'the node runs as uid 1000')
    const approved = await podman('exec', name, 'se', 'approve', waiting.id)
    assert.equal(approved.code, 0, `${approved.stderr}\n${(await podman('exec', name, 'se', 'status', waiting.id)).stdout}`)
  }
  for (const [i, name] of names.entries()) {
    const code = await podman('wait', name)
    assert.equal(code.stdout.trim(), '0', (await podman('logs', name)).stderr)
    // The repository is uid 1000's; git as root here must be told to read it.
    const tags = await execa('git', ['-c', 'safe.directory=*', 'tag'], { cwd: repos[i] })
    assert.equal(tags.stdout.trim(), 'v1.2.4')
  }
})

test('a node container stops gracefully on SIGTERM and keeps its data on a volume', opts, async t => {
  const volume = `se-data-${process.pid}`
  t.after(() => podman('volume', 'rm', '-f', volume))
  const name = container(t, `se-node-${process.pid}`)
  assert.equal((await podman('run', '-d', '--name', name, '-v', `${volume}:/data`, IMAGE, 'node', 'start', '--name', 'boxed')).code, 0)
  const caps = await waitFor('the node', async () => {
    const r = await podman('exec', name, 'se', 'capabilities', '--json')
    return r.code === 0 ? JSON.parse(r.stdout) : undefined
  }, 30_000)
  const wf = await podman('exec', name, 'se', 'execute', '/opt/se/examples/workflows/audit-analysis.yaml', '--json')
  assert.equal(wf.code, 0, wf.stderr)
  const id = JSON.parse(wf.stdout).id as string
  const began = Date.now()
  assert.equal((await podman('stop', name)).code, 0)
  const took = Date.now() - began
  assert.ok(took < 8000, `stopped in ${took} ms, within podman's 10 s`)
  assert.match((await podman('logs', name)).stderr, /SIGTERM: stopping[\s\S]*node stopped/)
  assert.equal((await podman('inspect', '--format', '{{.State.ExitCode}}', name)).stdout.trim(), '0')
  assert.equal((await podman('start', name)).code, 0)
  const again = await waitFor('the node again', async () => {
    const r = await podman('exec', name, 'se', 'capabilities', '--json')
    return r.code === 0 ? JSON.parse(r.stdout) : undefined
  }, 30_000)
  assert.equal(again.nodeId, caps.nodeId, 'same identity after stop and start')
  const status = await podman('exec', name, 'se', 'status', id, '--json')
  assert.equal(status.code, 0, status.stderr)
  assert.equal(JSON.parse(status.stdout).id, id, 'the workflow is still known')
})

/** Writes into /workspace as a release does: the bump script's package.json.tmp, then a file and a directory. */
const WRITE_WORKFLOW = `name: WRITE_WORKSPACE
description: write into the mounted workspace
steps:
  - id: bump
    run: { command: node, args: [/opt/se/examples/workflows/scripts/bump-version.mjs, patch], cwd: /workspace, timeoutSec: 60 }
  - id: write
    run: { command: sh, args: [-c, "id -u > who && mkdir -p out && echo done > out/file"], cwd: /workspace, timeoutSec: 60 }
`

/** A workspace only its owner may write (0755), holding a package.json and the workflow above. */
async function workspaceOwnedBy (t: any, uid: number): Promise<string> {
  const dir = await tempDir(t, 'se-workspace-')
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'demo', version: '1.2.3' }, null, 2) + '\n')
  await writeFile(path.join(dir, 'write.yaml'), WRITE_WORKFLOW)
  for (const f of ['.', 'package.json', 'write.yaml']) await chown(path.join(dir, f), uid, uid)
  await chmod(dir, 0o755)
  return dir
}

/** Runs the workflow above in a throwaway container; `extra` goes before the image (e.g. --user). */
async function writeIn (t: any, dir: string, name: string, extra: string[] = []): Promise<{ code: number, stdout: string, stderr: string }> {
  return await podman('run', '--rm', '--name', container(t, `${name}-${process.pid}`), ...extra, '-v', `${dir}:/workspace`, IMAGE, 'execute', '/workspace/write.yaml')
}

async function assertWrittenBy (dir: string, uid: number, r: { code: number, stderr: string }): Promise<void> {
  assert.equal(r.code, 0, r.stderr)
  assert.equal((await readFile(path.join(dir, 'who'), 'utf8')).trim(), String(uid), 'the steps ran as the owner')
  assert.equal(JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')).version, '1.2.4')
  for (const f of ['package.json', 'who', 'out', 'out/file']) assert.equal((await stat(path.join(dir, f))).uid, uid, `${f} belongs to ${uid}`)
}

test('rootful: se becomes the owner of the mounted workspace, and what it writes there is theirs', opts, async t => {
  const dir = await workspaceOwnedBy(t, 1234)
  await assertWrittenBy(dir, 1234, await writeIn(t, dir, 'se-owner'))
})

test('rootful: a workspace owned by root is written by root, whose files they are', opts, async t => {
  const dir = await workspaceOwnedBy(t, 0)
  await assertWrittenBy(dir, 0, await writeIn(t, dir, 'se-root'))
})

test('rootful: --user runs se as that user, its data dir on a new volume writable too', opts, async t => {
  const dir = await workspaceOwnedBy(t, 1234)
  await assertWrittenBy(dir, 1234, await writeIn(t, dir, 'se-user', ['--user', '1234:1234']))
})

test('a step that cannot write the workspace says why, not the Node.js banner', opts, async t => {
  const dir = await workspaceOwnedBy(t, 1234)
  const r = await writeIn(t, dir, 'se-denied', ['--user', '1000:1000'])
  assert.notEqual(r.code, 0)
  assert.match(r.stderr, /exit code 1: Error: EACCES: permission denied, open 'package\.json\.tmp'/)
  assert.doesNotMatch(r.stderr, /exit code 1: Node\.js v/)
})
