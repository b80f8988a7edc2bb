'use strict'
// Wrong argument types throw a TypeError at once, naming the argument;
// values out of range reject with ERR_RTWIRE_INVALID_ARGUMENT.
const test = require('node:test')
const assert = require('node:assert/strict')
const { connect } = require('..')
const { wsServer } = require('./helpers.js')

test('wrong argument types', { timeout: 30000 }, async (t) => {
  const srv = await wsServer()
  t.after(() => srv.close())

  await t.test('connect', () => {
    assert.throws(() => connect(undefined), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /"url"/ })
    assert.throws(() => connect(42), { name: 'TypeError', message: /"url"/ })
    assert.throws(() => connect(srv.url, 'fast'), { name: 'TypeError', message: /"options"/ })
    assert.throws(() => connect(srv.url, { openTimeout: 10n }), { name: 'TypeError', message: /"options.openTimeout".*bigint/ })
    assert.throws(() => connect(srv.url, { maxMessageSize: '1' }), { name: 'TypeError', message: /maxMessageSize/ })
    assert.throws(() => connect(srv.url, { keepalive: { interval: 5n } }), { name: 'TypeError', message: /keepalive.interval/ })
    assert.throws(() => connect(srv.url, { reconnect: 'yes' }), { name: 'TypeError', message: /reconnect/ })
    assert.throws(() => connect(srv.url, { reconnect: { maxAttempts: 2n } }), { name: 'TypeError', message: /reconnect.maxAttempts/ })
    assert.throws(() => connect(srv.url, { headers: 'x: y' }), { name: 'TypeError', message: /headers/ })
    assert.throws(() => connect(srv.url, { headers: { a: {} } }), { name: 'TypeError', message: /headers\["a"\]/ })
    assert.throws(() => connect(srv.url, { protocols: [1] }), { name: 'TypeError', message: /protocols\[0\]/ })
    assert.throws(() => connect(srv.url, { ca: 42 }), { name: 'TypeError', message: /"options.ca"/ })
    assert.throws(() => connect(srv.url, { cert: [Buffer.from('pem')] }), { name: 'TypeError', message: /"options.cert"/ })
    assert.throws(() => connect(srv.url, { insecure: 1 }), { name: 'TypeError', message: /insecure/ })
    assert.throws(() => connect(srv.url, { maxMesageSize: 1 }), { name: 'TypeError', message: /Unknown option "maxMesageSize"/ })
    assert.throws(() => connect(srv.url, { keepalive: { intervall: 1 } }), { code: 'ERR_INVALID_ARG_VALUE', message: /Unknown option "intervall" in "options.keepalive"/ })
  })

  await t.test('values out of range reject, naming the option', async () => {
    // Ranges are the core's: checked before any connection attempt.
    const invalid = (re) => ({ name: 'RtwireError', code: 'ERR_RTWIRE_INVALID_ARGUMENT', message: re })
    await assert.rejects(connect(srv.url, { openTimeout: -1 }), invalid(/options\.openTimeout/))
    await assert.rejects(connect(srv.url, { openTimeout: NaN }), invalid(/openTimeout/))
    await assert.rejects(connect(srv.url, { maxMessageSize: 1.5 }), invalid(/options\.maxMessageSize.*whole/))
    await assert.rejects(connect(srv.url, { keepalive: { timeout: Infinity } }), invalid(/keepalive\.timeout/))
  })

  await t.test('send', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    for (const bad of [undefined, null, {}, [], 42, true, Symbol('s'), 1n, () => {}]) {
      assert.throws(() => conn.send(bad), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /"data"/ })
    }
    assert.throws(() => conn.send(new SharedArrayBuffer(4)), TypeError)
    assert.throws(() => conn.send(new Uint8Array(new SharedArrayBuffer(4))), { name: 'TypeError', message: /SharedArrayBuffer/ })
    await conn.close()
  })

  await t.test('close', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    assert.throws(() => conn.close(1000, new Uint8Array([1])), { name: 'TypeError', message: /"reason"/ })
    assert.throws(() => conn.close(1000n), { name: 'TypeError', message: /"code"/ })
    assert.throws(() => conn.close({}), { name: 'TypeError', message: /"code"/ })
    await conn.close()
  })
})
