// The avsc IPC server for the node's public protocol: checks the caller, then
// dispatches each message to the NodeApi method of the same name. Channels
// (HTTP exchanges, TCP sockets) are attached to it by the transports.
import '../../../core/protocol/avsc-guard.js'
import avro from 'avsc'
import { PUBLIC_MESSAGES, nodeProtocolAvpr } from '../../../core/protocol/avpr.js'
import type { AccessTokens } from '../../../core/access/tokens.js'
import type { Policy } from '../../../core/access/policy.js'
import type { RefusalEntry } from '../../../core/access/user-access.js'
import type { NodeApi } from '../../../core/protocol/types.js'
import type { Logger } from '../../../core/ports.js'
import { MAX_CACHED_PROTOCOLS } from '../../../core/access/listener-limits.js'
import { authorize, type CallRules } from './call-policy.js'
import { errorValue, unauthenticated } from './error-value.js'

export interface NodeServerOptions {
  api: NodeApi
  tokens: AccessTokens
  allowedCommands (): string[] | null
  /** The user a session belongs to; without it, the api's own `sessionOwner` (SeNode has one), else no session is reachable. */
  sessionOwner?: (sessionId: string) => string | null | Promise<string | null>
  /** Who may do what on this node (a token's user as user:NAME); absent or null: every token may do everything. */
  policy?: () => Policy | null
  /** The node's name, for refusals. */
  nodeName?: () => string
  /** Keeps a refusal by the policy in the node's trail; resolves once written, never rejects. */
  audit?: (entry: RefusalEntry) => Promise<void>
  log: Logger
}

/** avsc's server and channel objects; its typings do not describe what we use. */
export type AvscServer = any
type Channel = object
type Callback = (err: unknown, res?: unknown) => void
interface CallContext { channel: Channel, locals: { user?: string } }

export const SERVICE = avro.Service.forProtocol(nodeProtocolAvpr() as never)

/**
 * `transport` names the calls in the trail; `userOfChannel` gives the user of a
 * channel its transport already authenticated (HTTP), null to read each call's metadata (TCP).
 */
export function nodeServer (opts: NodeServerOptions, transport: string, userOfChannel: (channel: Channel) => string | null): AvscServer {
  const server = SERVICE.createServer({ silent: true } as never) as AvscServer
  boundProtocolCache(server)
  const access = { policy: () => opts.policy?.() ?? null, nodeName: () => opts.nodeName?.() ?? 'this node', domain: 'ipc', audit: opts.audit ?? (async () => {}), workflowName: async (id: string) => await opts.api.getWorkflowStatus(id).then(s => s.name, () => undefined) }
  const rules: CallRules = { allowedCommands: opts.allowedCommands, sessionOwner: sessionOwnerOf(opts), access }
  server.use(function (this: CallContext, wreq: { headers: Record<string, Buffer> }, wres: { error?: unknown }, next: () => void) {
    const header = wreq.headers.authorization
    const user = userOfChannel(this.channel) ?? opts.tokens.userOfHeader(header?.toString('utf8'))
    if (user === null) wres.error = unauthenticated(header)
    else this.locals.user = user
    next()
  })
  const api = opts.api as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
  for (const name of PUBLIC_MESSAGES) {
    const params = (SERVICE.message(name) as { requestType: { fields: Array<{ name: string }> } }).requestType.fields.map(f => f.name)
    server.onMessage(name, function (this: CallContext, request: Record<string, unknown>, cb: Callback) {
      const caller = { user: this.locals.user as string, transport }
      authorize(name, request, caller, rules)
        .then(async allowed => await (api[name] as (...args: unknown[]) => Promise<unknown>).apply(opts.api, params.map(p => allowed[p])))
        .then(res => cb(null, res), (err: unknown) => cb(errorValue(err, opts.log, name)))
    })
  }
  return server
}

/**
 * avsc keeps a resolver for every client protocol a handshake brings, for ever,
 * and anyone may send a handshake: past MAX_CACHED_PROTOCOLS the cache starts
 * again with the node's own protocol (a client whose hash is no longer known
 * is asked for its protocol and sends it, as the specification has it).
 */
function boundProtocolCache (server: AvscServer): void {
  const own = String(SERVICE.hash)
  server.on('channel', (channel: { on (event: 'handshake', listener: () => void): void }) => {
    channel.on('handshake', () => {
      const cache = server._cache as Record<string, unknown>
      const keys = Object.keys(cache)
      if (keys.length <= MAX_CACHED_PROTOCOLS) return
      for (const key of keys) if (key !== own) delete cache[key]
    })
  })
}

function sessionOwnerOf (opts: NodeServerOptions): CallRules['sessionOwner'] {
  const own = opts.sessionOwner ?? (opts.api as unknown as { sessionOwner?: NodeServerOptions['sessionOwner'] }).sessionOwner?.bind(opts.api)
  return async id => own === undefined ? null : await own(id)
}
