'use strict'
// The embedded server (`serve()`): WebSocket clients (rtwire's and the `ws`
// package's), the `message` event, arguments, close and process lifetime.
// Everything listens on 127.0.0.1 with port 0.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { once } = require('node:events')
const NodeWebSocket = require('ws')
const rtwire = require('..')
const { connect, serve, Server, RtwireError } = rtwire
const { waitEvent, until, tlsMaterial } = require('./helpers.js')

const PKG = path.resolve(__dirname, '..')

const wsUrl = (server, channel) => `${server.url.replace(/^http/, 'ws')}/ws/${channel}`

/** The next `n` messages of `conn`, failing after `ms`. */
async function take (conn, n, ms = 5000) {
  const got = []
  const timer = setTimeout(() => conn.emit('error', new Error(`only ${got.length} of ${n} messages within ${ms} ms`)), ms)
  try {
    await new Promise((resolve, reject) => {
      const onMessage = (m) => {
        got.push(m)
        if (got.length === n) done(resolve)
      }
      const onError = (e) => done(() => reject(e))
      const done = (f) => {
        conn.off('message', onMessage)
        conn.off('error', onError)
        f()
      }
      conn.on('message', onMessage)
      conn.on('error', onError)
    })
  } finally {
    clearTimeout(timer)
  }
  return got
}

/** Runs `code` in a child node; resolves with { code, signal, stdout, stderr, ms }. */
function runChild (code, ms = 15000) {
  return new Promise((resolve, reject) => {
    const start = Date.now()
    const child = spawn(process.execPath, ['-e', code], { cwd: PKG, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve({ code: null, signal: 'SIGKILL', stdout, stderr, ms: Date.now() - start, timedOut: true })
    }, ms)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - start, timedOut: false })
    })
  })
}

test('serve()', { timeout: 60000 }, async (t) => {
  const server = await serve({ host: '127.0.0.1', port: 0, history: 100 })
  t.after(() => server.close())

  await t.test('listens and describes itself', () => {
    assert.ok(server instanceof Server)
    assert.ok(server.port > 0)
    assert.equal(server.host, '127.0.0.1')
    assert.equal(server.url, `http://127.0.0.1:${server.port}`)
    assert.match(server.epoch, /^[0-9a-f]+$/)
    assert.equal(server.closed, false)
    assert.throws(() => new Server(), TypeError)
  })

  await t.test('publish returns epoch-based ids; stats counts', () => {
    const a = server.publish('ids', 'one')
    const b = server.publish('ids', Buffer.from([1, 2, 3]))
    const c = server.publish('ids', new Uint8Array([4]))
    assert.equal(a, `${server.epoch}-1`)
    assert.equal(b, `${server.epoch}-2`)
    assert.equal(c, `${server.epoch}-3`)
    const st = server.stats()
    assert.equal(typeof st.connections, 'number')
    assert.deepEqual(st.channels.ids, { name: 'ids', published: 3, history: 3, subscribers: 0 })
  })

  await t.test('rtwire WebSocket client: receives publishes, its sends are published as-is', async () => {
    const conn = await connect(wsUrl(server, 'chat'), { reconnect: false })
    assert.equal(conn.transport, 'websocket')
    await until(() => server.stats().channels.chat?.subscribers === 1, 5000, 'subscriber')
    const heard = []
    const onMessage = (channel, data) => heard.push([channel, data])
    server.on('message', onMessage)
    server.publish('chat', 'from server')
    const [m1] = await take(conn, 1)
    assert.deepEqual([m1.data, m1.binary], ['from server', false])
    const echoed = take(conn, 2)
    await conn.send('from client')
    await conn.send(Buffer.from([9, 8, 7]))
    const [m2, m3] = await echoed
    assert.equal(m2.data, 'from client')
    assert.equal(m3.binary, true)
    assert.deepEqual([...m3.data], [9, 8, 7])
    await until(() => heard.length === 2, 5000, 'message events')
    assert.deepEqual(heard[0], ['chat', 'from client'])
    assert.equal(heard[1][0], 'chat')
    assert.ok(Buffer.isBuffer(heard[1][1]))
    assert.deepEqual([...heard[1][1]], [9, 8, 7])
    server.off('message', onMessage)
    await conn.close()
  })

  await t.test('the ws package as a client', async () => {
    const ws = new NodeWebSocket(wsUrl(server, 'wsclient'))
    await once(ws, 'open')
    await until(() => server.stats().channels.wsclient?.subscribers === 1, 5000, 'subscriber')
    const got = []
    ws.on('message', (data, isBinary) => got.push(isBinary ? [...data] : data.toString()))
    server.publish('wsclient', 'hello ws')
    server.publish('wsclient', Buffer.from([1, 2]))
    ws.send('echoed')
    await until(() => got.length === 3, 5000, 'three messages')
    assert.deepEqual(got, ['hello ws', [1, 2], 'echoed'])
    ws.close(1000)
    const [code] = await once(ws, 'close')
    assert.equal(code, 1000)
  })

  await t.test('close() is graceful: WebSocket clients get 1001', async () => {
    const other = await serve()
    const ws = new NodeWebSocket(wsUrl(other, 'bye'))
    await once(ws, 'open')
    const closing = once(ws, 'close')
    const closeEvent = waitEvent(other, 'close')
    const p = other.close()
    assert.equal(other.close(), p)
    assert.equal(other.closed, true)
    await p
    await closeEvent
    const [code] = await closing
    assert.equal(code, 1001)
    assert.throws(() => other.publish('bye', 'x'), (e) => e instanceof RtwireError && e.code === 'ERR_RTWIRE_CLOSED')
    assert.throws(() => other.stats(), { code: 'ERR_RTWIRE_CLOSED' })
    assert.throws(() => other.disconnectAll(), { code: 'ERR_RTWIRE_CLOSED' })
  })

  await t.test('publishReceived: false reports messages without publishing them', async () => {
    const quiet = await serve({ publishReceived: false })
    try {
      const heard = []
      quiet.on('message', (channel, data) => {
        heard.push(data)
        quiet.publish(channel, `seen: ${data}`)
      })
      const conn = await connect(wsUrl(quiet, 'q'), { reconnect: false })
      await until(() => quiet.stats().channels.q?.subscribers === 1, 5000, 'subscriber')
      const reply = take(conn, 1)
      await conn.send('a')
      const [m] = await reply
      assert.equal(m.data, 'seen: a')
      assert.deepEqual(heard, ['a'])
      assert.equal(quiet.stats().channels.q.published, 1)
      await conn.close()
    } finally {
      await quiet.close()
    }
  })

  await t.test('token: refused without it, accepted with it', async () => {
    const guarded = await serve({ token: 's3cret' })
    try {
      await assert.rejects(connect(wsUrl(guarded, 'g'), { reconnect: false }),
        (e) => e.code === 'ERR_RTWIRE_HANDSHAKE' && e.status === 401)
      const conn = await connect(wsUrl(guarded, 'g'), { reconnect: false, headers: { authorization: 'Bearer s3cret' } })
      await conn.close()
    } finally {
      await guarded.close()
    }
  })

  await t.test('TLS: wss for rtwire and ws clients trusting the CA', async () => {
    const tls = await tlsMaterial()
    const fs = require('node:fs')
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'rtwire-srv-tls-'))
    const certFile = path.join(dir, 'cert.pem')
    const keyFile = path.join(dir, 'key.pem')
    fs.writeFileSync(certFile, tls.cert)
    fs.writeFileSync(keyFile, tls.key)
    const secure = await serve({ tlsCert: certFile, tlsKey: keyFile })
    try {
      assert.match(secure.url, /^https:\/\/127\.0\.0\.1:\d+$/)
      const url = `${secure.url.replace(/^https/, 'wss')}/ws/sec`
      const conn = await connect(url, { ca: tls.caPem, reconnect: false })
      const got = take(conn, 1)
      secure.publish('sec', 'over tls')
      assert.equal((await got)[0].data, 'over tls')
      await conn.close()
      // The ws package trusting the same CA.
      const peer = new NodeWebSocket(url, { ca: tls.caPem })
      await once(peer, 'open')
      const msg = once(peer, 'message')
      secure.publish('sec', 'to ws')
      assert.equal(String((await msg)[0]), 'to ws')
      peer.close()
      // Without the CA the certificate is not trusted.
      await assert.rejects(connect(url, { reconnect: false }), { code: 'ERR_RTWIRE_TLS' })
    } finally {
      await secure.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  await t.test('allowedOrigins: WebSocket handshakes from other origins get 403', async () => {
    const strict = await serve({ allowedOrigins: ['https://app.example'] })
    try {
      const url = wsUrl(strict, 'o')
      await assert.rejects(connect(url, { reconnect: false, origin: 'https://evil.example' }),
        (e) => e.code === 'ERR_RTWIRE_HANDSHAKE' && e.status === 403)
      await assert.rejects(connect(url, { reconnect: false }),
        (e) => e.code === 'ERR_RTWIRE_HANDSHAKE' && e.status === 403)
      const conn = await connect(url, { reconnect: false, origin: 'https://app.example' })
      await conn.close()
      // The ws package: refused with 403 unless its origin is allowed.
      const bad = new NodeWebSocket(url, { origin: 'https://evil.example' })
      const [, res] = await once(bad, 'unexpected-response')
      assert.equal(res.statusCode, 403)
      res.destroy()
      const good = new NodeWebSocket(url, { origin: 'https://app.example' })
      await once(good, 'open')
      good.close()
    } finally {
      await strict.close()
    }
  })

  await t.test('cors: HTTP responses carry Access-Control-Allow-Origin only when on', async () => {
    const open = await serve({ cors: true })
    const closed = await serve({ cors: false })
    try {
      open.publish('c', 'x')
      closed.publish('c', 'x')
      const withCors = await fetch(`${open.url}/latest/c`, { headers: { origin: 'https://app.example' } })
      assert.equal(withCors.status, 200)
      assert.equal(withCors.headers.get('access-control-allow-origin'), '*')
      assert.match(withCors.headers.get('access-control-allow-headers') || '', /last-event-id/)
      await withCors.arrayBuffer()
      const without = await fetch(`${closed.url}/latest/c`, { headers: { origin: 'https://app.example' } })
      assert.equal(without.status, 200)
      assert.equal(without.headers.get('access-control-allow-origin'), null)
      await without.arrayBuffer()
    } finally {
      await open.close()
      await closed.close()
    }
  })

  await t.test('a port in use rejects with an RtwireError', async () => {
    await assert.rejects(serve({ port: server.port }), (e) => e instanceof RtwireError && e.code === 'ERR_RTWIRE_CONNECT')
  })
})

test('serve() and Server arguments', { timeout: 30000 }, async (t) => {
  const bad = [
    ['x', TypeError, /"options"/],
    [{ host: 1 }, TypeError, /"options\.host"/],
    [{ port: '80' }, TypeError, /"options\.port"/],
    [{ port: -1 }, RangeError, /"options\.port"/],
    [{ port: 65536 }, RangeError, /"options\.port"/],
    [{ port: 1.5 }, RangeError, /"options\.port"/],
    [{ history: 0 }, RangeError, /"options\.history"/],
    [{ history: '10' }, TypeError, /"options\.history"/],
    [{ clientQueue: 0 }, RangeError, /"options\.clientQueue"/],
    [{ token: 5 }, TypeError, /"options\.token"/],
    [{ token: '' }, RangeError, /"options\.token"/],
    [{ cors: 'yes' }, TypeError, /"options\.cors"/],
    [{ allowedOrigins: 'https://a' }, TypeError, /"options\.allowedOrigins"/],
    [{ allowedOrigins: [1] }, TypeError, /"options\.allowedOrigins\[0\]"/],
    [{ heartbeat: 0 }, RangeError, /"options\.heartbeat"/],
    [{ pingInterval: Infinity }, RangeError, /"options\.pingInterval"/],
    [{ tlsCert: '/tmp/cert.pem' }, TypeError, /"options\.tlsKey"/],
    [{ publishReceived: 1 }, TypeError, /"options\.publishReceived"/],
    [{ nope: 1 }, TypeError, /"nope"/]
  ]
  for (const [options, Err, re] of bad) {
    assert.throws(() => serve(options), (e) => e instanceof Err && re.test(e.message), JSON.stringify(options))
  }

  const server = await serve()
  t.after(() => server.close())
  assert.throws(() => server.publish(1, 'x'), (e) => e instanceof TypeError && /"channel"/.test(e.message))
  const badChannel = { name: 'RtwireError', code: 'ERR_RTWIRE_INVALID_ARGUMENT', message: /channel name/ }
  assert.throws(() => server.publish('a/b', 'x'), badChannel)
  assert.throws(() => server.publish('', 'x'), badChannel)
  assert.throws(() => server.publish('x'.repeat(129), Buffer.from('x')), badChannel)
  assert.throws(() => server.publish('ok', 5), (e) => e instanceof TypeError && /"data"/.test(e.message))
  assert.throws(() => server.publish('ok', { a: 1 }), TypeError)
  assert.equal(server.publish('ok', ''), `${server.epoch}-1`)
})

test('process lifetime', { timeout: 60000 }, async (t) => {
  await t.test('the process exits on its own after close()', async () => {
    const r = await runChild(`
      const { serve, connect } = require('.')
      ;(async () => {
        const server = await serve()
        server.on('message', () => {})
        const conn = await connect(server.url.replace('http', 'ws') + '/ws/x', { reconnect: false })
        await conn.send('hi')
        for await (const m of conn) { if (m.data === 'hi') break }
        await conn.close()
        await server.close()
        console.log('closed')
      })()
    `)
    assert.equal(r.timedOut, false, r.stderr)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'closed')
  })

  await t.test('an open server keeps the process alive; unref() lets it exit', async () => {
    const kept = await runChild(`
      require('.').serve().then(() => console.log('listening'))
    `, 1500)
    assert.equal(kept.timedOut, true)
    assert.equal(kept.stdout.trim(), 'listening')
    const r = await runChild(`
      require('.').serve().then((s) => { s.unref(); console.log('unref') })
    `)
    assert.equal(r.timedOut, false, r.stderr)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'unref')
  })
})

test('serve() options are the server schema', async () => {
  const native = require('../binding.js')
  const names = native.serverOptionSchema().map((s) => s.node).filter((n) => n)
  for (const n of ['history', 'clientQueue', 'maxConnections', 'maxPerIp', 'idleTimeout', 'slowConsumer']) {
    assert.ok(names.includes(n), n)
  }
  // The core's refusal: a RangeError with its kind's code and its message.
  const cases = [
    [{ history: 0 }, '"options.history"', 'history must be at least 1 and at most 1073741824, got 0'],
    [{ clientQueue: 1.5 }, '"options.clientQueue"', 'client_queue must be a whole number, got 1.5'],
    [{ token: 'a b' }, '"options.token"', 'token must be non-empty, without spaces or control characters'],
    [{ slowConsumer: 'drop' }, '"options.slowConsumer"', 'slow_consumer must be one of disconnect, skip, got "drop"'],
    [{ maxPerIp: 0 }, '"options.maxPerIp"', 'max_per_ip must be at least 1, got 0']
  ]
  for (const [options, where, message] of cases) {
    assert.throws(() => serve(options), (e) => e instanceof RangeError && e.code === 'ERR_RTWIRE_INVALID_ARGUMENT' &&
      e.message.includes(where) && e.message.endsWith(message), JSON.stringify(options))
  }
  const server = await serve({ maxConnections: 10, maxPerIp: 2, slowConsumer: 'skip', allowedOrigins: ['https://a.example'], idleTimeout: null })
  assert.ok(server.port > 0)
  await server.close()
  const unlimited = await serve({ maxPerIp: Infinity })
  await unlimited.close()
})
