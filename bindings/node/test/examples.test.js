'use strict'
// The programs in examples/node, run as a user would.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { wsServer, sseServer } = require('./helpers.js')

const EXAMPLES = path.resolve(__dirname, '../../../examples/node')

// The examples import 'rtwire' as a user would: link the package there.
function linkPackage () {
  const dir = path.join(EXAMPLES, 'node_modules')
  fs.mkdirSync(dir, { recursive: true })
  const link = path.join(dir, 'rtwire')
  try {
    fs.rmSync(link, { recursive: true, force: true })
  } catch {}
  fs.symlinkSync(path.resolve(__dirname, '..'), link, 'dir')
}

function run (file, args, input, ms = 20000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(EXAMPLES, file), ...args], { cwd: EXAMPLES })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${file} timed out\n${stderr}`)) }, ms)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
    if (input !== undefined) child.stdin.end(input)
  })
}

test('examples/node', { timeout: 60000 }, async (t) => {
  linkPackage()

  await t.test('chat.js against a ws server', async () => {
    const srv = await wsServer({ ws: { handleProtocols: () => 'chat' } })
    try {
      const r = await run('chat.js', [srv.url, 'alice'], 'hello\nworld\n')
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(r.stdout.trim().split('\n'), ['alice: hello', 'alice: world'])
      assert.match(r.stderr, /closed with 1000/)
      assert.deepEqual(srv.state.received[0], ['alice: hello', 'alice: world'])
    } finally {
      await srv.close()
    }
  })

  await t.test('sse-listen.mjs resumes across dropped streams', async () => {
    const srv = await sseServer()
    try {
      const r = await run('sse-listen.mjs', [`${srv.url}/events?total=5&per_conn=2`, '5'])
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(r.stdout.trim().split('\n'), [1, 2, 3, 4, 5].map((i) => `${i} message event ${i}`))
      assert.match(r.stderr, /resuming/)
    } finally {
      await srv.close()
    }
  })

  await t.test('a refused connection exits with status 1 and the code', async () => {
    const r = await run('chat.js', ['ws://127.0.0.1:1/'], '')
    assert.equal(r.code, 1)
    assert.match(r.stderr, /ERR_RTWIRE_CONNECT/)
  })
})
