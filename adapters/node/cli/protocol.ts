// Placeholder: replaced by the real `se protocol` commands.
import type { Command } from 'commander'
import type { CliIO, CliState } from './program.js'

export function addProtocolCommands (_program: Command, _io: CliIO, _state: CliState): void {}
