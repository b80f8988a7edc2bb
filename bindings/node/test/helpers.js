'use strict'
// Test peers on 127.0.0.1: a `ws` echo server with scripted behaviour, a
// small SSE server, and TLS material made at test time.

const http = require('node:http')
const https = require('node:https')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { once } = require('node:events')
const { WebSocketServer } = require('ws')

/**
 * A `ws` server. Each text message is a command or echoed:
 *   "close:<code>:<reason>" → the server closes with that code;
 *   "drop"                  → the server drops the TCP connection;
 *   anything else (and binary) is echoed back unchanged.
 * `received` collects every message per connection index; `closes` the
 * close codes and reasons the server got from clients.
 */
async function wsServer (options = {}) {
  const server = options.tls ? https.createServer(options.tls) : http.createServer()
  const wss = new WebSocketServer({ server, maxPayload: 256 << 20, ...options.ws })
  const state = { connections: 0, received: [], closes: [], headers: [], sockets: new Set() }
  wss.on('connection', (s, req) => {
    const index = state.connections++
    state.received[index] = []
    state.headers[index] = req.headers
    state.sockets.add(s)
    s.on('close', (code, reason) => {
      state.sockets.delete(s)
      state.closes.push({ code, reason: reason.toString() })
    })
    s.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString()
      state.received[index].push(isBinary ? Buffer.from(data) : text)
      if (text !== null && text.startsWith('close:')) {
        const [, code, reason] = text.split(':')
        s.close(Number(code), reason)
      } else if (text === 'drop') {
        s.terminate()
      } else if (!options.silent) {
        s.send(data, { binary: isBinary })
      }
    })
    if (options.onConnection) options.onConnection(s, req)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = server.address().port
  const scheme = options.tls ? 'wss' : 'ws'
  return {
    url: `${scheme}://127.0.0.1:${port}/`,
    port,
    wss,
    state,
    async close () {
      for (const s of state.sockets) s.terminate()
      wss.close()
      server.closeAllConnections?.()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

/**
 * An SSE server:
 *   /events?total=N&per_conn=K  events id=1..N, at most K per response
 *       (then the response ends and the client reconnects), resuming after
 *       the Last-Event-ID request header; `retry: 20`.
 *   /status/<code>              answers that status.
 *   /named                      one `event: ping` and one plain message.
 * `lastEventIds` records the Last-Event-ID header of each request.
 */
async function sseServer () {
  const state = { lastEventIds: [], requests: 0 }
  const open = new Set()
  const server = http.createServer((req, res) => {
    state.requests++
    const url = new URL(req.url, 'http://x')
    const m = /^\/status\/(\d+)$/.exec(url.pathname)
    if (m) {
      res.writeHead(Number(m[1]), { 'content-type': 'text/plain' })
      res.end(`status ${m[1]}`)
      return
    }
    if (url.pathname === '/named') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write('retry: 20\n\nevent: ping\ndata: pong\nid: p1\n\ndata: plain\n\n')
      open.add(res)
      req.on('close', () => open.delete(res))
      return
    }
    if (url.pathname !== '/events') {
      res.writeHead(404)
      res.end()
      return
    }
    const total = Number(url.searchParams.get('total') || 10)
    const perConn = Number(url.searchParams.get('per_conn') || total)
    const last = req.headers['last-event-id']
    state.lastEventIds.push(last === undefined ? null : last)
    const start = last === undefined ? 1 : Number(last) + 1
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    let out = 'retry: 20\n\n'
    let i = start
    for (; i <= total && i < start + perConn; i++) out += `id: ${i}\ndata: event ${i}\n\n`
    res.write(out)
    if (i <= total) {
      res.end()
    } else {
      open.add(res)
      req.on('close', () => open.delete(res))
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    async close () {
      for (const r of open) r.destroy()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

/** A temporary directory removed at exit. */
function tmpDir () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtwire-node-'))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A CA and a server certificate for 127.0.0.1/localhost signed by it. */
async function tlsMaterial () {
  const selfsigned = require('selfsigned')
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'rtwire test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
    ]
  })
  const leaf = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert }
  })
  const client = await selfsigned.generate([{ name: 'commonName', value: 'rtwire test client' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert }
  })
  const dir = tmpDir()
  const caFile = path.join(dir, 'ca.pem')
  fs.writeFileSync(caFile, ca.cert)
  const clientCertFile = path.join(dir, 'client.pem')
  const clientKeyFile = path.join(dir, 'client.key')
  fs.writeFileSync(clientCertFile, client.cert)
  fs.writeFileSync(clientKeyFile, client.private)
  return {
    caFile,
    caPem: ca.cert,
    key: leaf.private,
    cert: leaf.cert,
    clientCert: client.cert,
    clientKey: client.private,
    clientCertFile,
    clientKeyFile
  }
}

/** Resolves with the first `event` of `emitter` (other events, `error`
 * included, are ignored), or rejects after `ms`. */
function waitEvent (emitter, event, ms = 5000) {
  return Promise.race([
    new Promise((resolve) => emitter.once(event, resolve)),
    new Promise((_resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms)
      t.unref()
    })
  ])
}

/** Waits until `fn()` is true, polling, for at most `ms`. */
async function until (fn, ms = 5000, what = 'condition') {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await fn()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}

module.exports = { wsServer, sseServer, tlsMaterial, waitEvent, until, tmpDir }
