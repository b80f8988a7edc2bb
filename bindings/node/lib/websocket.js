'use strict'
// WebSocket: the WHATWG interface (onmessage, addEventListener, readyState,
// binaryType) and the `ws` package's EventEmitter surface (on('message',
// (data, isBinary) => ...)), on one rtwire connection.

const { EventEmitter } = require('node:events')
const { connect, payload } = require('./connection.js')
const { argType } = require('./errors.js')
const { KNOWN } = require('./options.js')

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

const BINARY_TYPES = ['nodebuffer', 'arraybuffer', 'fragments', 'blob']

/** The `close` event of the WHATWG interface (not a global in Node 20). */
class CloseEvent extends Event {
  #code
  #reason
  #wasClean
  constructor (type, init = {}) {
    super(type, init)
    this.#code = init.code ?? 0
    this.#reason = init.reason ?? ''
    this.#wasClean = init.wasClean ?? false
  }

  get code () { return this.#code }
  get reason () { return this.#reason }
  get wasClean () { return this.#wasClean }
}

/** The `error` event of the WHATWG interface, with the error. */
class ErrorEvent extends Event {
  #error
  #message
  constructor (type, init = {}) {
    super(type, init)
    this.#error = init.error
    this.#message = init.message ?? ''
  }

  get error () { return this.#error }
  get message () { return this.#message }
}

const kListener = Symbol('rtwire.listener')

function toBinaryType (buf, type) {
  switch (type) {
    case 'arraybuffer':
      return buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength
        ? buf.buffer
        : buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
    case 'fragments': return [buf]
    case 'blob': return new Blob([buf])
    default: return buf
  }
}

// ws options that have an rtwire equivalent, and those that are accepted
// and ignored (they configure what rtwire does its own way).
const WS_IGNORED = new Set([
  'perMessageDeflate', 'protocolVersion', 'followRedirects', 'maxRedirects', 'autoPong',
  'allowSynchronousEvents', 'skipUTF8Validation', 'generateMask', 'finishRequest',
  'createConnection', 'agent', 'family', 'lookup', 'host', 'servername', 'timeout'
])

function wsOptions (options) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) throw argType('options', 'of type object', options)
  const o = { reconnect: false }
  for (const k of Object.keys(options)) {
    const v = options[k]
    if (v === undefined) continue
    if (k === 'handshakeTimeout') o.openTimeout = v
    else if (k === 'maxPayload') o.maxMessageSize = v
    else if (k === 'rejectUnauthorized') {
      if (typeof v !== 'boolean') throw argType('options.rejectUnauthorized', 'of type boolean', v)
      o.insecure = !v
    } else if (KNOWN.has(k)) o[k] = v
    else if (!WS_IGNORED.has(k)) {
      const e = new TypeError(`Unknown option "${k}" in "options"`)
      e.code = 'ERR_INVALID_ARG_VALUE'
      throw e
    }
  }
  o.transport = 'websocket'
  return o
}

function wsUrl (url) {
  let u
  try {
    u = new URL(url instanceof URL ? url.href : url)
  } catch {
    throw new DOMException(`Invalid URL: ${url}`, 'SyntaxError')
  }
  if (u.protocol === 'http:') u.protocol = 'ws:'
  else if (u.protocol === 'https:') u.protocol = 'wss:'
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new DOMException(`The URL's scheme must be "ws" or "wss". Received "${u.protocol.slice(0, -1)}"`, 'SyntaxError')
  }
  if (u.hash) throw new DOMException('The URL must not contain a fragment', 'SyntaxError')
  return u.href
}

/**
 * A WebSocket client with the browser's interface and the `ws` package's
 * events, running on rtwire. It does not reconnect unless
 * `options.reconnect` is set.
 */
class WebSocket extends EventEmitter {
  static CONNECTING = CONNECTING
  static OPEN = OPEN
  static CLOSING = CLOSING
  static CLOSED = CLOSED

  #url
  #origin
  #conn = null
  #readyState = CONNECTING
  #protocol = ''
  #binaryType = 'nodebuffer'
  #closeRequest = null
  #handlers = { open: null, message: null, error: null, close: null }

  /**
   * @param {string | URL} url `ws:`, `wss:` (or `http:`, `https:`)
   * @param {string | string[]} [protocols]
   * @param {object} [options] `ws` options (headers, handshakeTimeout,
   *   maxPayload, origin, rejectUnauthorized) and rtwire options.
   */
  constructor (url, protocols, options) {
    super()
    if (typeof url !== 'string' && !(url instanceof URL)) throw argType('url', 'of type string or an instance of URL', url)
    if (protocols !== undefined && protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols) && options === undefined) {
      options = protocols
      protocols = undefined
    }
    this.#url = wsUrl(url)
    this.#origin = new URL(this.#url).origin
    const opts = wsOptions(options)
    if (protocols !== undefined && protocols !== null) {
      const list = typeof protocols === 'string' ? [protocols] : protocols
      if (!Array.isArray(list)) throw argType('protocols', 'of type string or an array of strings', protocols)
      if (new Set(list).size !== list.length) throw new DOMException('Duplicate subprotocol', 'SyntaxError')
      opts.protocols = list
    }
    connect(this.#url, opts).then((conn) => this.#opened(conn), (err) => this.#failed(err))
  }

  get url () { return this.#url }
  get readyState () { return this.#readyState }
  get protocol () { return this.#protocol }
  get extensions () { return '' }
  get bufferedAmount () { return this.#conn === null ? 0 : this.#conn.bufferedAmount }
  get binaryType () { return this.#binaryType }
  set binaryType (type) {
    if (BINARY_TYPES.includes(type)) this.#binaryType = type
  }

  get onopen () { return this.#handlers.open }
  set onopen (fn) { this.#setHandler('open', fn) }
  get onmessage () { return this.#handlers.message }
  set onmessage (fn) { this.#setHandler('message', fn) }
  get onerror () { return this.#handlers.error }
  set onerror (fn) { this.#setHandler('error', fn) }
  get onclose () { return this.#handlers.close }
  set onclose (fn) { this.#setHandler('close', fn) }

  #setHandler (type, fn) {
    const old = this.#handlers[type]
    if (old) this.removeEventListener(type, old)
    this.#handlers[type] = typeof fn === 'function' ? fn : null
    if (this.#handlers[type]) this.addEventListener(type, fn)
  }

  /** Adds a WHATWG-style listener: it receives an Event object. */
  addEventListener (type, listener, options = {}) {
    if (typeof listener !== 'function' && !(listener && typeof listener.handleEvent === 'function')) return
    for (const l of this.listeners(type)) {
      if (l[kListener] === listener) return
    }
    const call = (ev) => (typeof listener === 'function' ? listener.call(this, ev) : listener.handleEvent(ev))
    let wrapped
    switch (type) {
      case 'message':
        wrapped = (data, isBinary, text) => call(new MessageEvent('message', { data: isBinary ? data : (text ?? data.toString()), origin: this.#origin }))
        break
      case 'close':
        wrapped = (code, reason) => call(new CloseEvent('close', { code, reason: reason.toString(), wasClean: this.#cleanClose }))
        break
      case 'error':
        wrapped = (error) => call(new ErrorEvent('error', { error, message: error && error.message }))
        break
      default:
        wrapped = () => call(new Event(type))
    }
    wrapped[kListener] = listener
    if (options && options.once) this.once(type, wrapped)
    else this.on(type, wrapped)
  }

  /** Removes a listener added with `addEventListener`. */
  removeEventListener (type, listener) {
    for (const l of this.listeners(type)) {
      if (l[kListener] === listener) {
        this.removeListener(type, l)
        return
      }
    }
  }

  /** Dispatches nothing: present for EventTarget compatibility. */
  dispatchEvent () { return false }

  #cleanClose = false

  /**
   * Sends a message. Like `ws`: `cb(err)` is called once the message is
   * queued (or with the error); without a callback, a send after the
   * connection ended is ignored. Throws while CONNECTING.
   */
  send (data, options, cb) {
    if (typeof options === 'function') {
      cb = options
      options = undefined
    }
    if (typeof data === 'number') data = String(data)
    if (options && options.binary === true && typeof data === 'string') data = Buffer.from(data)
    payload('data', data)
    if (this.#readyState === CONNECTING) {
      throw new DOMException('WebSocket is not open: readyState 0 (CONNECTING)', 'InvalidStateError')
    }
    if (this.#readyState !== OPEN) {
      if (cb) {
        const err = new Error(`WebSocket is not open: readyState ${this.#readyState} (${this.#readyState === CLOSING ? 'CLOSING' : 'CLOSED'})`)
        process.nextTick(cb, err)
      }
      return
    }
    const p = this.#conn.send(data)
    if (cb) p.then(() => cb(), cb)
  }

  /** Starts the closing handshake; WHATWG code/reason rules. */
  close (code, reason) {
    if (code !== undefined && code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
      throw new DOMException(`The close code must be either 1000, or between 3000 and 4999. ${code} is neither.`, 'InvalidAccessError')
    }
    if (reason !== undefined && typeof reason !== 'string') throw argType('reason', 'of type string', reason)
    if (reason !== undefined && Buffer.byteLength(reason) > 123) {
      throw new DOMException('The close reason must not be greater than 123 UTF-8 bytes.', 'SyntaxError')
    }
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return
    this.#readyState = CLOSING
    if (this.#conn === null) {
      this.#closeRequest = [code ?? 1000, reason ?? '']
      return
    }
    this.#conn.close(code ?? 1000, reason ?? '')
  }

  /** Closes at once (here: a normal close that does not wait to be read). */
  terminate () {
    this.close()
  }

  /** Stops reading messages (the peer is slowed down). */
  pause () { if (this.#conn) this.#conn.pause() }
  /** Reads messages again. */
  resume () { if (this.#conn) this.#conn.resume() }

  #opened (conn) {
    this.#conn = conn
    this.#protocol = conn.protocol ?? ''
    conn.on('message', (msg) => {
      if (this.#readyState === CLOSED) return
      if (msg.binary) {
        this.emit('message', toBinaryType(msg.data, this.#binaryType), true)
        return
      }
      // ws passes text as a Buffer; WHATWG listeners get the string.
      const text = msg.data
      const data = this.rawListeners('message').every((l) => (l.listener || l)[kListener]) ? text : Buffer.from(text)
      this.emit('message', data, false, text)
    })
    conn.on('error', (err) => this.emit('error', err))
    conn.on('close', (info) => {
      this.#readyState = CLOSED
      this.#cleanClose = info.clean
      this.emit('close', info.code, Buffer.from(info.reason))
    })
    if (this.#closeRequest !== null) {
      const [code, reason] = this.#closeRequest
      conn.close(code, reason)
      return
    }
    this.#readyState = OPEN
    this.emit('open')
  }

  #failed (err) {
    this.#readyState = CLOSED
    this.#cleanClose = false
    if (this.listenerCount('error') > 0) this.emit('error', err)
    this.emit('close', 1006, Buffer.alloc(0))
  }

  /** Emits like EventEmitter, except that a throwing listener or an
   * `error` without listener never becomes an uncaught exception. */
  emit (name, ...args) {
    if (name === 'error' && this.listenerCount('error') === 0) return false
    const listeners = this.rawListeners(name)
    if (listeners.length === 0) return false
    for (const l of listeners) {
      try {
        if (l.listener) {
          this.removeListener(name, l.listener)
          l.listener.apply(this, args)
        } else {
          l.apply(this, args)
        }
      } catch (err) {
        if (name !== 'error' && this.listenerCount('error') > 0) this.emit('error', err)
        else process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: 'RTWIRE_LISTENER_ERROR' })
      }
    }
    return true
  }
}

for (const [k, v] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(WebSocket.prototype, k, { value: v, enumerable: true })
}

module.exports = { WebSocket, CloseEvent, ErrorEvent }
