'use strict'
// Checks the types of the options of `connect` (a TypeError names the
// option) and flattens them for the addon. Range checks on values are the
// core's, except what JavaScript numbers can hold that the core cannot
// (negative or non-finite durations and sizes).

const { argType, argRange } = require('./errors.js')

const PEM_BEGIN = '-----BEGIN '

/**
 * The PEM text of a `ca`/`cert`/`key` value as a Buffer, or null for a
 * path. Lists (only for `ca`) are joined.
 */
function pemText (label, v, list) {
  if (typeof v === 'string') return v.includes(PEM_BEGIN) ? Buffer.from(v) : (v === '' ? bad() : null)
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  if (list && Array.isArray(v) && v.length > 0) {
    return Buffer.concat(v.map((x, i) => {
      if (typeof x === 'string' && x.includes(PEM_BEGIN)) return Buffer.from(x + '\n')
      if (x instanceof Uint8Array) return Buffer.concat([x, Buffer.from('\n')])
      throw argType(`${label}[${i}]`, 'PEM text (of type string or Buffer)', x)
    }))
  }
  throw argType(label, list
    ? 'a PEM file path or PEM text (of type string, Buffer or an array of them)'
    : 'a PEM file path or PEM text (of type string or Buffer)', v)
  function bad () { throw argType(label, 'a non-empty path or PEM text', v) }
}

function isPlainObject (v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function str (name, v) {
  if (typeof v !== 'string') throw argType(name, 'of type string', v)
  return v
}

function bool (name, v) {
  if (typeof v !== 'boolean') throw argType(name, 'of type boolean', v)
  return v
}

/** Milliseconds: a finite number >= 0. */
function ms (name, v) {
  if (typeof v !== 'number') throw argType(name, 'of type number (milliseconds)', v)
  if (!Number.isFinite(v) || v < 0) throw argRange(name, 'a finite number >= 0', v)
  return v
}

/** A count or a size: an integer >= 0. */
function int (name, v) {
  if (typeof v !== 'number') throw argType(name, 'of type number', v)
  if (!Number.isSafeInteger(v) || v < 0) throw argRange(name, 'an integer >= 0', v)
  return v
}

function headerPairs (name, h) {
  const out = []
  const add = (k, v) => {
    if (typeof k !== 'string') throw argType(`${name} name`, 'of type string', k)
    if (Array.isArray(v)) {
      for (const x of v) add(k, x)
      return
    }
    if (typeof v === 'number') v = String(v)
    if (typeof v !== 'string') throw argType(`${name}["${k}"]`, 'of type string, number or an array of them', v)
    out.push([k, v])
  }
  if (Array.isArray(h)) {
    for (const pair of h) {
      if (!Array.isArray(pair) || pair.length !== 2) throw argType(`${name}[]`, 'a [name, value] pair', pair)
      add(pair[0], pair[1])
    }
  } else if (h !== null && typeof h === 'object' && typeof h[Symbol.iterator] === 'function') {
    for (const [k, v] of h) add(k, v)
  } else if (isPlainObject(h)) {
    for (const k of Object.keys(h)) {
      if (h[k] !== undefined) add(k, h[k])
    }
  } else {
    throw argType(name, 'an object, a Map, a Headers or an array of [name, value] pairs', h)
  }
  return out
}

const KNOWN = new Set([
  'transport', 'headers', 'protocols', 'origin', 'openTimeout', 'closeTimeout', 'keepalive',
  'maxMessageSize', 'maxFrameSize', 'sendQueueBytes', 'eventQueue', 'readBufferSize',
  'ca', 'cert', 'key', 'insecure', 'reconnect', 'proxy', 'sendUrl', 'readTimeout',
  'pollInterval', 'longPollTimeout', 'longPollPost', 'jsonArray', 'cursor', 'framing',
  'maxLine', 'lastEventId', 'retryServerErrors', 'maxRedirects'
])

/**
 * The addon's flat options from the user's `options` object.
 * @param {unknown} options
 * @param {string} [argName]
 */
function nativeOptions (options, argName = 'options') {
  if (options === undefined || options === null) return {}
  if (!isPlainObject(options)) throw argType(argName, 'of type object', options)
  const o = {}
  const name = (k) => `${argName}.${k}`
  for (const k of Object.keys(options)) {
    const v = options[k]
    if (v === undefined) continue
    if (!KNOWN.has(k)) {
      const e = new TypeError(`Unknown option "${k}" in "${argName}"`)
      e.code = 'ERR_INVALID_ARG_VALUE'
      throw e
    }
    switch (k) {
      case 'transport': o.transport = str(name(k), v); break
      case 'headers': o.headers = headerPairs(name(k), v); break
      case 'protocols':
        if (typeof v === 'string') o.protocols = [v]
        else if (Array.isArray(v)) o.protocols = v.map((p, i) => str(`${name(k)}[${i}]`, p))
        else throw argType(name(k), 'of type string or an array of strings', v)
        break
      case 'origin': o.origin = str(name(k), v); break
      case 'openTimeout': case 'closeTimeout': case 'readTimeout': case 'pollInterval':
      case 'longPollTimeout':
        o[k] = ms(name(k), v)
        break
      case 'maxMessageSize': case 'maxFrameSize': case 'sendQueueBytes': case 'eventQueue':
      case 'readBufferSize': case 'maxLine': case 'maxRedirects':
        o[k] = int(name(k), v)
        break
      case 'keepalive':
        if (typeof v === 'boolean') o.keepalive = v
        else if (isPlainObject(v)) {
          if (v.interval !== undefined) o.keepaliveInterval = ms(`${name(k)}.interval`, v.interval)
          if (v.timeout !== undefined) o.keepaliveTimeout = ms(`${name(k)}.timeout`, v.timeout)
        } else throw argType(name(k), 'of type boolean or an object { interval, timeout }', v)
        break
      case 'ca': case 'cert': case 'key': {
        // As for tls.connect(): PEM text (string or Buffer), or a list of
        // them for `ca`; a string that is not PEM text is a file's path.
        const pem = pemText(name(k), v, k === 'ca')
        if (pem === null) o[k] = v
        else o[`${k}Pem`] = pem
        break
      }
      case 'insecure': case 'longPollPost': case 'jsonArray': case 'retryServerErrors':
        o[k] = bool(name(k), v)
        break
      case 'reconnect':
        if (typeof v === 'boolean') o.reconnect = v
        else if (isPlainObject(v)) {
          o.reconnect = true
          if (v.initialDelay !== undefined) o.reconnectInitialDelay = ms(`${name(k)}.initialDelay`, v.initialDelay)
          if (v.maxDelay !== undefined) o.reconnectMaxDelay = ms(`${name(k)}.maxDelay`, v.maxDelay)
          if (v.maxAttempts !== undefined && v.maxAttempts !== Infinity) o.reconnectMaxAttempts = int(`${name(k)}.maxAttempts`, v.maxAttempts)
          if (v.retryInitial !== undefined) o.retryInitial = bool(`${name(k)}.retryInitial`, v.retryInitial)
        } else throw argType(name(k), 'of type boolean or an object { initialDelay, maxDelay, maxAttempts, retryInitial }', v)
        break
      case 'proxy':
        if (v === false || v === null) o.proxy = 'none'
        else if (v === 'env' || v === true) o.proxy = 'env'
        else if (typeof v === 'string') o.proxy = v
        else if (v instanceof URL) o.proxy = v.href
        else throw argType(name(k), 'a proxy URL (of type string), "env" or false', v)
        break
      case 'sendUrl':
        o.sendUrl = v instanceof URL ? v.href : str(name(k), v)
        break
      case 'lastEventId': o.lastEventId = str(name(k), v); break
      case 'framing': o.framing = str(name(k), v); break
      case 'cursor': {
        if (!isPlainObject(v)) throw argType(name(k), 'of type object { from, name, to, toName, initial }', v)
        o.cursorFrom = str(`${name(k)}.from`, v.from)
        o.cursorFromName = str(`${name(k)}.name`, v.name)
        if (v.to !== undefined) {
          o.cursorTo = str(`${name(k)}.to`, v.to)
          o.cursorToName = v.toName === undefined ? 'cursor' : str(`${name(k)}.toName`, v.toName)
        }
        if (v.initial !== undefined) o.cursorInitial = str(`${name(k)}.initial`, v.initial)
        break
      }
    }
  }
  return o
}

/** The URL argument as a string. */
function urlArg (name, url) {
  if (url instanceof URL) return url.href
  if (typeof url !== 'string') throw argType(name, 'of type string or an instance of URL', url)
  return url
}

module.exports = { nativeOptions, urlArg, headerPairs, KNOWN }
