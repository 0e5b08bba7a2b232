// The parts of protomux this project uses (it ships no types): channels of raw messages on one stream.
declare module 'protomux' {
  interface ProtomuxMessage {
    send (data: Uint8Array): boolean
  }
  interface ProtomuxChannel {
    addMessage (opts: { onmessage: (data: Uint8Array) => void }): ProtomuxMessage
    open (handshake?: unknown): void
    close (): void
    readonly closed: boolean
  }
  class Protomux {
    static from (stream: unknown): Protomux
    createChannel (opts: { protocol: string, onclose?: () => void, ondrain?: () => void }): ProtomuxChannel | null
  }
  export default Protomux
}
