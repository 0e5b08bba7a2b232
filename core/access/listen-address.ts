// `--http 8080`, `--http 0.0.0.0:8080`, `--avro-tcp [::1]:9090`: where a front end
// listens. A port alone means loopback: opening a node to the network is a choice.
import { SeError } from '../errors.js'

export interface ListenAddress { host: string, port: number }

export const LOOPBACK = '127.0.0.1'

export function parseListenAddress (text: string, flag: string): ListenAddress {
  const s = text.trim()
  const at = s.lastIndexOf(':')
  const hostPart = at < 0 ? '' : s.slice(0, at)
  const host = hostPart === '' ? LOOPBACK : hostPart.replace(/^\[(.*)\]$/, '$1')
  const port = Number(at < 0 ? s : s.slice(at + 1))
  if (s === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw SeError.badInput(`${flag} '${text}' is not PORT or HOST:PORT`, `for example ${flag} 127.0.0.1:8080 (0 picks a free port)`)
  }
  return { host, port }
}
