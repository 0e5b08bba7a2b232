// Files for core on Node: node:fs through the shared port (adapters/shared/file-system.ts).
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { PortFileSystem, type FsModule } from '../shared/file-system.js'

export class NodeFileSystem extends PortFileSystem {
  constructor () {
    super(fs as unknown as FsModule, () => randomBytes(4).toString('hex'), path.dirname)
  }
}
