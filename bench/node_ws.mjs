#!/usr/bin/env node
// WebSocket client benchmark: rtwire (Node binding) against `ws` and
// undici's WebSocket, all talking to the same echo server in its own
// process on 127.0.0.1: by default a native one (bench/echo_server.rs, bare
// tokio-tungstenite on one thread, built here with cargo), so that the
// clients are what is measured; `--server ws` uses a `ws` echo server in
// Node instead, which is about as fast as the clients and so partly
// measures itself.
//
//   node bench/node_ws.mjs [--seconds S] [--rounds R] [--server native|ws]
//                          [--connections N]
//
// Needs the Node package installed (`cd bindings/node && npm install`,
// which builds the addon in release mode). Measures:
//   - 64 B ping-pong: binary round trips per second, one at a time;
//   - 1 MiB echo: MiB/s echoed, one message in flight at a time;
//   - 64 B ping-pong on N connections at once (default 64), one message in
//     flight on each: round trips/s of all of them together, where the
//     client's CPU time per message counts more than its latency.
// The clients take turns, R rounds (default 5) of S seconds (default 1)
// each, and the median of each is kept, so that a busy machine affects all
// of them alike. Prints each result with the process's CPU time per round
// trip, the ratios rtwire/ws and rtwire/undici (> 1 means rtwire is
// faster or, for CPU, cheaper), and the floor: a bare tokio-tungstenite
// client in Rust (bench/ping_client.rs) against the same server, which
// shows what the kernel and the server leave to any client.
import { execFileSync, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const pkg = new URL('../bindings/node/package.json', import.meta.url)
const require = createRequire(pkg)

if (process.argv[2] === '--server') {
  const { WebSocketServer } = require('ws')
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 << 20, perMessageDeflate: false })
  wss.on('listening', () => console.log(`PORT ${wss.address().port}`))
  wss.on('connection', (s) => s.on('message', (d, isBinary) => s.send(d, { binary: isBinary })))
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
} else {
  await main()
}

// Builds the native echo server and reference client (release) and
// returns the paths of the binaries.
function nativeTools () {
  const root = fileURLToPath(new URL('..', import.meta.url))
  execFileSync('cargo', ['build', '--quiet', '--release', '-p', 'rtwire', '--example', 'bench_echo_server', '--example', 'bench_ping_client'], { cwd: root, stdio: 'inherit' })
  const meta = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: root, maxBuffer: 64 << 20 }))
  const dir = `${meta.target_directory}/release/examples`
  return { server: `${dir}/bench_echo_server`, client: `${dir}/bench_ping_client` }
}

// One run of the reference client: { rt, mib, cpu }.
function floorRun (client, url, secs) {
  const out = execFileSync(client, [url, String(secs)], { encoding: 'utf8', timeout: (secs * 4 + 30) * 1000 })
  const m = /RT (\S+) MIB (\S+) CPU (\S+)/.exec(out)
  if (!m) throw new Error('bench_ping_client printed: ' + out)
  return { rt: Number(m[1]), mib: Number(m[2]), cpu: Number(m[3]) }
}

async function main () {
  const i = process.argv.indexOf('--seconds')
  const seconds = i > 0 ? Number(process.argv[i + 1]) : 1
  const j = process.argv.indexOf('--rounds')
  const rounds = j > 0 ? Number(process.argv[j + 1]) : 5
  const c = process.argv.indexOf('--connections')
  const many = c > 0 ? Number(process.argv[c + 1]) : 64
  if (!Number.isInteger(many) || many < 1) throw new Error('--connections is an integer >= 1')
  const rtwire = require('rtwire')
  const WS = require('ws')
  const { WebSocket: UndiciWebSocket } = require('undici')

  const k = process.argv.indexOf('--server')
  const which = k > 0 ? process.argv[k + 1] : 'native'
  if (which !== 'native' && which !== 'ws') throw new Error('--server is native or ws')
  console.log(`server: ${which}`)
  const tools = nativeTools()
  const server = which === 'ws'
    ? spawn(process.execPath, [fileURLToPath(import.meta.url), '--server'], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(tools.server, [], { stdio: ['pipe', 'pipe', 'inherit'] })
  const port = await new Promise((resolve, reject) => {
    server.stdout.once('data', (d) => resolve(Number(/PORT (\d+)/.exec(String(d))[1])))
    server.once('exit', () => reject(new Error('server exited')))
  })
  const url = `ws://127.0.0.1:${port}/`

  // Each client: open(), then send(buf) and onMessage(fn) with Buffer-ish data.
  const clients = {
    rtwire: async () => {
      const conn = await rtwire.connect(url, { reconnect: false, keepalive: false })
      return {
        send: (b) => { conn.send(b) },
        onMessage: (fn) => conn.on('message', (m) => fn(m.data)),
        close: () => conn.close()
      }
    },
    ws: async () => {
      const ws = new WS(url, { perMessageDeflate: false })
      await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
      return {
        send: (b) => ws.send(b),
        onMessage: (fn) => ws.on('message', (d) => fn(d)),
        close: () => new Promise((resolve) => { ws.once('close', resolve); ws.close() })
      }
    },
    undici: async () => {
      const ws = new UndiciWebSocket(url)
      ws.binaryType = 'arraybuffer'
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject })
      return {
        send: (b) => ws.send(b),
        onMessage: (fn) => { ws.onmessage = (ev) => fn(ev.data) },
        close: () => new Promise((resolve) => { ws.onclose = resolve; ws.close() })
      }
    }
  }

  // Runs round trips of `payload` for `secs` on `conns` connections at once,
  // one message in flight on each; returns round trips/s (all connections
  // together) and the process's CPU time (user + system, all threads) per
  // round trip in microseconds.
  async function pingPong (make, payload, secs, conns = 1) {
    const cs = []
    for (let i = 0; i < conns; i++) cs.push(await make())
    let count = 0
    let deadline = 0
    let running = 0
    let done
    for (const c of cs) {
      c.onMessage(() => {
        count++
        if (performance.now() < deadline) c.send(payload)
        else if (--running === 0) done()
      })
    }
    const phase = (ms) => {
      const finished = new Promise((resolve) => { done = resolve })
      deadline = performance.now() + ms
      running = cs.length
      for (const c of cs) c.send(payload)
      return finished
    }
    // Warm up for a quarter of the time, then measure.
    await phase(secs * 250)
    const warm = count
    const start = performance.now()
    const cpu = process.cpuUsage()
    await phase(secs * 1000)
    const elapsed = (performance.now() - start) / 1000
    const used = process.cpuUsage(cpu)
    for (const c of cs) await c.close()
    const n = count - warm
    return { rate: n / elapsed, cpu: (used.user + used.system) / n }
  }

  const small = Buffer.alloc(64, 7)
  const big = Buffer.alloc(1 << 20, 9)
  const samples = Object.fromEntries(Object.keys(clients).map((n) => [n, { rt: [], cpu: [], mib: [], many: [], manyCpu: [] }]))
  const floor = { rt: [], cpu: [], mib: [] }
  // The order rotates from round to round, so that no client always runs
  // right after the same other one.
  const names = Object.keys(clients)
  for (let r = 0; r < rounds; r++) {
    for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
      const p = await pingPong(clients[name], small, seconds)
      samples[name].rt.push(p.rate)
      samples[name].cpu.push(p.cpu)
      samples[name].mib.push((await pingPong(clients[name], big, seconds)).rate)
      const m = await pingPong(clients[name], small, seconds, many)
      samples[name].many.push(m.rate)
      samples[name].manyCpu.push(m.cpu)
    }
    const f = floorRun(tools.client, url, seconds)
    for (const k of Object.keys(floor)) floor[k].push(f[k])
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const results = {}
  for (const name of Object.keys(clients)) {
    const rt = median(samples[name].rt)
    const cpu = median(samples[name].cpu)
    const mib = median(samples[name].mib)
    const mny = median(samples[name].many)
    const mnyCpu = median(samples[name].manyCpu)
    results[name] = { rt, cpu, mib, many: mny, manyCpu: mnyCpu }
    console.log(`${name.padEnd(7)} 64 B ping-pong ${rt.toFixed(0).padStart(8)} round trips/s (${cpu.toFixed(2)} µs CPU each)   1 MiB echo ${mib.toFixed(1).padStart(7)} MiB/s   ${many} connections ${mny.toFixed(0).padStart(8)} round trips/s (${mnyCpu.toFixed(2)} µs CPU each)`)
  }
  const fl = { rt: median(floor.rt), cpu: median(floor.cpu), mib: median(floor.mib) }
  console.log(`floor (bare tokio-tungstenite client in Rust): ${fl.rt.toFixed(0)} round trips/s (${fl.cpu.toFixed(2)} µs CPU each), 1 MiB echo ${fl.mib.toFixed(1)} MiB/s`)
  const ratio = (a, b) => (a / b).toFixed(2)
  for (const other of ['ws', 'undici']) {
    const r = results.rtwire
    const o = results[other]
    console.log(`ratio rtwire/${other.padEnd(7)} ping-pong ${ratio(r.rt, o.rt)} (CPU per round trip ${ratio(o.cpu, r.cpu)})   1 MiB echo ${ratio(r.mib, o.mib)}   ${many} connections ${ratio(r.many, o.many)} (CPU ${ratio(o.manyCpu, r.manyCpu)})`)
  }
  console.log(`ping-pong of the floor: rtwire ${ratio(results.rtwire.rt, fl.rt)}, ws ${ratio(results.ws.rt, fl.rt)}, undici ${ratio(results.undici.rt, fl.rt)}`)
  server.stdin.end()
}
