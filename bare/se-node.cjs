// Starts the Bare node: dist/bare/se-node.cjs, built by `npm run bare` (bare/build.mjs),
// where bare/imports.json has already pointed the Node builtins its dependencies
// name at Bare's modules.
require('../dist/bare/se-node.cjs')
