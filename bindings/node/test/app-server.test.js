'use strict'
// The application server: `serve({ path })` hands every WebSocket client of
// the route to `connection` listeners as a `Connection` (the class
// `connect()` gives), with its request; `authenticate` runs before the
// upgrade. Driven by the third-party `ws` client and by rtwire's own.
// Everything listens on 127.0.0.1 with port 0.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { once } = require('node:events')
const NodeWebSocket = require('ws')
const rtwire = require('..')
const { connect, serve, Connection } = rtwire

/** Resolves with the arguments of the first `name` event of `emitter`, or rejects after `ms`. */
function waitEvent (emitter, name, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${name}" within ${ms} ms`)), ms)
    emitter.once(name, (...args) => {
      clearTimeout(timer)
      resolve(args)
    })
  })
}

const PKG = path.resolve(__dirname, '..')

const wsBase = (server) => server.url.replace(/^http/, 'ws')

/** A `ws` client, open. */
async function wsClient (url, protocols, options) {
  const ws = new NodeWebSocket(url, protocols, options)
  await waitEvent(ws, 'open')
  return ws
}

/** The next message of a `ws` client as `[data, isBinary]`. */
function nextWs (ws) {
  return waitEvent(ws, 'message')
}

/** An echo server at `/echo`, closed after the test. */
async function echoServer (t, options = {}) {
  const server = await serve({ port: 0, path: '/echo', ...options })
  t.after(() => server.close())
  server.on('connection', (conn) => {
    conn.on('message', (m) => { conn.send(m.data).catch(() => {}) })
  })
  return server
}

test('echo: text and binary, with the ws client', async (t) => {
  const server = await echoServer(t)
  const ws = await wsClient(`${wsBase(server)}/echo`)
  t.after(() => ws.terminate())
  ws.send('hello')
  let [data, binary] = await nextWs(ws)
  assert.equal(binary, false)
  assert.equal(data.toString(), 'hello')
  ws.send(Buffer.from([0, 1, 2, 255]))
  ;[data, binary] = await nextWs(ws)
  assert.equal(binary, true)
  assert.deepEqual([...data], [0, 1, 2, 255])
})

test('echo: text and binary, with the rtwire client', async (t) => {
  const server = await echoServer(t)
  const conn = await connect(`${wsBase(server)}/echo`, { reconnect: false })
  t.after(() => conn.close())
  await conn.send('héllo')
  let [m] = await once(conn, 'message')
  assert.equal(m.data, 'héllo')
  assert.equal(m.binary, false)
  await conn.send(new Uint8Array([9, 8, 7]))
  ;[m] = await once(conn, 'message')
  assert.equal(m.binary, true)
  assert.deepEqual([...m.data], [9, 8, 7])
})

test('connection: a Connection and the request (path, query, headers, protocol, peer)', async (t) => {
  const server = await serve({ port: 0, path: '/chat', protocols: ['chat.v1', 'chat.v2'] })
  t.after(() => server.close())
  const got = waitEvent(server, 'connection')
  const ws = await wsClient(`${wsBase(server)}/chat?room=a%20b&x=1`, ['chat.v0', 'chat.v2'], { headers: { 'X-Test': 'yes' } })
  t.after(() => ws.terminate())
  assert.equal(ws.protocol, 'chat.v2')
  const [conn, req] = await got
  assert.ok(conn instanceof Connection)
  assert.equal(conn.transport, 'websocket')
  assert.equal(conn.protocol, 'chat.v2')
  assert.equal(conn.state, 'open')
  assert.equal(req.path, '/chat')
  assert.equal(req.query, 'room=a%20b&x=1')
  assert.equal(new URLSearchParams(req.query).get('room'), 'a b')
  assert.equal(req.headers['x-test'], 'yes')
  assert.equal(req.headers['sec-websocket-protocol'].replace(/ /g, ''), 'chat.v0,chat.v2')
  assert.equal(req.protocol, 'chat.v2')
  assert.equal(req.peer.address, '127.0.0.1')
  assert.equal(typeof req.peer.port, 'number')
  assert.equal(typeof req.id, 'number')
  for (const k of Object.keys(req.headers)) assert.equal(k, k.toLowerCase())

  // A client offering none of the route's protocols gets none.
  const got2 = waitEvent(server, 'connection')
  const plain = await wsClient(`${wsBase(server)}/chat`)
  t.after(() => plain.terminate())
  const [, req2] = await got2
  assert.equal(req2.protocol, null)
  assert.equal(req2.query, '')
})

test('send to one: two clients, each gets only what is sent to it', async (t) => {
  const server = await serve({ port: 0, path: '/room' })
  t.after(() => server.close())
  const byName = new Map()
  server.on('connection', (conn, req) => {
    byName.set(new URLSearchParams(req.query).get('name'), conn)
    // "to:name text" goes to that client only
    conn.on('message', (m) => {
      const [, to, text] = /^to:(\w+) (.*)$/.exec(m.data)
      byName.get(to).send(`${new URLSearchParams(req.query).get('name')}: ${text}`)
    })
  })
  const alice = await wsClient(`${wsBase(server)}/room?name=alice`)
  const bob = await connect(`${wsBase(server)}/room?name=bob`, { reconnect: false })
  t.after(() => { alice.terminate(); bob.close() })
  while (byName.size < 2) await new Promise((resolve) => setTimeout(resolve, 5))
  const aliceGot = []
  const bobGot = []
  alice.on('message', (d) => aliceGot.push(d.toString()))
  bob.on('message', (m) => bobGot.push(m.data))
  alice.send('to:bob hi bob')
  await bob.send('to:alice hi alice')
  await bob.send('to:bob note to self')
  while (aliceGot.length < 1 || bobGot.length < 2) await new Promise((resolve) => setTimeout(resolve, 5))
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(aliceGot, ['bob: hi alice'])
  assert.deepEqual(bobGot.sort(), ['alice: hi bob', 'bob: note to self'])
})

test('server.close(): route clients see 1001; server-side connections close', async (t) => {
  const server = await echoServer(t)
  const serverSide = []
  server.on('connection', (conn) => serverSide.push(conn))
  const ws = await wsClient(`${wsBase(server)}/echo`)
  const conn = await connect(`${wsBase(server)}/echo`, { reconnect: false })
  while (serverSide.length < 2) await new Promise((resolve) => setTimeout(resolve, 5))
  const wsClosed = waitEvent(ws, 'close')
  await server.close()
  const [code] = await wsClosed
  assert.equal(code, 1001)
  const info = await conn.closed
  assert.equal(info.code, 1001)
  for (const c of serverSide) {
    const i = await c.closed
    assert.equal(i.code, 1001)
    assert.equal(c.state, 'closed')
  }
})

test('a client closing is seen by the server-side connection', async (t) => {
  const server = await serve({ port: 0, path: '/x' })
  t.after(() => server.close())
  const got = waitEvent(server, 'connection')
  const ws = await wsClient(`${wsBase(server)}/x`)
  const [conn] = await got
  ws.close(4000, 'bye')
  const info = await conn.closed
  assert.equal(info.code, 4000)
  assert.equal(info.reason, 'bye')
})

test('the server side closes: the client sees its code and reason', async (t) => {
  const server = await serve({ port: 0, path: '/x' })
  t.after(() => server.close())
  server.on('connection', (conn) => { conn.send('bye').then(() => conn.close(4001, 'done')) })
  const ws = new NodeWebSocket(`${wsBase(server)}/x`)
  const msgs = []
  ws.on('message', (d) => msgs.push(d.toString()))
  const [code, reason] = await waitEvent(ws, 'close')
  assert.equal(code, 4001)
  assert.equal(reason.toString(), 'done')
  assert.deepEqual(msgs, ['bye'])
})

test('no connection listener: the client is closed with 1001', async (t) => {
  const server = await serve({ port: 0, path: '/nobody' })
  t.after(() => server.close())
  const ws = new NodeWebSocket(`${wsBase(server)}/nobody`)
  const [code] = await waitEvent(ws, 'close')
  assert.equal(code, 1001)
})

test('authenticate: refusing with 401 and a body', async (t) => {
  const seen = []
  const server = await echoServer(t, {
    authenticate: async (req) => {
      seen.push(req)
      await new Promise((resolve) => setTimeout(resolve, 5))
      return new URLSearchParams(req.query).get('user') === 'ann' ? true : { status: 401, body: 'who are you?' }
    }
  })
  await assert.rejects(connect(`${wsBase(server)}/echo?user=bob`, { reconnect: false }), (e) => {
    assert.equal(e.code, 'ERR_RTWIRE_HANDSHAKE')
    assert.equal(e.status, 401)
    assert.equal(Buffer.from(e.body).toString(), 'who are you?')
    return true
  })
  assert.equal(seen[0].path, '/echo')
  assert.equal(seen[0].query, 'user=bob')
  assert.equal(seen[0].protocol, null)
  assert.equal(seen[0].peer.address, '127.0.0.1')

  const bad = new NodeWebSocket(`${wsBase(server)}/echo`)
  const [, res] = await waitEvent(bad, 'unexpected-response')
  assert.equal(res.statusCode, 401)
  res.destroy()

  const conn = await connect(`${wsBase(server)}/echo?user=ann`, { reconnect: false })
  t.after(() => conn.close())
  await conn.send('in')
  const [m] = await once(conn, 'message')
  assert.equal(m.data, 'in')
})

test('authenticate: false is 401, undefined accepts, a throw is 500, a custom status', async (t) => {
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  const server = await echoServer(t, {
    authenticate: (req) => {
      const mode = new URLSearchParams(req.query).get('mode')
      if (mode === 'false') return false
      if (mode === 'throw') throw new Error('boom')
      if (mode === 'reject') return Promise.reject(new Error('async boom'))
      if (mode === 'teapot') return { status: 429, body: 'slow down' }
      return undefined
    }
  })
  const status = async (mode) => {
    try {
      const c = await connect(`${wsBase(server)}/echo?mode=${mode}`, { reconnect: false })
      await c.close()
      return 'open'
    } catch (e) {
      assert.equal(e.code, 'ERR_RTWIRE_HANDSHAKE')
      return e.status
    }
  }
  assert.equal(await status('false'), 401)
  assert.equal(await status('throw'), 500)
  assert.equal(await status('reject'), 500)
  assert.equal(await status('teapot'), 429)
  assert.equal(await status('ok'), 'open')
  await new Promise((resolve) => setImmediate(resolve))
  const ours = warnings.filter((w) => w.code === 'RTWIRE_AUTHENTICATE_ERROR')
  assert.ok(ours.some((w) => w.message.includes('Error: boom')))
  assert.ok(ours.some((w) => w.message.includes('Error: async boom')))
})

test('the channel server keeps working on the same port', async (t) => {
  const server = await echoServer(t)
  const conn = await connect(`${wsBase(server)}/ws/news`, { reconnect: false })
  t.after(() => conn.close())
  const got = once(conn, 'message')
  await new Promise((resolve) => setTimeout(resolve, 50))
  server.publish('news', 'extra')
  const [m] = await got
  assert.equal(m.data, 'extra')
  const echo = await wsClient(`${wsBase(server)}/echo`)
  t.after(() => echo.terminate())
  echo.send('still here')
  const [d] = await nextWs(echo)
  assert.equal(d.toString(), 'still here')
})

test('server-side connections: iteration and backpressure-aware send', async (t) => {
  const server = await serve({ port: 0, path: '/iter' })
  t.after(() => server.close())
  const done = new Promise((resolve, reject) => {
    server.on('connection', async (conn) => {
      try {
        const got = []
        for await (const m of conn) {
          got.push(m.data)
          if (got.length === 3) break
        }
        await conn.send(got.join(','))
        resolve(got)
      } catch (e) { reject(e) }
    })
  })
  const ws = await wsClient(`${wsBase(server)}/iter`)
  t.after(() => ws.terminate())
  ws.send('a'); ws.send('b'); ws.send('c')
  assert.deepEqual(await done, ['a', 'b', 'c'])
  const [d] = await nextWs(ws)
  assert.equal(d.toString(), 'a,b,c')
})

test('arguments: path, protocols, authenticate', async () => {
  assert.throws(() => serve({ path: 'chat' }), RangeError)
  assert.throws(() => serve({ path: 5 }), TypeError)
  assert.throws(() => serve({ protocols: ['a'] }), TypeError)
  assert.throws(() => serve({ path: '/a', protocols: 'a' }), TypeError)
  assert.throws(() => serve({ path: '/a', protocols: [''] }), RangeError)
  assert.throws(() => serve({ path: '/a', authenticate: true }), TypeError)
})

test('runtime mode (RTWIRE_NODE_LOOP_IO=0): echo both ways', async () => {
  const script = `
    const rtwire = require(${JSON.stringify(PKG)})
    ;(async () => {
      const server = await rtwire.serve({ port: 0, path: '/e' })
      server.on('connection', (conn) => conn.on('message', (m) => conn.send(m.data)))
      const c = await rtwire.connect(server.url.replace('http', 'ws') + '/e', { reconnect: false })
      await c.send('ping')
      const m = await new Promise((resolve) => c.once('message', resolve))
      const closed = c.closed
      await server.close()
      process.stdout.write(m.data + ' ' + (await closed).code)
    })()
  `
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, RTWIRE_NODE_LOOP_IO: '0' } })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { out += d })
  const [code] = await once(child, 'exit')
  assert.equal(code, 0, out)
  assert.equal(out, 'ping 1001')
})

/** A chat at `/chat`: joins `?room=`, tells the client its id, sends each message to the rest of the room. */
async function chatServer (t, options = {}) {
  const server = await serve({ port: 0, path: '/chat', ...options })
  t.after(() => server.close())
  server.on('connection', (conn, req) => {
    const room = new URLSearchParams(req.query).get('room') ?? 'lobby'
    assert.equal(conn.join(room), true)
    assert.equal(conn.join(room), false)
    conn.send(`id ${conn.id}`).catch(() => {})
    conn.on('message', (m) => {
      if (m.data === '/rooms') conn.send(conn.rooms.join(',')).catch(() => {})
      else server.to(room).except(conn).send(m.data)
    })
  })
  return server
}

test('rooms: a message reaches the rest of its room only; to all, except, members', async (t) => {
  const server = await chatServer(t)
  const url = `${wsBase(server)}/chat`
  const clients = []
  for (const room of ['a', 'a', 'b']) {
    const ws = new NodeWebSocket(`${url}?room=${room}`)
    t.after(() => ws.terminate())
    // Listening from the start: the id may come with the handshake.
    const [first] = await nextWs(ws)
    clients.push({ ws, id: Number(first.toString().split(' ')[1]) })
  }
  const [a1, a2, b1] = clients
  assert.deepEqual(server.members('a'), [a1.id, a2.id])
  assert.deepEqual(server.rooms, ['a', 'b'])
  a1.ws.send('hi a')
  assert.equal((await nextWs(a2.ws))[0].toString(), 'hi a')
  // Everybody's next message is this one: b1 never got room a's, a1 never its own.
  const nexts = clients.map((c) => nextWs(c.ws))
  assert.equal(server.all().send(Buffer.from('all')), 3)
  for (const [data, binary] of await Promise.all(nexts)) {
    assert.equal(binary, true)
    assert.equal(data.toString(), 'all')
  }
  assert.equal(server.to('a').except(a2.id).send('not a2'), 1)
  assert.equal((await nextWs(a1.ws))[0].toString(), 'not a2')
  b1.ws.send('/rooms')
  assert.equal((await nextWs(b1.ws))[0].toString(), 'b')
  assert.throws(() => server.to(5), TypeError)
  assert.throws(() => server.to('a').except('x'), TypeError)
  a2.ws.close()
  for (let i = 0; i < 100 && server.members('a').length !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual(server.members('a'), [a1.id], 'a closed connection leaves its rooms')
})

test('rooms: the connection class, bad room names, slowConsumer checked', async (t) => {
  let seen = null
  const server = await serve({ port: 0, path: '/r', sendQueueBytes: 1 << 16, slowConsumer: 'skip' })
  t.after(() => server.close())
  server.on('connection', (conn) => { seen = conn; conn.on('message', () => {}) })
  const c = await connect(`${wsBase(server)}/r`, { reconnect: false })
  t.after(() => c.close())
  for (let i = 0; i < 100 && seen === null; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.ok(seen instanceof rtwire.ServerConnection)
  assert.ok(seen instanceof Connection)
  assert.throws(() => seen.join(''), (e) => e.code === 'ERR_RTWIRE_INVALID_ARGUMENT')
  assert.throws(() => serve({ slowConsumer: 'drop' }), RangeError)
})

test('authenticate: { user } reaches req.user of the route connection', async (t) => {
  const users = { 't-ada': { name: 'ada' } }
  const server = await serve({
    port: 0,
    path: '/me',
    authenticate: async (req) => {
      const u = users[new URLSearchParams(req.query).get('token')]
      return u === undefined ? { status: 403, body: 'no such token' } : { user: u }
    }
  })
  t.after(() => server.close())
  server.on('connection', (conn, req) => { conn.send(`hello ${req.user.name}`).catch(() => {}) })
  const ws = new NodeWebSocket(`${wsBase(server)}/me?token=t-ada`)
  t.after(() => ws.terminate())
  // Listening from the start: the greeting may come with the handshake.
  const [greeting] = await nextWs(ws)
  assert.equal(greeting.toString(), 'hello ada')
  await assert.rejects(connect(`${wsBase(server)}/me?token=x`, { reconnect: false }), (e) => e.status === 403)
})

test('one route over WebSocket, SSE (the eventsource package) and fetch long polling, POST up', async (t) => {
  const { EventSource } = require('eventsource')
  const server = await serve({ port: 0, path: '/chat' })
  t.after(() => server.close())
  const transports = []
  server.on('connection', (conn) => {
    conn.join('all')
    transports.push(conn.transport)
    conn.on('message', (m) => {
      if (m.data === 'bye') {
        conn.close(4000, 'as asked')
        return
      }
      conn.send(`echo ${conn.transport}: ${m.data}`).catch(() => {})
      server.to('all').except(conn).send(`${conn.id}: ${m.data}`)
    })
  })
  const base = server.url
  const post = async (send, body) => (await fetch(base + send, { method: 'POST', body })).status

  // SSE: the session event names where to POST.
  const es = new EventSource(`${base}/chat?transport=sse`)
  t.after(() => es.close())
  const sseMessages = []
  let wake = () => {}
  es.onmessage = (e) => { sseMessages.push(e.data); wake() }
  const nextSse = async () => {
    for (let i = 0; i < 100 && sseMessages.length === 0; i++) {
      await new Promise((resolve) => { wake = resolve; setTimeout(resolve, 50) })
    }
    assert.ok(sseMessages.length > 0, 'an SSE message came')
    return sseMessages.shift()
  }
  const session = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no rtwire.session event')), 5000)
    es.addEventListener('rtwire.session', (e) => { clearTimeout(timer); resolve(e) }, { once: true })
  })
  const sseSend = JSON.parse(session.data).send

  // Long polling with fetch.
  const first = await (await fetch(`${base}/chat?transport=poll`)).json()
  assert.match(first.sid, /^[0-9a-f]{32}$/)
  const poll = async () => {
    const r = await fetch(`${base}/chat?transport=poll&sid=${first.sid}&wait=5`)
    assert.equal(r.status, 200)
    return (await r.json()).messages
  }

  const ws = await wsClient(`${wsBase(server)}/chat`)
  t.after(() => ws.terminate())
  for (let i = 0; i < 100 && server.members('all').length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual([...transports].sort(), ['long_poll', 'sse', 'websocket'])

  ws.send('from ws')
  assert.equal((await nextWs(ws))[0].toString(), 'echo websocket: from ws')
  assert.match(await nextSse(), /: from ws$/)
  assert.match((await poll())[0], /: from ws$/)

  assert.equal(await post(sseSend, 'from sse'), 204)
  assert.equal(await nextSse(), 'echo sse: from sse')
  assert.match((await nextWs(ws))[0].toString(), /: from sse$/)
  assert.match((await poll())[0], /: from sse$/)
  assert.equal(await post(first.send, 'from poll'), 204)
  assert.deepEqual(await poll(), ['echo long_poll: from poll'])
  assert.match((await nextWs(ws))[0].toString(), /: from poll$/)
  assert.match(await nextSse(), /: from poll$/)

  // The server closes the polling session: the close comes in a poll answer.
  assert.equal(await post(first.send, 'bye'), 204)
  let closed
  for (let i = 0; i < 10 && closed === undefined; i++) {
    const r = await fetch(`${base}/chat?transport=poll&sid=${first.sid}&wait=5`)
    if (r.status === 404) break
    closed = (await r.json()).close
  }
  assert.deepEqual(closed, { code: 4000, reason: 'as asked' })
  for (let i = 0; i < 100 && (await post(first.send, 'late')) !== 404; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.equal(await post(first.send, 'late'), 404)
})

test('idleTimeout: a silent client is closed with 1001, a talking one stays', async (t) => {
  const server = await echoServer(t, { idleTimeout: 300 })
  const quiet = await wsClient(`${wsBase(server)}/echo`)
  const talker = await wsClient(`${wsBase(server)}/echo`)
  t.after(() => { quiet.terminate(); talker.terminate() })
  const closed = waitEvent(quiet, 'close', 5000)
  for (let i = 0; i < 8; i++) {
    talker.send(`${i}`)
    assert.equal((await nextWs(talker))[0].toString(), `${i}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const [code, reason] = await closed
  assert.equal(code, 1001)
  assert.equal(reason.toString(), 'idle timeout')
  talker.send('still')
  assert.equal((await nextWs(talker))[0].toString(), 'still')
  assert.throws(() => serve({ idleTimeout: 0 }), RangeError)
})

test('rtwire clients: a route over SSE sends by itself; auto falls back when the upgrade is refused', async (t) => {
  const server = await echoServer(t, { allowedOrigins: ['http://good.example'] })
  const sse = await connect(`${server.url}/echo?transport=sse`, { transport: 'sse', reconnect: false })
  t.after(() => sse.close())
  const echoed = waitEvent(sse, 'message')
  await sse.send('over sse')
  assert.equal((await echoed)[0].data, 'over sse')
  const auto = await connect(`${server.url}/echo`, {
    transport: 'auto', reconnect: false, headers: { Origin: 'http://evil.example' }
  })
  t.after(() => auto.close())
  assert.equal(auto.transport, 'sse')
  const back = waitEvent(auto, 'message')
  await auto.send('fell back')
  assert.equal((await back)[0].data, 'fell back')
})
