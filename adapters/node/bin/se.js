#!/usr/bin/env node
// The `se` command. TypeScript runs through tsx, resolved next to this file so
// `se` works from any directory.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
