'use strict'
// Every option of the core's schema, through the options object of
// `connect`: its default is accepted, a value of the wrong JavaScript type
// throws a TypeError naming it, and a value out of range rejects with
// ERR_RTWIRE_INVALID_ARGUMENT naming it.
const test = require('node:test')
const assert = require('node:assert/strict')
const { connect, serve } = require('..')
const native = require('../binding.js')
const { nativeOptions } = require('../lib/options.js')

const SCHEMA = native.optionSchema()
// Nothing listens there; a value that is accepted fails to connect instead.
const NOWHERE = 'ws://127.0.0.1:9/'

/** An options object with `value` at the node path of `spec`. */
function optionsWith (spec, value) {
  const o = {}
  const parts = spec.node.split('.')
  // A cursor's destination and first value need its source.
  if (parts[0] === 'cursor' && spec.node !== 'cursor.header') o.cursor = { header: 'X-Cursor' }
  let at = o
  for (const p of parts.slice(0, -1)) at = at[p] ??= {}
  at[parts.at(-1)] = value
  return o
}

const escape = (s) => s.replace(/[.[\]]/g, '\\$&')

/** A value of the wrong JavaScript type for each kind. */
const WRONG_TYPE = {
  bool: 'yes',
  bytes: '1',
  count: '1',
  duration: '1',
  choice: 1,
  text: 1,
  path: 1,
  pem: 1,
  tokens: 1,
  headers: 1
}

/** Values of the right type the core refuses, for each kind. */
function outOfRange (s) {
  const bad = s.optional ? [] : [null]
  switch (s.kind) {
    case 'bool': return bad
    case 'bytes': case 'count':
      // (Infinity is "off" for an optional count: no limit.)
      bad.push(NaN, 1.5, -1)
      if (!s.optional) bad.push(Infinity)
      if (s.min >= 1) bad.push(s.min - 1)
      if (s.max !== undefined && s.max !== null) bad.push(s.max + 1)
      return bad
    case 'duration':
      bad.push(-1, NaN, Infinity, -Infinity)
      if (s.min !== 0) bad.push(0)
      return bad
    case 'choice': return [...bad, 'carrier-pigeon', '']
    case 'text': return [...bad, 'a\nb', 'a\0b']
    case 'path': return [...bad, '', 'a\0b']
    case 'pem': return [...bad, Buffer.from('not pem'), new Uint8Array(0)]
    case 'tokens': return [...bad, ['a b'], [''], 'x,y']
    case 'headers': return [...bad, [['bad name', 'v']], { a: 'x\ny' }]
    default: throw new Error(`a kind without a test: ${s.kind}`)
  }
}

test('the schema names every kind and Node path', () => {
  assert.ok(SCHEMA.length > 30)
  for (const s of SCHEMA) {
    assert.ok(s.kind in WRONG_TYPE, `${s.name}: kind ${s.kind}`)
    assert.match(s.node, /^[a-z][A-Za-z]*(\.[a-z][A-Za-z]*)?$/, s.name)
  }
})

test('every option accepts its default', () => {
  for (const s of SCHEMA) {
    const pairs = nativeOptions(optionsWith(s, s.default ?? null))
    assert.ok(pairs.some(([name]) => name === s.name), `${s.name} is set by options.${s.node}`)
    assert.equal(native.checkOptions(pairs), null, `${s.name}: default ${s.default}`)
    // And as the addon takes it, by canonical name.
    const source = s.node.startsWith('cursor.') && s.node !== 'cursor.header' ? [['http.cursor.header', 'X-Cursor']] : []
    assert.equal(native.checkOptions([...source, [s.name, s.default ?? null]]), null, s.name)
  }
})

test('a value of the wrong type throws a TypeError naming the option', () => {
  for (const s of SCHEMA) {
    for (const v of [WRONG_TYPE[s.kind], Symbol('x'), 1n]) {
      assert.throws(() => nativeOptions(optionsWith(s, v)), {
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_TYPE',
        message: new RegExp(`"options\\.${escape(s.node)}`)
      }, `${s.name}: ${String(v)}`)
    }
  }
})

test('a value out of range rejects with ERR_RTWIRE_INVALID_ARGUMENT naming the option', async () => {
  let checked = 0
  for (const s of SCHEMA) {
    const bad = outOfRange(s)
    for (const v of bad) {
      await assert.rejects(connect(NOWHERE, optionsWith(s, v)), {
        name: 'RtwireError',
        code: 'ERR_RTWIRE_INVALID_ARGUMENT',
        message: new RegExp(`options\\.${escape(s.node)}: ${escape(s.name)}`)
      }, `${s.name}: ${String(v)}`)
      checked++
    }
  }
  assert.ok(checked > 100, `${checked} values`)
})

test('Node spellings', () => {
  const pairs = (o) => Object.fromEntries(nativeOptions(o))
  assert.deepEqual(pairs({ keepalive: false }), { 'keepalive.interval': null })
  assert.deepEqual(pairs({ keepalive: true }), {})
  assert.deepEqual(pairs({ reconnect: false }), { 'reconnect.enabled': false })
  assert.deepEqual(pairs({ reconnect: { maxAttempts: Infinity, maxDelay: 100 } }),
    { 'reconnect.enabled': true, 'reconnect.max_delay': 100, 'reconnect.max_attempts': null })
  assert.deepEqual(pairs({ proxy: false }), { proxy: null })
  assert.deepEqual(pairs({ proxy: null }), { proxy: null })
  assert.deepEqual(pairs({ proxy: true }), { proxy: 'env' })
  assert.deepEqual(pairs({ proxy: new URL('http://proxy.example:3128') }), { proxy: 'http://proxy.example:3128/' })
  assert.deepEqual(pairs({ sendUrl: new URL('http://a.example/send') }), { 'http.send_url': 'http://a.example/send' })
  assert.deepEqual(pairs({ protocols: 'chat' }), { subprotocols: ['chat'] })
  assert.deepEqual(pairs({ headers: new Map([['a', '1']]) }), { headers: [['a', '1']] })
  assert.deepEqual(pairs({ headers: { a: 1, b: ['x', 'y'] } }), { headers: [['a', '1'], ['b', 'x'], ['b', 'y']] })
  assert.deepEqual(pairs({ ca: '/etc/ca.pem', cert: 'c.pem', key: 'k.pem' }),
    { 'tls.ca_file': '/etc/ca.pem', 'tls.client_cert_file': 'c.pem', 'tls.client_key_file': 'k.pem' })
  const pem = '-----BEGIN CERTIFICATE-----\n'
  assert.deepEqual(pairs({ ca: pem, key: Buffer.from(pem) }),
    { 'tls.ca_pem': Buffer.from(pem), 'tls.client_key_pem': Buffer.from(pem) })
  assert.deepEqual(pairs({ ca: [pem, new Uint8Array(Buffer.from(pem))] }), { 'tls.ca_pem': Buffer.from(pem + '\n' + pem + '\n') })
  assert.deepEqual(pairs({ ca: null }), { 'tls.ca_file': null, 'tls.ca_pem': null })
  // Schema order: the cursor's source before where it goes.
  assert.deepEqual(nativeOptions({ cursor: { initial: '0', query: 'after', jsonField: 'next' } }),
    [['http.cursor.json_field', 'next'], ['http.cursor.query', 'after'], ['http.cursor.initial', '0']])
  for (const [o, key, where] of [
    [{ maxMesageSize: 1 }, 'maxMesageSize', 'options'],
    [{ cursor: { from: 'json', name: 'c' } }, 'from', 'options.cursor'],
    [{ reconnect: { attempts: 1 } }, 'attempts', 'options.reconnect']
  ]) {
    assert.throws(() => nativeOptions(o), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: `Unknown option "${key}" in "${where}"` })
  }
  assert.throws(() => nativeOptions({ keepalive: 20000 }), { code: 'ERR_INVALID_ARG_TYPE', message: /"options\.keepalive".*\{ interval, timeout \}/ })
  assert.throws(() => nativeOptions({ origin: true }), { code: 'ERR_INVALID_ARG_TYPE', message: /"options\.origin"/ })
})

test('cross-option rules are the core\'s', async () => {
  await assert.rejects(connect(NOWHERE, { cert: 'client.pem' }), { code: 'ERR_RTWIRE_INVALID_ARGUMENT', message: /key/ })
  await assert.rejects(connect(NOWHERE, { reconnect: { initialDelay: 2000, maxDelay: 1000 } }), { code: 'ERR_RTWIRE_INVALID_ARGUMENT' })
})

test('rtwireProtocol and readBufferSize are accepted', async (t) => {
  assert.equal(native.checkOptions(nativeOptions({ rtwireProtocol: true, readBufferSize: 16 << 10 })), null)
  const server = await serve()
  t.after(() => server.close())
  const url = `${server.url.replace(/^http/, 'ws')}/ws/opts`
  const conn = await connect(url, { reconnect: false, rtwireProtocol: true, readBufferSize: 16 << 10 })
  assert.equal(conn.protocol, 'rtwire.v1')
  await conn.close()
})
