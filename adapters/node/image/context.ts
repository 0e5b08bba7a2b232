// The build context of the SE node image, assembled from this machine alone so
// the image builds with no registry: the host's node and git with the shared
// libraries they load, a static busybox for /bin/sh, and SE bundled into one
// directory with only its native-addon packages beside it.
import { execa } from 'execa'
import { build } from 'esbuild'
import { chmod, copyFile, cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { SeError } from '../../../core/errors.js'
import { PACKAGE_ROOT } from '../config.js'
import { RUN_AS_OWNER_ENV } from './run-as-owner.js'

/** Packages with native addons (or files read at run time) stay out of the bundle and are copied whole. */
const EXTERNAL = ['sodium-native', 'udx-native', 'require-addon', 'fs-native-extensions', 'blessed', 'blessed-contrib']
export const IMAGE_UID = 1000
const BUSYBOX = '/bin/busybox'

export interface ContextReport { dir: string, binaries: string[], packages: string[] }

export async function assembleContext (dir: string, log: (line: string) => void): Promise<ContextReport> {
  const rootfs = path.join(dir, 'rootfs')
  const owned = path.join(dir, 'owned')
  const app = path.join(rootfs, 'opt/se')
  await mkdir(app, { recursive: true })

  log('bundling SE')
  await build({
    entryPoints: [path.join(PACKAGE_ROOT, 'adapters/node/cli/main.ts')],
    outdir: path.join(app, 'dist'),
    entryNames: 'se',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    // Bundled CommonJS packages still call require(); ESM has none of its own.
    banner: { js: "import { createRequire as __seRequire } from 'node:module'; const require = __seRequire(import.meta.url);" },
    logLevel: 'error'
  })
  await writeFile(path.join(app, 'se.mjs'), "import { main } from './dist/se.mjs'\nprocess.exitCode = await main(process.argv.slice(2))\n")
  const pkg = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string, version: string }
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true }, null, 2) + '\n')
  await cp(path.join(PACKAGE_ROOT, 'examples'), path.join(app, 'examples'), { recursive: true })
  const packages = closure(EXTERNAL)
  for (const name of packages) {
    await cp(path.join(PACKAGE_ROOT, 'node_modules', name), path.join(app, 'node_modules', name), { recursive: true, dereference: true, filter: src => keepPrebuild(src) })
  }

  log('copying node, git and busybox with their libraries')
  // The node running this command and the git on PATH, at the paths the image expects.
  const git = (await execa('sh', ['-c', 'command -v git'], { reject: false })).stdout.trim()
  if (git === '') throw SeError.imageNeedsGit()
  const binaries = [[process.execPath, '/usr/bin/node'], [git, '/usr/bin/git']] as const
  for (const [from, to] of binaries) {
    await copyInto(rootfs, from, to)
    for (const lib of await sharedLibraries(from)) await copyInto(rootfs, lib)
  }
  if (!existsSync(BUSYBOX)) throw SeError.imageNeedsBusybox(BUSYBOX)
  await copyInto(rootfs, BUSYBOX)
  const applets = (await execa(BUSYBOX, ['--list'])).stdout.split('\n').filter(a => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox')
  for (const applet of applets) {
    const at = path.join(rootfs, 'bin', applet)
    if (!existsSync(at)) await symlink('busybox', at)
  }
  await mkdir(path.join(rootfs, 'usr/local/bin'), { recursive: true })
  await writeFile(path.join(rootfs, 'usr/local/bin/se'), '#!/bin/sh\nexec /usr/bin/node /opt/se/se.mjs "$@"\n')
  await chmod(path.join(rootfs, 'usr/local/bin/se'), 0o755)

  await mkdir(path.join(rootfs, 'etc'), { recursive: true })
  await writeFile(path.join(rootfs, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\nse:x:${IMAGE_UID}:${IMAGE_UID}:SE node:/home/se:/bin/sh\n`)
  await writeFile(path.join(rootfs, 'etc/group'), `root:x:0:\nse:x:${IMAGE_UID}:\n`)
  // A mounted repository belongs to someone else's uid; the workflow's commits need a name.
  await writeFile(path.join(rootfs, 'etc/gitconfig'), '[safe]\n\tdirectory = *\n[user]\n\tname = SE node\n\temail = se-node@localhost\n[init]\n\tdefaultBranch = main\n')
  await mkdir(path.join(rootfs, 'tmp'), { recursive: true })
  await chmod(path.join(rootfs, 'tmp'), 0o1777)
  for (const d of ['data', 'workspace', 'home/se']) await mkdir(path.join(owned, d), { recursive: true })
  // Open to any uid, sticky as /tmp: a container run with --user writes its data dir
  // (a new volume takes this mode) and HOME; /workspace is the mounted repository.
  for (const d of ['data', 'home/se']) await chmod(path.join(owned, d), 0o1777)
  await writeFile(path.join(dir, 'Containerfile'), containerfile(pkg.version))
  return { dir, binaries: [...binaries.map(b => b[0]), BUSYBOX], packages }
}

export function containerfile (version: string): string {
  return `# Built by \`se image build\` from this machine's files: no registry is reached.
FROM scratch
COPY rootfs/ /
COPY --chown=${IMAGE_UID}:${IMAGE_UID} owned/ /
LABEL org.opencontainers.image.title="se-node" org.opencontainers.image.version="${version}"
ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/se SE_DATA_DIR=/data SE_SESSION_HOME=/workspace ${RUN_AS_OWNER_ENV}=/workspace
# Root only to become the owner of /workspace (${IMAGE_UID} when nothing is mounted); --user skips it.
USER 0:0
WORKDIR /workspace
VOLUME /data
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/node", "/opt/se/se.mjs"]
CMD ["node", "start"]
`
}

/** The packages `names` need at run time, found the way node will: in node_modules. */
function closure (names: string[]): string[] {
  const seen = new Set<string>()
  const visit = (name: string): void => {
    if (seen.has(name)) return
    const dir = path.join(PACKAGE_ROOT, 'node_modules', name)
    if (!existsSync(dir)) return
    seen.add(name)
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>, optionalDependencies?: Record<string, string> }
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      if (!existsSync(path.join(dir, 'node_modules', dep))) visit(dep)
    }
  }
  names.forEach(visit)
  return [...seen].sort()
}

/** Prebuilt addons for other platforms are most of those packages' size. */
function keepPrebuild (source: string): boolean {
  const parts = source.split(path.sep)
  const at = parts.lastIndexOf('prebuilds')
  return at === -1 || at === parts.length - 1 || parts[at + 1] === `${process.platform}-${process.arch}`
}

async function sharedLibraries (binary: string): Promise<string[]> {
  const { stdout } = await execa('ldd', [binary], { reject: false })
  return [...stdout.matchAll(/(\/\S+\.so[^\s]*)/g)].map(m => m[1] as string)
}

/** Copies a file to its path (or `to`) under `rootfs`, following symlinks. */
async function copyInto (rootfs: string, file: string, to: string = file): Promise<void> {
  const target = path.join(rootfs, to)
  if (existsSync(target)) return
  await mkdir(path.dirname(target), { recursive: true })
  await copyFile(file, target)
  await chmod(target, 0o755)
}
