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

  await t.test('the CA as PEM text: a string, a Buffer, a list', async () => {
    const other = await tlsMaterial()
    for (const ca of [tls.caPem, Buffer.from(tls.caPem), new Uint8Array(Buffer.from(tls.caPem)), [other.caPem, tls.caPem], [Buffer.from(tls.caPem)]]) {
      const conn = await connect(srv.url, { ca, reconnect: false })
      const p = waitEvent(conn, 'message')
      await conn.send('pem')
      assert.equal((await p).data, 'pem')
      await conn.close()
    }
    // Another CA's PEM text is not trusted.
    await assert.rejects(connect(srv.url, { ca: other.caPem, reconnect: false }), { code: 'ERR_RTWIRE_TLS' })
    // Text that is not PEM is a path; bytes must be PEM text; PEM text
    // without a certificate fails.
    await assert.rejects(connect(srv.url, { ca: 'not-a-file.pem', reconnect: false }), { code: 'ERR_RTWIRE_TLS' })
    await assert.rejects(connect(srv.url, { ca: Buffer.from('junk'), reconnect: false }), { code: 'ERR_RTWIRE_INVALID_ARGUMENT', message: /options\.ca.*PEM text/ })
    const noCert = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'
    await assert.rejects(connect(srv.url, { ca: noCert, reconnect: false }), (e) => e.code === 'ERR_RTWIRE_TLS' && /PEM text/.test(e.message))
  })

  await t.test('wrong TLS option types are TypeErrors', async () => {
    assert.throws(() => connect(srv.url, { ca: 42 }), (e) => e instanceof TypeError && /ca/.test(e.message))
    assert.throws(() => connect(srv.url, { ca: [tls.caPem, 7] }), (e) => e instanceof TypeError && /ca\[1\]/.test(e.message))
    assert.throws(() => connect(srv.url, { cert: [tls.clientCert] }), (e) => e instanceof TypeError && /cert/.test(e.message))
    // An empty path is a value out of range.
    await assert.rejects(connect(srv.url, { key: '' }), { code: 'ERR_RTWIRE_INVALID_ARGUMENT', message: /options\.key/ })
  })

  await t.test('client certificates as PEM text or files (mutual TLS)', async () => {
    const mtls = await wsServer({ tls: { key: tls.key, cert: tls.cert, ca: tls.caPem, requestCert: true, rejectUnauthorized: true } })
    t.after(() => mtls.close())
    for (const client of [
      { cert: tls.clientCert, key: tls.clientKey },
      { cert: Buffer.from(tls.clientCert), key: Buffer.from(tls.clientKey) },
      { cert: tls.clientCertFile, key: tls.clientKeyFile }
    ]) {
      const conn = await connect(mtls.url, { ca: tls.caPem, ...client, reconnect: false })
      const p = waitEvent(conn, 'message')
      await conn.send('mtls')
      assert.equal((await p).data, 'mtls')
      await conn.close()
    }
    // Without a client certificate the server refuses.
    await assert.rejects(connect(mtls.url, { ca: tls.caPem, reconnect: false }), (e) => ['ERR_RTWIRE_TLS', 'ERR_RTWIRE_IO', 'ERR_RTWIRE_HANDSHAKE'].includes(e.code))
    // A certificate without its key is refused before any I/O.
    await assert.rejects(connect(mtls.url, { ca: tls.caPem, cert: tls.clientCert, reconnect: false }), { code: 'ERR_RTWIRE_INVALID_ARGUMENT' })
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
