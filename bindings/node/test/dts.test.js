'use strict'
// index.d.ts and binding.d.ts must describe what index.js and the addon
// export: a name added on one side only fails here.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const rtwire = require('..')
const native = require('../binding.js')

const read = (f) => fs.readFileSync(path.join(__dirname, '..', f), 'utf8')

/** Names of `export declare const|function|class X` in a .d.ts text. */
function declared (dts) {
  return new Set([...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]))
}

/** The body of `export declare class Name ... { ... }` (one level). */
function classBody (dts, name) {
  const start = dts.search(new RegExp(`^export declare class ${name}\\b`, 'm'))
  assert.ok(start >= 0, `class ${name} is declared`)
  const open = dts.indexOf('{', start)
  let depth = 0
  for (let i = open; i < dts.length; i++) {
    if (dts[i] === '{') depth++
    else if (dts[i] === '}' && --depth === 0) return dts.slice(open + 1, i)
  }
  throw new Error(`unterminated class ${name}`)
}

/** Instance member names declared in a class body (methods, getters, fields). */
function members (body) {
  const names = new Set()
  for (const line of body.split('\n')) {
    const m = /^\s{2}(?:readonly |get |set )?(\[Symbol\.asyncIterator\]|[A-Za-z_]\w*)\s*[(:?]/.exec(line)
    if (m && !/^\s{2}static /.test(line) && !/^\s{2}(private )?constructor/.test(line)) names.add(m[1])
  }
  return names
}

/** Public instance members at runtime. */
function runtimeMembers (cls, base) {
  const names = new Set()
  for (let p = cls.prototype; p && p !== base.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Reflect.ownKeys(p)) {
      // Overrides of inherited methods are declared by the base type.
      if (k === 'constructor' || k in base.prototype) continue
      names.add(k === Symbol.asyncIterator ? '[Symbol.asyncIterator]' : String(k))
    }
  }
  return names
}

function union (dts, type) {
  const m = new RegExp(`export type ${type} =([^;]*?)\\n\\n`, 's').exec(dts + '\n\n')
  assert.ok(m, `type ${type}`)
  return [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1])
}

test('index.d.ts declares exactly the runtime exports', () => {
  const dts = read('index.d.ts')
  assert.deepEqual([...declared(dts)].sort(), Object.keys(rtwire).sort())
})

test('index.d.ts error unions match the addon', () => {
  const dts = read('index.d.ts')
  assert.deepEqual(union(dts, 'ErrorKind'), native.errorKinds().map((k) => k.kind))
  assert.deepEqual(union(dts, 'ErrorCode'), native.errorKinds().map((k) => k.code))
})

test('index.d.ts class members match the runtime classes', () => {
  const dts = read('index.d.ts')
  const { EventEmitter } = require('node:events')
  for (const [name, base, extra] of [
    ['Connection', EventEmitter, []],
    ['WebSocket', EventEmitter, ['on']],
    ['EventSource', EventTarget, []],
    ['Server', EventEmitter, []]
  ]) {
    const d = members(classBody(dts, name))
    for (const e of extra) d.delete(e)
    assert.deepEqual([...d].sort(), [...runtimeMembers(rtwire[name], base)].sort(), `members of ${name}`)
  }
})

test('binding.d.ts matches the addon', () => {
  const dts = read('binding.d.ts')
  const names = [...declared(dts)].filter((n) => !n.startsWith('__'))
  const runtime = Object.keys(native).filter((n) => !n.startsWith('__'))
  assert.deepEqual(names.sort(), runtime.sort())
  for (const cls of ['NativeConnection', 'NativeServer']) {
    const d = members(classBody(dts, cls))
    assert.deepEqual([...d].sort(), [...runtimeMembers(native[cls], Object)].sort(), `members of ${cls}`)
  }
})
