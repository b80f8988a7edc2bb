'use strict'
// Server: the core's embedded server (`serve()`), publishing named channels
// over WebSocket, SSE, long polling, short polling and NDJSON streaming on
// one port.

const { EventEmitter } = require('node:events')
const native = require('../binding.js')
const { RtwireError, errorCodes, fromInfo, argType, argRange } = require('./errors.js')
const { payload } = require('./connection.js')

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
 * A running server. Create it with `serve()`.
 *
 * Events: `message` (channel, data) for each message a WebSocket client
 * sends (`data` is a string for text, a `Buffer` for binary), `close` once
 * `close()` has finished.
 */
class Server extends EventEmitter {
  #native
  #closing = null
  #refed = false

  constructor (token, nativeServer) {
    if (token !== CONSTRUCT) throw new TypeError('Server is not constructed directly: use serve(options)')
    super()
    this.#native = nativeServer
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

const KNOWN = new Set([
  'host', 'port', 'history', 'clientQueue', 'token', 'tlsCert', 'tlsKey', 'allowedOrigins',
  'cors', 'pingInterval', 'heartbeat', 'longPollHold', 'maxMessageSize', 'maxHeaders',
  'headerTimeout', 'publishReceived', 'queue'
])

function serverOptions (options) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) throw argType('options', 'of type object', options)
  const o = { host: '127.0.0.1', port: 0 }
  const name = (k) => `options.${k}`
  for (const k of Object.keys(options)) {
    const v = options[k]
    if (v === undefined) continue
    if (!KNOWN.has(k)) {
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
      case 'history': case 'clientQueue': case 'maxMessageSize': case 'maxHeaders': case 'queue':
        if (typeof v !== 'number') throw argType(name(k), 'of type number', v)
        if (!Number.isSafeInteger(v) || v < 1) throw argRange(name(k), 'an integer >= 1', v)
        o[k] = v
        break
      case 'pingInterval': case 'heartbeat': case 'longPollHold': case 'headerTimeout':
        if (typeof v !== 'number') throw argType(name(k), 'of type number (milliseconds)', v)
        if (!Number.isFinite(v) || v <= 0) throw argRange(name(k), 'a finite number > 0', v)
        o[k] = v
        break
      case 'token':
        if (typeof v !== 'string') throw argType(name(k), 'of type string', v)
        if (v === '') throw argRange(name(k), 'a non-empty string', v)
        o.token = v
        break
      case 'tlsCert': case 'tlsKey':
        if (typeof v !== 'string') throw argType(name(k), 'a path to a PEM file (of type string)', v)
        o[k] = v
        break
      case 'allowedOrigins':
        if (!Array.isArray(v)) throw argType(name(k), 'an array of strings', v)
        o.allowedOrigins = v.map((x, i) => {
          if (typeof x !== 'string') throw argType(`${name(k)}[${i}]`, 'of type string', x)
          return x
        })
        break
      case 'cors': case 'publishReceived':
        if (typeof v !== 'boolean') throw argType(name(k), 'of type boolean', v)
        o[k] = v
        break
    }
  }
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
    const missing = o.tlsCert === undefined ? 'tlsCert' : 'tlsKey'
    throw argType(name(missing), 'a path to a PEM file (of type string) when the other of tlsCert and tlsKey is set', undefined)
  }
  return o
}

/**
 * Starts a server and resolves with it once it listens. Wrong argument
 * types throw a TypeError and out-of-range values a RangeError at once;
 * failing to listen (address in use, unreadable TLS files) rejects with an
 * RtwireError.
 */
function serve (options) {
  const o = serverOptions(options)
  return native.serve(o).then((r) => {
    if (r instanceof native.NativeServer) return new Server(CONSTRUCT, r)
    throw fromInfo(r)
  })
}

module.exports = { Server, serve }
