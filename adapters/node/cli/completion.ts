// `se completion bash|zsh|fish`: scripts made from the commands and options the
// program declares, so they never fall behind it. Each completes a command name,
// then a subcommand (se node start), then that command's options.
import type { Command } from 'commander'
import { SeError } from '../../../core/errors.js'

export const SHELLS = ['bash', 'zsh', 'fish'] as const

interface Entry { name: string, description: string, subcommands: Entry[], options: string[] }

function entryOf (cmd: Command): Entry {
  return {
    name: cmd.name(),
    description: cmd.description().split('\n')[0] ?? '',
    subcommands: cmd.commands.map(entryOf),
    options: cmd.options.flatMap(o => [o.short, o.long].filter((f): f is string => f !== undefined)).concat('--help')
  }
}

/** What may follow `se NAME`: its subcommands, and the options of it and of each of them. */
function wordsAfter (e: Entry, globals: string[]): string[] {
  return unique([...e.subcommands.map(s => s.name), ...e.options, ...e.subcommands.flatMap(s => s.options), ...globals.filter(g => g !== '-V' && g !== '--version')])
}

const unique = (list: string[]): string[] => [...new Set(list)]

const single = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`

export function completionScript (program: Command, shell: string): string {
  const root = entryOf(program)
  // The options every command takes (--data-dir, --help); --version only goes first.
  const globals = root.options
  switch (shell) {
    case 'bash': return bash(root, globals)
    case 'zsh': return zsh(root, globals)
    case 'fish': return fish(root, globals)
    default: throw SeError.badInput(`no completion for shell '${shell}'`, `give one of: ${SHELLS.join(', ')}`)
  }
}

function bash (root: Entry, globals: string[]): string {
  const cases = root.subcommands.map(c => `    ${c.name}) words=${single(wordsAfter(c, globals).join(' '))} ;;`)
  return [
    '# se completion for bash: source <(se completion bash)',
    '_se() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" words',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    words=${single([...root.subcommands.map(c => c.name), ...globals].join(' '))}`,
    '  else',
    '    case "${COMP_WORDS[1]}" in',
    ...cases,
    '    *) words="" ;;',
    '    esac',
    '  fi',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    'complete -o default -F _se se'
  ].join('\n')
}

function zsh (root: Entry, globals: string[]): string {
  const described = (list: Entry[]): string => list.map(c => single(`${c.name.replaceAll(':', '\\:')}:${c.description}`)).join(' ')
  const cases = root.subcommands.map(c => {
    const subs = c.subcommands.length === 0 ? '' : `if (( CURRENT == 3 )); then local -a subs; subs=(${described(c.subcommands)}); _describe 'subcommand' subs; fi; `
    return `    ${c.name}) ${subs}compadd -- ${wordsAfter({ ...c, subcommands: c.subcommands.map(s => ({ ...s, name: '' })) }, globals).filter(w => w !== '').map(single).join(' ')} ;;`
  })
  return [
    '#compdef se',
    '# se completion for zsh: se completion zsh > "${fpath[1]}/_se", or source <(se completion zsh)',
    '_se() {',
    '  if (( CURRENT == 2 )); then',
    `    local -a cmds; cmds=(${described(root.subcommands)})`,
    "    _describe 'command' cmds",
    `    compadd -- ${globals.map(single).join(' ')}`,
    '    return',
    '  fi',
    '  case "${words[2]}" in',
    ...cases,
    '  esac',
    '  _files',
    '}',
    'compdef _se se'
  ].join('\n')
}

function fish (root: Entry, globals: string[]): string {
  const flag = (o: string): string => o.startsWith('--') ? `-l ${o.slice(2)}` : `-s ${o.slice(1)}`
  const lines = ['# se completion for fish: se completion fish > ~/.config/fish/completions/se.fish', 'complete -c se -f']
  for (const o of globals) lines.push(`complete -c se -n __fish_use_subcommand ${flag(o)}`)
  for (const c of root.subcommands) {
    lines.push(`complete -c se -n __fish_use_subcommand -a ${c.name} -d ${single(c.description)}`)
    for (const s of c.subcommands) lines.push(`complete -c se -n '__fish_seen_subcommand_from ${c.name}' -a ${s.name} -d ${single(s.description)}`)
    for (const o of unique([...c.options, ...c.subcommands.flatMap(s => s.options)])) lines.push(`complete -c se -n '__fish_seen_subcommand_from ${c.name}' ${flag(o)}`)
  }
  return lines.join('\n')
}
