// Typed usage of the package: `tsc --noEmit -p test/types` must accept it,
// and the @ts-expect-error lines must stay errors.
import {
  connect, Connection, RtwireError, errorCodes, WebSocket, EventSource, CloseEvent, serve, Server, ServerConnection,
  type ServeOptions, type ServerStats, type ServerRequest,
  type CloseInfo, type ConnectOptions, type ErrorCode, type Message
} from 'rtwire'

async function main (): Promise<void> {
  const opts: ConnectOptions = {
    transport: 'websocket',
    headers: { authorization: 'Bearer x', 'x-list': ['a', 'b'] },
    protocols: ['chat.v1'],
    reconnect: { initialDelay: 100, maxAttempts: 5 },
    maxMessageSize: 1 << 20,
    proxy: false,
    ca: '/etc/ssl/ca.pem',
    insecure: false,
    keepalive: { interval: 20_000 }
  }
  const conn: Connection = await connect('wss://example.com/chat', opts)
  conn.on('open', (info) => { const t: string = info.transport; void t })
  conn.on('message', (m: Message) => { if (typeof m.data === 'string') m.data.toUpperCase(); else m.data.readUInt8(0) })
  conn.on('reconnecting', ({ attempt, delay, error }) => { void [attempt + delay, error.code] })
  conn.on('error', (e) => { void e.message })
  conn.on('close', (c: CloseInfo) => { void [c.code, c.reason, c.clean, c.unsent.length] })
  await conn.send('text')
  await conn.send(Buffer.from('bin'))
  await conn.send(new Uint8Array(2))
  const n: number = conn.bufferedAmount
  void n
  for await (const msg of conn) { void msg.data }
  const info: CloseInfo = await conn.close(1000, 'bye')
  void info
  conn.unref().ref()
  // @ts-expect-error objects are not messages
  await conn.send({})
  // @ts-expect-error the reason is a string
  await conn.close(1000, new Uint8Array(1))
  // @ts-expect-error unknown transport
  await connect('ws://x', { transport: 'pigeon' })
  const more: ConnectOptions = {
    rtwireProtocol: true,
    readBufferSize: 16 << 10,
    keepalive: false,
    reconnect: { maxAttempts: Infinity, retryInitial: true },
    ca: ['-----BEGIN CERTIFICATE-----', Buffer.from('')],
    cursor: { jsonField: 'next', sendHeader: 'x-after', initial: '0' },
    sendUrl: new URL('https://example.com/send'),
    framing: 'ndjson'
  }
  void more
  // @ts-expect-error the cursor object has no `from` any more
  await connect('ws://x', { cursor: { from: 'json', name: 'c' } })
  // @ts-expect-error durations are numbers
  await connect('ws://x', { openTimeout: '10s' })

  try {
    await connect('ws://127.0.0.1:1')
  } catch (e) {
    if (e instanceof RtwireError) {
      const code: ErrorCode = e.code
      if (e.code === errorCodes.handshake) void e.status
      void code
    }
  }

  const ws = new WebSocket('ws://127.0.0.1:9/', ['chat'], { handshakeTimeout: 1000, maxPayload: 1024 })
  ws.binaryType = 'arraybuffer'
  ws.onmessage = (ev) => { void ev.data }
  ws.addEventListener('close', (ev) => { const c: number = ev.code; void c })
  ws.on('message', (data, isBinary) => { void [data, isBinary] })
  ws.send('x', (err) => { void err })
  if (ws.readyState === WebSocket.OPEN) ws.close(1000)
  void CloseEvent

  const es = new EventSource('http://127.0.0.1:9/events', { withCredentials: false, lastEventId: '3' })
  es.onmessage = (ev) => { void [ev.data, ev.lastEventId] }
  es.addEventListener('ping', (ev) => { void ev })
  es.close()

  const sopts: ServeOptions = { host: '127.0.0.1', port: 0, history: 100, cors: true, allowedOrigins: ['https://a.example'] }
  const server: Server = await serve(sopts)
  server.on('message', (channel, data) => { void [channel.length, typeof data === 'string' ? data : data.length] })
  const id: string = server.publish('news', 'text')
  server.publish('news', Buffer.from('bin'))
  const st: ServerStats = server.stats()
  void [id, server.port, server.url, server.epoch, st.connections, st.channels.news?.subscribers]
  server.disconnectAll()
  server.unref()
  await server.close()
  // @ts-expect-error the port is a number
  await serve({ port: '80' })

  const app = await serve({
    port: 0,
    path: '/chat',
    protocols: ['chat.v1'],
    authenticate: async (req: ServerRequest) => req.query.includes('ok') ? true : { status: 401, body: 'who?' }
  })
  await serve({ path: '/a', authenticate: (req) => req.headers.cookie !== undefined })
  app.on('connection', (conn: Connection, req: ServerRequest) => {
    const p: string | null = req.protocol
    void [p, req.peer.address, req.peer.port, req.path, req.id, conn.bufferedAmount]
    conn.on('message', (msg) => { void conn.send(msg.data) })
  })
  const rooms = await serve({ path: '/r', sendQueueBytes: 1 << 16, slowConsumer: 'skip', idleTimeout: 60_000 })
  rooms.on('connection', (conn: ServerConnection) => {
    const added: boolean = conn.join('lobby')
    const n: number = rooms.to('lobby').except(conn).send('hi')
    rooms.all().except(conn.id).send(Buffer.from('x'))
    void [added, n, conn.rooms.length, conn.leave('lobby'), rooms.members('lobby').length, rooms.rooms]
  })
  // @ts-expect-error slowConsumer is 'disconnect' or 'skip'
  await serve({ slowConsumer: 'drop' })
  await rooms.close()
  await app.close()
  // @ts-expect-error authenticate answers a boolean or { status, body }
  await serve({ path: '/b', authenticate: () => 'yes' })
}

void main
