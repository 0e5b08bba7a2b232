// The few test files that keep both cores busy for most of a minute (a hundred
// real nodes in one process, the 1,000-node simulation, the chaos rounds) take
// turns. `npm test` runs two test files at once; two of these together starve
// each other's timers, and the hundred-node test's probes and idle links then
// measure the other test, not the mesh. Every other file still runs beside them.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const LOCK = path.join(os.tmpdir(), 'se-mesh-heavy-test.lock')
const POLL_MS = 250
/** A lock this young with no pid in it yet is being taken, not left behind. */
const TAKING_MS = 5_000
/** No heavy file holds its turn this long; a lock older is left behind by a holder whose pid came round to another process. */
const STALE_MS = 15 * 60_000

/**
 * Waits (at the file's top level, before its tests and their timeouts start) until no other
 * heavy file runs, then holds the turn until this process exits.
 */
export async function heavyFileTurn (): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK)
      writeFileSync(path.join(LOCK, 'pid'), String(process.pid))
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      // A holder killed before its exit handler ran (a cancelled run) leaves the lock behind: its pid tells.
      if (!holderAlive()) rmSync(LOCK, { recursive: true, force: true })
      else await new Promise(resolve => setTimeout(resolve, POLL_MS))
    }
  }
  process.once('exit', () => { rmSync(LOCK, { recursive: true, force: true }) })
}

function holderAlive (): boolean {
  try { if (Date.now() - statSync(LOCK).mtimeMs > STALE_MS) return false } catch { return false }
  let text = ''
  try { text = readFileSync(path.join(LOCK, 'pid'), 'utf8') } catch {}
  if (text === '') {
    try { return Date.now() - statSync(LOCK).mtimeMs < TAKING_MS } catch { return false }
  }
  const pid = Number(text)
  if (!Number.isInteger(pid) || pid <= 0) return false
  try { process.kill(pid, 0); return true } catch { return false }
}
