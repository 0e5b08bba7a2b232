// Facts of the machine (is this tool on PATH?) asked once per process and key:
// capabilities are detected often, and a PATH scan is not free. An answer that
// may change (a tool not there yet) can be left unkept, so it is asked afresh
// next time: a person who installs the missing tool need not restart the node.
export class OncePerKey<T> {
  private readonly answers = new Map<string, Promise<T>>()

  constructor (private readonly ask: (key: string) => Promise<T>, private readonly keep: (answer: T) => boolean = () => true) {}

  get (key: string): Promise<T> {
    let answer = this.answers.get(key)
    if (answer === undefined) {
      answer = this.ask(key)
      this.answers.set(key, answer)
      // Callers asking meanwhile share the one question; an answer not kept is forgotten once given.
      answer.then(a => { if (!this.keep(a)) this.answers.delete(key) }, () => this.answers.delete(key))
    }
    return answer
  }
}
