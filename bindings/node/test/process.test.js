'use strict'
// Process lifetime: closed or unreferenced connections do not keep the
// process alive, exit and worker teardown with open connections do not
// crash, garbage collection closes a dropped connection, and one process
// holds 1,000 connections.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { connect } = require('..')
const { wsServer, until } = require('./helpers.js')

const PKG = path.resolve(__dirname, '..')

/** Runs `code` in a child node; resolves with { code, signal, stderr, ms }. */
function runChild (code, args = [], ms = 15000, nodeArgs = []) {
  return new Promise((resolve, reject) => {
    const start = Date.now()
    const child = spawn(process.execPath, [...nodeArgs, '-e', code, ...args], { cwd: PKG, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`child still running after ${ms} ms\nstderr: ${stderr}`))
    }, ms)
    child.on('exit', (exitCode, signal) => {
      clearTimeout(timer)
      resolve({ code: exitCode, signal, stdout, stderr, ms: Date.now() - start, child })
    })
  })
}

test('process lifetime', { timeout: 120000 }, async (t) => {
  const srv = await wsServer()
  t.after(() => srv.close())

  await t.test('the process exits on its own after close', async () => {
    const r = await runChild(`
      const { connect } = require('.')
      ;(async () => {
        const conn = await connect(process.argv[1], { reconnect: false })
        await conn.send('hi')
        for await (const m of conn) { if (m.data === 'hi') break }
        await conn.close()
        console.log('closed')
      })()
    `, [srv.url])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /closed/)
  })

  await t.test('an open connection keeps the process alive until the server closes it', async () => {
    const before = srv.state.connections
    const child = runChild(`
      const { connect } = require('.')
      connect(process.argv[1], { reconnect: false }).then((c) => c.on('close', (i) => console.log('close', i.code)))
    `, [srv.url])
    await until(() => srv.state.connections > before && srv.state.sockets.size > 0, 10000, 'child connected')
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (const s of srv.state.sockets) s.close(4005, 'go')
    const r = await child
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /close 4005/)
  })

  await t.test('an unref()ed open connection does not keep the process alive', async () => {
    const r = await runChild(`
      const { connect } = require('.')
      connect(process.argv[1], { reconnect: false }).then((c) => { c.unref(); console.log('open') })
    `, [srv.url])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /open/)
  })

  await t.test('process.exit() with open connections does not crash', async () => {
    const r = await runChild(`
      const { connect } = require('.')
      ;(async () => {
        const conns = []
        for (let i = 0; i < 20; i++) conns.push(await connect(process.argv[1]))
        for (const c of conns) c.send('x'.repeat(1000))
        setTimeout(() => process.exit(0), 50)
      })()
    `, [srv.url])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.signal, null)
  })

  await t.test('the end of the script with a pending connect does not crash', async () => {
    const r = await runChild(`
      const { connect } = require('.')
      connect(process.argv[1]).then((c) => { c.unref(); c.send('x') })
    `, [srv.url])
    assert.equal(r.code, 0, r.stderr)
  })

  await t.test('a dropped, unreferenced connection is closed by garbage collection', async () => {
    const closesBefore = srv.state.closes.length
    const r = await runChild(`
      const { connect } = require('.')
      ;(async () => {
        await (async () => {
          const c = await connect(process.argv[1], { reconnect: false })
          c.unref()
        })()
        const keep = setInterval(() => {}, 1000)
        for (let i = 0; i < 50; i++) {
          global.gc()
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        setTimeout(() => clearInterval(keep), 500)
      })()
    `, [srv.url], 15000, ['--expose-gc'])
    assert.equal(r.code, 0, r.stderr)
    await until(() => srv.state.closes.slice(closesBefore).some((c) => c.code === 1001), 5000, 'close 1001 from the collected connection')
  })

  await t.test('worker termination with an open connection does not crash', async () => {
    const w = new Worker(`
      const { parentPort, workerData } = require('node:worker_threads')
      const { connect } = require(workerData.pkg)
      connect(workerData.url).then(async (c) => {
        await c.send('from worker')
        parentPort.postMessage('open')
      })
    `, { eval: true, workerData: { pkg: PKG, url: srv.url } })
    await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) })
    await w.terminate()
    // The process still works after the worker's environment is gone.
    const conn = await connect(srv.url, { reconnect: false })
    await conn.close()
  })

  await t.test('1,000 concurrent connections in one process', async () => {
    const N = 1000
    const conns = []
    for (let i = 0; i < N; i += 100) {
      const batch = []
      for (let j = i; j < i + 100; j++) batch.push(connect(srv.url, { reconnect: false }))
      conns.push(...await Promise.all(batch))
    }
    assert.equal(conns.length, N)
    const echoes = conns.map((c, i) => new Promise((resolve) => {
      c.on('message', (m) => { if (m.data === `n${i}`) resolve() })
    }))
    await Promise.all(conns.map((c, i) => c.send(`n${i}`)))
    await Promise.all(echoes)
    const closed = await Promise.all(conns.map((c) => c.close()))
    assert.ok(closed.every((c) => c.code === 1000))
  })
})
