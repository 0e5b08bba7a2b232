// Placeholder: replaced by the real `se image` commands.
import type { Command } from 'commander'
import type { CliIO, CliState } from './program.js'

export function addImageCommands (_program: Command, _io: CliIO, _state: CliState): void {}
