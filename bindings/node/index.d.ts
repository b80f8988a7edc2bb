// Types of the `rtwire` package. Kept in sync with index.js and the addon
// by test/dts.test.js and `tsc --noEmit -p test/types`.

/// <reference types="node" />
import { EventEmitter } from 'node:events'
import type { ConnectOptions, ServerOptions, Transport } from './options.js'

// The options of `connect` and `serve`, generated from the core's option
// schema and server option schema.
export * from './options.js'

/** The stable name of an error kind of the core. */
export type ErrorKind =
  | 'invalid_url'
  | 'invalid_argument'
  | 'connect'
  | 'tls'
  | 'handshake'
  | 'protocol'
  | 'too_large'
  | 'timeout'
  | 'closed'
  | 'queue_full'
  | 'unsupported'
  | 'io'
  | 'internal'

/** The Node error code of each kind: `ERR_RTWIRE_<KIND>`. */
export type ErrorCode =
  | 'ERR_RTWIRE_INVALID_URL'
  | 'ERR_RTWIRE_INVALID_ARGUMENT'
  | 'ERR_RTWIRE_CONNECT'
  | 'ERR_RTWIRE_TLS'
  | 'ERR_RTWIRE_HANDSHAKE'
  | 'ERR_RTWIRE_PROTOCOL'
  | 'ERR_RTWIRE_TOO_LARGE'
  | 'ERR_RTWIRE_TIMEOUT'
  | 'ERR_RTWIRE_CLOSED'
  | 'ERR_RTWIRE_QUEUE_FULL'
  | 'ERR_RTWIRE_UNSUPPORTED'
  | 'ERR_RTWIRE_IO'
  | 'ERR_RTWIRE_INTERNAL'

/** Every kind mapped to its code. */
export declare const errorCodes: Readonly<Record<ErrorKind, ErrorCode>>

/** An error of the rtwire core. */
export declare class RtwireError extends Error {
  name: 'RtwireError'
  /** `ERR_RTWIRE_<KIND>`: stable, one per kind. */
  code: ErrorCode
  /** The core's kind name. */
  kind: ErrorKind
  /** HTTP status of a refused handshake. */
  status?: number
  /** Response headers of a refused handshake (lower-case names). */
  headers?: Record<string, string>
  /** Start of the response body of a refused handshake. */
  body?: Buffer
  /** The WebSocket close code that came with the error. */
  closeCode?: number
  /** The message handed back by a refused send. */
  unsent?: string | Buffer
}

/** A received message. */
export interface Message {
  /** A string for text, a Buffer for binary. */
  data: string | Buffer
  /** Whether `data` is binary. */
  binary: boolean
  /** SSE event type, if any. */
  event?: string
  /** SSE event id or long-poll cursor, if any. */
  id?: string
}

/** What an `open` event reports. */
export interface OpenInfo {
  transport: Exclude<Transport, 'auto'>
  url: string
  protocol: string | null
  headers: Record<string, string>
}

/** What a `reconnecting` event reports. */
export interface ReconnectingInfo {
  /** 1 for the first retry after a loss. */
  attempt: number
  /** Wait before the attempt, ms. */
  delay: number
  /** Why the previous session or attempt ended. */
  error: RtwireError
}

/** What a `close` event reports. */
export interface CloseInfo {
  code: number
  reason: string
  /** Whether the close handshake completed both ways. */
  clean: boolean
  /** Messages accepted by `send` and never written, in order. */
  unsent: Array<string | Buffer>
}

/** Data `send` accepts. */
export type SendData = string | Buffer | ArrayBufferView | ArrayBuffer

export interface ConnectionEvents {
  open: [info: OpenInfo]
  message: [message: Message]
  reconnecting: [info: ReconnectingInfo]
  error: [error: RtwireError | Error]
  close: [info: CloseInfo]
}

/** An open connection. Create it with `connect()`. */
export declare class Connection extends EventEmitter<ConnectionEvents> implements AsyncIterable<Message> {
  protected constructor ()
  readonly transport: Exclude<Transport, 'auto'>
  readonly url: string
  readonly protocol: string | null
  readonly headers: Record<string, string>
  readonly state: 'open' | 'reconnecting' | 'closing' | 'closed'
  readonly bufferedAmount: number
  /** Resolves with the close info when the connection is over; never rejects. */
  readonly closed: Promise<CloseInfo>
  /** Resolves when queued; waits while the outgoing queue is full. */
  send (data: SendData): Promise<void>
  /** Starts the close handshake; resolves when closed. */
  close (code?: number, reason?: string): Promise<CloseInfo>
  pause (): void
  resume (): void
  ref (): this
  unref (): this
  [Symbol.asyncIterator] (): AsyncIterator<Message, undefined>
}

/** Connects and resolves with an open connection. */
export declare function connect (url: string | URL, options?: ConnectOptions): Promise<Connection>

/** `ws` options accepted by the WebSocket class, besides ConnectOptions. */
export interface WebSocketOptions extends ConnectOptions {
  handshakeTimeout?: number
  maxPayload?: number
  rejectUnauthorized?: boolean
  perMessageDeflate?: boolean | object
  followRedirects?: boolean
}

export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob'

export declare class CloseEvent extends Event {
  constructor (type: string, init?: { code?: number, reason?: string, wasClean?: boolean } & EventInit)
  readonly code: number
  readonly reason: string
  readonly wasClean: boolean
}

export declare class ErrorEvent extends Event {
  constructor (type: string, init?: { error?: unknown, message?: string } & EventInit)
  readonly error: any
  readonly message: string
}

/** WHATWG WebSocket with the `ws` package's events, on rtwire. */
export declare class WebSocket extends EventEmitter {
  static readonly CONNECTING: 0
  static readonly OPEN: 1
  static readonly CLOSING: 2
  static readonly CLOSED: 3
  readonly CONNECTING: 0
  readonly OPEN: 1
  readonly CLOSING: 2
  readonly CLOSED: 3
  constructor (url: string | URL, protocols?: string | string[] | WebSocketOptions, options?: WebSocketOptions)
  readonly url: string
  readonly readyState: 0 | 1 | 2 | 3
  readonly protocol: string
  readonly extensions: string
  readonly bufferedAmount: number
  binaryType: BinaryType
  onopen: ((this: WebSocket, ev: Event) => any) | null
  onmessage: ((this: WebSocket, ev: MessageEvent) => any) | null
  onerror: ((this: WebSocket, ev: ErrorEvent) => any) | null
  onclose: ((this: WebSocket, ev: CloseEvent) => any) | null
  addEventListener (type: 'message', listener: (ev: MessageEvent) => any, options?: { once?: boolean }): void
  addEventListener (type: 'close', listener: (ev: CloseEvent) => any, options?: { once?: boolean }): void
  addEventListener (type: 'error', listener: (ev: ErrorEvent) => any, options?: { once?: boolean }): void
  addEventListener (type: string, listener: (ev: Event) => any, options?: { once?: boolean }): void
  removeEventListener (type: string, listener: (...args: any[]) => any): void
  dispatchEvent (ev: Event): boolean
  send (data: SendData | number, cb?: (err?: Error) => void): void
  send (data: SendData | number, options: { binary?: boolean }, cb?: (err?: Error) => void): void
  close (code?: number, reason?: string): void
  terminate (): void
  pause (): void
  resume (): void
  on (event: 'open', listener: () => void): this
  on (event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean) => void): this
  on (event: 'close', listener: (code: number, reason: Buffer) => void): this
  on (event: 'error', listener: (err: Error) => void): this
  on (event: string | symbol, listener: (...args: any[]) => void): this
}

/** Options of the EventSource class: the `eventsource` init dict and ConnectOptions. */
export interface EventSourceInit extends ConnectOptions {
  withCredentials?: boolean
  fetch?: unknown
}

/** WHATWG EventSource on rtwire (reconnects, resumes with Last-Event-ID). */
export declare class EventSource extends EventTarget {
  static readonly CONNECTING: 0
  static readonly OPEN: 1
  static readonly CLOSED: 2
  readonly CONNECTING: 0
  readonly OPEN: 1
  readonly CLOSED: 2
  constructor (url: string | URL, eventSourceInitDict?: EventSourceInit)
  readonly url: string
  readonly readyState: 0 | 1 | 2
  readonly withCredentials: boolean
  onopen: ((this: EventSource, ev: Event) => any) | null
  onmessage: ((this: EventSource, ev: MessageEvent) => any) | null
  onerror: ((this: EventSource, ev: ErrorEvent) => any) | null
  close (): void
}

/**
 * Options of `serve()`: those of the core's server option schema
 * (`ServerOptions`, generated in options.d.ts; durations in milliseconds)
 * and the binding's own below.
 */
export interface ServeOptions extends ServerOptions {
  /** Address or host name to listen on (default `'127.0.0.1'`). */
  host?: string
  /** Port (default 0: any free one; see `Server.port`). */
  port?: number
  /** Publish what WebSocket clients send as it is (default true). */
  publishReceived?: boolean
  /** Client messages waiting for `message` listeners at most (default 1024). */
  queue?: number
  /**
   * Path of the application route (exact, e.g. `'/chat'`): each WebSocket
   * client that opens it is handed to the `connection` listeners.
   */
  path?: string
  /** Subprotocols the route accepts, in order of preference (needs `path`). */
  protocols?: string[]
  /**
   * Asked before every upgrade or stream (the route and the channel paths):
   * `true`/`undefined` (or any other truthy value) accepts, `{ user }`
   * accepts and hands `user` to the route connection's `req.user`, `false`
   * refuses with 401, `{ status, body }` refuses with those; a throw or
   * rejection refuses with 500.
   */
  authenticate?: (req: ServerRequest) => AuthenticateResult | Promise<AuthenticateResult>
}

/** What `authenticate` answers. */
export type AuthenticateResult = boolean | undefined | void | { status: number, body?: string } | { user: unknown }

/** What a client asked for when it opened a connection (`connection`, `authenticate`). */
export interface ServerRequest {
  /** The server's id for the connection, unique while it runs. */
  id: number
  /** The client's address and port. */
  peer: { address: string, port: number }
  /** The request path. */
  path: string
  /** The query string without `?` (`''` when none). */
  query: string
  /** The request headers, lower-case names (repeated ones joined with `, `). */
  headers: Record<string, string>
  /** The subprotocol chosen, or null (always null in `authenticate`). */
  protocol: string | null
  /** What `authenticate` answered as `{ user }` (null otherwise; not set in `authenticate` itself). */
  user?: unknown
}

/** Figures of one channel. */
export interface ChannelStats {
  name: string
  /** Messages published since the server started. */
  published: number
  /** Messages kept in history. */
  history: number
  /** Live subscribers (WebSocket, SSE, streaming, held polls). */
  subscribers: number
}

/** `Server.stats()`. */
export interface ServerStats {
  /** Open TCP connections. */
  connections: number
  /** Per-channel figures, by channel name. */
  channels: Record<string, ChannelStats>
}

export interface ServerEvents {
  /** A WebSocket client sent `data` (string: text, Buffer: binary) on `channel`. */
  message: [channel: string, data: string | Buffer]
  /** A WebSocket client opened the application route (`path`); `conn` is a `Connection` (the client's class) with an id and rooms. */
  connection: [conn: ServerConnection, req: ServerRequest]
  /** `close()` has finished. */
  close: []
}

/** A connection of the application route: a `Connection` with the request's id and rooms. */
export declare class ServerConnection extends Connection {
  private constructor ()
  /** The server's id for this connection (`req.id`). */
  readonly id: number
  /** Adds it to `room`: `true` when it was not in it yet. It leaves every room when it ends. */
  join (room: string): boolean
  /** Takes it out of `room`: `true` when it was in it. */
  leave (room: string): boolean
  /** The rooms it is in, sorted. */
  readonly rooms: string[]
}

/** A message to a room's members (or everybody): `server.to(room).except(conn).send(data)`. */
export declare class Broadcast {
  private constructor ()
  /** Leaves `conn` (or the connection with that id) out. */
  except (conn: ServerConnection | number): this
  /** Queues `data` for every receiver without waiting; how many it was queued for. */
  send (data: SendData): number
}

/** A running embedded server. Create it with `serve()`. */
export declare class Server extends EventEmitter<ServerEvents> {
  private constructor ()
  readonly host: string
  readonly port: number
  /** `http://host:port` (`https://` with TLS). */
  readonly url: string
  /** The epoch of the message ids (`{epoch}-{seq}`), new at every start. */
  readonly epoch: string
  readonly closed: boolean
  /** Client messages not reported by `message` because too many were waiting. */
  readonly dropped: number
  /** Publishes to `channel` and returns the message id. */
  publish (channel: string, data: SendData): string
  stats (): ServerStats
  /** Drops every client at once, as a network cut would. */
  disconnectAll (): void
  /** A broadcast to the members of `room`. */
  to (room: string): Broadcast
  /** A broadcast to every connection of the application route. */
  all (): Broadcast
  /** The ids of the members of `room`, increasing. */
  members (room: string): number[]
  /** The rooms that have members, sorted. */
  readonly rooms: string[]
  /** Graceful stop: close frames (1001, route connections too), stream ends; resolves when done. */
  close (): Promise<void>
  ref (): this
  unref (): this
}

/** Starts the embedded server; resolves once it listens. */
export declare function serve (options?: ServeOptions): Promise<Server>

/** The package version. */
export declare const version: string
/** The version of the rtwire core the addon was built from. */
export declare const coreVersion: string
