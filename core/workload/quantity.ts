// Sizes and CPU amounts in the two notations users write: Kubernetes quantities
// in manifests (64Mi, 1G, 500m CPUs) and podman's sizes on the command line and
// in workflow steps (512m, 2g: binary units, m for MiB).

const K8S_MEMORY = /^(\d+(?:\.\d+)?)(?:e(\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E))?$/
const K8S_FACTORS: Record<string, number> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18
}

/** Bytes of a Kubernetes memory quantity (128974848, 129e6, 129M, 123Mi), or null when it is not one. */
export function parseK8sMemory (value: unknown): number | null {
  const text = typeof value === 'number' ? String(value) : value
  if (typeof text !== 'string') return null
  const m = K8S_MEMORY.exec(text.trim())
  if (m === null) return null
  const base = Number(m[1])
  const bytes = m[2] !== undefined ? base * 10 ** Number(m[2]) : base * (m[3] === undefined ? 1 : K8S_FACTORS[m[3]] as number)
  return Number.isFinite(bytes) && bytes > 0 ? Math.round(bytes) : null
}

/** CPUs of a Kubernetes CPU quantity (2, 0.5, 500m), or null when it is not one. */
export function parseK8sCpu (value: unknown): number | null {
  const text = typeof value === 'number' ? String(value) : value
  if (typeof text !== 'string') return null
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(text.trim())
  if (m === null) return null
  const cpus = Number(m[1]) / (m[2] === 'm' ? 1000 : 1)
  return cpus > 0 ? cpus : null
}

const PODMAN_SIZE = /^(\d+(?:\.\d+)?)([bkmg])?$/i
const PODMAN_FACTORS: Record<string, number> = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }

/** Bytes of a podman size (512m, 2g, 1G, 1048576), or null when it is not one. */
export function parsePodmanSize (value: string): number | null {
  const m = PODMAN_SIZE.exec(value.trim())
  if (m === null) return null
  const bytes = Number(m[1]) * (PODMAN_FACTORS[(m[2] ?? 'b').toLowerCase()] as number)
  return bytes > 0 ? Math.round(bytes) : null
}

export function formatBytes (bytes: number | null): string {
  if (bytes === null) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let n = bytes
  let i = 0
  // Compare the rounded figure, so 1048575 B shows as 1 MiB rather than 1024 KiB.
  while (i < units.length - 1 && Number(n.toFixed(n >= 100 ? 0 : 1)) >= 1024) { n /= 1024; i++ }
  const shown = n >= 100 || i === 0 ? String(Math.round(n)) : n.toFixed(1).replace(/\.0$/, '')
  return `${shown} ${units[i] as string}`
}
