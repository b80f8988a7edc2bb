'use strict'
// Connection: the EventEmitter and async iterator over one core connection.

const { EventEmitter } = require('node:events')
const { markAsUntransferable } = require('node:worker_threads')
const native = require('../binding.js')
const { fromInfo, headerObject, argType, argRange } = require('./errors.js')
const { nativeOptions, urlArg } = require('./options.js')

const TEXT = 0
const BINARY = 1
const RESOLVED = Promise.resolve()
const noop = () => {}

// Messages kept for iteration before reading pauses (and the socket with
// it), and the level at which reading resumes.
const BACKLOG_HIGH = 256
const BACKLOG_LOW = 64

// Open connections that keep the process alive (see `ref()`), held here so
// that they are not garbage-collected while they do.
const held = new Set()
let holdTimer = null

function hold (conn) {
  held.add(conn)
  if (holdTimer === null) holdTimer = setInterval(noop, 0x7fffffff)
}

function release (conn) {
  held.delete(conn)
  if (held.size === 0 && holdTimer !== null) {
    clearInterval(holdTimer)
    holdTimer = null
  }
}

/**
 * A payload for the addon: [TEXT, string] or [BINARY, Uint8Array].
 * Throws a TypeError naming `name` for anything else.
 */
function payload (name, data) {
  if (typeof data === 'string') return [TEXT, data]
  if (data instanceof Uint8Array && !(data instanceof Uint8ClampedArray)) {
    if (isShared(data.buffer)) throw argType(name, 'not backed by a SharedArrayBuffer', data)
    return [BINARY, data]
  }
  if (ArrayBuffer.isView(data)) {
    if (isShared(data.buffer)) throw argType(name, 'not backed by a SharedArrayBuffer', data)
    return [BINARY, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]
  }
  if (data instanceof ArrayBuffer) return [BINARY, new Uint8Array(data)]
  throw argType(name, 'of type string or an instance of Buffer, TypedArray, DataView or ArrayBuffer', data)
}

function isShared (buf) {
  return typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer
}

/** A promise whose rejection is not reported as unhandled. */
function quiet (p) {
  p.catch(noop)
  return p
}

function openInfo (ev) {
  return {
    transport: ev.transport,
    url: ev.url,
    protocol: ev.protocol ?? null,
    headers: headerObject(ev.headers || [])
  }
}

function message (data, binary, event, id) {
  return { data, binary, event, id }
}

/**
 * One connection: EventEmitter events `open`, `message`, `reconnecting`,
 * `error`, `close`, and `for await (const msg of conn)`.
 */
class Connection extends EventEmitter {
  #native
  #trySend
  #cell
  #state = 'open'
  #info
  #closeInfo = null
  #resolveClosed
  #closed
  #lastError = null
  #sendTail = RESOLVED
  #waitingSends = 0
  #backlog = []
  #readers = []
  #iterators = 0
  #paused = false
  #userPaused = false
  #referenced = true
  #heldBatches = []

  /** @internal Use `connect()`. */
  constructor (handle) {
    super()
    if (!(handle instanceof native.NativeConnection)) {
      throw new TypeError('Connection is not constructed directly: use connect(url, options)')
    }
    this.#native = handle
    this.#trySend = handle.trySendFn()
    this.#info = openInfo(handle.openInfo())
    this.#closed = quiet(new Promise((resolve) => { this.#resolveClosed = resolve }))
    hold(this)
    this.#cell = { strong: this, weak: new WeakRef(this) }
    handle.start(Connection.#dispatcher(this.#cell))
  }

  // The callback holds the connection weakly: an unreferenced connection
  // (see `unref()`) that the program dropped can be garbage-collected, which
  // closes it. (While the connection is open and referenced, `held` keeps
  // it anyway, and the callback holds it strongly too: `deref()` costs a
  // call into the runtime per event.) It gets a batch (an array), one event, or a small binary
  // message as (arrayBuffer, offset, length) in the addon's pool of 8 KiB
  // blocks, of which it makes a Buffer here (cheaper than in C++), as
  // Node's own Buffer pool does for small Buffers.
  static #dispatcher (cell) {
    let block = null
    return (item, offset, length) => {
      const conn = cell.strong ?? cell.weak.deref()
      if (conn === undefined) return
      try {
        if (offset !== undefined) {
          if (item !== block) {
            // Like Node's pool: a message's `.buffer` cannot be transferred
            // away from under the messages that share it.
            markAsUntransferable(item)
            block = item
          }
          conn.#onItem(Buffer.from(item, offset, length))
        } else if (Array.isArray(item)) {
          conn.#onBatch(item)
        } else {
          conn.#onItem(item)
        }
      } catch (err) {
        conn.#listenerFailed('batch', err)
      }
    }
  }

  /** The transport in use: `websocket`, `sse`, `long_poll`, `poll` or `stream`. */
  get transport () { return this.#info.transport }
  /** The URL connected to, without credentials. */
  get url () { return this.#info.url }
  /** The subprotocol the server chose, or null. */
  get protocol () { return this.#info.protocol }
  /** The handshake response headers of the first session (lower-case names). */
  get headers () { return this.#info.headers }
  /** `open`, `reconnecting`, `closing` or `closed`. */
  get state () { return this.#state }
  /** Bytes accepted by `send()` and not yet written to the socket. */
  get bufferedAmount () { return this.#native.bufferedAmount }
  /** Resolves with the close info once the connection is over; never rejects. */
  get closed () { return this.#closed }

  /**
   * Sends a text (string) or binary (Buffer, TypedArray, DataView,
   * ArrayBuffer) message. Resolves once the message is queued: at once
   * while the outgoing queue is under `sendQueueBytes`, later when it is
   * over. Rejects with ERR_RTWIRE_CLOSED after the end.
   */
  send (data) {
    // Strings and Uint8Arrays (Buffers) go to the addon as they are; it
    // answers `false` for one backed by a SharedArrayBuffer.
    const value = typeof data === 'string' || data instanceof Uint8Array ? data : payload('data', data)[1]
    if (this.#waitingSends === 0) {
      const info = this.#trySend(value)
      if (info === null) return RESOLVED
      if (info === false) throw argType('data', 'not backed by a SharedArrayBuffer', data)
      if (info.kind !== 'queue_full') return quiet(Promise.reject(fromInfo(info)))
    } else if (typeof value !== 'string' && isShared(value.buffer)) {
      throw argType('data', 'not backed by a SharedArrayBuffer', data)
    }
    // Over the high-water mark: wait for room, in order. Binary data is
    // copied now, so that later changes to the caller's buffer do not show.
    const text = typeof value === 'string'
    const v = text ? value : Buffer.from(value)
    const n = this.#native
    this.#waitingSends++
    const p = this.#sendTail
      .then(() => (text ? n.sendText(v) : n.sendBinary(v)))
      .then((info) => {
        this.#waitingSends--
        if (info !== null) throw fromInfo(info)
      })
    this.#sendTail = p.catch(noop)
    return quiet(p)
  }

  /**
   * Starts the close handshake (code default 1000, reason default '').
   * Resolves with the close info when the connection is over. Throws a
   * TypeError for wrong types, a RangeError for a code outside 0-65535, and
   * an RtwireError ERR_RTWIRE_INVALID_ARGUMENT for a code an application
   * may not send or a reason over 123 bytes. Harmless once closed.
   */
  close (code = 1000, reason = '') {
    if (typeof code !== 'number') throw argType('code', 'of type number', code)
    if (!Number.isInteger(code) || code < 0 || code > 65535) throw argRange('code', 'an integer from 0 to 65535', code)
    if (typeof reason !== 'string') throw argType('reason', 'of type string', reason)
    if (this.#state !== 'closed') {
      const info = this.#native.close(code, reason)
      if (info !== null) throw fromInfo(info)
      this.#state = 'closing'
      this.#resumeReading()
    }
    return this.#closed
  }

  /** Stops reading messages until `resume()`; the peer is slowed down. */
  pause () {
    this.#userPaused = true
    this.#updatePause()
  }

  /** Reads messages again after `pause()`. */
  resume () {
    this.#userPaused = false
    this.#flushHeld()
    this.#updatePause()
  }

  #flushHeld () {
    while (this.#heldBatches.length > 0 && !this.#userPaused) this.#onBatch(this.#heldBatches.shift(), true)
  }

  /** Keeps the process alive while the connection is open (the default). */
  ref () {
    this.#referenced = true
    if (this.#state !== 'closed') {
      hold(this)
      this.#cell.strong = this
    }
    return this
  }

  /**
   * Lets the process exit while the connection is open. An unreferenced
   * connection that the program no longer references is garbage-collected,
   * which closes it (code 1001) and frees it.
   */
  unref () {
    this.#referenced = false
    release(this)
    this.#cell.strong = null
    return this
  }

  /** Iterates over messages; see the README for when it ends or throws. */
  [Symbol.asyncIterator] () {
    this.#iterators++
    let done = false
    const finish = () => {
      if (!done) {
        done = true
        this.#iterators--
      }
    }
    return {
      next: () => {
        if (done) return Promise.resolve({ value: undefined, done: true })
        return this.#nextMessage().then((r) => {
          if (r.done) finish()
          return r
        }, (e) => {
          finish()
          throw e
        })
      },
      return: (value) => {
        finish()
        return Promise.resolve({ value, done: true })
      },
      [Symbol.asyncIterator] () { return this }
    }
  }

  #nextMessage () {
    if (this.#backlog.length > 0) {
      const msg = this.#backlog.shift()
      if (this.#backlog.length <= BACKLOG_LOW) this.#updatePause()
      return Promise.resolve({ value: msg, done: false })
    }
    if (this.#state === 'closed') return this.#endOfIteration()
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }))
  }

  #endOfIteration () {
    const c = this.#closeInfo
    if (c.code === 1000 || c.code === 1001) return Promise.resolve({ value: undefined, done: true })
    if (this.#lastError !== null) return Promise.reject(this.#lastError)
    const e = fromInfo({
      kind: 'closed',
      code: 'ERR_RTWIRE_CLOSED',
      message: c.reason ? `connection closed with code ${c.code} (${c.reason})` : `connection closed with code ${c.code}`,
      closeCode: c.code
    })
    return Promise.reject(e)
  }

  #updatePause () {
    const pause = this.#userPaused || this.#backlog.length >= BACKLOG_HIGH
    if (pause !== this.#paused && this.#state !== 'closed') {
      this.#paused = pause
      if (pause) this.#native.pause()
      else this.#native.resume()
    }
  }

  #resumeReading () {
    // Close must be able to complete even if nobody reads.
    this.#userPaused = false
    this.#backlog.length = 0
    this.#flushHeld()
    this.#updatePause()
  }

  #emit (name, ...args) {
    if (this.listenerCount(name) === 0) return
    try {
      this.emit(name, ...args)
    } catch (err) {
      this.#listenerFailed(name, err)
    }
  }

  #listenerFailed (name, err) {
    if (name !== 'error' && this.listenerCount('error') > 0) {
      try {
        this.emit('error', err)
        return
      } catch (again) {
        err = again
      }
    }
    process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: 'RTWIRE_LISTENER_ERROR' })
  }

  #onMessage (msg) {
    if (this.listenerCount('message') > 0) this.#emit('message', msg)
    else if (this.#iterators === 0 && this.#readers.length === 0) {
      this.#backlog.push(msg)
      if (this.#backlog.length >= BACKLOG_HIGH) this.#updatePause()
      return
    }
    if (this.#iterators > 0 || this.#readers.length > 0) {
      const r = this.#readers.shift()
      if (r) r.resolve({ value: msg, done: false })
      else {
        this.#backlog.push(msg)
        if (this.#backlog.length >= BACKLOG_HIGH) this.#updatePause()
      }
    }
  }

  #onBatch (batch, held = false) {
    // Events already on their way when pause() was called wait here; the
    // rest of a held batch paused again goes back in front of the others.
    for (let i = 0; i < batch.length; i++) {
      if (this.#userPaused) {
        if (held) this.#heldBatches.unshift(batch.slice(i))
        else this.#heldBatches.push(batch.slice(i))
        return
      }
      this.#onEvent(batch[i])
    }
  }

  // One event handed over on its own (never while paused: the addon keeps
  // it queued then, but hold it like a batch if it comes anyway).
  #onItem (ev) {
    if (this.#userPaused) this.#heldBatches.push([ev])
    else this.#onEvent(ev)
  }

  #onEvent (ev) {
    if (typeof ev === 'string') {
      this.#onMessage(message(ev, false, undefined, undefined))
      return
    }
    if (ev instanceof Uint8Array) {
      this.#onMessage(message(ev, true, undefined, undefined))
      return
    }
    switch (ev.type) {
      case 'message':
        this.#onMessage(message(ev.data, typeof ev.data !== 'string', ev.event ?? undefined, ev.id ?? undefined))
        break
      case 'open':
        if (this.#state === 'reconnecting') this.#state = 'open'
        this.#emit('open', openInfo(ev))
        break
      case 'reconnecting':
        if (this.#state === 'open') this.#state = 'reconnecting'
        this.#emit('reconnecting', { attempt: ev.attempt, delay: ev.delay, error: fromInfo(ev.error) })
        break
      case 'error': {
        const e = fromInfo(ev.error)
        this.#lastError = e
        this.#emit('error', e)
        break
      }
      case 'close':
        this.#onClose(ev)
        break
    }
  }

  #onClose (ev) {
    const info = { code: ev.code, reason: ev.reason, clean: ev.clean, unsent: ev.unsent || [] }
    this.#state = 'closed'
    this.#closeInfo = info
    release(this)
    this.#cell.strong = null
    const readers = this.#readers
    this.#readers = []
    for (const r of readers) this.#endOfIteration().then(r.resolve, r.reject)
    this.#resolveClosed(info)
    this.#emit('close', info)
  }
}

/**
 * Connects to `url` and resolves with an open Connection. Wrong argument
 * types throw a TypeError at once; connection failures reject with an
 * RtwireError.
 */
function connect (url, options) {
  const u = urlArg('url', url)
  const opts = nativeOptions(options)
  return native.connect(u, opts).then((r) => {
    if (r instanceof native.NativeConnection) return new Connection(r)
    throw fromInfo(r)
  })
}

module.exports = { Connection, connect, payload }
