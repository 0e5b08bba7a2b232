// What a step publishes, found before anything is copied: the files under PATH
// in its working directory, each with its size and mode. PATH must stay inside
// the working directory (no absolute path, no `..`, no symlink out of it), and
// the sizes are summed as the walk goes, so a too-large artifact is refused
// before a byte of it is copied.
import { SeError } from '../errors.js'
import { isAbsolute, join, normalize } from '../paths.js'
import type { FileSystem } from '../ports.js'
import { showSize } from './size.js'

export interface SourceFile {
  /** Relative to the artifact's root, `/`-separated; '' for a one-file artifact. */
  path: string
  /** Where to read it (symlinks resolved). */
  from: string
  size: number
  mode: number
}

export interface Source {
  directory: boolean
  /** Sorted by path. */
  files: SourceFile[]
  size: number
}

export interface SourceRequest {
  name: string
  /** As the step declared it, relative to cwd. */
  path: string
  cwd: string
  /** Bytes the artifact may hold. */
  maxBytes: number
}

export async function findSource (fs: FileSystem, req: SourceRequest): Promise<Source> {
  const { name, path, cwd } = req
  const relative = normalize(path)
  if (path.trim() === '' || isAbsolute(path) || relative === '..' || relative.startsWith('../')) throw SeError.artifactEscapes(name, path, cwd)
  const target = join(cwd, relative)
  if (await fs.lstat(target) === null) throw SeError.artifactMissing(name, path, cwd)
  const root = await fs.realpath(cwd)
  const inside = async (p: string): Promise<string> => {
    const real = await fs.realpath(p).catch(() => null)
    if (real === null) throw SeError.artifactMissing(name, path, cwd)
    if (real !== root && !real.startsWith(root + '/')) throw SeError.artifactEscapes(name, path, cwd)
    return real
  }
  const real = await inside(target)
  const info = await fs.lstat(real)
  // Only sizes are read here: the whole is known, and refused if too large, before anything is copied.
  const checked = (source: Source): Source => {
    if (source.size > req.maxBytes) throw SeError.artifactTooLarge(name, path, showSize(source.size), showSize(req.maxBytes))
    return source
  }
  if (info?.kind === 'file') return checked({ directory: false, files: [{ path: '', from: real, size: info.size, mode: info.mode }], size: info.size })
  if (info?.kind !== 'directory') throw SeError.artifactUnsupported(name, path, 'is neither a file nor a directory')
  const files: SourceFile[] = []
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of (await fs.list(dir)).sort()) {
      const rel = prefix === '' ? entry : `${prefix}/${entry}`
      let from = join(dir, entry)
      let e = await fs.lstat(from)
      if (e?.kind === 'symlink') {
        from = await inside(from)
        e = await fs.lstat(from)
        // A symlinked directory may loop back on itself; its files are published from where they really are.
        if (e?.kind === 'directory') throw SeError.artifactUnsupported(name, `${path}/${rel}`, 'is a symlink to a directory; publish that directory instead')
      }
      if (e?.kind === 'directory') { await walk(from, rel); continue }
      if (e?.kind !== 'file') throw SeError.artifactUnsupported(name, `${path}/${rel}`, 'is neither a file nor a directory')
      files.push({ path: rel, from, size: e.size, mode: e.mode })
    }
  }
  await walk(real, '')
  files.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  return checked({ directory: true, files, size: files.reduce((sum, f) => sum + f.size, 0) })
}
