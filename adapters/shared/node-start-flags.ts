// The flags of a node start, declared once for both entry points: `se node start`
// (adapters/node/cli/node-start.ts builds its commander options from this table)
// and the Bare node (bare/args.ts builds its paparam flags from it). Each flag says
// its value, the SE_* variable used when it is not given (core's settings read it),
// its help, and where its value lands; the few only one runtime has say which.
// Values are checked here, so both runtimes refuse the same mistakes alike.
import { positiveNumber } from '../../core/config/env.js'
import type { MeshConfig, MeshFlags } from '../../core/mesh/settings.js'
import type { WorkloadFlags } from '../../core/workload/settings.js'
import type { FrontEndFlags } from '../../core/access/front-end-settings.js'
import type { NodeOptions } from '../../core/node/settings.js'

export type StartRuntime = 'node' | 'bare'

/** What a node start's flags say, before core's settings add the environment and the defaults. */
export interface NodeStartFlags {
  /** As given: each runtime resolves it against its own working directory. */
  dataDir?: string
  name?: string
  tags: string[]
  sessionIdleSec?: number
  /** As given, resolved like the data dir. */
  policyFile?: string
  mesh: MeshFlags
  workloads: WorkloadFlags
  /** Only `se node start` opens front ends. */
  frontEnds: FrontEndFlags
}

interface FlagOf<K extends string, V> {
  /** The long name, without its dashes. */
  name: string
  /** What the value is called in usage: `--mesh <name>` (Node), `--mesh [name]` (Bare). */
  value: string
  /** text: given once; list: repeatable, each use adds one; number: a positive number. */
  kind: K
  /** The variable read when the flag is not given. */
  env: string
  /** What applies when neither is given, for the help. */
  default?: string
  help: string
  /** Set when only one runtime has the flag. */
  only?: StartRuntime
  set: (flags: NodeStartFlags, value: V) => void
}

export type NodeStartFlag = FlagOf<'text', string> | FlagOf<'list', string[]> | FlagOf<'number', number>

/** On Node an option of every `se` command (each reaches the node on that data dir); on Bare one of the node's. */
export const DATA_DIR_FLAG: NodeStartFlag = {
  name: 'data-dir', value: 'dir', kind: 'text', env: 'SE_DATA_DIR', default: '~/.local/share/se-mesh',
  help: 'node data directory',
  set: (f, v) => { f.dataDir = v }
}

export const NODE_START_FLAGS: readonly NodeStartFlag[] = [
  DATA_DIR_FLAG,
  { name: 'name', value: 'name', kind: 'text', env: 'SE_NODE_NAME', default: 'the hostname', help: 'label shown to people', set: (f, v) => { f.name = v } },
  { name: 'capability', value: 'tag', kind: 'list', env: 'SE_CAPABILITIES', help: 'add a capability tag', set: (f, v) => { f.tags = v } },
  { name: 'mesh', value: 'name', kind: 'text', env: 'SE_MESH', help: 'join this mesh', set: (f, v) => { f.mesh.mesh = v } },
  { name: 'bootstrap', value: 'host:port', kind: 'text', env: 'SE_BOOTSTRAP', default: 'Hyperswarm\'s public ones', help: 'DHT bootstrap nodes, comma-separated', set: (f, v) => { f.mesh.bootstrap = v } },
  { name: 'mesh-secret', value: 'secret', kind: 'text', env: 'SE_MESH_SECRET', help: 'shared secret members must prove they hold', set: (f, v) => { f.mesh.meshSecret = v } },
  { name: 'allow', value: 'key', kind: 'list', env: 'SE_ALLOW', help: 'only let this node key join', set: (f, v) => { f.mesh.allow = v } },
  { name: 'allow-file', value: 'file', kind: 'text', env: 'SE_ALLOW_FILE', help: 'only let the node keys in this file join, one per line', set: (f, v) => { f.mesh.allowFile = v } },
  { name: 'peer', value: 'key', kind: 'list', env: 'SE_PEERS', help: 'connect to this node key directly', set: (f, v) => { f.mesh.peer = v } },
  { name: 'heartbeat-ms', value: 'ms', kind: 'number', env: 'SE_HEARTBEAT_MS', default: '1000', help: 'probe interval: one linked member probed per interval', set: (f, v) => { f.mesh.heartbeatMs = v } },
  { name: 'suspect-ms', value: 'ms', kind: 'number', env: 'SE_SUSPECT_MS', default: '3000', help: 'how long a probe (direct, then through others) may go unanswered before a node is suspect', set: (f, v) => { f.mesh.suspectMs = v } },
  { name: 'down-ms', value: 'ms', kind: 'number', env: 'SE_DOWN_MS', default: '6000', help: 'least time a suspect stays suspect before it is down (more in a larger mesh)', set: (f, v) => { f.mesh.downMs = v } },
  { name: 'neighbours', value: 'n', kind: 'number', env: 'SE_MESH_NEIGHBOURS', default: '12', help: 'neighbour links to keep; the rest of the mesh is known by gossip', set: (f, v) => { f.mesh.neighbours = v } },
  { name: 'engine', value: 'name', kind: 'text', env: 'SE_ENGINE', default: 'the best available', help: 'preferred workload engine: podman, process', set: (f, v) => { f.workloads.engine = v } },
  { name: 'memory-budget', value: 'size', kind: 'text', env: 'SE_MEMORY_BUDGET', default: '3/4 of RAM', help: 'memory all workloads\' limits may add up to, e.g. 8g', set: (f, v) => { f.workloads.memoryBudget = v } },
  { name: 'max-workloads', value: 'n', kind: 'number', env: 'SE_MAX_WORKLOADS', default: '10', help: 'workloads deployed at once; more are queued', set: (f, v) => { f.workloads.maxWorkloads = v } },
  { name: 'policy', value: 'file', kind: 'text', env: 'SE_POLICY', default: 'policy.yaml in the data dir, if there is one', help: 'who may do what on this node (roles, allow: run, approve, session, deploy, read, relay)', set: (f, v) => { f.policyFile = v } },
  { name: 'session-idle', value: 'sec', kind: 'number', env: 'SE_SESSION_IDLE_SEC', default: '28800', help: 'close sessions idle this long', set: (f, v) => { f.sessionIdleSec = v } },
  // The front ends are Node's (adapters/node/front-ends.ts); Bare serves health and /metrics over HTTP (adapters/bare/http-server.ts).
  { name: 'http', value: '[host:]port', kind: 'text', env: 'SE_HTTP', default: 'off', help: 'serve the HTTP API, health, /metrics and Avro IPC over HTTP here (on Bare: health and /metrics); a port alone means 127.0.0.1', set: (f, v) => { f.frontEnds.http = v } },
  { name: 'avro-tcp', value: '[host:]port', kind: 'text', env: 'SE_AVRO_TCP', default: 'off', only: 'node', help: 'serve Avro IPC on this TCP port', set: (f, v) => { f.frontEnds.avroTcp = v } },
  { name: 'token-file', value: 'file', kind: 'text', env: 'SE_TOKEN_FILE', default: 'one is generated in the data dir', help: 'bearer tokens for --http and --avro-tcp, USER:TOKEN per line, or inline in SE_TOKENS', set: (f, v) => { f.frontEnds.tokenFile = v } }
]

/** The flags a runtime has. */
export function nodeStartFlagsOf (runtime: StartRuntime): NodeStartFlag[] {
  return NODE_START_FLAGS.filter(f => f.only === undefined || f.only === runtime)
}

/** The key both commander and paparam file a flag's value under: `--mesh-secret` → `meshSecret`. */
export function optionKey (flag: NodeStartFlag): string {
  return flag.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

/** The help line: what it does, then whether it repeats, its variable and its default. */
export function flagHelp (flag: NodeStartFlag): string {
  const notes = [...(flag.kind === 'list' ? ['repeatable'] : []), `env ${flag.env}`, ...(flag.default === undefined ? [] : [`default ${flag.default}`])]
  return `${flag.help} (${notes.join('; ')})`
}

/**
 * The values a parser read (under `optionKey`; undefined when a flag was not
 * given) as what they set. Numbers are checked here: `--heartbeat-ms 0` is
 * refused the same way on both runtimes.
 */
export function readNodeStartFlags (values: Record<string, unknown>, runtime: StartRuntime): NodeStartFlags {
  const out: NodeStartFlags = { tags: [], mesh: {}, workloads: {}, frontEnds: {} }
  for (const flag of nodeStartFlagsOf(runtime)) {
    const value = values[optionKey(flag)]
    if (value === undefined) continue
    switch (flag.kind) {
      case 'text': flag.set(out, String(value)); break
      case 'list': flag.set(out, (Array.isArray(value) ? value : [value]).map(String)); break
      case 'number': flag.set(out, positiveNumber(String(value), `--${flag.name}`)); break
    }
  }
  return out
}

/** The node's options from its flags, the data dir resolved and the mesh opened by the runtime. */
export function nodeOptionsFrom (flags: NodeStartFlags, dataDir: string, mesh: MeshConfig | undefined): NodeOptions {
  return {
    dataDir,
    ...(flags.name === undefined ? {} : { name: flags.name }),
    ...(flags.sessionIdleSec === undefined ? {} : { sessionIdleSec: flags.sessionIdleSec }),
    ...(flags.policyFile === undefined ? {} : { policyFile: flags.policyFile }),
    tags: flags.tags,
    ...(mesh === undefined ? {} : { mesh }),
    workloads: flags.workloads
  }
}
