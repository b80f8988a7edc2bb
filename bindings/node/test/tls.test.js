'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { connect, WebSocket } = require('..')
const { wsServer, tlsMaterial, waitEvent } = require('./helpers.js')

test('TLS', { timeout: 60000 }, async (t) => {
  const tls = await tlsMaterial()
  const srv = await wsServer({ tls: { key: tls.key, cert: tls.cert } })
  t.after(() => srv.close())

  await t.test('an untrusted certificate fails with ERR_RTWIRE_TLS', async () => {
    await assert.rejects(connect(srv.url, { reconnect: false }), (e) => e.code === 'ERR_RTWIRE_TLS' && e.kind === 'tls')
  })

  await t.test('a custom CA file makes it trusted', async () => {
    const conn = await connect(srv.url, { ca: tls.caFile, reconnect: false })
    const p = waitEvent(conn, 'message')
    await conn.send('over tls')
    assert.equal((await p).data, 'over tls')
    await conn.close()
  })

  await t.test('insecure accepts any certificate', async () => {
    const conn = await connect(srv.url, { insecure: true, reconnect: false })
    await conn.close()
  })

  await t.test('a missing CA file fails with ERR_RTWIRE_TLS', async () => {
    await assert.rejects(connect(srv.url, { ca: '/nonexistent/ca.pem' }), { code: 'ERR_RTWIRE_TLS' })
  })

  await t.test('WebSocket class: rejectUnauthorized: false and ca', async () => {
    const ws = new WebSocket(srv.url, { ca: tls.caFile })
    await waitEvent(ws, 'open')
    const closed = waitEvent(ws, 'close')
    ws.close()
    await closed
    const bad = new WebSocket(srv.url)
    const err = waitEvent(bad, 'error')
    assert.equal((await err).code, 'ERR_RTWIRE_TLS')
  })
})
