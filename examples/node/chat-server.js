#!/usr/bin/env node
// A chat server with rooms and token authentication on rtwire, speaking the
// chat protocol every rtwire chat example shares (examples/README.md).
//
//   node chat-server.js [PORT]
//
// Clients open ws://127.0.0.1:PORT/chat?room=lobby&name=ada&token=s3cret
// (the token comes from CHAT_TOKEN, default s3cret; `Authorization: Bearer`
// works too). It prints `PORT <n>` once it listens and serves until SIGTERM
// or Ctrl-C (300 s at most); clients get close 1001.
'use strict'
const { serve } = require('rtwire')

const TOKEN = process.env.CHAT_TOKEN ?? 's3cret'
const LIFETIME_MS = 300_000

async function main () {
  const port = Number(process.argv[2] ?? 0)
  const server = await serve({
    port,
    path: '/chat',
    cors: true,
    authenticate: (req) => {
      const token = new URLSearchParams(req.query).get('token')
      if (token === TOKEN || req.headers.authorization === `Bearer ${TOKEN}`) return true
      return { status: 401, body: 'bad token' }
    }
  })

  server.on('connection', (conn, req) => {
    const q = new URLSearchParams(req.query)
    const room = q.get('room') || 'lobby'
    const name = q.get('name') || 'anon'
    // To the rest of the room, and into the room's log channel (history for
    // SSE and long-poll readers; a room that is no valid channel name has
    // no log).
    const say = (line) => {
      server.to(room).except(conn).send(line)
      try { server.publish(`log-${room}`, line) } catch {}
    }
    conn.join(room)
    conn.send(`welcome ${name} to ${room}`).catch(() => {})
    say(`${name} joined`)
    conn.on('message', ({ data }) => {
      if (typeof data !== 'string') return
      if (data === '/who') conn.send(`members ${room}: ${server.members(room).length}`).catch(() => {})
      else say(`${name}: ${data}`)
    })
    conn.on('close', () => {
      conn.leave(room)
      say(`${name} left`)
    })
  })

  console.log(`PORT ${server.port}`)
  const stop = () => server.close()
  const timer = setTimeout(stop, LIFETIME_MS)
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  await new Promise((resolve) => server.once('close', resolve))
  clearTimeout(timer)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
