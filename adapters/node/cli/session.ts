// Placeholder: replaced by the real `se session` commands.
import type { Command } from 'commander'
import type { CliIO, CliState } from './program.js'

export function addSessionCommands (_program: Command, _io: CliIO, _state: CliState): void {}
