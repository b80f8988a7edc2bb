'use strict'
// Connections run on the JavaScript thread's own libuv loop (the default):
// each thread (main or worker) hosts its own; events read in a loop
// callback go to JavaScript at once, events read during a call from
// JavaScript go through the threadsafe function, and the order holds across
// both. RTWIRE_NODE_LOOP_IO=0 runs connections on the runtime's thread.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { AsyncLocalStorage } = require('node:async_hooks')
const { connect } = require('..')
const { wsServer, until } = require('./helpers.js')

const PKG = path.resolve(__dirname, '..')

const ECHO_IN_WORKER = `
  const { parentPort, workerData } = require('node:worker_threads')
  const { connect } = require(workerData.pkg)
  ;(async () => {
    const c = await connect(workerData.url, { reconnect: false })
    const it = c[Symbol.asyncIterator]()
    const got = []
    for (let i = 0; i < workerData.n; i++) {
      await c.send(workerData.tag + i)
      got.push((await it.next()).value.data)
    }
    await c.close()
    parentPort.postMessage(got)
  })().catch((e) => parentPort.postMessage({ error: String(e) }))
`

function echoInWorker (url, tag, n) {
  const w = new Worker(ECHO_IN_WORKER, { eval: true, workerData: { pkg: PKG, url, tag, n } })
  const result = new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) })
  const exited = new Promise((resolve) => w.once('exit', resolve))
  return { result, exited }
}

test('loop-hosted connections', { timeout: 120000 }, async (t) => {
  const srv = await wsServer()
  t.after(() => srv.close())

  await t.test('workers host their own connections and exit on their own', async () => {
    const closesBefore = srv.state.closes.length
    const a = echoInWorker(srv.url, 'a', 200)
    const b = echoInWorker(srv.url, 'b', 200)
    const [ra, rb] = await Promise.all([a.result, b.result])
    assert.deepEqual(ra, Array.from({ length: 200 }, (_, i) => 'a' + i))
    assert.deepEqual(rb, Array.from({ length: 200 }, (_, i) => 'b' + i))
    // Nothing keeps a worker's loop alive once its connection is closed.
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0])
    await until(() => srv.state.closes.slice(closesBefore).filter((c) => c.code === 1000).length === 2, 5000, 'two clean closes')
    // The main thread still works.
    const conn = await connect(srv.url, { reconnect: false })
    await conn.send('main')
    const [msg] = await Promise.race([
      new Promise((resolve) => conn.once('message', (m) => resolve([m]))),
      new Promise((resolve, reject) => setTimeout(() => reject(new Error('no echo')), 5000))
    ])
    assert.equal(msg.data, 'main')
    await conn.close()
  })

  await t.test('order holds across pause(), resume() and bursts', async () => {
    const N = 3000
    const burst = await wsServer({
      onConnection: (s) => s.on('message', (d) => {
        if (String(d) === 'go') for (let i = 0; i < N; i++) s.send(String(i))
      })
    })
    t.after(() => burst.close())
    const conn = await connect(burst.url, { reconnect: false })
    const got = []
    conn.on('message', (m) => {
      if (m.data === 'go') return
      got.push(Number(m.data))
      // Pause now and then, resume from a timer: events are then handed
      // over from a JavaScript call rather than a loop callback.
      if (got.length % 500 === 0) {
        conn.pause()
        setTimeout(() => conn.resume(), 5)
      }
    })
    await conn.send('go')
    await until(() => got.length === N, 20000, `${N} messages`)
    assert.deepEqual(got, Array.from({ length: N }, (_, i) => i))
    await conn.close()
  })

  await t.test('listeners and their microtasks run in the async context of connect()', async () => {
    const als = new AsyncLocalStorage()
    const a = await als.run('A', () => connect(srv.url, { reconnect: false }))
    const b = await als.run('B', () => connect(srv.url, { reconnect: false }))
    const seen = []
    for (const [conn, name] of [[a, 'a'], [b, 'b']]) {
      conn.on('message', () => {
        seen.push(`${name}:${als.getStore()}`)
        queueMicrotask(() => seen.push(`${name}-micro:${als.getStore()}`))
      })
    }
    // Interleaved, so that one loop turn often carries both connections'
    // messages.
    for (let i = 0; i < 20; i++) { a.send(Buffer.alloc(8, i)); b.send(String(i)) }
    await until(() => seen.length === 80, 5000, '80 records')
    const counts = {}
    for (const s of seen) counts[s] = (counts[s] ?? 0) + 1
    assert.deepEqual(counts, { 'a:A': 20, 'a-micro:A': 20, 'b:B': 20, 'b-micro:B': 20 })
    await Promise.all([a.close(), b.close()])
  })

  await t.test('RTWIRE_NODE_LOOP_IO=0 runs connections on the runtime thread', async () => {
    const code = `
      const { connect } = require('.')
      ;(async () => {
        const c = await connect(process.argv[1], { reconnect: false })
        const it = c[Symbol.asyncIterator]()
        for (let i = 0; i < 100; i++) {
          await c.send(Buffer.alloc(i, i))
          const m = (await it.next()).value.data
          if (!Buffer.alloc(i, i).equals(m)) throw new Error('bad echo ' + i)
        }
        await c.close()
        console.log('ok')
      })()
    `
    const r = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', code, srv.url], {
        cwd: PKG,
        env: { ...process.env, RTWIRE_NODE_LOOP_IO: '0' },
        stdio: ['ignore', 'pipe', 'pipe']
      })
      let out = ''
      let err = ''
      child.stdout.on('data', (d) => { out += d })
      child.stderr.on('data', (d) => { err += d })
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child hung: ' + err)) }, 30000)
      child.on('exit', (c) => { clearTimeout(timer); resolve({ c, out, err }) })
    })
    assert.equal(r.c, 0, r.err)
    assert.equal(r.out.trim(), 'ok')
  })
})
