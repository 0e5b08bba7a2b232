// Bench 7's floor on Bare: a plain Hyperswarm peer and its DHT node, nothing of SE.
// `bare peer.cjs HOST:PORT TOPIC_HEX`: joins the topic through the bench's bootstrap
// with the DHT options the node's transport uses there (adapters/shared/hyperswarm-transport.ts),
// prints `joined` once the join is flushed, then idles until killed. Bundled by
// bare/build.mjs like the node, so both load the same way.
import b4a from 'b4a'
import DHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import process from 'bare-process'

async function main (): Promise<void> {
  const [bootstrap = '', topic = ''] = process.argv.slice(2)
  const [host = '', port = ''] = bootstrap.split(':')
  const dht = new DHT({ bootstrap: [{ host, port: Number(port) }], host: '127.0.0.1' })
  const swarm = new Hyperswarm({ dht })
  swarm.on('error', () => {})
  swarm.on('connection', (socket: any) => { socket.on('error', () => {}) })
  await swarm.join(b4a.from(topic, 'hex'), { server: true, client: true }).flushed()
  process.stdout.write('joined\n')
  // Idle until killed, as a node waits for its signal.
  setInterval(() => {}, 60_000)
}

void main()
