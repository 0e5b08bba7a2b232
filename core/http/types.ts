// The HTTP front end's view of a request and a response, free of any runtime's
// HTTP module: the adapter reads the socket, core decides the answer.

export interface HttpRequest {
  method: string
  /** The path without the query string, percent-decoding left to the routes. */
  path: string
  query: Record<string, string[]>
  header (name: string): string | undefined
  /** The whole body, already bounded by the adapter; null when there was none. */
  body: Uint8Array | null
}

export interface EventStream {
  /** Writes one server-sent event; `id` lets its client resume after it with Last-Event-ID. */
  send (event: string, data: unknown, id?: string): void
  /** Called once when the client goes away or the node stops. */
  onClose (listener: () => void): void
}

export interface HttpResponse {
  status: number
  headers?: Record<string, string>
  /** JSON bodies are objects; text bodies (metrics) strings. */
  json?: unknown
  text?: string
  /** Set for a server-sent event stream: the adapter keeps the response open and hands it over. */
  events?: (stream: EventStream) => void
}
