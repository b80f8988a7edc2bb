#!/usr/bin/env node
// A chat client: each line typed is sent, each message received is printed.
// It reconnects by itself and flushes what was typed while reconnecting.
//
//   node chat.js ws://127.0.0.1:8080/chat [name]
'use strict'
const readline = require('node:readline')
const { connect } = require('rtwire')

async function main () {
  const [url, name = 'anon'] = process.argv.slice(2)
  if (!url) {
    console.error('usage: node chat.js URL [name]')
    process.exit(2)
  }
  const conn = await connect(url, { protocols: ['chat'], reconnect: { maxAttempts: 10 } })
  console.error(`connected to ${conn.url} via ${conn.transport}`)

  conn.on('message', ({ data }) => console.log(String(data)))
  conn.on('reconnecting', ({ attempt, delay, error }) =>
    console.error(`connection lost (${error.code}); attempt ${attempt} in ${Math.round(delay)} ms`))
  conn.on('open', () => console.error('(re)connected'))
  conn.on('error', (err) => console.error(`error: ${err.message} (${err.code})`))

  const lines = readline.createInterface({ input: process.stdin })
  for await (const line of lines) {
    if (line.trim() !== '') await conn.send(`${name}: ${line}`)
  }
  // stdin ended: give the last replies a moment, then close.
  await new Promise((resolve) => setTimeout(resolve, 300))
  const { code, unsent } = await conn.close(1000, 'bye')
  console.error(`closed with ${code}${unsent.length ? `, ${unsent.length} unsent` : ''}`)
}

main().catch((err) => {
  console.error(`chat: ${err.message} (${err.code})`)
  process.exitCode = 1
})
