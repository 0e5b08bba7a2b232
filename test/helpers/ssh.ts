// A real sshd on loopback for tests that reach the dashboard over `ssh -t`, as a
// person would from another machine: its own host key, one user key, no PAM (so
// no /etc/default/locale) and no AcceptEnv, so the remote side has no locale at all.
import { execa, type ResultPromise } from 'execa'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { tempDir, waitFor } from './cli.js'

const SSHD = '/usr/sbin/sshd'

export interface LocalSshd {
  port: number
  /** The `ssh -t` command line that runs `remote` on the local sshd, with no local config and no environment sent. */
  command (remote: string): string
}

export async function sshdAvailable (): Promise<string | null> {
  if (!existsSync(SSHD)) return 'sshd is not installed (apt-get install openssh-server); .ci/run installs it'
  if ((await execa('ssh', ['-V'], { reject: false })).exitCode !== 0) return 'the ssh client is not installed (apt-get install openssh-client)'
  return null
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

export async function localSshd (t: TestContext): Promise<LocalSshd> {
  const dir = await tempDir(t, 'se-sshd-')
  const key = (name: string): Promise<unknown> => execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, name)])
  await Promise.all([key('host_key'), key('user_key')])
  await writeFile(path.join(dir, 'authorized_keys'), await readFile(path.join(dir, 'user_key.pub')), { mode: 0o600 })
  const port = await freePort()
  const user = os.userInfo().username
  await writeFile(path.join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${path.join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`, `PidFile ${path.join(dir, 'sshd.pid')}`,
    'UsePAM no', 'StrictModes no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes',
    `AllowUsers ${user}`, 'PermitRootLogin prohibit-password', 'PrintMotd no', 'PrintLastLog no', ''
  ].join('\n'))
  // sshd run by root checks for its privilege separation directory, which the package's service would make.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 })
  const proc: ResultPromise = execa(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { reject: false, stdin: 'ignore' })
  t.after(async () => { proc.kill('SIGTERM'); await proc })
  await waitFor('sshd to listen', async () => await new Promise<boolean>(resolve => {
    const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  }), 10_000)
  const opts = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'IdentitiesOnly=yes']
  return {
    port,
    command: remote => `ssh -t -p ${port} -i ${path.join(dir, 'user_key')} ${opts.join(' ')} ${user}@127.0.0.1 ${JSON.stringify(remote)}`
  }
}
