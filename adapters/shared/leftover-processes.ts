// Finds, through /proc, the processes an earlier run of a node started that
// outlived it (the node was killed, so it could not end them). Every process a
// node starts carries SE_NODE_ID in its environment, and its children inherit it;
// steps run in groups of their own, so nothing else would ever end them.
export interface ProcTable {
  list (): string[]
  /** The file's text, or null when it is gone or not ours to read. */
  read (path: string): string | null
  kill (pid: number): void
  readonly self: number
}

/** The state letter and parent of a /proc/PID/stat line. */
export function parseStat (stat: string): { state: string, ppid: number } {
  // The command name may hold spaces and parentheses; the fields after its last ')' do not.
  const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { state, ppid: Number(ppid) }
}

function parentOf (proc: ProcTable, pid: number): number | null {
  const stat = proc.read(`/proc/${pid}/stat`)
  if (stat === null) return null
  const { ppid } = parseStat(stat)
  return Number.isInteger(ppid) && ppid > 0 ? ppid : null
}

/** Kills them and says how many there were. Never this process or one it descends from. */
export function endLeftoverProcesses (proc: ProcTable, nodeId: string): number {
  const spared = new Set<number>()
  for (let pid: number | null = proc.self; pid !== null && !spared.has(pid); pid = parentOf(proc, pid)) spared.add(pid)
  const mark = `\0SE_NODE_ID=${nodeId}\0`
  let ended = 0
  for (const name of proc.list()) {
    if (!/^\d+$/.test(name)) continue
    const pid = Number(name)
    if (spared.has(pid)) continue
    const environ = proc.read(`/proc/${pid}/environ`)
    if (environ === null || !('\0' + environ).includes(mark)) continue
    try { proc.kill(pid); ended++ } catch {}
  }
  return ended
}
