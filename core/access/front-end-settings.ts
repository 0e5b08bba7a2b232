// Which network front ends a node opens (all off unless asked for), from flags
// over SE_* variables.
import { numberFrom, textFrom, type EnvLookup } from '../config/env.js'
import { parseListenAddress, type ListenAddress } from './listen-address.js'

/** Largest request body the HTTP API reads: a workflow file or a command, never a payload. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

export interface FrontEndFlags {
  http?: string
  avroTcp?: string
  tokenFile?: string
}

export interface FrontEndConfig {
  http: ListenAddress | null
  avroTcp: ListenAddress | null
  tokenFile: string | undefined
  inlineTokens: string | undefined
  maxBodyBytes: number
}

export function frontEndConfigFrom (flags: FrontEndFlags, env: EnvLookup): FrontEndConfig {
  const http = flags.http ?? textFrom(env, 'SE_HTTP')
  const avroTcp = flags.avroTcp ?? textFrom(env, 'SE_AVRO_TCP')
  return {
    http: http === undefined ? null : parseListenAddress(http, flags.http === undefined ? 'SE_HTTP' : '--http'),
    avroTcp: avroTcp === undefined ? null : parseListenAddress(avroTcp, flags.avroTcp === undefined ? 'SE_AVRO_TCP' : '--avro-tcp'),
    tokenFile: flags.tokenFile ?? textFrom(env, 'SE_TOKEN_FILE'),
    inlineTokens: textFrom(env, 'SE_TOKENS'),
    maxBodyBytes: Math.floor(numberFrom(env, 'SE_HTTP_MAX_BODY') ?? DEFAULT_MAX_BODY_BYTES)
  }
}
