// The parts of hyperswarm and hyperdht this project uses (neither ships types).
declare module 'hyperdht' {
  interface DhtKeyPair { publicKey: Buffer, secretKey: Buffer }
  interface LookupReply { peers: Array<{ publicKey: Buffer }> }
  interface Query extends AsyncIterable<LookupReply> { destroy (): void }
  class HyperDHT {
    constructor (opts?: Record<string, unknown>)
    static bootstrapper (port: number, host: string, opts?: Record<string, unknown>): HyperDHT
    static keyPair (seed?: Buffer): DhtKeyPair
    fullyBootstrapped (): Promise<void>
    ready (): Promise<void>
    address (): { host: string, family: number, port: number }
    lookup (topic: Uint8Array): Query
    destroy (): Promise<void>
  }
  export default HyperDHT
}

declare module 'hyperswarm' {
  import type HyperDHT from 'hyperdht'
  interface Discovery { flushed (): Promise<void>, refresh (opts?: { server?: boolean, client?: boolean }): Promise<void>, destroy (): Promise<void> }
  class Hyperswarm {
    constructor (opts?: Record<string, unknown>)
    dht: HyperDHT
    keyPair: { publicKey: Buffer, secretKey: Buffer }
    connections: Set<unknown>
    on (event: string, listener: (...args: any[]) => void): this
    join (topic: Uint8Array, opts?: { server?: boolean, client?: boolean }): Discovery
    leave (topic: Uint8Array): Promise<void>
    joinPeer (publicKey: Uint8Array): void
    leavePeer (publicKey: Uint8Array): void
    flush (): Promise<void>
    destroy (): Promise<void>
  }
  export default Hyperswarm
}
