'use strict'
// Server: the core's embedded server (`serve()`), publishing named channels
// over WebSocket, SSE, long polling, short polling and NDJSON streaming on
// one port.

const { EventEmitter } = require('node:events')
const native = require('../binding.js')
const { RtwireError, errorCodes, fromInfo, headerObject, argType, argRange } = require('./errors.js')
const { Connection, payload } = require('./connection.js')
const { convert, EXPECTED } = require('./options.js')

const TEXT = 0
const CONSTRUCT = Symbol('construct')
const noop = () => {}

// Servers that keep the process alive (see `ref()`), held here so that they
// are not garbage-collected while they do.
const held = new Set()
let holdTimer = null

function hold (server) {
  held.add(server)
  if (holdTimer === null) holdTimer = setInterval(noop, 0x7fffffff)
}

function release (server) {
  held.delete(server)
  if (held.size === 0 && holdTimer !== null) {
    clearInterval(holdTimer)
    holdTimer = null
  }
}

function closedError () {
  return new RtwireError('the server is closed', errorCodes.closed, 'closed')
}

/**
 * A connection of the application route, as `connection` listeners get
 * it: a `Connection` (the class `connect()` gives) with the request's `id`
 * and rooms.
 */
class ServerConnection extends Connection {
  #native
  #id

  /** @internal */
  constructor (handle, nativeServer, id) {
    super(handle)
    this.#native = nativeServer
    this.#id = id
  }

  /** The server's id for this connection (`req.id`). */
  get id () { return this.#id }

  /**
   * Adds this connection to `room` (1 to 256 bytes of text): `true` when
   * it was not in it yet, `false` when it was or the connection is over.
   * It leaves every room when it ends.
   */
  join (room) {
    if (typeof room !== 'string') throw argType('room', 'of type string', room)
    const r = this.#native.join(this.#id, room)
    if (typeof r !== 'boolean') throw fromInfo(r)
    return r
  }

  /** Takes this connection out of `room`: `true` when it was in it. */
  leave (room) {
    if (typeof room !== 'string') throw argType('room', 'of type string', room)
    return this.#native.leave(this.#id, room)
  }

  /** The rooms this connection is in, sorted. */
  get rooms () { return this.#native.roomsOf(this.#id) }
}

/**
 * A message to the members of a room (or to every connection), built by
 * `server.to(room)` or `server.all()`.
 */
class Broadcast {
  #native
  #room
  #except = []

  /** @internal */
  constructor (nativeServer, room) {
    this.#native = nativeServer
    this.#room = room
  }

  /** Leaves `conn` (a connection or its id) out; may be called more than once. */
  except (conn) {
    const id = conn instanceof ServerConnection ? conn.id : conn
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw argType('conn', 'a ServerConnection or an id', conn)
    this.#except.push(id)
    return this
  }

  /**
   * Queues `data` (string: text, else binary) for every receiver without
   * waiting, the same bytes for all; returns how many it was queued for.
   * A receiver over `sendQueueBytes` is a slow consumer: closed with 1008,
   * or left out of this message with `slowConsumer: 'skip'`.
   */
  send (data) {
    const [kind, value] = payload('data', data)
    return kind === TEXT
      ? this.#native.broadcastText(this.#room, value, this.#except)
      : this.#native.broadcastBinary(this.#room, value, this.#except)
  }
}

/**
 * A running server. Create it with `serve()`.
 *
 * Events: `message` (channel, data) for each message a WebSocket client
 * sends (`data` is a string for text, a `Buffer` for binary), `connection`
 * (conn, req) for each WebSocket client of the application route (the
 * `path` option; `conn` is a `Connection`, as `connect()` gives), `close`
 * once `close()` has finished.
 */
class Server extends EventEmitter {
  #native
  #closing = null
  #refed = false

  constructor (token, nativeServer, slot) {
    if (token !== CONSTRUCT) throw new TypeError('Server is not constructed directly: use serve(options)')
    super()
    this.#native = nativeServer
    slot.server = new WeakRef(this)
    slot.native = new WeakRef(nativeServer)
    // The callback holds the server weakly, so that an unclosed server can
    // still be collected (and is then shut down).
    const ref = new WeakRef(this)
    nativeServer.start((batch) => {
      const server = ref.deref()
      if (server === undefined) return
      for (const m of batch) server.emit('message', m.channel, m.data)
    })
    this.on('newListener', (event) => {
      if (event === 'message') this.#native.setListening(true)
    })
    this.on('removeListener', (event) => {
      if (event === 'message' && this.listenerCount('message') === 0) this.#native.setListening(false)
    })
    this.ref()
  }

  /** The address listened on. */
  get host () { return this.#native.host }
  /** The port listened on (the real one when started with port 0). */
  get port () { return this.#native.port }
  /** `http://host:port` (`https://` with TLS). */
  get url () { return this.#native.url }
  /** The epoch of the message ids (`{epoch}-{seq}`); new at every start. */
  get epoch () { return this.#native.epoch }
  /** Whether `close()` was called. */
  get closed () { return this.#closing !== null }

  /** A broadcast to the members of `room`: `server.to(room).except(conn).send(data)`. */
  to (room) {
    if (typeof room !== 'string') throw argType('room', 'of type string', room)
    return new Broadcast(this.#native, room)
  }

  /** A broadcast to every connection of the application route. */
  all () { return new Broadcast(this.#native, null) }

  /** The ids of the members of `room`, increasing. */
  members (room) {
    if (typeof room !== 'string') throw argType('room', 'of type string', room)
    return this.#native.members(room)
  }

  /** The rooms that have members, sorted. */
  get rooms () { return this.#native.roomNames() }
  /** Messages from clients not reported by `message` because too many were waiting. */
  get dropped () { return this.#native.dropped }

  /**
   * Publishes `data` (string: text; Buffer, TypedArray, DataView or
   * ArrayBuffer: binary) to `channel`, keeps it in the channel's history
   * and returns its id. Never waits for clients. The core checks the
   * channel name (ERR_RTWIRE_INVALID_ARGUMENT).
   */
  publish (channel, data) {
    if (typeof channel !== 'string') throw argType('channel', 'of type string', channel)
    const [kind, value] = payload('data', data)
    if (this.#closing !== null) throw closedError()
    const id = kind === TEXT ? this.#native.publishText(channel, value) : this.#native.publishBinary(channel, value)
    if (typeof id !== 'string') throw fromInfo(id)
    return id
  }

  /** Open connections and, per channel name, published, history and subscribers. */
  stats () {
    const st = this.#closing === null ? this.#native.stats() : null
    if (st === null) throw closedError()
    const channels = {}
    for (const c of st.channels) channels[c.name] = c
    return { connections: st.connections, channels }
  }

  /** Drops every client at once, as a network cut would; they resume from history. */
  disconnectAll () {
    if (this.#closing !== null || !this.#native.disconnectAll()) throw closedError()
  }

  /**
   * Stops the server: WebSocket clients get close 1001, streams end, and
   * connections are awaited for up to 5 s. Resolves once done (the same
   * promise on every call); emits `close`.
   */
  close () {
    if (this.#closing === null) {
      this.#native.setListening(false)
      this.#closing = this.#native.close().then(() => {
        release(this)
        this.#refed = false
        this.emit('close')
      })
    }
    return this.#closing
  }

  /** Keeps the process alive while the server is open (the default). */
  ref () {
    if (this.#closing === null && !this.#refed) {
      this.#refed = true
      hold(this)
    }
    return this
  }

  /** Lets the process exit while the server is open. */
  unref () {
    if (this.#refed) {
      this.#refed = false
      release(this)
    }
    return this
  }
}

/**
 * A new connection of the application route: to the `connection`
 * listeners, or closed with 1001 when there is none (or the server is
 * closing or gone).
 */
function accepted (slot, handle, req) {
  const server = slot.server?.deref()
  if (server === undefined || server.closed || server.listenerCount('connection') === 0) {
    handle.close(1001, '')
    return
  }
  const conn = new ServerConnection(handle, slot.native.deref(), req.id)
  const request = requestObject(req)
  request.user = slot.users.get(req.id)?.user ?? null
  slot.users.delete(req.id)
  try {
    server.emit('connection', conn, request)
  } catch (err) {
    process.nextTick(() => { throw err })
  }
}

/** The request of a connection (or of the acceptance hook), as JavaScript sees it. */
function requestObject (req) {
  return {
    id: req.id,
    peer: { address: req.peerAddress, port: req.peerPort },
    path: req.path,
    query: req.query,
    headers: headerObject(req.headers),
    protocol: req.protocol ?? null
  }
}

// How long a user that `authenticate` answered waits for its connection
// (the upgrade can still fail after the hook) before it is dropped.
const USER_WAIT_MS = 60000

/** Keeps `user` for the connection of request `id` (see `accepted`). */
function keepUser (slot, id, user) {
  const now = Date.now()
  for (const [k, v] of slot.users) {
    if (now - v.at > USER_WAIT_MS) slot.users.delete(k)
  }
  slot.users.set(id, { user, at: now })
}

/**
 * The addon's acceptance hook over `authenticate`: resolves with null
 * (accept) or `{ status, body }` (refuse). Truthy or undefined accepts
 * (`{ user }` keeps the user for the route connection's `req.user`),
 * another falsy value refuses with 401, an object with a
 * numeric `status` refuses with it (and `body`), a throw or a rejection
 * refuses with 500.
 */
function acceptHook (authenticate, slot, path) {
  const verdict = (v, req) => {
    if (v === undefined || v === true) return null
    if (v !== null && typeof v === 'object' && typeof v.status === 'number') {
      const status = Number.isInteger(v.status) && v.status >= 0 && v.status <= 0xffffffff ? v.status : 403
      return { status, body: v.body === undefined || v.body === null ? '' : String(v.body) }
    }
    if (!v) return { status: 401, body: '' }
    if (typeof v === 'object' && 'user' in v && req.path === path) keepUser(slot, req.id, v.user)
    return null
  }
  return (req) => new Promise((resolve) => resolve(authenticate(requestObject(req))))
    .then((v) => verdict(v, req), (err) => {
      const why = err instanceof Error ? err.stack || err.message : String(err)
      process.emitWarning(`authenticate failed (refused with 500): ${why}`, { code: 'RTWIRE_AUTHENTICATE_ERROR' })
      return { status: 500, body: '' }
    })
}

// The server schema's options (`serverOptionSchema()`), by Node name: each
// value's JavaScript type is checked against its option's kind (a TypeError
// names it) and the core checks the value (`checkServerOptions`), so a value
// out of range is refused as in every other language, with the core's
// message. The other keys are the binding's own.
const SERVER_SCHEMA = native.serverOptionSchema()
const SERVER_ORDER = new Map(SERVER_SCHEMA.map((s, i) => [s.name, i]))
const BY_NODE = new Map(SERVER_SCHEMA.filter((s) => s.node).map((s) => [s.node, s]))
const OWN = new Set(['host', 'port', 'publishReceived', 'queue', 'path', 'protocols', 'authenticate'])

/**
 * The core's refusal of a server option as a RangeError (thrown by `serve()`
 * at once, as Node refuses arguments out of range), with the core's message
 * and error kind (`code` `ERR_RTWIRE_INVALID_ARGUMENT`).
 */
function invalidOption (info) {
  // The core names the option by its canonical name first.
  const s = SERVER_SCHEMA.filter((x) => info.message.startsWith(x.name)).sort((a, b) => b.name.length - a.name.length)[0]
  const where = s && s.node ? `The value of "options.${s.node}" is out of range: ` : ''
  const e = new RangeError(where + info.message)
  e.code = info.code
  e.kind = info.kind
  return e
}

function serverOptions (options) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) throw argType('options', 'of type object', options)
  const o = { host: '127.0.0.1', port: 0, options: [] }
  const name = (k) => `options.${k}`
  const pairs = new Map()
  for (const k of Object.keys(options)) {
    const v = options[k]
    if (v === undefined) continue
    const spec = BY_NODE.get(k)
    if (spec !== undefined) {
      const x = convert(spec, k, name(k), v)
      if (x === undefined) throw argType(name(k), EXPECTED[spec.kind] || 'of another type', v)
      pairs.set(spec.name, x)
      continue
    }
    if (!OWN.has(k)) {
      const e = new TypeError(`Unknown option "${k}" in "options"`)
      e.code = 'ERR_INVALID_ARG_VALUE'
      throw e
    }
    switch (k) {
      case 'host':
        if (typeof v !== 'string') throw argType(name(k), 'of type string', v)
        if (v === '') throw argRange(name(k), 'a non-empty string', v)
        o.host = v
        break
      case 'port':
        if (typeof v !== 'number') throw argType(name(k), 'of type number', v)
        if (!Number.isInteger(v) || v < 0 || v > 65535) throw argRange(name(k), 'an integer from 0 to 65535', v)
        o.port = v
        break
      case 'queue':
        if (typeof v !== 'number') throw argType(name(k), 'of type number', v)
        if (!Number.isSafeInteger(v) || v < 1) throw argRange(name(k), 'an integer >= 1', v)
        o[k] = v
        break
      case 'path':
        if (typeof v !== 'string') throw argType(name(k), 'of type string', v)
        if (!v.startsWith('/') || /[?#\s]/.test(v)) throw argRange(name(k), 'a path starting with "/" (no query, fragment or spaces)', v)
        o.path = v
        break
      case 'protocols':
        if (!Array.isArray(v)) throw argType(name(k), 'an array of strings', v)
        o.protocols = v.map((x, i) => {
          if (typeof x !== 'string') throw argType(`${name(k)}[${i}]`, 'of type string', x)
          if (x === '') throw argRange(`${name(k)}[${i}]`, 'a non-empty string', x)
          return x
        })
        break
      case 'authenticate':
        if (typeof v !== 'function') throw argType(name(k), 'of type function', v)
        o.authenticate = v
        break
      case 'publishReceived':
        if (typeof v !== 'boolean') throw argType(name(k), 'of type boolean', v)
        o[k] = v
        break
    }
  }
  o.options = [...pairs].sort((a, b) => SERVER_ORDER.get(a[0]) - SERVER_ORDER.get(b[0]))
  if (o.protocols !== undefined && o.path === undefined) {
    throw argType(name('path'), 'of type string when protocols is set', undefined)
  }
  const cert = pairs.get('tls_cert') ?? null
  const key = pairs.get('tls_key') ?? null
  if ((cert === null) !== (key === null)) {
    const missing = cert === null ? 'tlsCert' : 'tlsKey'
    throw argType(name(missing), 'a path to a PEM file (of type string) when the other of tlsCert and tlsKey is set', undefined)
  }
  const refused = native.checkServerOptions(o.options)
  if (refused) throw invalidOption(refused)
  return o
}

/**
 * Starts a server and resolves with it once it listens. Wrong argument
 * types throw a TypeError and out-of-range values a RangeError at once;
 * failing to listen (address in use, unreadable TLS files) rejects with an
 * RtwireError.
 */
function serve (options) {
  const { authenticate, ...o } = serverOptions(options)
  // Filled in once the server exists; a connection that comes before
  // (possible with a fixed port) is closed with 1001.
  const slot = { server: null, native: null, users: new Map() }
  const onConnection = o.path === undefined ? undefined : (handle, req) => accepted(slot, handle, req)
  const hook = authenticate === undefined ? undefined : acceptHook(authenticate, slot, o.path)
  return native.serve(o, onConnection, hook).then((r) => {
    if (r instanceof native.NativeServer) return new Server(CONSTRUCT, r, slot)
    throw fromInfo(r)
  })
}

module.exports = { Server, ServerConnection, Broadcast, serve }
