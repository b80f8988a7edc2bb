'use strict'
// Small binary messages read in a loop callback arrive as Buffers over
// shared 8 KiB blocks (like Node's own Buffer pool); larger ones get their
// own memory. These tests check the bytes of every message across sizes and
// block boundaries, that a message outlives garbage collection of the
// others, that a pooled block cannot be transferred away, and that send()
// from a listener works on the same and on another connection.
const test = require('node:test')
const assert = require('node:assert/strict')
const v8 = require('node:v8')
const vm = require('node:vm')
const { MessageChannel } = require('node:worker_threads')
const { connect } = require('..')
const { wsServer, until } = require('./helpers.js')

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

/** Deterministic pseudo-random bytes (xorshift32) for message `i`. */
function payload (i, size) {
  const b = Buffer.allocUnsafe(size)
  let x = (i + 1) * 2654435761 >>> 0
  for (let k = 0; k < size; k++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    b[k] = x & 0xff
  }
  return b
}

/** Sizes around the 4 KiB copy limit and the 8 KiB block, mixed. */
function sizeOf (i) {
  const special = [0, 1, 7, 8, 9, 4095, 4096, 4097, 8191, 8192, 8193, 65536]
  return i % 5 === 0 ? special[(i / 5) % special.length] : (i * 977) % 6000
}

/**
 * Sends `n` binary messages in lock step and returns what came back, with
 * the indexes of those whose bytes were wrong when they arrived. With
 * `scribble`, each message is overwritten once checked.
 */
async function echoAll (conn, n, scribble) {
  const got = []
  const bad = []
  let wanted = 0
  conn.on('message', (m) => {
    if (!Buffer.isBuffer(m.data) || !m.data.equals(payload(wanted, sizeOf(wanted)))) bad.push(wanted)
    got.push(m.data)
    if (scribble) m.data.fill(0xee)
    wanted++
    if (wanted < n) conn.send(payload(wanted, sizeOf(wanted)))
  })
  conn.send(payload(0, sizeOf(0)))
  await until(() => got.length === n, 30000, `${n} echoes`)
  conn.removeAllListeners('message')
  assert.deepEqual(bad, [], 'messages whose bytes were wrong on arrival')
  return got
}

test('pooled binary messages', { timeout: 120000 }, async (t) => {
  const srv = await wsServer()
  t.after(() => srv.close())

  await t.test('every size keeps its bytes, across block boundaries', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    const N = 600
    const got = await echoAll(conn, N, false)
    const shared = new Set()
    for (let i = 0; i < N; i++) {
      assert.equal(got[i].length, sizeOf(i), `length of message ${i}`)
      assert.ok(got[i].equals(payload(i, sizeOf(i))), `bytes of message ${i}`)
      if (got[i].length > 0 && got[i].length <= 4096) shared.add(got[i].buffer)
    }
    // Small messages share blocks: far fewer ArrayBuffers than messages.
    const small = got.filter((b) => b.length > 0 && b.length <= 4096).length
    assert.ok(shared.size < small / 2, `${shared.size} blocks for ${small} small messages`)
    for (const b of shared) assert.equal(b.byteLength, 8192)
    // A large message has memory of its own.
    const big = got.find((b) => b.length === 65536)
    assert.equal(big.byteOffset, 0)
    assert.equal(big.buffer.byteLength, 65536)
    await conn.close()
  })

  await t.test('writing to a message does not change the next one', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    // Each message is checked on arrival, then overwritten: a write that
    // reached into the next message's bytes fails that message's check.
    const got = await echoAll(conn, 200, true)
    for (let i = 0; i < got.length; i++) {
      assert.ok(got[i].every((v) => v === 0xee), `message ${i} holds only what was written to it`)
    }
    await conn.close()
  })

  await t.test('a kept message survives garbage collection of the rest', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    const got = await echoAll(conn, 300, false)
    const kept = [got[3], got[151], got[299]]
    got.length = 0
    for (let r = 0; r < 3; r++) {
      gc()
      await new Promise((resolve) => setImmediate(resolve))
    }
    // More traffic, which may reuse freed blocks, then check the kept ones.
    const more = await echoAll(conn, 300, false)
    for (let i = 0; i < more.length; i++) assert.ok(more[i].equals(payload(i, sizeOf(i))), `new message ${i}`)
    assert.ok(kept[0].equals(payload(3, sizeOf(3))))
    assert.ok(kept[1].equals(payload(151, sizeOf(151))))
    assert.ok(kept[2].equals(payload(299, sizeOf(299))))
    await conn.close()
  })

  await t.test('a pooled block cannot be transferred away', async () => {
    const conn = await connect(srv.url, { reconnect: false })
    const got = await echoAll(conn, 4, false)
    const a = got[1]
    const b = got[2]
    assert.equal(a.buffer, b.buffer, 'two small messages in one block')
    const { port1, port2 } = new MessageChannel()
    try {
      let threw = false
      try {
        port1.postMessage(a, [a.buffer])
      } catch (e) {
        threw = true
        assert.equal(e.name, 'DataCloneError')
      }
      if (!threw) {
        // Node 20 copies an untransferable buffer instead of moving it.
        const [copy] = await new Promise((resolve) => port2.once('message', (m) => resolve([m])))
        assert.ok(Buffer.from(copy).equals(a))
      }
      // Neither message lost its memory.
      assert.equal(a.buffer.byteLength, 8192)
      assert.ok(a.equals(payload(1, sizeOf(1))))
      assert.ok(b.equals(payload(2, sizeOf(2))))
    } finally {
      port1.close()
    }
    await conn.close()
  })

  await t.test('send() from a listener of another connection', async () => {
    const a = await connect(srv.url, { reconnect: false })
    const b = await connect(srv.url, { reconnect: false })
    const N = 500
    const fromA = []
    const fromB = []
    // a's echo makes b send; b's echo makes a send the next: every send
    // happens inside the other connection's listener.
    a.on('message', (m) => {
      fromA.push(m.data)
      b.send(`b${fromA.length - 1}`)
    })
    b.on('message', (m) => {
      fromB.push(m.data)
      if (fromB.length < N) a.send(`a${fromB.length}`)
    })
    a.send('a0')
    await until(() => fromB.length === N, 30000, `${N} relayed round trips`)
    assert.deepEqual(fromA, Array.from({ length: N }, (_, i) => `a${i}`))
    assert.deepEqual(fromB, Array.from({ length: N }, (_, i) => `b${i}`))
    await Promise.all([a.close(), b.close()])
  })
})
