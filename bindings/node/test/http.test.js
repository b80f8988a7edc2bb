'use strict'
// rtwire's Node client over the HTTP transports of `serve()`: SSE (and its
// resume after disconnectAll()), long polling, NDJSON streaming, POST
// /publish and `auto` through /negotiate. 127.0.0.1 only.
const test = require('node:test')
const assert = require('node:assert/strict')
const { connect, serve } = require('..')
const { until } = require('./helpers.js')

const FAST = { reconnect: { initialDelay: 10, maxDelay: 100 } }

/** The next `n` messages of `conn`, failing after `ms`. */
function take (conn, n, ms = 10000) {
  const got = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(() => reject(new Error(`only ${got.length} of ${n} messages within ${ms} ms`))), ms)
    const onMessage = (m) => {
      got.push(m)
      if (got.length === n) done(() => resolve(got))
    }
    const done = (f) => {
      clearTimeout(timer)
      conn.off('message', onMessage)
      f()
    }
    conn.on('message', onMessage)
  })
}

test('HTTP transports of serve()', { timeout: 60000 }, async (t) => {
  const server = await serve({ host: '127.0.0.1', port: 0, history: 1000, longPollHold: 2000 })
  t.after(() => server.close())

  await t.test('SSE: ids are the message ids', async () => {
    const conn = await connect(`${server.url}/sse/news`, FAST)
    assert.equal(conn.transport, 'sse')
    await until(() => server.stats().channels.news?.subscribers === 1, 5000, 'subscriber')
    const pending = take(conn, 2)
    const ids = [server.publish('news', 'a'), server.publish('news', 'b')]
    const got = await pending
    assert.deepEqual(got.map((m) => m.data), ['a', 'b'])
    assert.deepEqual(got.map((m) => m.id), ids)
    await conn.close()
  })

  await t.test('SSE: disconnectAll() then resume with nothing lost or repeated', async () => {
    const conn = await connect(`${server.url}/sse/resume`, FAST)
    await until(() => server.stats().channels.resume?.subscribers === 1, 5000, 'subscriber')
    const reconnects = []
    conn.on('reconnecting', (info) => reconnects.push(info))
    const want = []
    for (let i = 0; i < 5; i++) want.push(`m${i}`)
    const firstP = take(conn, 5)
    for (const d of want) server.publish('resume', d)
    const first = await firstP
    const restP = take(conn, 15)
    server.disconnectAll()
    // Published while the client is cut off or reconnecting: from history.
    for (let i = 5; i < 20; i++) {
      want.push(`m${i}`)
      server.publish('resume', `m${i}`)
    }
    const rest = await restP
    const all = [...first, ...rest]
    assert.deepEqual(all.map((m) => m.data), want)
    assert.equal(new Set(all.map((m) => m.id)).size, 20)
    assert.ok(reconnects.length >= 1, 'the client reconnected')
    await conn.close()
  })

  await t.test('long polling, cursor from the JSON field "cursor"', async () => {
    const conn = await connect(`${server.url}/poll/lp`, {
      ...FAST,
      transport: 'long_poll',
      cursor: { jsonField: 'cursor' }
    })
    assert.equal(conn.transport, 'long_poll')
    const got = take(conn, 3)
    // The first poll (without a cursor) only learns the current cursor.
    await until(() => server.stats().channels.lp?.subscribers === 1, 5000, 'held poll')
    server.publish('lp', 'one')
    server.publish('lp', 'two')
    server.publish('lp', 'three')
    const msgs = await got
    assert.deepEqual(msgs.map((m) => m.data), ['one', 'two', 'three'])
    await conn.close()
  })

  await t.test('NDJSON stream', async () => {
    const conn = await connect(`${server.url}/stream/nd`, { ...FAST, transport: 'stream', framing: 'ndjson' })
    assert.equal(conn.transport, 'stream')
    await until(() => server.stats().channels.nd?.subscribers === 1, 5000, 'subscriber')
    const pending = take(conn, 1)
    const id = server.publish('nd', 'hello')
    const [m] = await pending
    assert.deepEqual(JSON.parse(m.data), { id, data: 'hello', binary: false })
    await conn.close()
  })

  await t.test('POST /publish reaches SSE subscribers', async () => {
    const conn = await connect(`${server.url}/sse/posted`, FAST)
    await until(() => server.stats().channels.posted?.subscribers === 1, 5000, 'subscriber')
    const got = take(conn, 1)
    const res = await fetch(`${server.url}/publish/posted`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'via http'
    })
    assert.equal(res.status, 200)
    const { id } = await res.json()
    const [m] = await got
    assert.deepEqual([m.data, m.id], ['via http', id])
    await conn.close()
  })

  await t.test('auto transport through /negotiate/{channel}', async () => {
    const res = await fetch(`${server.url}/negotiate/auto`)
    assert.match(res.headers.get('content-type'), /application\/vnd\.rtwire\.negotiate\+json/)
    await res.arrayBuffer()
    const conn = await connect(`${server.url}/negotiate/auto`, { ...FAST, transport: 'auto' })
    assert.equal(conn.transport, 'websocket')
    await until(() => server.stats().channels.auto?.subscribers === 1, 5000, 'subscriber')
    const pending = take(conn, 2)
    server.publish('auto', 'negotiated')
    await conn.send('sent back')
    const got = await pending
    assert.deepEqual(got.map((m) => m.data).sort(), ['negotiated', 'sent back'])
    await conn.close()
  })
})
