// Facts of the machine (is this tool on PATH?) asked once per process and key:
// capabilities are detected often, and a PATH scan is not free.
export class OncePerKey<T> {
  private readonly answers = new Map<string, Promise<T>>()

  constructor (private readonly ask: (key: string) => Promise<T>) {}

  get (key: string): Promise<T> {
    let answer = this.answers.get(key)
    if (answer === undefined) {
      answer = this.ask(key)
      this.answers.set(key, answer)
    }
    return answer
  }
}
