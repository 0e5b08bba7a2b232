// Which modules this Bare process loaded, written to a file when asked
// (SE_BARE_MODULE_REPORT): the tests use it to prove no Node-only module loads.
import fs from 'bare-fs'

export function reportLoadedModules (file: string | undefined): void {
  if (file === undefined || file === '') return
  // Bare keys its module cache by URL: file:///…/node_modules/pkg/index.js, and the .bare addons.
  fs.writeFileSync(file, JSON.stringify(Object.keys(require.cache), null, 1))
}
