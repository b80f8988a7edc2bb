'use strict'
// The chat servers of the examples (Rust, Python, Node), each started as a
// user would and checked against the chat protocol of examples/README.md
// with the third-party `ws` client: token refused with 401 and its body,
// greetings, room isolation, `/who`, departures, the room's log channel
// over long polling, and SIGTERM ending with close 1001 and exit 0.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const readline = require('node:readline')
const NodeWebSocket = require('ws')

const ROOT = path.resolve(__dirname, '../../..')
const TARGET = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target')
const PYTHON = process.env.RTWIRE_TEST_PYTHON ?? path.join(ROOT, '.venv/bin/python')

/** Starts `cmd args`; resolves with the child and its port once it printed `PORT n`. */
function start (cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} printed no PORT within 20 s\n${stderr}`)) }, 20000)
    const lines = readline.createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line)
      if (m) {
        clearTimeout(timer)
        resolve({ child, port: Number(m[1]), stderr: () => stderr })
      }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${cmd} exited with ${code} before PORT\n${stderr}`)) })
  })
}

/** A client of the chat whose messages queue up from the start. */
function client (port, query) {
  const ws = new NodeWebSocket(`ws://127.0.0.1:${port}/chat?${query}`)
  const queue = []
  const waiting = []
  ws.on('message', (d) => {
    const w = waiting.shift()
    if (w) w(d.toString())
    else queue.push(d.toString())
  })
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)))
  return {
    ws,
    closed,
    next (ms = 5000) {
      if (queue.length > 0) return Promise.resolve(queue.shift())
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms (${query})`)), ms)
        waiting.push((m) => { clearTimeout(timer); resolve(m) })
      })
    }
  }
}

/** Resolves with `[status, body]` of a refused upgrade. */
function refused (port, query) {
  return new Promise((resolve, reject) => {
    const ws = new NodeWebSocket(`ws://127.0.0.1:${port}/chat?${query}`)
    ws.on('open', () => { ws.terminate(); reject(new Error('the upgrade was accepted')) })
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve([res.statusCode, body]))
    })
    ws.on('error', () => {})
  })
}

async function checkChat (server) {
  const { port } = server
  assert.deepEqual(await refused(port, 'room=lobby&name=x&token=wrong'), [401, 'bad token'])
  assert.deepEqual(await refused(port, 'room=lobby&name=x'), [401, 'bad token'])

  const ada = client(port, 'room=lobby&name=ada&token=s3cret')
  assert.equal(await ada.next(), 'welcome ada to lobby')
  const bob = client(port, 'room=lobby&name=bob&token=s3cret')
  assert.equal(await bob.next(), 'welcome bob to lobby')
  assert.equal(await ada.next(), 'bob joined')
  const cy = client(port, 'room=other&name=cy&token=s3cret')
  assert.equal(await cy.next(), 'welcome cy to other')

  ada.ws.send('hello')
  assert.equal(await bob.next(), 'ada: hello')
  // Room isolation: cy's next message is the answer to its own /who.
  cy.ws.send('/who')
  assert.equal(await cy.next(), 'members other: 1')
  bob.ws.send('/who')
  assert.equal(await bob.next(), 'members lobby: 2')

  bob.ws.close(1000)
  assert.equal(await ada.next(), 'bob left')

  // The room's log channel, over long polling, from the start of history.
  const res = await fetch(`http://127.0.0.1:${port}/poll/log-lobby?cursor=none&wait=0&token=s3cret`)
  assert.equal(res.status, 200)
  const log = await res.json()
  assert.deepEqual(log.messages, ['ada joined', 'bob joined', 'ada: hello', 'bob left'])

  server.child.kill('SIGTERM')
  const [codeA, codeC] = await Promise.all([ada.closed, cy.closed])
  assert.equal(codeA, 1001)
  assert.equal(codeC, 1001)
  const exit = await new Promise((resolve) => {
    if (server.child.exitCode !== null) resolve(server.child.exitCode)
    const timer = setTimeout(() => { server.child.kill('SIGKILL'); resolve('killed after 10 s') }, 10000)
    server.child.on('exit', (code) => { clearTimeout(timer); resolve(code) })
  })
  assert.equal(exit, 0, server.stderr())
}

test('the Rust chat server (examples/rust/chat_server.rs)', { timeout: 60000 }, async () => {
  const bin = path.join(TARGET, 'debug/examples/chat_server')
  assert.ok(fs.existsSync(bin), `${bin} is missing: cargo build -p rtwire --example chat_server`)
  await checkChat(await start(bin, [], ROOT))
})

test('the Python chat server (examples/python/chat_server.py)', { timeout: 60000 }, async () => {
  assert.ok(fs.existsSync(PYTHON), `${PYTHON} is missing: ./scripts/test-python.sh builds it`)
  await checkChat(await start(PYTHON, [path.join(ROOT, 'examples/python/chat_server.py')], ROOT))
})

test('the Node chat server (examples/node/chat-server.js)', { timeout: 60000 }, async () => {
  const dir = path.join(ROOT, 'examples/node')
  // The example imports 'rtwire' as a user would: link the package there.
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true })
  const link = path.join(dir, 'node_modules/rtwire')
  fs.rmSync(link, { recursive: true, force: true })
  fs.symlinkSync(path.resolve(__dirname, '..'), link, 'dir')
  await checkChat(await start(process.execPath, [path.join(dir, 'chat-server.js')], dir))
})
