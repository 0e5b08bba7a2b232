// Files for core on Bare: bare-fs through the shared port (adapters/shared/file-system.ts),
// with the same durability as on Node.
import fs from 'bare-fs'
import path from 'bare-path'
import { PortFileSystem, type FsModule } from '../shared/file-system.js'

export class BareFileSystem extends PortFileSystem {
  constructor (randomHex: () => string) {
    super(fs as unknown as FsModule, randomHex, path.dirname)
  }
}
