// Resident memory and CPU time of a Linux process, from its /proc/PID/stat and
// /proc/PID/status texts (read by whichever runtime the node runs on).

// USER_HZ is 100 on every Linux ABI Node and Bare run on.
const CLOCK_TICKS_PER_SEC = 100

export function parseProcUsage (stat: string, status: string): { rssBytes: number, cpuMs: number } {
  // Fields after the parenthesised command name, which may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return { rssBytes: rssKb * 1024, cpuMs: ticks * (1000 / CLOCK_TICKS_PER_SEC) }
}
