// `--bootstrap HOST:PORT[,HOST:PORT]`: where a node finds the DHT.
import { SeError } from '../errors.js'

export interface BootstrapAddress { host: string, port: number }

export function parseBootstrap (text: string): BootstrapAddress[] {
  return text.split(',').map(s => s.trim()).filter(s => s !== '').map(s => {
    const at = s.lastIndexOf(':')
    const host = s.slice(0, at).replace(/^.*@/, '')
    const port = Number(s.slice(at + 1))
    if (at <= 0 || host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw SeError.badBootstrapAddress(s)
    }
    return { host, port }
  })
}

export const isLoopback = (host: string): boolean => host === 'localhost' || host.startsWith('127.')
