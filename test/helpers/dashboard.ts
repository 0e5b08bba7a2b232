// Fixtures of the dashboard's end-to-end tests: a node with a workflow waiting
// for a person (so marks, the prompt and audit lines are on screen) and the
// command line that opens the dashboard on it.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { SE_BIN, json, se, startNode, tempDir, waitFor } from './cli.js'

/** How long a dashboard may take to come up: on a loaded machine, running from source (tsx), it can take many seconds. */
export const START_MS = 60_000

export const SHIP = [
  'name: SHIP',
  'steps:',
  '  - { id: build, run: { command: sh, args: [-c, "echo build-7"] } }',
  '  - { id: confirm, intervention: { prompt: "Ship ${steps.build.stdout} now", choices: [approve, reject] } }',
  '  - { id: done, run: { command: "true" } }',
  ''
].join('\n')

/** A node with a workflow waiting for a person, so marks, prompts and audit lines are on screen. */
export async function nodeWithWork (t: TestContext): Promise<{ dataDir: string, dir: string, id: string }> {
  const dataDir = await tempDir(t, 'se-dash-')
  await startNode(t, dataDir)
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'ship.yaml'), SHIP)
  const id = json(await se(['execute', 'ship.yaml', '--json'], { dataDir, cwd: dir })).id as string
  await waitFor('the workflow to wait', async () => json(await se(['status', id, '--json'], { dataDir })).state === 'waiting_intervention')
  return { dataDir, dir, id }
}

export function dashboard (dataDir: string, extra = ''): string {
  return `${process.execPath} ${SE_BIN} --data-dir ${dataDir} dashboard --refresh-ms 300 ${extra}`
}

/** The status bar: the last line with anything on it. */
export function lastLine (screen: string): string { return screen.split('\n').filter(l => l.trim() !== '').pop() ?? '' }
