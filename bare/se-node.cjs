// Starts the Bare node (dist/bare/se-node.cjs, built by `npm run bare`) with the
// imports map that points the few Node builtins its dependencies name at Bare's
// own modules and shims.
require('../dist/bare/se-node.cjs', { with: { imports: './imports.json' } })
