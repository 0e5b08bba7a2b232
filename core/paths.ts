// POSIX path arithmetic for core, which may not import a runtime's path module.
// SE nodes run on Linux and macOS; data dirs and workspaces are POSIX paths.

export function isAbsolute (p: string): boolean {
  return p.startsWith('/')
}

export function normalize (p: string): string {
  const absolute = isAbsolute(p)
  const out: string[] = []
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!absolute) out.push('..')
      continue
    }
    out.push(segment)
  }
  const joined = out.join('/')
  return absolute ? `/${joined}` : (joined === '' ? '.' : joined)
}

export function join (...parts: string[]): string {
  return normalize(parts.filter(p => p !== '').join('/'))
}

export function resolve (base: string, p: string): string {
  return isAbsolute(p) ? normalize(p) : join(base, p)
}

export function dirname (p: string): string {
  const n = normalize(p)
  const i = n.lastIndexOf('/')
  if (i === -1) return '.'
  return i === 0 ? '/' : n.slice(0, i)
}

export function basename (p: string): string {
  const n = normalize(p)
  return n.slice(n.lastIndexOf('/') + 1)
}
