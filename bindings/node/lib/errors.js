'use strict'
// Errors: RtwireError (one stable `code` per core ErrorKind) and the
// TypeError / RangeError thrown synchronously for wrong arguments.

const native = require('../binding.js')

/** Every kind of the core, mapped to its Node error code. */
const errorCodes = Object.freeze(
  Object.fromEntries(native.errorKinds().map((k) => [k.kind, k.code]))
)

/**
 * An error of the rtwire core. `code` is `ERR_RTWIRE_<KIND>` (see
 * `errorCodes`); `kind` is the core's stable kind name.
 */
class RtwireError extends Error {
  constructor (message, code, kind) {
    super(message)
    this.name = 'RtwireError'
    this.code = code
    this.kind = kind
  }
}

function headerObject (pairs) {
  const out = {}
  for (const [k, v] of pairs) out[k] = k in out ? `${out[k]}, ${v}` : v
  return out
}

/** An RtwireError from the addon's ErrorInfo. */
function fromInfo (info) {
  const e = new RtwireError(info.message, info.code, info.kind)
  if (info.status !== undefined && info.status !== null) e.status = info.status
  if (info.headers) e.headers = headerObject(info.headers)
  if (info.body) e.body = info.body
  if (info.closeCode !== undefined && info.closeCode !== null) e.closeCode = info.closeCode
  if (info.unsent !== undefined && info.unsent !== null) e.unsent = info.unsent
  return e
}

function describe (value) {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  switch (typeof value) {
    case 'string': return `type string (${JSON.stringify(value.length > 28 ? value.slice(0, 25) + '...' : value)})`
    case 'bigint': return `type bigint (${value}n)`
    case 'symbol': return `type symbol (${String(value)})`
    case 'function': return `function ${value.name || '<anonymous>'}`
    case 'object': {
      const name = value.constructor && value.constructor.name
      return name ? `an instance of ${name}` : 'an object with a null prototype'
    }
    default: return `type ${typeof value} (${String(value)})`
  }
}

/** TypeError naming the argument, like Node's ERR_INVALID_ARG_TYPE. */
function argType (name, expected, value) {
  const e = new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`)
  e.code = 'ERR_INVALID_ARG_TYPE'
  return e
}

/** RangeError naming the argument, like Node's ERR_OUT_OF_RANGE. */
function argRange (name, expected, value) {
  const e = new RangeError(`The value of "${name}" is out of range. It must be ${expected}. Received ${describe(value)}`)
  e.code = 'ERR_OUT_OF_RANGE'
  return e
}

module.exports = { RtwireError, errorCodes, fromInfo, headerObject, argType, argRange }
