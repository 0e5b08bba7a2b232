// The SE node as a container image: built offline by `se image build`, then run
// both ways people run it (an interactive shell, fire-and-forget workflows), as a
// non-root user, stopped gracefully, with its data dir on a volume.
import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execa } from 'execa'
import { chmod, utimes } from 'node:fs/promises'
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
  t.after(() => podman('rm', '-f', '-t', '0', name))
  return name
}

/** A repository the container's uid 1000 may write, as `--userns=keep-id` gives rootless users. */
async function writableRepo (t: any): Promise<string> {
  const repo = await gitRepo(t)
  await execa('chmod', ['-R', 'a+rwX', repo])
  await chmod(repo, 0o777)
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

test('se image build makes localhost/se-node from scratch, non-root, and reports its size', opts, async () => {
  assert.deepEqual(built.tags.slice(0, 2).map(t => t.replace(/:.*/, '')), ['localhost/se-node', 'localhost/se-node'])
  assert.match(built.tags[0] as string, /:\d+\.\d+\.\d+$/)
  const info = JSON.parse((await podman('image', 'inspect', IMAGE)).stdout)[0]
  assert.equal(info.Size, built.sizeBytes)
  assert.ok(built.sizeBytes > 50e6 && built.sizeBytes < 400e6, `size ${built.sizeBytes}`)
  assert.equal(info.Config.User, '1000:1000')
  assert.deepEqual(info.Config.Entrypoint, ['/usr/bin/node', '/opt/se/se.mjs'])
  assert.ok(info.Config.Volumes['/data'] !== undefined)
  // From scratch: every layer is one of ours, none pulled from a registry.
  const history = JSON.parse((await podman('image', 'history', '--format', 'json', IMAGE)).stdout) as Array<{ created_by: string }>
  assert.ok(history.every(h => !/FROM (?!scratch)/.test(h.created_by)), JSON.stringify(history))
})

test('interactive mode: `podman run -it … shell` gives the se> prompt', { ...opts, skip: skip ?? await tmuxAvailable() ?? false }, async t => {
  const name = container(t, `se-shell-${process.pid}`)
  const term = await terminal(t, `podman run -it --rm --name ${name} ${IMAGE} shell`)
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
    const tags = await execa('git', ['tag'], { cwd: repos[i] })
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
