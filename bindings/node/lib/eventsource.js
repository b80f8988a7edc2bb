'use strict'
// EventSource: the WHATWG interface (and that of the `eventsource`
// package) on an rtwire SSE connection.

const { connect } = require('./connection.js')
const { argType } = require('./errors.js')
const { KNOWN } = require('./options.js')
const { ErrorEvent } = require('./websocket.js')

const CONNECTING = 0
const OPEN = 1
const CLOSED = 2

// Options of the `eventsource` package accepted and ignored.
const IGNORED = new Set(['withCredentials', 'fetch'])

function sseOptions (init) {
  if (init === undefined || init === null) return {}
  if (typeof init !== 'object' || Array.isArray(init)) throw argType('eventSourceInitDict', 'of type object', init)
  const o = {}
  for (const k of Object.keys(init)) {
    const v = init[k]
    if (v === undefined || IGNORED.has(k)) continue
    if (!KNOWN.has(k)) {
      const e = new TypeError(`Unknown option "${k}" in "eventSourceInitDict"`)
      e.code = 'ERR_INVALID_ARG_VALUE'
      throw e
    }
    o[k] = v
  }
  return o
}

/**
 * A Server-Sent Events client with the browser's interface, running on
 * rtwire: it reconnects (honouring `retry:`) and resumes with
 * `Last-Event-ID`. Extra rtwire options (headers, ca, insecure, proxy,
 * lastEventId, reconnect, ...) go in the second argument.
 */
class EventSource extends EventTarget {
  static CONNECTING = CONNECTING
  static OPEN = OPEN
  static CLOSED = CLOSED

  #url
  #origin
  #withCredentials
  #readyState = CONNECTING
  #conn = null
  #closedByUser = false
  #lastEventId = ''
  #handlers = { open: null, message: null, error: null }

  constructor (url, eventSourceInitDict) {
    super()
    if (typeof url !== 'string' && !(url instanceof URL)) throw argType('url', 'of type string or an instance of URL', url)
    let u
    try {
      u = new URL(url instanceof URL ? url.href : url)
    } catch {
      throw new DOMException(`Invalid URL: ${url}`, 'SyntaxError')
    }
    this.#url = u.href
    this.#origin = u.origin
    this.#withCredentials = Boolean(eventSourceInitDict && eventSourceInitDict.withCredentials)
    const opts = sseOptions(eventSourceInitDict)
    if (opts.lastEventId !== undefined) this.#lastEventId = opts.lastEventId
    opts.transport = 'sse'
    if (opts.reconnect === undefined) opts.reconnect = { retryInitial: true }
    else if (typeof opts.reconnect === 'object' && opts.reconnect !== null && opts.reconnect.retryInitial === undefined) {
      opts.reconnect = { ...opts.reconnect, retryInitial: true }
    }
    connect(this.#url, opts).then((conn) => this.#opened(conn), (err) => this.#failed(err))
  }

  get url () { return this.#url }
  get readyState () { return this.#readyState }
  get withCredentials () { return this.#withCredentials }

  get onopen () { return this.#handlers.open }
  set onopen (fn) { this.#setHandler('open', fn) }
  get onmessage () { return this.#handlers.message }
  set onmessage (fn) { this.#setHandler('message', fn) }
  get onerror () { return this.#handlers.error }
  set onerror (fn) { this.#setHandler('error', fn) }

  #setHandler (type, fn) {
    if (this.#handlers[type]) this.removeEventListener(type, this.#handlers[type])
    this.#handlers[type] = typeof fn === 'function' ? fn : null
    if (this.#handlers[type]) this.addEventListener(type, this.#handlers[type])
  }

  /** Stops the stream for good; no event follows. */
  close () {
    if (this.#readyState === CLOSED) return
    this.#readyState = CLOSED
    this.#closedByUser = true
    if (this.#conn !== null) this.#conn.close()
  }

  #dispatch (ev) {
    try {
      this.dispatchEvent(ev)
    } catch (err) {
      process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: 'RTWIRE_LISTENER_ERROR' })
    }
  }

  #opened (conn) {
    this.#conn = conn
    if (this.#closedByUser) {
      conn.close()
      return
    }
    const open = () => {
      if (this.#closedByUser) return
      this.#readyState = OPEN
      this.#dispatch(new Event('open'))
    }
    conn.on('open', open)
    conn.on('message', (msg) => {
      if (this.#closedByUser) return
      if (msg.id !== undefined) this.#lastEventId = msg.id
      const data = typeof msg.data === 'string' ? msg.data : msg.data.toString()
      this.#dispatch(new MessageEvent(msg.event || 'message', { data, lastEventId: this.#lastEventId, origin: this.#origin }))
    })
    conn.on('reconnecting', (r) => {
      if (this.#closedByUser) return
      this.#readyState = CONNECTING
      this.#dispatch(new ErrorEvent('error', { error: r.error, message: r.error.message }))
    })
    conn.on('error', (err) => {
      if (this.#closedByUser) return
      this.#lastError = err
    })
    conn.on('close', () => {
      if (this.#closedByUser) return
      this.#readyState = CLOSED
      const err = this.#lastError
      this.#dispatch(new ErrorEvent('error', { error: err, message: err ? err.message : 'the stream ended' }))
    })
  }

  #lastError = null

  #failed (err) {
    if (this.#closedByUser) return
    this.#readyState = CLOSED
    this.#dispatch(new ErrorEvent('error', { error: err, message: err.message }))
  }
}

for (const [k, v] of Object.entries({ CONNECTING, OPEN, CLOSED })) {
  Object.defineProperty(EventSource.prototype, k, { value: v, enumerable: true })
}

module.exports = { EventSource }
