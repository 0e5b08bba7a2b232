// Workflows a node can start by name: the files in its catalogue directories.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import { basename, join } from '../paths.js'
import type { FileSystem } from '../ports.js'
import type { CatalogueEntry } from '../protocol/types.js'
import type { WorkflowDefinition } from '../workflow/definition.js'

const WORKFLOW_FILE = /\.(ya?ml|json)$/

export interface CatalogueItem { file: string, text: string, definition: WorkflowDefinition }

export class Catalogue {
  constructor (private readonly fs: FileSystem, private readonly dirs: string[]) {}

  private async items (): Promise<{ items: CatalogueItem[], invalid: Array<{ file: string, error: SeError }> }> {
    const items: CatalogueItem[] = []
    const invalid: Array<{ file: string, error: SeError }> = []
    // The parser (YAML and the workflow schema) loads with the first file: a node with an empty catalogue never loads it.
    let parseWorkflow: typeof import('../workflow/validate.js').parseWorkflow | null = null
    for (const dir of this.dirs) {
      for (const name of (await this.fs.list(dir)).sort()) {
        if (!WORKFLOW_FILE.test(name)) continue
        const file = join(dir, name)
        const bytes = await this.fs.read(file)
        if (bytes === null) continue
        const text = b4a.toString(bytes, 'utf8')
        parseWorkflow ??= (await import('../workflow/validate.js')).parseWorkflow
        try {
          items.push({ file, text, definition: parseWorkflow(text, file) })
        } catch (err) {
          if (err instanceof SeError) invalid.push({ file, error: err })
          else throw err
        }
      }
    }
    return { items, invalid }
  }

  async list (): Promise<CatalogueEntry[]> {
    const { items } = await this.items()
    return items.map(i => {
      const declared = Object.entries(i.definition.inputs ?? {})
      return {
        name: i.definition.name,
        description: i.definition.description ?? '',
        source: i.file,
        inputs: declared.map(([name]) => name),
        inputDetails: declared.map(([name, d]) => ({
          name, description: d.description ?? '', required: d.required === true, default: d.default === undefined ? null : String(d.default), type: d.type ?? 'string'
        }))
      }
    })
  }

  /** Finds a workflow by its name or its file name; the first directory wins. */
  async find (name: string): Promise<CatalogueItem> {
    const { items, invalid } = await this.items()
    const stem = (file: string): string => basename(file).replace(WORKFLOW_FILE, '')
    const found = items.find(i => i.definition.name === name) ?? items.find(i => stem(i.file) === name)
    if (found !== undefined) return found
    const broken = invalid.find(i => stem(i.file) === name)
    if (broken !== undefined) throw broken.error
    throw SeError.notInCatalogue(name, this.dirs, items.map(i => i.definition.name))
  }
}
