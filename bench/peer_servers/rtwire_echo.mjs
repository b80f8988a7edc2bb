// rtwire's Node application server for bench/server_peers.sh:
// `node rtwire_echo.mjs PORT PATH`. On 127.0.0.1:PORT, PATH /echo sends every
// message back; /broadcast puts every client in one room and sends every
// message to the whole room (server.to(room).send), the sender included. An
// application server serves one path, so the script starts one per path.
import { createRequire } from 'node:module'

const require = createRequire(new URL('../../bindings/node/package.json', import.meta.url))
const rtwire = require('rtwire')

const [port, path] = [Number(process.argv[2]), process.argv[3]]
const server = await rtwire.serve({ host: '127.0.0.1', port, path, maxMessageSize: 64 << 20 })
server.on('connection', (conn) => {
  if (path === '/broadcast') {
    conn.join('all')
    conn.on('message', (m) => { server.to('all').send(m.data) })
  } else {
    conn.on('message', (m) => { conn.send(m.data).catch(() => {}) })
  }
})
