// A node's policy: which members (by node key, or a role naming a set of keys) and
// which people (person:KEY) may do which actions on this node. Parsed from
// policy.yaml with every problem named by file, line and path, and asked one
// question at a time: may this caller do this action here, and by which rule.
import { LineCounter, parseDocument } from 'yaml'
import { SeError, type ErrorDetail } from '../errors.js'

export const POLICY_ACTIONS = ['run', 'approve', 'session', 'deploy', 'read', 'relay'] as const
export type PolicyAction = typeof POLICY_ACTIONS[number]

const NODE_KEY = /^[0-9a-f]{64}$/
const PERSON = /^person:([0-9a-f]{64})$/
const ROLE_NAME = /^[a-z][a-z0-9_-]{0,63}$/
const USER = /^user:([A-Za-z0-9._-]{1,64})$/

/** Who a rule names: everyone, a role, a node's key, or a person's key. */
export type Principal = { kind: 'anyone' } | { kind: 'role', name: string } | { kind: 'node', key: string } | { kind: 'person', key: string } | { kind: 'user', name: string }

export interface PolicyRule {
  action: PolicyAction
  who: Principal[]
  /** `run` only: the rule covers only steps that need one of these capabilities. */
  capabilities: string[] | null
  /** `approve` only: the rule covers only workflows of these names. */
  workflows: string[] | null
  /** Where it is written, for refusals that name the rule. */
  file: string
  line: number | null
  path: string
}

export interface Policy {
  file: string
  roles: Map<string, { members: Principal[], line: number | null }>
  rules: PolicyRule[]
}

/** The caller of an action: the member it came from and, for a decision a person signed, that person. */
export interface Caller { nodeKey: string | null, personKey: string | null, /** A token's user, over HTTP or Avro IPC. */ user?: string | null }

export interface ActionContext {
  /** `run`: the capabilities the step needs. */
  capabilities?: string[]
  /** `approve`: the workflow's name. */
  workflow?: string
}

export type Verdict = { allowed: true, rule: PolicyRule } | { allowed: false, reason: string }

export function parsePolicy (text: string, file: string): Policy {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const details: ErrorDetail[] = []
  const lineAt = (path: Array<string | number>): number | null => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined
    return node?.range === undefined ? null : lineCounter.linePos(node.range[0]).line
  }
  // A key of digits only (and e) reads as a number in YAML: what counts is the text as written.
  const textAt = (path: Array<string | number>, value: unknown): unknown => {
    if (typeof value === 'string' || typeof value !== 'number') return value
    const node = doc.getIn(path, true) as { source?: unknown } | undefined
    return typeof node?.source === 'string' ? node.source : value
  }
  const problem = (path: Array<string | number>, shown: string, message: string): void => {
    const line = lineAt(path)
    details.push(line === null ? { file, path: shown, message } : { file, path: shown, line, message })
  }
  if (doc.errors.length > 0) {
    throw SeError.validation(`policy ${file}`, doc.errors.map(err => ({ file, line: lineCounter.linePos(err.pos[0]).line, message: `not valid YAML: ${err.message.split('\n')[0] ?? ''}` })))
  }
  const raw: unknown = doc.toJS()
  const policy: Policy = { file, roles: new Map(), rules: [] }
  if (raw === null || raw === undefined) return policy
  if (!isMapping(raw)) throw SeError.validation(`policy ${file}`, [{ file, message: 'expected a mapping with roles and allow' }])
  for (const key of Object.keys(raw)) if (key !== 'roles' && key !== 'allow') problem([key], key, `unknown key '${key}' (expected roles, allow)`)

  const roles = raw.roles ?? {}
  if (!isMapping(roles)) problem(['roles'], 'roles', 'expected a mapping of role names to lists of node keys or person:KEY')
  else {
    for (const [name, members] of Object.entries(roles)) {
      if (!ROLE_NAME.test(name)) problem(['roles', name], `roles.${name}`, `'${name}' is not a role name (lower-case letters, digits, - and _, starting with a letter)`)
      if (!Array.isArray(members)) { problem(['roles', name], `roles.${name}`, 'expected a list of node keys or person:KEY'); continue }
      const list: Principal[] = []
      members.forEach((raw, i) => {
        const m = textAt(['roles', name, i], raw)
        const p = typeof m === 'string' ? keyPrincipal(m) : null
        if (p === null) problem(['roles', name, i], `roles.${name}[${i}]`, `${JSON.stringify(m)} is not a node key (64 hex characters), person:KEY or user:NAME`)
        else list.push(p)
      })
      policy.roles.set(name, { members: list, line: lineAt(['roles', name]) })
    }
  }

  const allow = raw.allow ?? {}
  if (!isMapping(allow)) problem(['allow'], 'allow', `expected a mapping of actions (${POLICY_ACTIONS.join(', ')}) to who may do them`)
  else {
    for (const [action, entries] of Object.entries(allow)) {
      if (!(POLICY_ACTIONS as readonly string[]).includes(action)) { problem(['allow', action], `allow.${action}`, `unknown action '${action}' (expected one of: ${POLICY_ACTIONS.join(', ')})`); continue }
      if (!Array.isArray(entries)) { problem(['allow', action], `allow.${action}`, "expected a list: role names, node keys, person:KEY, user:NAME, '*', or {who, capabilities|workflows}"); continue }
      entries.forEach((entry, i) => {
        const at = `allow.${action}[${i}]`
        const rule = ruleOf(action as PolicyAction, textAt(['allow', action, i], entry), (path, message) => problem(['allow', action, i, ...path], path.length === 0 ? at : `${at}.${path.join('.')}`, message), policy, (path, v) => textAt(['allow', action, i, ...path], v))
        if (rule !== null) policy.rules.push({ ...rule, file, line: lineAt(['allow', action, i]), path: at })
      })
    }
  }
  if (details.length > 0) throw SeError.validation(`policy ${file}`, details)
  return policy
}

/** May `caller` do `action` here? The first rule that covers it says yes; none, no. */
export function decide (policy: Policy, action: PolicyAction, caller: Caller, ctx: ActionContext = {}): Verdict {
  for (const rule of policy.rules) {
    if (rule.action !== action) continue
    if (rule.capabilities !== null && !(ctx.capabilities ?? []).some(c => rule.capabilities?.includes(c) === true)) continue
    if (rule.workflows !== null && (ctx.workflow === undefined || !rule.workflows.includes(ctx.workflow))) continue
    if (rule.who.some(p => covers(policy, p, caller))) return { allowed: true, rule }
  }
  const rules = policy.rules.filter(r => r.action === action)
  const where = rules.length === 0 ? `${policy.file} allows ${action} to nobody` : rules.map(r => `${policy.file}${r.line === null ? '' : `:${r.line}`} ${r.path} ${describe(r)}`).join('; ')
  return { allowed: false, reason: where }
}

/**
 * Everything `caller` may do here, as `run`, `run:CAPABILITY` (only steps needing it),
 * `approve`, `approve:WORKFLOW`, `session`, `deploy`, `read`, `relay`: what a member is told
 * of another's policy, so refusals can be shown before they happen.
 */
export function allowedActions (policy: Policy, caller: Caller): string[] {
  const out = new Set<string>()
  for (const rule of policy.rules) {
    if (!rule.who.some(p => covers(policy, p, caller))) continue
    const scope = rule.capabilities ?? rule.workflows
    if (scope === null) out.add(rule.action)
    else for (const s of scope) out.add(`${rule.action}:${s}`)
  }
  // A scoped grant says nothing more once the whole action is granted.
  return POLICY_ACTIONS.flatMap(a => out.has(a) ? [a] : [...out].filter(x => x.startsWith(`${a}:`)).sort())
}

/**
 * What keeps an intervention's approvers from ever deciding it under this policy, or null:
 * each must be a person or a role of the policy, and enough distinct people must be named.
 */
export function approversProblem (policy: Policy | null, approvers: string[], quorum: number): string | null {
  const people = new Set<string>()
  for (const a of approvers) {
    const p = keyPrincipal(a)
    if (p !== null) {
      if (p.kind !== 'person') return `${a} is not a person; only people sign decisions (person:KEY, or a role of them)`
      people.add(p.key)
      continue
    }
    const role = policy?.roles.get(a)
    if (role === undefined) return `'${a}' is no role of ${policy === null ? 'a policy: this node has none (name people as person:KEY, or give the node one)' : `${policy.file} (roles: ${[...policy.roles.keys()].join(', ') || 'none'})`}`
    for (const m of role.members) if (m.kind === 'person') people.add(m.key)
  }
  if (people.size < quorum) return `a quorum of ${quorum} can never be met: ${approvers.join(', ')} name${people.size === 1 ? 's' : ''} ${people.size} ${people.size === 1 ? 'person' : 'people'}`
  return null
}

/**
 * Whether `caller` is among `name`: a role of the policy or a key (node, person:KEY, user:NAME).
 * A role the policy does not have covers nobody; null when it names nothing this policy knows.
 */
export function isAmong (policy: Policy | null, name: string, caller: Caller): boolean | null {
  const p = keyPrincipal(name) ?? (policy?.roles.has(name) === true ? { kind: 'role' as const, name } : null)
  if (p === null) return null
  return policy === null ? covers({ file: '', roles: new Map(), rules: [] }, p, caller) : covers(policy, p, caller)
}

function covers (policy: Policy, p: Principal, caller: Caller): boolean {
  switch (p.kind) {
    case 'anyone': return true
    case 'node': return caller.nodeKey === p.key
    case 'person': return caller.personKey === p.key
    case 'user': return caller.user === p.name
    case 'role': return (policy.roles.get(p.name)?.members ?? []).some(m => covers(policy, m, caller))
  }
}

function describe (r: PolicyRule): string {
  const who = r.who.map(p => p.kind === 'anyone' ? "'*'" : p.kind === 'role' ? `role ${p.name}` : p.kind === 'node' ? `node ${p.key.slice(0, 8)}` : p.kind === 'user' ? `user ${p.name}` : `person ${p.key.slice(0, 8)}`).join(', ')
  return `allows ${r.action} to ${who}${r.capabilities === null ? '' : ` for steps needing ${r.capabilities.join(' or ')}`}${r.workflows === null ? '' : ` for ${r.workflows.join(', ')}`}`
}

function ruleOf (action: PolicyAction, entry: unknown, problem: (path: string[], message: string) => void, policy: Policy, textAt: (path: Array<string | number>, value: unknown) => unknown): Omit<PolicyRule, 'file' | 'line' | 'path'> | null {
  if (typeof entry === 'string') {
    const p = principalOf(entry, policy)
    if (p === null) { problem([], unknownPrincipal(entry, policy)); return null }
    return { action, who: [p], capabilities: null, workflows: null }
  }
  if (!isMapping(entry)) { problem([], `expected a name, a key or {who: [...]}, got ${JSON.stringify(entry)}`); return null }
  const extra = action === 'run' ? 'capabilities' : action === 'approve' ? 'workflows' : null
  for (const key of Object.keys(entry)) if (key !== 'who' && key !== extra) problem([key], `unknown key '${key}' (expected who${extra === null ? '' : `, ${extra}`})`)
  const who = Array.isArray(entry.who) ? entry.who.map((w, i) => textAt(['who', i], w)) : typeof textAt(['who'], entry.who) === 'string' ? [textAt(['who'], entry.who)] : null
  if (who === null || who.length === 0) { problem(['who'], 'expected a name, a key, or a list of them'); return null }
  const principals: Principal[] = []
  for (const w of who) {
    const p = typeof w === 'string' ? principalOf(w, policy) : null
    if (p === null) problem(['who'], unknownPrincipal(String(w), policy))
    else principals.push(p)
  }
  const list = (key: 'capabilities' | 'workflows'): string[] | null => {
    const v = entry[key]
    if (v === undefined) return null
    if (!Array.isArray(v) || v.length === 0 || !v.every(s => typeof s === 'string' && s !== '')) { problem([key], 'expected a list of names'); return null }
    return v as string[]
  }
  return { action, who: principals, capabilities: extra === 'capabilities' ? list('capabilities') : null, workflows: extra === 'workflows' ? list('workflows') : null }
}

function keyPrincipal (s: string): Principal | null {
  if (NODE_KEY.test(s)) return { kind: 'node', key: s }
  const user = USER.exec(s)
  if (user !== null) return { kind: 'user', name: user[1] as string }
  const person = PERSON.exec(s)
  return person === null ? null : { kind: 'person', key: person[1] as string }
}

function principalOf (s: string, policy: Policy): Principal | null {
  if (s === '*') return { kind: 'anyone' }
  return keyPrincipal(s) ?? (policy.roles.has(s) ? { kind: 'role', name: s } : null)
}

function unknownPrincipal (s: string, policy: Policy): string {
  const roles = [...policy.roles.keys()]
  return `'${s}' is no role of this file${roles.length === 0 ? '' : ` (roles: ${roles.join(', ')})`}, node key (64 hex characters), person:KEY, user:NAME or '*'`
}

function isMapping (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
