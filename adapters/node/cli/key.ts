// `se key new|show`: the person's own signing key, for decisions that must say who
// made them (issue 17). It lives in the user's config dir, not a node's data dir:
// it is the person's, whichever node they talk to.
import type { Command } from 'commander'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { SeError } from '../../../core/errors.js'
import { toHex } from '../../../core/hex.js'
import { decodePersonKey, encodePersonKey } from '../../../core/access/person-key.js'
import { signDecision } from '../../../core/access/decision.js'
import type { NodeApi, SignedDecision, WorkflowStatus } from '../../../core/protocol/types.js'
import { loginName } from '../config.js'
import { json, type CliIO } from './context.js'

/** $SE_PERSON_KEY, else $XDG_CONFIG_HOME/se-mesh/person-key.json, else ~/.config/se-mesh/person-key.json. */
export function personKeyFile (env: NodeJS.ProcessEnv = process.env): string {
  if (env.SE_PERSON_KEY !== undefined && env.SE_PERSON_KEY !== '') return path.resolve(env.SE_PERSON_KEY)
  const config = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config')
  return path.join(config, 'se-mesh', 'person-key.json')
}

export function addKeyCommands (program: Command, io: CliIO): void {
  const key = program.command('key').description('your own signing key, for decisions that must say who made them')
    .addHelpText('after', '\nExamples:\n  se key new --name ann\n  se key show            # person:<64 hex>, to name you in a node\'s policy.yaml')
  key.command('new')
    .description('make a new key pair in your config dir (0600); --force replaces one')
    .option('--name <name>', 'what to call you in decisions (default: your login name)')
    .option('--force', 'replace an existing key')
    .option('--json', 'print JSON')
    .action(async (opts: { name?: string, force?: boolean, json?: boolean, quiet?: boolean }) => {
      const file = personKeyFile()
      const exists = await readFile(file).then(() => true, () => false)
      if (exists && opts.force !== true) throw SeError.personKeyExists(file)
      const { SodiumCrypto } = await import('../../shared/sodium-crypto.js')
      const { NodeFileSystem } = await import('../fs.js')
      const pair = new SodiumCrypto().generateKeyPair()
      const name = opts.name ?? loginName()
      const fs = new NodeFileSystem()
      await fs.mkdirp(path.dirname(file), 0o700)
      await fs.writeAtomic(file, encodePersonKey(pair, name, new Date().toISOString()), { mode: 0o600 })
      show(io, { file, name, publicKey: toHex(pair.publicKey) }, opts)
    })
  key.command('show')
    .description('print your public key, as a policy file names you')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean, quiet?: boolean }) => {
      const file = personKeyFile()
      const text = await readFile(file, 'utf8').catch(() => { throw SeError.noPersonKey(file) })
      const { SodiumCrypto } = await import('../../shared/sodium-crypto.js')
      const { key: pair, name } = decodePersonKey(new SodiumCrypto(), text, file)
      show(io, { file, name, publicKey: toHex(pair.publicKey) }, opts)
    })
}

function show (io: CliIO, k: { file: string, name: string, publicKey: string }, opts: { json?: boolean, quiet?: boolean }): void {
  if (opts.json === true) json(io, { ...k, person: `person:${k.publicKey}` })
  // -q: what a policy file names you by, alone, for scripts (se key show -q >> team-keys).
  else if (opts.quiet === true) io.out(`person:${k.publicKey}`)
  else io.out(`person:${k.publicKey}  (${k.name}; ${k.file})`)
}

/** Signs a decision whose workflow and step are already exact; null when the person has no key. */
export type PersonSigner = (workflowId: string, stepId: string, choice: string, comment: string | null) => SignedDecision

/** The person's signer, read once (the dashboard and `se execute --wait` sign every decision with it), or null without a key. */
export async function personSigner (): Promise<PersonSigner | null> {
  const file = personKeyFile()
  const text = await readFile(file, 'utf8').catch(() => null)
  // A key named on purpose and not there is a mistake to say, not a reason to decide unsigned.
  if (text === null && process.env.SE_PERSON_KEY !== undefined && process.env.SE_PERSON_KEY !== '') throw SeError.noPersonKey(file)
  if (text === null) return null
  const { SodiumCrypto } = await import('../../shared/sodium-crypto.js')
  const crypto = new SodiumCrypto()
  const { key, name } = decodePersonKey(crypto, text, file)
  return (workflowId, stepId, choice, comment) => signDecision(crypto, key, { workflowId, stepId, choice, comment, name, decidedAt: Date.now() })
}

/**
 * The decision signed with the person's key, or null when they have none. The id may be a
 * prefix and the step left out: both are settled first, so the signature covers exactly
 * the workflow and step it answers.
 */
export async function signedDecision (api: NodeApi, id: string, step: string, choice: string, comment: string | null): Promise<SignedDecision | null> {
  const sign = await personSigner()
  if (sign === null) return null
  const held = await api.getWorkflowStatus(id).catch(async (err: unknown) => {
    const found = (await api.listInterventions()).filter(w => w.id.startsWith(id))
    if (found.length !== 1) throw err
    return found[0] as WorkflowStatus
  })
  const asked = step !== '' ? step : held.interventions[0]?.stepId ?? held.intervention?.stepId ?? ''
  return sign(held.id, asked, choice, comment)
}
