'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { connect, EventSource: RtEventSource } = require('..')
const { EventSource: PkgEventSource } = require('eventsource')
const { sseServer, waitEvent } = require('./helpers.js')

async function collect (conn, n) {
  const got = []
  for await (const m of conn) {
    got.push(m)
    if (got.length === n) break
  }
  return got
}

test('SSE', { timeout: 60000 }, async (t) => {
  const srv = await sseServer()
  t.after(() => srv.close())

  await t.test('resumes with Last-Event-ID, without loss or duplicates', async () => {
    srv.state.lastEventIds.length = 0
    const conn = await connect(`${srv.url}/events?total=9&per_conn=4`, { reconnect: { initialDelay: 10, maxDelay: 50 } })
    assert.equal(conn.transport, 'sse')
    const got = await collect(conn, 9)
    assert.deepEqual(got.map((m) => m.data), [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `event ${i}`))
    assert.deepEqual(got.map((m) => m.id), ['1', '2', '3', '4', '5', '6', '7', '8', '9'])
    assert.deepEqual(srv.state.lastEventIds.slice(0, 3), [null, '4', '8'])
    await conn.close()
  })

  await t.test('lastEventId option resumes the first request', async () => {
    srv.state.lastEventIds.length = 0
    const conn = await connect(`${srv.url}/events?total=5`, { lastEventId: '3' })
    const got = await collect(conn, 2)
    assert.deepEqual(got.map((m) => m.data), ['event 4', 'event 5'])
    assert.equal(srv.state.lastEventIds[0], '3')
    await conn.close()
  })

  await t.test('a refused stream fails with the status', async () => {
    await assert.rejects(connect(`${srv.url}/status/404`), (e) => e.code === 'ERR_RTWIRE_HANDSHAKE' && e.status === 404)
  })

  await t.test('send without sendUrl is unsupported', async () => {
    const conn = await connect(`${srv.url}/events?total=1`)
    await assert.rejects(conn.send('x'), { code: 'ERR_RTWIRE_UNSUPPORTED' })
    await conn.close()
  })

  await t.test('event types and ids', async () => {
    const conn = await connect(`${srv.url}/named`)
    const [a, b] = await collect(conn, 2)
    assert.deepEqual(a, { data: 'pong', binary: false, event: 'ping', id: 'p1' })
    assert.equal(b.data, 'plain')
    await conn.close()
  })

  await t.test('EventSource class behaves like the eventsource package', async () => {
    async function run (ES) {
      const es = new ES(`${srv.url}/events?total=6&per_conn=2`)
      const seen = []
      const states = new Set()
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timeout')), 10000)
        es.onopen = () => states.add(es.readyState)
        es.onmessage = (ev) => {
          seen.push([ev.type, ev.data, ev.lastEventId])
          if (seen.length === 6) {
            clearTimeout(timer)
            resolve()
          }
        }
      })
      es.close()
      assert.equal(es.readyState, ES.CLOSED)
      return { seen, states: [...states] }
    }
    const ours = await run(RtEventSource)
    const theirs = await run(PkgEventSource)
    assert.deepEqual(ours, theirs)
    assert.equal(ours.seen.length, 6)

    const named = new RtEventSource(`${srv.url}/named`)
    const ev = await new Promise((resolve) => named.addEventListener('ping', resolve))
    assert.equal(ev.data, 'pong')
    assert.equal(ev.lastEventId, 'p1')
    assert.ok(ev instanceof MessageEvent)
    named.close()

    const refused = new RtEventSource(`${srv.url}/status/500`)
    await new Promise((resolve) => { refused.onerror = resolve })
    assert.equal(refused.readyState, RtEventSource.CLOSED)
  })

  await t.test('errors reach for-await and listeners', async () => {
    const conn = await connect(`${srv.url}/named`)
    const closed = waitEvent(conn, 'close')
    await conn.close()
    assert.equal((await closed).code, 1000)
  })
})
