// Checks HTTP answers against the node's OpenAPI document. A small checker for
// the JSON Schema the document uses (type, properties, required,
// additionalProperties, items, enum, const, anyOf, local $ref): enough to hold
// every answer to it without a validator dependency.
import assert from 'node:assert/strict'
import path from 'node:path'
import { openApiDocument } from '../../core/http/openapi.js'
import { REPO } from './cli.js'

export const OPENAPI_FILE = path.join(REPO, 'docs/openapi.json')

export function openApiText (): string {
  return JSON.stringify(openApiDocument(), null, 2) + '\n'
}

type Schema = Record<string, any>

const TYPE_OF: Record<string, (v: unknown) => boolean> = {
  null: v => v === null,
  boolean: v => typeof v === 'boolean',
  integer: v => Number.isInteger(v),
  number: v => typeof v === 'number',
  string: v => typeof v === 'string',
  array: v => Array.isArray(v),
  object: v => v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** What is wrong with `value` against `schema`, one line per problem; empty when it fits. */
export function schemaErrors (doc: Schema, schema: Schema, value: unknown, at = '$'): string[] {
  if (schema.$ref !== undefined) return schemaErrors(doc, resolve(doc, schema.$ref), value, at)
  if (schema.anyOf !== undefined) {
    const each = (schema.anyOf as Schema[]).map(s => schemaErrors(doc, s, value, at))
    return each.some(e => e.length === 0) ? [] : [`${at}: fits none of anyOf (${each.map(e => e[0]).join('; ')})`]
  }
  const errors: string[] = []
  if (schema.type !== undefined) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type]
    if (!types.some(t => TYPE_OF[t]?.(value) === true)) return [`${at}: ${JSON.stringify(value)?.slice(0, 80)} is not ${types.join(' or ')}`]
  }
  if ('const' in schema && value !== schema.const) errors.push(`${at}: is not ${JSON.stringify(schema.const)}`)
  if (schema.enum !== undefined && !(schema.enum as unknown[]).includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`)
  if (Array.isArray(value) && schema.items !== undefined) value.forEach((v, i) => errors.push(...schemaErrors(doc, schema.items, v, `${at}[${i}]`)))
  if (TYPE_OF.object?.(value) === true) {
    const obj = value as Record<string, unknown>
    for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${at}: lacks ${String(r)}`)
    for (const [k, v] of Object.entries(obj)) {
      const declared = schema.properties?.[k]
      if (declared !== undefined) errors.push(...schemaErrors(doc, declared, v, `${at}.${k}`))
      else if (schema.additionalProperties === false) errors.push(`${at}: has ${k}, which the document does not declare`)
      else if (typeof schema.additionalProperties === 'object') errors.push(...schemaErrors(doc, schema.additionalProperties, v, `${at}.${k}`))
    }
  }
  return errors
}

function resolve (doc: Schema, ref: string): Schema {
  assert.ok(ref.startsWith('#/'), `only local references: ${ref}`)
  let at: any = doc
  for (const part of ref.slice(2).split('/')) at = at?.[part]
  assert.ok(at !== undefined, `dangling reference ${ref}`)
  return at
}

/** The operation of the document a request reached, by its path template. */
function operationOf (doc: Schema, method: string, urlPath: string): Schema | undefined {
  const got = urlPath.split('?')[0]?.replace(/\/+$/, '').split('/') ?? []
  for (const [template, item] of Object.entries(doc.paths as Record<string, Schema>)) {
    const want = template.split('/')
    if (want.length === got.length && want.every((w, i) => w.startsWith('{') || w === got[i])) {
      const op = item[method.toLowerCase()]
      if (op !== undefined) return op
    }
  }
  return undefined
}

/** Asserts a request body the node accepted is one the document describes: the document takes no less than the node does. */
export function assertRequestDocumented (doc: Schema, method: string, urlPath: string, body: unknown): void {
  const op = operationOf(doc, method, urlPath)
  const schema = op?.requestBody?.content?.['application/json']?.schema
  assert.ok(schema !== undefined, `${method} ${urlPath}: the node took a body the document does not describe`)
  assert.deepEqual(schemaErrors(doc, schema, body), [], `${method} ${urlPath}: the request body does not fit the document`)
}

/**
 * Asserts an answer is one the document promises: its status (or `default`), its
 * content type and its body. A path or method the document lacks must be a problem.
 */
export function assertDocumented (doc: Schema, method: string, urlPath: string, status: number, contentType: string, body: unknown): void {
  const where = `${method} ${urlPath} → ${status}`
  const mediaType = contentType.split(';')[0]?.trim() ?? ''
  const op = operationOf(doc, method, urlPath)
  let response: Schema | undefined = op === undefined ? undefined : op.responses[String(status)] ?? op.responses.default
  if (op === undefined) response = doc.components.responses.Problem
  assert.ok(response !== undefined, `${where}: the document has no such response`)
  if (response.$ref !== undefined) response = resolve(doc, response.$ref)
  const content = response.content?.[mediaType]
  assert.ok(content !== undefined, `${where}: answered ${mediaType}, the document says ${Object.keys(response.content ?? {}).join(', ')}`)
  const errors = schemaErrors(doc, content.schema, body)
  assert.deepEqual(errors, [], `${where}: the body does not fit the document`)
}
