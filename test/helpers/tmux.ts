// Drives a real terminal for the dashboard tests: a detached tmux session of a
// given size, keys sent to it, and its screen read back as text.
import { execa } from 'execa'
import type { TestContext } from 'node:test'
import { sleep } from './cli.js'

export interface Terminal {
  name: string
  screen (): Promise<string>
  keys (...keys: string[]): Promise<void>
  /** Types text literally (no key names). */
  type (text: string): Promise<void>
  resize (width: number, height: number): Promise<void>
  waitFor (what: string, test: (screen: string) => boolean, timeoutMs?: number): Promise<string>
}

let seq = 0

export async function tmuxAvailable (): Promise<string | null> {
  const r = await execa('tmux', ['-V'], { reject: false })
  return r.exitCode === 0 ? null : 'tmux is not installed (apt-get install tmux); .ci/run installs it'
}

export async function terminal (t: TestContext, command: string, opts: { width?: number, height?: number, env?: Record<string, string> } = {}): Promise<Terminal> {
  const name = `se-test-${process.pid}-${++seq}`
  const env = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`])
  // tmux sets TERM in the pane to its own default-terminal whatever -e says, so a TERM asked for is set by the command itself.
  const termName = opts.env?.TERM
  const run = termName === undefined ? command : `env TERM=${termName} ${command}`
  await execa('tmux', ['new-session', '-d', '-s', name, '-x', String(opts.width ?? 120), '-y', String(opts.height ?? 40), ...env, run])
  // The window keeps the size asked for, whatever clients attach.
  await execa('tmux', ['set-option', '-t', name, 'window-size', 'manual'], { reject: false })
  t.after(() => execa('tmux', ['kill-session', '-t', name], { reject: false }))
  const term: Terminal = {
    name,
    screen: async () => (await execa('tmux', ['capture-pane', '-p', '-t', name], { reject: false })).stdout,
    keys: async (...keys) => { await execa('tmux', ['send-keys', '-t', name, ...keys]) },
    type: async text => { await execa('tmux', ['send-keys', '-t', name, '-l', text]) },
    resize: async (width, height) => { await execa('tmux', ['resize-window', '-t', name, '-x', String(width), '-y', String(height)]) },
    waitFor: async (what, test, timeoutMs = 20_000) => {
      const started = Date.now()
      let last = ''
      while (Date.now() - started < timeoutMs) {
        last = await term.screen()
        if (test(last)) return last
        await sleep(100)
      }
      throw new Error(`timed out waiting for ${what}; the screen was:\n${last}`)
    }
  }
  return term
}
