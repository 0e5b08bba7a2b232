// `se policy check|show`: a node's policy file checked before it is used, and what
// the policy a node would start with allows, rule by rule (issue 17).
import type { Command } from 'commander'
import path from 'node:path'
import { EXIT_CODES, SeError } from '../../../core/errors.js'
import { POLICY_FILE } from '../../../core/access/policy-file.js'
import { parsePolicy, type Principal } from '../../../core/access/policy.js'
import { dataDirOf, json, readText, type CliIO, type CliState } from './context.js'

export function addPolicyCommands (program: Command, io: CliIO, state: CliState): void {
  const policy = program.command('policy').description('who may do what on a node: check a policy file, show the one a node starts with')
    .addHelpText('after', '\nExamples:\n  se policy check policy.yaml\n  se policy show            # the data dir\'s policy.yaml, or SE_POLICY')
  policy.command('check')
    .description('check policy files: every problem with file, line and path; exit 2 if any')
    .argument('<files...>', 'policy files')
    .action(async (files: string[]) => {
      let bad = 0
      for (const file of files) {
        try {
          const p = parsePolicy(await readText(file), file)
          // A policy that allows nothing is valid, and worth saying: a node holding it refuses every member everything.
          io.out(`ok  ${file} (${p.roles.size} role${p.roles.size === 1 ? '' : 's'}, ${p.rules.length} rule${p.rules.length === 1 ? '' : 's'}${p.rules.length === 0 ? ': it allows nothing, so a node holding it refuses every member and token user everything' : ''})`)
        } catch (err) {
          if (!(err instanceof SeError)) throw err
          bad++
          io.err([`invalid  ${file}${err.details.length === 0 ? `: ${err.reason}` : ''}`, ...err.details.map(d => `  ${[`${d.file ?? ''}${d.line === undefined ? '' : `:${d.line}`}`, d.path ?? ''].filter(s => s !== '').join(' ')}: ${d.message}`)].join('\n'))
        }
      }
      state.exitCode = bad > 0 ? EXIT_CODES.USAGE : EXIT_CODES.OK
    })
  policy.command('show')
    .description('what the policy a node on this data dir starts with allows, rule by rule')
    .argument('[file]', 'a policy file (default: SE_POLICY, else policy.yaml in the data dir)')
    .option('--json', 'print JSON')
    .action(async (file: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const chosen = file ?? process.env.SE_POLICY ?? path.join(dataDirOf(cmd), POLICY_FILE)
      const text = await readText(chosen).catch((err: unknown) => {
        if (file === undefined && process.env.SE_POLICY === undefined) return null
        throw err
      })
      if (text === null) {
        if (opts.json === true) json(io, { file: chosen, policy: null })
        else io.out(`no policy (${chosen}): every member of the node's mesh may do everything on it`)
        return
      }
      const p = parsePolicy(text, chosen)
      const rules = p.rules.map(r => ({ action: r.action, who: r.who.map(shown), capabilities: r.capabilities, workflows: r.workflows, at: `${r.file}${r.line === null ? '' : `:${r.line}`} ${r.path}` }))
      if (opts.json === true) { json(io, { file: chosen, roles: Object.fromEntries([...p.roles].map(([n, r]) => [n, r.members.map(shown)])), rules }); return }
      io.out(`policy ${chosen}: what it does not allow is refused`)
      for (const r of rules) io.out(`  ${r.action.padEnd(8)} ${r.who.join(', ')}${r.capabilities === null ? '' : ` (steps needing ${r.capabilities.join(' or ')})`}${r.workflows === null ? '' : ` (workflows ${r.workflows.join(', ')})`}    ${r.at}`)
    })
}

function shown (p: Principal): string {
  return p.kind === 'anyone' ? '*' : p.kind === 'role' ? p.name : p.kind === 'node' ? p.key : p.kind === 'user' ? `user:${p.name}` : `person:${p.key}`
}
