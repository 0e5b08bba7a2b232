import Hyperswarm from 'hyperswarm'
import DHT from 'hyperdht'
import createTestnet from 'hyperdht/testnet.js'
import crypto from 'node:crypto'
const t0 = Date.now()
const tn = await createTestnet(+process.argv[2], { host: '127.0.0.1' })
const bootstrap = tn.bootstrap
console.log('boot', bootstrap, Date.now() - t0)
const mk = () => { const dht = new DHT({ bootstrap, host: '127.0.0.1' }); return new Hyperswarm({ dht, keyPair: DHT.keyPair() }) }
const a = mk(), b = mk()
const topic = crypto.randomBytes(32)
let n = 0
const t1 = Date.now()
for (const s of [a, b]) s.on('connection', (c, info) => { console.log('conn', Date.now() - t1, c.remotePublicKey.toString('hex').slice(0,8), c.handshakeHash?.length, info.client); c.on('error', e => console.log('err', e.message)); if (++n === 2) next() })
a.join(topic); b.join(topic)
const prov = crypto.randomBytes(32)
async function next () {
  const d = a.join(prov, { server: true, client: false }); await d.flushed()
  const t2 = Date.now()
  for await (const r of b.dht.lookup(prov)) console.log('lookup', r.peers.map(p => p.publicKey.toString('hex').slice(0,8)), Date.now() - t2)
  console.log('a key', a.keyPair.publicKey.toString('hex').slice(0,8))
  await a.leave(prov)
  for await (const r of b.dht.lookup(prov)) console.log('after leave', r.peers.length)
  await a.destroy(); await b.destroy(); await tn.destroy()
}
