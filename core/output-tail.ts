// What a step's result keeps of its output: the newest part, bounded, whatever
// the runtime that produced it.
/** The newest `limit` characters of a stream. */
export class OutputTail {
  private parts: string[] = []
  private length = 0

  constructor (private readonly limit: number) {}

  push (text: string): void {
    this.parts.push(text)
    this.length += text.length
    if (this.length > this.limit * 2) this.compact()
  }

  private compact (): void {
    const joined = this.parts.join('')
    const kept = joined.slice(-this.limit)
    this.parts = [kept]
    this.length = kept.length
  }

  text (): string {
    this.compact()
    return this.parts[0] ?? ''
  }
}
