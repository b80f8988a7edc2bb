// A Node `ws` server for bench/server_peers.sh: `node ws_echo.mjs PORT PATH`.
// On 127.0.0.1:PORT, /echo sends every message back; /broadcast sends every
// message to every client connected (wss.clients), the sender included.
// DEFLATE=1 turns permessage-deflate on (ws's defaults).
import { createRequire } from 'node:module'

const require = createRequire(new URL('../../tests/peers/node/package.json', import.meta.url))
const { WebSocketServer } = require('ws')

const [port, path] = [Number(process.argv[2]), process.argv[3]]
const wss = new WebSocketServer({ host: '127.0.0.1', port, path, maxPayload: 64 << 20, perMessageDeflate: process.env.DEFLATE === '1' })
wss.on('connection', (ws) => {
  ws.on('message', path === '/broadcast'
    ? (data, isBinary) => { for (const c of wss.clients) c.send(data, { binary: isBinary }) }
    : (data, isBinary) => ws.send(data, { binary: isBinary }))
})
