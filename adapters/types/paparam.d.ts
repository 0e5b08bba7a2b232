// The parts of paparam (Holepunch's argument parser, which runs on Bare) the Bare entry uses.
declare module 'paparam' {
  interface Modifier { multiple (): Modifier }
  interface Parsed { flags: Record<string, unknown>, args: Record<string, unknown> }
  interface Command { parse (argv?: string[]): Parsed | null, help (): string }
  export function command (name: string, ...modifiers: unknown[]): Command
  export function flag (spec: string, description?: string): Modifier
  export function summary (text: string): Modifier
  export function footer (text: string): Modifier
}
