#!/usr/bin/env node
// Listens to a Server-Sent Events stream and prints each event. When the
// stream drops, it reconnects and resumes after the last event id.
//
//   node sse-listen.mjs http://127.0.0.1:8000/events [count]
import { connect } from 'rtwire'

const [url, count] = process.argv.slice(2)
if (!url) {
  console.error('usage: node sse-listen.mjs URL [count]')
  process.exit(2)
}

try {
  const conn = await connect(url, { transport: 'sse' })
  conn.on('reconnecting', ({ error, delay }) => console.error(`stream lost (${error.code}); resuming in ${Math.round(delay)} ms`))
  let n = 0
  for await (const msg of conn) {
    console.log(`${msg.id ?? '-'} ${msg.event ?? 'message'} ${msg.data}`)
    if (count !== undefined && ++n >= Number(count)) break
  }
  await conn.close()
} catch (err) {
  console.error(`sse-listen: ${err.message} (${err.code})`)
  process.exitCode = 1
}
