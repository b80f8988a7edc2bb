'use strict'
// The WebSocket class against code written for `ws` and for browsers.
const test = require('node:test')
const assert = require('node:assert/strict')
const { WebSocket, CloseEvent } = require('..')
const { wsServer, waitEvent } = require('./helpers.js')

test('WebSocket class', { timeout: 30000 }, async (t) => {
  const srv = await wsServer({ ws: { handleProtocols: (set) => (set.has('chat') ? 'chat' : false) } })
  t.after(() => srv.close())

  await t.test('ws-style: on(event), (data, isBinary), close(code, reason Buffer)', async () => {
    const ws = new WebSocket(srv.url, 'chat')
    assert.equal(ws.readyState, WebSocket.CONNECTING)
    assert.throws(() => ws.send('too early'), { name: 'InvalidStateError' })
    await waitEvent(ws, 'open')
    assert.equal(ws.readyState, ws.OPEN)
    assert.equal(ws.protocol, 'chat')
    const msgs = []
    ws.on('message', (data, isBinary) => msgs.push([data, isBinary]))
    await new Promise((resolve, reject) => ws.send('text', (err) => (err ? reject(err) : resolve())))
    ws.send(Buffer.from([7, 8]))
    await new Promise((resolve) => { const i = setInterval(() => { if (msgs.length === 2) { clearInterval(i); resolve() } }, 5) })
    assert.ok(Buffer.isBuffer(msgs[0][0]))
    assert.equal(msgs[0][0].toString(), 'text')
    assert.equal(msgs[0][1], false)
    assert.deepEqual([...msgs[1][0]], [7, 8])
    assert.equal(msgs[1][1], true)
    const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve([code, reason])))
    ws.close(4000, 'bye')
    assert.equal(ws.readyState, WebSocket.CLOSING)
    const [code, reason] = await closed
    assert.equal(code, 4000)
    assert.ok(Buffer.isBuffer(reason))
    assert.equal(reason.toString(), 'bye')
    assert.equal(ws.readyState, WebSocket.CLOSED)
    ws.send('ignored after close')
  })

  await t.test('browser-style: onopen/onmessage/addEventListener, binaryType', async () => {
    const ws = new WebSocket(srv.url)
    ws.binaryType = 'arraybuffer'
    await new Promise((resolve) => { ws.onopen = resolve })
    const events = []
    ws.addEventListener('message', (ev) => events.push(ev))
    ws.onmessage = (ev) => events.push(ev)
    ws.send('hi')
    ws.send(new Uint8Array([1, 2, 3]))
    await new Promise((resolve) => { const i = setInterval(() => { if (events.length === 4) { clearInterval(i); resolve() } }, 5) })
    assert.ok(events[0] instanceof MessageEvent)
    assert.equal(events[0].data, 'hi')
    assert.ok(events[2].data instanceof ArrayBuffer)
    assert.deepEqual([...new Uint8Array(events[2].data)], [1, 2, 3])
    const ev = await new Promise((resolve) => {
      ws.addEventListener('close', resolve, { once: true })
      ws.close()
    })
    assert.ok(ev instanceof CloseEvent)
    assert.equal(ev.code, 1000)
    assert.equal(ev.wasClean, true)
    assert.throws(() => ws.close(1005), { name: 'InvalidAccessError' })
  })

  await t.test('a refused connection: error then close 1006', async () => {
    const ws = new WebSocket('ws://127.0.0.1:1/')
    const order = []
    ws.onerror = (ev) => order.push(['error', ev.error.code])
    await new Promise((resolve) => { ws.onclose = (ev) => { order.push(['close', ev.code]); resolve() } })
    assert.deepEqual(order, [['error', 'ERR_RTWIRE_CONNECT'], ['close', 1006]])
    assert.throws(() => new WebSocket('ftp://x/'), { name: 'SyntaxError' })
  })
})
