'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { connect, Connection, RtwireError, errorCodes } = require('..')
const native = require('../binding.js')
const { wsServer, waitEvent, until } = require('./helpers.js')

test('connection', { timeout: 60000 }, async (t) => {
  const srv = await wsServer()
  t.after(() => srv.close())

  await t.test('open info and text/binary echo', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    assert.ok(conn instanceof Connection)
    assert.equal(conn.transport, 'websocket')
    assert.equal(conn.url, srv.url)
    assert.equal(conn.state, 'open')
    const opened = waitEvent(conn, 'open')
    await conn.send('héllo ✓')
    await conn.send(Buffer.from([0, 1, 2, 255]))
    await conn.send(new Uint16Array([1, 2]))
    await conn.send(new ArrayBuffer(3))
    const info = await opened
    assert.equal(info.transport, 'websocket')
    assert.equal(typeof info.headers, 'object')
    const got = []
    for await (const msg of conn) {
      got.push(msg)
      if (got.length === 4) break
    }
    assert.deepEqual(got[0], { data: 'héllo ✓', binary: false, event: undefined, id: undefined })
    assert.ok(Buffer.isBuffer(got[1].data))
    assert.deepEqual([...got[1].data], [0, 1, 2, 255])
    assert.equal(got[1].binary, true)
    assert.deepEqual([...got[2].data], [1, 0, 2, 0])
    assert.deepEqual([...got[3].data], [0, 0, 0])
    const closed = await conn.close(1000, 'done')
    assert.deepEqual(closed, { code: 1000, reason: 'done', clean: true, unsent: [] })
    assert.equal(conn.state, 'closed')
  })

  await t.test('an offset Buffer slice sends exactly its bytes', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    const big = Buffer.from('0123456789')
    const slice = big.subarray(3, 6)
    const p = waitEvent(conn, 'message')
    await conn.send(slice)
    assert.equal((await p).data.toString(), '345')
    await conn.close()
  })

  await t.test('large messages: 8 MiB binary and 2 MiB text', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    const bin = Buffer.alloc(8 << 20)
    for (let i = 0; i < bin.length; i += 4096) bin[i] = i & 0xff
    const text = 'x'.repeat(2 << 20)
    await conn.send(bin)
    await conn.send(text)
    const it = conn[Symbol.asyncIterator]()
    const a = (await it.next()).value
    const b = (await it.next()).value
    assert.ok(a.data.equals(bin))
    assert.equal(b.data, text)
    await conn.close()
  })

  await t.test('close codes both ways', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    await conn.close(4000, 'bye')
    await until(() => srv.state.closes.some((c) => c.code === 4000 && c.reason === 'bye'), 5000, 'server close 4000')

    const c2 = await connect(srv.url, { reconnect: false })
    const closed = waitEvent(c2, 'close')
    await c2.send('close:4001:server says bye')
    const info = await closed
    assert.equal(info.code, 4001)
    assert.equal(info.reason, 'server says bye')
    assert.equal(info.clean, true)
  })

  await t.test('close argument checks', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    assert.throws(() => conn.close(1005), (e) => e instanceof RtwireError && e.code === 'ERR_RTWIRE_INVALID_ARGUMENT')
    assert.throws(() => conn.close(1000, 'x'.repeat(124)), { code: 'ERR_RTWIRE_INVALID_ARGUMENT' })
    assert.throws(() => conn.close(70000), RangeError)
    assert.throws(() => conn.close(1000.5), RangeError)
    assert.throws(() => conn.close('1000'), TypeError)
    assert.throws(() => conn.close(1000, new Uint8Array(3)), { name: 'TypeError', message: /"reason"/ })
    assert.equal(conn.state, 'open')
    await conn.close()
  })

  await t.test('use after close', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    const first = await conn.close()
    const again = await conn.close(4000, 'ignored')
    assert.deepEqual(again, first)
    await assert.rejects(conn.send('late'), (e) => e instanceof RtwireError && e.code === 'ERR_RTWIRE_CLOSED' && e.unsent === 'late')
    await assert.rejects(conn.send(Buffer.from('late')), { code: 'ERR_RTWIRE_CLOSED' })
    // Iteration after the end finishes at once.
    const msgs = []
    for await (const m of conn) msgs.push(m)
    assert.equal(msgs.length, 0)
    // A fire-and-forget send after close is not an unhandled rejection.
    conn.send('ignored')
    await new Promise((resolve) => setImmediate(resolve))
  })

  await t.test('iteration throws when the close is not normal', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    await conn.send('close:4002:nope')
    await assert.rejects(async () => {
      for await (const m of conn) assert.fail(`unexpected ${m.data}`)
    }, (e) => e.code === 'ERR_RTWIRE_CLOSED' && e.closeCode === 4002)
  })

  await t.test('reconnect flushes sends queued meanwhile', async () => {
    const before = srv.state.connections
    const conn = await connect(srv.url, { reconnect: { initialDelay: 100, maxDelay: 200 } })
    const reconnecting = waitEvent(conn, 'reconnecting')
    const reopened = new Promise((resolve) => {
      let n = 0
      conn.on('open', () => { if (++n === 2) resolve() })
    })
    await conn.send('drop')
    const r = await reconnecting
    assert.equal(r.attempt, 1)
    assert.equal(typeof r.delay, 'number')
    assert.ok(r.error instanceof RtwireError)
    assert.equal(conn.state, 'reconnecting')
    await conn.send('queued 1')
    await conn.send('queued 2')
    await reopened
    const index = before + 1
    await until(() => (srv.state.received[index] || []).length >= 2, 5000, 'queued sends on the new session')
    assert.deepEqual(srv.state.received[index].slice(0, 2), ['queued 1', 'queued 2'])
    assert.equal(conn.state, 'open')
    await conn.close()
  })

  await t.test('handshake refused with a status', async () => {
    const refusing = await wsServer({ ws: { verifyClient: (_info, cb) => cb(false, 403, 'Forbidden') } })
    try {
      await assert.rejects(connect(refusing.url), (e) => {
        assert.ok(e instanceof RtwireError)
        assert.equal(e.code, 'ERR_RTWIRE_HANDSHAKE')
        assert.equal(e.kind, 'handshake')
        assert.equal(e.status, 403)
        assert.equal(typeof e.headers, 'object')
        return true
      })
    } finally {
      await refusing.close()
    }
  })

  await t.test('connect failures', async () => {
    await assert.rejects(connect('ws://127.0.0.1:1/'), { code: 'ERR_RTWIRE_CONNECT' })
    await assert.rejects(connect('ftp://example.invalid/'), { code: 'ERR_RTWIRE_INVALID_URL' })
    await assert.rejects(connect(srv.url, { maxMessageSize: 0 }), { code: 'ERR_RTWIRE_INVALID_ARGUMENT' })
    await assert.rejects(connect(srv.url, { transport: 'carrier-pigeon' }), { code: 'ERR_RTWIRE_INVALID_ARGUMENT' })
  })

  await t.test('too large incoming message', async () => {
    const conn = await connect(srv.url, { reconnect: false, maxMessageSize: 1024 })
    const errored = waitEvent(conn, 'error')
    const closed = waitEvent(conn, 'close')
    await conn.send(Buffer.alloc(4096))
    const e = await errored
    assert.equal(e.code, 'ERR_RTWIRE_TOO_LARGE')
    assert.equal((await closed).code, 1009)
  })

  await t.test('subprotocols and headers', async () => {
    const proto = await wsServer({ ws: { handleProtocols: (set) => (set.has('chat.v2') ? 'chat.v2' : false) } })
    try {
      const conn = await connect(proto.url, { protocols: ['chat.v1', 'chat.v2'], headers: { 'x-token': 'abc', 'x-multi': ['a', 'b'] }, reconnect: false })
      assert.equal(conn.protocol, 'chat.v2')
      assert.equal(proto.state.headers[0]['x-token'], 'abc')
      await conn.close()
    } finally {
      await proto.close()
    }
  })

  await t.test('a throwing listener becomes an error event, not an uncaught exception', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    const boom = new Error('listener failed')
    conn.on('message', () => { throw boom })
    const errored = waitEvent(conn, 'error')
    await conn.send('x')
    assert.equal(await errored, boom)
    await conn.close()
  })

  await t.test('backpressure: send waits when the queue is full, memory stays bounded', async () => {
    let peer
    const slow = await wsServer({ silent: true, onConnection: (s) => { peer = s; s._socket.pause() } })
    try {
      const conn = await connect(slow.url, { reconnect: false, sendQueueBytes: 64 << 10 })
      const chunk = Buffer.alloc(16 << 10)
      let pending = 0
      let waited = false
      for (let i = 0; i < 2000 && !waited; i++) {
        const p = conn.send(chunk)
        let settled = false
        p.then(() => { settled = true })
        await new Promise((resolve) => setImmediate(resolve))
        if (!settled) { waited = true; pending++ }
      }
      assert.ok(waited, 'send waited for room at some point')
      assert.ok(conn.bufferedAmount <= (64 << 10) + chunk.length, `bufferedAmount ${conn.bufferedAmount} is bounded`)
      peer._socket.resume()
      await conn.send('last')
      await conn.close()
    } finally {
      await slow.close()
    }
  })

  await t.test('pause() stops reading, resume() reads again', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    const got = []
    conn.on('message', (m) => got.push(m.data))
    await conn.send('a')
    await until(() => got.length === 1, 5000, 'first message')
    conn.pause()
    await conn.send('b')
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(got.length, 1)
    conn.resume()
    await until(() => got.length === 2, 5000, 'message after resume')
    await conn.close()
  })
})

test('every ErrorKind has its own code', () => {
  const kinds = native.errorKinds()
  assert.ok(kinds.length >= 13)
  const codes = new Set()
  for (const { kind, code } of kinds) {
    assert.equal(code, `ERR_RTWIRE_${kind.toUpperCase()}`)
    assert.ok(!codes.has(code), `duplicate ${code}`)
    codes.add(code)
    assert.equal(errorCodes[kind], code)
  }
  assert.deepEqual(Object.keys(errorCodes), kinds.map((k) => k.kind))
  for (const k of ['invalid_url', 'invalid_argument', 'connect', 'tls', 'handshake', 'protocol', 'too_large', 'timeout', 'closed', 'queue_full', 'unsupported', 'io', 'internal']) {
    assert.ok(k in errorCodes, k)
  }
})
