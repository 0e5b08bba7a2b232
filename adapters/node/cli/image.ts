// `se image build`: the SE node as a container image, built offline with podman.
import type { Command } from 'commander'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { SeError } from '../../../core/errors.js'
import { VERSION } from '../../../core/constants.js'
import { json, type CliIO, type CliState } from './context.js'

export const IMAGE_NAME = 'localhost/se-node'

export function addImageCommands (program: Command, io: CliIO, _state: CliState): void {
  const image = program.command('image').description('the SE node as a container image')
    .addHelpText('after', `\nExamples:\n  se image build --tag registry.example.com/se-node:1\n  podman run --rm -d -v "$PWD:/workspace" ${IMAGE_NAME} node start --mesh team --bootstrap 10.0.0.5:49737`)
  image.command('build')
    .description(`build ${IMAGE_NAME}:${VERSION} (and :latest) with podman from this machine's files; no registry is reached`)
    .option('--tag <tag>', 'another tag to give it, e.g. registry.example.com/se-node:1')
    .option('--json', 'print {image, tags, sizeBytes, seconds}')
    .addHelpText('after', `\nExamples:\n  se image build\n  podman run -it --rm -v "$PWD:/workspace" ${IMAGE_NAME} shell\n  podman run --rm -d -v "$PWD:/workspace" ${IMAGE_NAME} execute VERSION_TRANSITION --input repo=/workspace`)
    .action(async (opts: { tag?: string, json?: boolean }) => {
      const started = Date.now()
      // Loaded on use: execa costs every other `se` call start-up time.
      const { execa } = await import('execa')
      const podman = await execa('podman', ['--version'], { reject: false }).catch(() => null)
      if (podman === null || podman.exitCode !== 0) throw SeError.imageNeedsPodman()
      const { assembleContext } = await import('../image/context.js')
      const dir = await mkdtemp(path.join(os.tmpdir(), 'se-image-'))
      try {
        const context = await assembleContext(dir, line => io.err(line))
        const tags = [`${IMAGE_NAME}:${VERSION}`, `${IMAGE_NAME}:latest`, ...(opts.tag === undefined ? [] : [opts.tag])]
        io.err(`podman build ${tags.join(' ')} (from scratch: ${context.binaries.join(', ')} and ${context.packages.length} packages)`)
        const built = execa('podman', ['build', '--pull=never', '--layers=false', ...tags.flatMap(t => ['-t', t]), '-f', path.join(dir, 'Containerfile'), dir], { reject: false, all: true })
        built.all?.on('data', (d: Buffer) => { for (const line of d.toString().split('\n').filter(l => l.trim() !== '')) io.err(`  ${line}`) })
        const r = await built
        if (r.exitCode !== 0) throw SeError.imageBuildFailed(r.exitCode)
        const size = Number((await execa('podman', ['image', 'inspect', '--format', '{{.Size}}', tags[0] as string])).stdout.trim())
        const seconds = (Date.now() - started) / 1000
        if (opts.json === true) json(io, { image: tags[0], tags, sizeBytes: size, seconds })
        else io.out(`built ${tags.join(', ')}: ${(size / 1024 / 1024).toFixed(1)} MiB in ${seconds.toFixed(1)} s`)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
}
