// The ESM entry exports the same objects as the CommonJS one.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import * as esm from 'rtwire'
import rtwireDefault, { connect, WebSocket, EventSource, errorCodes } from 'rtwire'

const cjs = createRequire(import.meta.url)('rtwire')

test('ESM and CommonJS give the same objects', () => {
  assert.equal(connect, cjs.connect)
  assert.equal(WebSocket, cjs.WebSocket)
  assert.equal(EventSource, cjs.EventSource)
  assert.equal(errorCodes, cjs.errorCodes)
  assert.equal(rtwireDefault, cjs)
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort())
})
