// Which engine runs a workload: the one asked for, else the node's preferred one
// when it is available, else the best available that can run the manifest, else
// an error saying what is missing and how to get it.
import { SeError, type ErrorDetail } from '../errors.js'
import type { EngineAvailability, WorkloadEngine, WorkloadPlan } from './types.js'

/** Best first: containers isolate and limit, processes only run. */
export const ENGINE_ORDER = ['podman', 'process', 'mock'] as const
const AVAILABILITY_CACHE_MS = 60_000

export class EngineSelector {
  private readonly cache = new Map<string, { at: number, value: Promise<EngineAvailability> }>()

  constructor (
    private readonly engines: WorkloadEngine[],
    private readonly preferred: string | null,
    private readonly now: () => number
  ) {}

  get names (): string[] { return this.engines.map(e => e.name) }

  engine (name: string): WorkloadEngine | undefined {
    return this.engines.find(e => e.name === name)
  }

  async availability (engine: WorkloadEngine): Promise<EngineAvailability> {
    const cached = this.cache.get(engine.name)
    if (cached !== undefined && this.now() - cached.at < AVAILABILITY_CACHE_MS) return await cached.value
    const value = engine.availability().catch((err: Error): EngineAvailability => ({ available: false, reason: err.message }))
    this.cache.set(engine.name, { at: this.now(), value })
    const result = await value
    // A missing engine may be installed any minute; look again next time.
    if (!result.available) this.cache.delete(engine.name)
    return result
  }

  /** The engine for the plan; `requested` (a deploy's --engine) must be met exactly. */
  async choose (plan: WorkloadPlan, requested: string | null): Promise<{ engine: WorkloadEngine, note: string | null }> {
    if (requested !== null) {
      const engine = this.engine(requested)
      if (engine === undefined) throw SeError.badInput(`unknown engine '${requested}'`, `this node has: ${this.names.join(', ')}`)
      const a = await this.availability(engine)
      if (!a.available) throw SeError.engineUnavailable(requested, a.reason ?? null, a.install)
      const problems = engine.check(plan)
      if (problems.length > 0) throw SeError.validation(`manifest ${plan.source} for the ${requested} engine`, problems)
      return { engine, note: null }
    }
    const order = [...new Set([...(this.preferred === null ? [] : [this.preferred]), ...ENGINE_ORDER.filter(n => n !== 'mock')])]
    const refusals: ErrorDetail[] = []
    let hint: string | undefined
    for (const name of order) {
      const engine = this.engine(name)
      if (engine === undefined) continue
      const a = await this.availability(engine)
      if (!a.available) {
        refusals.push({ message: `${name}: ${a.reason ?? 'not available'}` })
        hint ??= a.install
        continue
      }
      const problems = engine.check(plan)
      if (problems.length > 0) {
        refusals.push(...problems.map(p => ({ ...p, message: `${name}: ${p.message}` })))
        continue
      }
      const skipped = this.preferred !== null && name !== this.preferred ? `the preferred engine ${this.preferred} is not available here, so ${name} runs it` : null
      return { engine, note: skipped }
    }
    throw SeError.noEngineFits(plan.name, refusals, hint)
  }
}
