'use strict'
// The options of `connect`, walked by the core's option schema
// (`optionSchema()`): each value's JavaScript type is checked against its
// option's kind (a TypeError names the option) and the addon gets
// `[canonicalName, value]` pairs in schema order. Ranges, words and rules
// are the core's (ERR_RTWIRE_INVALID_ARGUMENT).

const native = require('../binding.js')
const { argType } = require('./errors.js')

const PEM_BEGIN = '-----BEGIN '
// Node spellings: like tls.connect(), `ca` also takes a list of PEM texts.
const PEM_LISTS = new Set(['ca'])

const SCHEMA = native.optionSchema()
const ORDER = new Map(SCHEMA.map((s, i) => [s.name, i]))
/** Node path -> its specs (`ca`, `cert`, `key`: a path and a PEM spec). */
const LEAVES = new Map()
/** Group path (`keepalive`) -> the keys of its members. */
const GROUPS = new Map()
for (const s of SCHEMA) {
  if (!LEAVES.has(s.node)) LEAVES.set(s.node, [])
  LEAVES.get(s.node).push(s)
  const parts = s.node.split('.')
  for (let i = 1; i < parts.length; i++) {
    const g = parts.slice(0, i).join('.')
    if (!GROUPS.has(g)) GROUPS.set(g, new Set())
    GROUPS.get(g).add(parts[i])
  }
}
/** The keys of the options object. */
const KNOWN = new Set([...LEAVES.keys(), ...GROUPS.keys()].filter((p) => !p.includes('.')))

const EXPECTED = {
  bool: 'of type boolean',
  bytes: 'of type number (bytes)',
  count: 'of type number',
  duration: 'of type number (milliseconds)',
  choice: 'of type string',
  text: 'of type string',
  path: 'of type string',
  tokens: 'of type string or an array of strings',
  pem: 'a PEM file path or PEM text (of type string or Buffer)',
  pemList: 'a PEM file path or PEM text (of type string, Buffer or an array of them)',
  headers: 'an object, a Map, a Headers or an array of [name, value] pairs',
  texts: 'an array of strings'
}

function unknownOption (key, where) {
  const e = new TypeError(`Unknown option "${key}" in "${where}"`)
  e.code = 'ERR_INVALID_ARG_VALUE'
  return e
}

function isPlainObject (v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function isPem (v) {
  return v instanceof Uint8Array || Array.isArray(v) || (typeof v === 'string' && v.includes(PEM_BEGIN))
}

/** PEM text as a Buffer; a list (`ca`) is joined with newlines. */
function pemBuffer (label, v, list) {
  if (typeof v === 'string') return Buffer.from(v)
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  if (list && Array.isArray(v) && v.length > 0) {
    return Buffer.concat(v.map((x, i) => {
      if (typeof x === 'string' && x.includes(PEM_BEGIN)) return Buffer.from(x + '\n')
      if (x instanceof Uint8Array) return Buffer.concat([x, Buffer.from('\n')])
      throw argType(`${label}[${i}]`, 'PEM text (of type string or Buffer)', x)
    }))
  }
  return undefined
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
    throw argType(name, EXPECTED.headers, h)
  }
  return out
}

/**
 * The addon's value for option `s` at `path`, or undefined when the
 * JavaScript type does not fit its kind.
 */
function convert (s, path, label, v) {
  // Off: null, or false for an option that can be off; true is the default.
  if (v === null) return null
  if (typeof v === 'boolean' && s.kind !== 'bool') {
    if (s.optional === undefined || s.optional === null) return undefined
    return v ? (s.default ?? undefined) : null
  }
  switch (s.kind) {
    case 'bool': return typeof v === 'boolean' ? v : undefined
    case 'bytes': case 'count':
      if (v === Infinity && s.optional) return null
      return typeof v === 'number' ? v : undefined
    case 'duration': return typeof v === 'number' ? v : undefined
    case 'choice': case 'text': case 'path':
      if (v instanceof URL) return v.href
      return typeof v === 'string' ? v : undefined
    case 'pem': return pemBuffer(label, v, PEM_LISTS.has(path))
    case 'tokens':
      if (typeof v === 'string') return [v]
      if (!Array.isArray(v)) return undefined
      v.forEach((p, i) => { if (typeof p !== 'string') throw argType(`${label}[${i}]`, 'of type string', p) })
      return v
    case 'headers': return headerPairs(label, v)
    case 'texts':
      if (!Array.isArray(v)) return undefined
      v.forEach((p, i) => { if (typeof p !== 'string') throw argType(`${label}[${i}]`, 'of type string', p) })
      return v
    default: return v
  }
}

/** Puts the option(s) at node `path` into `out` (name -> value). */
function put (out, path, v, argName) {
  const label = `${argName}.${path}`
  const members = GROUPS.get(path)
  const all = LEAVES.get(path)
  let specs = all
  if (members) {
    // A group: an object of its members, or a boolean: its own option if
    // it has one (`reconnect`), else false switches off the first member
    // that can be off (`keepalive: false`: no pings), true keeps defaults.
    if (isPlainObject(v) && !(v instanceof URL)) {
      if (specs) put(out, path, true, argName)
      for (const k of Object.keys(v)) {
        if (v[k] === undefined) continue
        if (!members.has(k)) throw unknownOption(k, label)
        put(out, `${path}.${k}`, v[k], argName)
      }
      return
    }
    if (typeof v !== 'boolean' && !(v === null && all)) {
      throw argType(label, `of type boolean or an object { ${[...members].join(', ')} }`, v)
    }
    if (!all) {
      const first = SCHEMA.find((s) => s.node.startsWith(path + '.') && s.optional)
      if (!v && first) out.set(first.name, null)
      return
    }
  }
  if (specs.length > 1) {
    // One spelling for several options: PEM text or a path (`ca`).
    const pem = specs.filter((s) => s.kind === 'pem')
    if (v !== null && v !== false) specs = isPem(v) ? pem : specs.filter((s) => s.kind !== 'pem')
  }
  for (const s of specs) {
    const x = convert(s, path, label, v)
    if (x === undefined) {
      const kind = all.some((a) => a.kind === 'pem') ? (PEM_LISTS.has(path) ? 'pemList' : 'pem') : s.kind
      throw argType(label, EXPECTED[kind] || 'of another type', v)
    }
    out.set(s.name, x)
  }
}

/**
 * The addon's `[canonicalName, value]` pairs, in schema order, from the
 * user's `options` object.
 * @param {unknown} options
 * @param {string} [argName]
 */
function nativeOptions (options, argName = 'options') {
  if (options === undefined || options === null) return []
  if (!isPlainObject(options)) throw argType(argName, 'of type object', options)
  const out = new Map()
  for (const k of Object.keys(options)) {
    if (options[k] === undefined) continue
    if (!KNOWN.has(k)) throw unknownOption(k, argName)
    put(out, k, options[k], argName)
  }
  return [...out].sort((a, b) => ORDER.get(a[0]) - ORDER.get(b[0]))
}

/** The URL argument as a string. */
function urlArg (name, url) {
  if (url instanceof URL) return url.href
  if (typeof url !== 'string') throw argType(name, 'of type string or an instance of URL', url)
  return url
}

module.exports = { nativeOptions, urlArg, headerPairs, convert, EXPECTED, KNOWN, SCHEMA }
