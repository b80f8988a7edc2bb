/*
 * rtwire.h: the C API of rtwire, real-time web connections
 * (WebSocket, SSE, long polling, polling, HTTP streaming).
 *
 * GENERATED FILE: DO NOT EDIT. It is produced from the Rust sources in ffi/
 * by ffi/gen-header.sh (a pinned cbindgen); CI fails when it is stale.
 * Guide: docs/c-api.md.
 *
 * Conventions: every fallible function returns rtwire_result (0 = OK);
 * out-params are written only on success; handles are opaque and
 * generational, so NULL, freed and foreign handles give
 * RTWIRE_RESULT_INVALID_HANDLE instead of undefined behaviour; views
 * (rtwire_bytes, rtwire_str) are owned by the object they came from.
 */

#ifndef RTWIRE_H
#define RTWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Major version of the library this header belongs to.
 */
#define RTWIRE_VERSION_MAJOR 0

/**
 * Minor version of the library this header belongs to.
 */
#define RTWIRE_VERSION_MINOR 1

/**
 * Patch version of the library this header belongs to.
 */
#define RTWIRE_VERSION_PATCH 0

/**
 * The version as one number: major * 10000 + minor * 100 + patch, for
 * `#if RTWIRE_VERSION_NUMBER >= ...` checks.
 */
#define RTWIRE_VERSION_NUMBER (((RTWIRE_VERSION_MAJOR * 10000) + (RTWIRE_VERSION_MINOR * 100)) + RTWIRE_VERSION_PATCH)

/**
 * The most bytes a message id of the embedded server takes, including the
 * terminating NUL: an id buffer of this size is never truncated. Ids are
 * `{epoch}-{sequence}` (e.g. `"1f2e3d4c-17"`).
 */
#define RTWIRE_SERVER_ID_MAX 64

/**
 * The status of a call. `RTWIRE_RESULT_OK` (0) is success; every other
 * value is an error or a "try again" signal.
 *
 * Codes are numbered in blocks and never renumbered; a retired code is never
 * reused:
 * - 1–99: use of the API itself (NULL argument, stale handle, nothing ready);
 * - 100–199: arguments and configuration (`invalid_argument`, `invalid_url`,
 *   `unsupported`);
 * - 200–299: opening a connection (`connect`, `tls`, `handshake`, `timeout`);
 * - 300–399: an established connection (`protocol`, `too_large`, `io`,
 *   `closed`, `queue_full`);
 * - 900–999: bugs (`internal`).
 *
 * Each core error kind maps to exactly one code; `rtwire_result_name()`
 * gives the kind's stable snake_case name (`"invalid_url"`, ...).
 */
enum rtwire_result
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Success.
   */
  RTWIRE_RESULT_OK = 0,
  /**
   * A required pointer argument was NULL.
   */
  RTWIRE_RESULT_NULL_ARGUMENT = 1,
  /**
   * The handle is NULL, was freed, belongs to a freed context, or is not a
   * handle of this type.
   */
  RTWIRE_RESULT_INVALID_HANDLE = 2,
  /**
   * Nothing is ready now (no event queued; connection not open yet; woken
   * by `rtwire_context_wakeup()`); try again later.
   */
  RTWIRE_RESULT_WOULD_BLOCK = 3,
  /**
   * A panic inside rtwire was caught at the API boundary (a bug; please
   * report it). The handle stays usable.
   */
  RTWIRE_RESULT_PANIC = 4,
  /**
   * An error of a kind this version of the C API does not know.
   */
  RTWIRE_RESULT_UNKNOWN = 5,
  /**
   * An argument or option had a value outside its allowed range, or a
   * string was not valid UTF-8.
   */
  RTWIRE_RESULT_INVALID_ARGUMENT = 100,
  /**
   * The URL could not be used (syntax, scheme, host, port, fragment).
   */
  RTWIRE_RESULT_INVALID_URL = 101,
  /**
   * The feature or transport is not available (yet) for this connection.
   */
  RTWIRE_RESULT_UNSUPPORTED = 102,
  /**
   * Name resolution or the TCP connection failed (refused, unreachable).
   */
  RTWIRE_RESULT_CONNECT = 200,
  /**
   * TLS failed: certificate, CA or key file, handshake.
   */
  RTWIRE_RESULT_TLS = 201,
  /**
   * The HTTP handshake was refused or answered wrongly.
   */
  RTWIRE_RESULT_HANDSHAKE = 202,
  /**
   * An operation did not finish in time (handshake, close, dead peer,
   * `rtwire_context_wait()` with nothing to report).
   */
  RTWIRE_RESULT_TIMEOUT = 203,
  /**
   * The peer broke the protocol.
   */
  RTWIRE_RESULT_PROTOCOL = 300,
  /**
   * A message or frame was over the configured limit.
   */
  RTWIRE_RESULT_TOO_LARGE = 301,
  /**
   * An I/O error on an established connection.
   */
  RTWIRE_RESULT_IO = 302,
  /**
   * The connection is closed or closing; the operation cannot be
   * performed.
   */
  RTWIRE_RESULT_CLOSED = 303,
  /**
   * The outgoing queue is over its high-water mark (backpressure); the
   * message was not queued. Retry later or pass a timeout.
   */
  RTWIRE_RESULT_QUEUE_FULL = 304,
  /**
   * A broken invariant inside rtwire (a bug).
   */
  RTWIRE_RESULT_INTERNAL = 900,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtwire_result rtwire_result;
#else
typedef uint32_t rtwire_result;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The type of an event.
 */
enum rtwire_event_type
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Not an event: returned for an invalid handle.
   */
  RTWIRE_EVENT_TYPE_NONE = 0,
  /**
   * A session opened (first connect or after a reconnect): transport,
   * URL, subprotocol, response headers.
   */
  RTWIRE_EVENT_TYPE_OPEN = 1,
  /**
   * A message: data (text or binary) and, for transports that have
   * them, an event name and id.
   */
  RTWIRE_EVENT_TYPE_MESSAGE = 2,
  /**
   * The session was lost and attempt N starts after a delay; the error
   * accessors give the cause.
   */
  RTWIRE_EVENT_TYPE_RECONNECTING = 3,
  /**
   * An error: one that ends the connection (CLOSED follows) or one the
   * connection survived.
   */
  RTWIRE_EVENT_TYPE_ERROR = 4,
  /**
   * The connection is over: close code, reason, whether it was clean,
   * and messages that were never sent. Always the last event of a
   * connection, exactly once.
   */
  RTWIRE_EVENT_TYPE_CLOSED = 5,
  /**
   * Server (with `rtwire_server_options_set_events()`): a client
   * subscribed over a long-lived transport: channel, transport
   * (WebSocket, SSE or streaming), peer address.
   */
  RTWIRE_EVENT_TYPE_SERVER_CONNECTED = 6,
  /**
   * Server: that client went away: channel, transport, peer address.
   */
  RTWIRE_EVENT_TYPE_SERVER_DISCONNECTED = 7,
  /**
   * Server: a message was published (by a client or through
   * `rtwire_server_publish_text()` / `_binary()`): channel, id, size.
   */
  RTWIRE_EVENT_TYPE_SERVER_PUBLISHED = 8,
  /**
   * Server (with `rtwire_server_options_set_client_messages()`): a
   * WebSocket client sent a message, which was not published: channel
   * and data. Publish it (or anything else) yourself if you want to.
   */
  RTWIRE_EVENT_TYPE_SERVER_MESSAGE = 9,
  /**
   * Server (with `rtwire_server_options_set_accept()`): a client asks
   * to open a route or a channel path. Answer the request
   * (`rtwire_event_request()`) with `rtwire_request_accept()` or
   * `rtwire_request_reject()`; freeing the event unanswered (also the
   * free after a dispatch callback returns) refuses it with 503, and so
   * does the accept timeout.
   */
  RTWIRE_EVENT_TYPE_SERVER_REQUEST = 10,
  /**
   * Server: a client opened a route (`rtwire_server_options_add_route()`)
   * and is now a connection: `rtwire_event_conn()` is its new handle,
   * which the application owns and frees with `rtwire_conn_free()`; its
   * own events (OPEN, MESSAGE, ..., CLOSED) follow through the same
   * context. `rtwire_event_request()` is its request,
   * `rtwire_event_connection_id()` its id, `rtwire_event_userdata()` the
   * user pointer of the accept decision.
   */
  RTWIRE_EVENT_TYPE_SERVER_ACCEPTED = 11,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtwire_event_type rtwire_event_type;
#else
typedef uint32_t rtwire_event_type;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Which transport carries a connection, as `rtwire_event_transport()`
 * reports it (options name a transport by its word, see
 * `rtwire_options_set_transport()`).
 */
enum rtwire_transport
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Follow the URL scheme: `ws`/`wss` → WebSocket, `http`/`https` → SSE
   * (the default).
   */
  RTWIRE_TRANSPORT_AUTO = 0,
  /**
   * WebSocket (RFC 6455).
   */
  RTWIRE_TRANSPORT_WEBSOCKET = 1,
  /**
   * Server-Sent Events.
   */
  RTWIRE_TRANSPORT_SSE = 2,
  /**
   * HTTP long polling.
   */
  RTWIRE_TRANSPORT_LONG_POLL = 3,
  /**
   * HTTP short polling.
   */
  RTWIRE_TRANSPORT_POLL = 4,
  /**
   * HTTP streaming.
   */
  RTWIRE_TRANSPORT_STREAM = 5,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtwire_transport rtwire_transport;
#else
typedef uint32_t rtwire_transport;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What a broadcast does with a receiver whose outgoing queue is over
 * `send_queue_bytes` (`rtwire_server_options_set_slow_consumer()`).
 */
enum rtwire_slow_consumer
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Close it with 1008 (policy violation) after what it already has
   * queued; it leaves its rooms at once (the default).
   */
  RTWIRE_SLOW_CONSUMER_DISCONNECT = 0,
  /**
   * Leave it out of this message.
   */
  RTWIRE_SLOW_CONSUMER_SKIP = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtwire_slow_consumer rtwire_slow_consumer;
#else
typedef uint32_t rtwire_slow_consumer;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * One connection (opaque), created by `rtwire_context_connect()` and freed
 * with `rtwire_conn_free()`. Its events arrive through its context.
 *
 * Thread safety: every function may be called from any thread, also
 * concurrently (e.g. sends from several threads while another closes).
 */
typedef struct rtwire_conn rtwire_conn;

/**
 * A context (opaque): one background thread on which its connections and
 * servers run, their shared event queue, and a notify fd.
 *
 * Create with `rtwire_context_new()`, free with `rtwire_context_free()`.
 * Events are taken on the caller's threads (`rtwire_context_next_event()`,
 * `rtwire_context_wait()`, `rtwire_context_dispatch()`); no user code ever
 * runs on rtwire's threads.
 *
 * Thread safety: every function may be called from any thread.
 */
typedef struct rtwire_context rtwire_context;

/**
 * One event of a connection or of a server (opaque). Taken with
 * `rtwire_context_next_event()` (the caller owns it and frees it with
 * `rtwire_event_free()`) or borrowed inside a dispatch callback.
 *
 * Views returned by its accessors (`rtwire_bytes`, `rtwire_str`) point
 * into the event and stay valid until it is freed. An event is immutable:
 * accessors may be called from any thread, but do not free it while
 * another thread still reads it.
 */
typedef struct rtwire_event rtwire_event;

/**
 * A set of connection options (opaque). Create with `rtwire_options_new()`,
 * free with `rtwire_options_free()`. `rtwire_context_connect()` copies the
 * options, so one object can serve many connections and may be freed right
 * after connecting.
 *
 * Thread safety: every function may be called from any thread; calls on the
 * same object are serialised internally.
 */
typedef struct rtwire_options rtwire_options;

/**
 * What a client asked for when it opened a route or a channel path
 * (opaque): path, query, headers, peer address, the subprotocol chosen,
 * the user pointer of the accept decision.
 *
 * Two kinds, never freed by the application:
 * - the pending request of a SERVER_REQUEST event, owned by the event
 *   (valid until `rtwire_event_free()`), answered with
 *   `rtwire_request_accept()` or `rtwire_request_reject()`;
 * - the request of a connection a route accepted, owned by the connection
 *   (`rtwire_conn_request()`, valid until `rtwire_conn_free()`).
 *
 * Views its accessors return live as long as the request. Thread safety:
 * every function may be called from any thread.
 */
typedef struct rtwire_request rtwire_request;

/**
 * A running (or stopped) embedded server (opaque), started with
 * `rtwire_server_start()` and freed with `rtwire_server_free()`. It serves
 * named channels over every transport at once on one port:
 * `/ws/{channel}` (WebSocket), `/sse/{channel}`, `/poll/{channel}`,
 * `/stream/{channel}`, `/latest/{channel}`, `POST /publish/{channel}`,
 * `/negotiate/{channel}`, `/healthz` (see docs/server.md), and the
 * application routes added with `rtwire_server_options_add_route()`,
 * whose clients become connections (`RTWIRE_EVENT_TYPE_SERVER_ACCEPTED`)
 * that rooms (`rtwire_server_join()`, `rtwire_server_broadcast_text()`)
 * address by id.
 *
 * Thread safety: every function may be called from any thread, also
 * concurrently (e.g. publishes from several threads).
 */
typedef struct rtwire_server rtwire_server;

/**
 * Settings of an embedded server (opaque). Create with
 * `rtwire_server_options_new()`, free with `rtwire_server_options_free()`.
 * `rtwire_server_start()` copies them, so one object can start many
 * servers and may be freed right after.
 *
 * Thread safety: every function may be called from any thread.
 */
typedef struct rtwire_server_options rtwire_server_options;

/**
 * A snapshot of a server's figures (opaque), taken with
 * `rtwire_server_stats()` and freed with `rtwire_stats_free()`.
 * Immutable: its accessors may be called from any thread; views they
 * return are valid until it is freed.
 */
typedef struct rtwire_stats rtwire_stats;

/**
 * A read-only view of a UTF-8 string owned by rtwire.
 *
 * When present, `data` is NUL-terminated and `len` excludes the NUL (the
 * text itself may contain NUL only if the peer sent one). `data` is NULL
 * when the value is absent (e.g. a message without an event id), which is
 * different from present but empty (`data` = `""`, `len` = 0). Same
 * lifetime rules as `rtwire_bytes`; never free `data`.
 */
typedef struct {
  /**
   * NUL-terminated UTF-8, or NULL when absent.
   */
  const char *data;
  /**
   * Length in bytes, excluding the terminating NUL.
   */
  size_t len;
} rtwire_str;

/**
 * What a broadcast did (`rtwire_server_broadcast_text()`).
 */
typedef struct {
  /**
   * Receivers the message was queued for.
   */
  size_t queued;
  /**
   * Slow consumers left out of it (`RTWIRE_SLOW_CONSUMER_SKIP`).
   */
  size_t skipped;
  /**
   * Slow consumers being closed with 1008
   * (`RTWIRE_SLOW_CONSUMER_DISCONNECT`).
   */
  size_t disconnected;
} rtwire_delivery;

/**
 * Called by `rtwire_context_dispatch()` once per event, on the calling
 * thread. `event` is borrowed: it is valid until the callback returns and
 * is freed by dispatch afterwards (do not free it; if you do, nothing bad
 * happens). Return 0 to continue, non-zero to stop dispatching.
 *
 * The callback may call any rtwire function, including sending on,
 * closing or freeing the event's connection, and freeing the context
 * (dispatch then stops). It must not unwind (C++ exceptions, longjmp)
 * through rtwire.
 */
typedef int (*rtwire_event_callback)(void *userdata, const rtwire_event *event);

/**
 * A read-only view of bytes owned by rtwire.
 *
 * `data` is NULL only when `len` is 0. The view lives as long as the object
 * it came from (for event accessors: until `rtwire_event_free()`); never
 * free `data`.
 */
typedef struct {
  /**
   * The first byte, or NULL when empty.
   */
  const uint8_t *data;
  /**
   * Number of bytes.
   */
  size_t len;
} rtwire_bytes;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The library version as a static NUL-terminated string (`"0.1.0"`).
 *
 * Compare it with the header's `RTWIRE_VERSION_*` macros to detect a header
 * and library mismatch. Never NULL; do not free. Thread-safe.
 */
const char *rtwire_version(void);

/**
 * Serves an application at `path` (exact match, e.g. `"/chat"`; it must
 * start with `/`): every client that opens it — over WebSocket, or over
 * SSE, NDJSON streaming or long polling with POST up (docs/server.md) —
 * becomes a connection announced by a `RTWIRE_EVENT_TYPE_SERVER_ACCEPTED`
 * event that carries its new `rtwire_conn` handle. The application owns
 * that handle and uses it as a client connection's: its events (OPEN,
 * MESSAGE, CLOSED last) come through the server's context,
 * `rtwire_conn_send_text()` / `_binary()` queue messages to the client
 * (bounded by `send_queue_bytes`), `rtwire_conn_close()` closes it and
 * `rtwire_conn_free()` frees it (closing with 1001 if still open).
 *
 * `protocols`: NULL, or a comma-separated list of WebSocket subprotocols
 * the route accepts, in its order of preference (`"chat.v2, chat.v1"`);
 * the first one the client offers is chosen (`rtwire_request_protocol()`),
 * a client that offers none is served without one. Adding a route at the
 * same path again replaces it. Strings are copied.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` (`path`) or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (not UTF-8; a path not starting with
 * `/` or holding `?`, `#` or spaces; an empty or blank protocol name),
 * with the text on the options handle. Thread-safe.
 *
 * # Safety
 * `path` is NULL or a NUL-terminated string; so is `protocols`.
 */
rtwire_result rtwire_server_options_add_route(rtwire_server_options *opts,
                                              const char *path,
                                              const char *protocols);

/**
 * Makes the application decide on every request to a route or a channel
 * path (not `/healthz`), after the token check (default off: every
 * request is accepted). Each one is a `RTWIRE_EVENT_TYPE_SERVER_REQUEST`
 * event whose request (`rtwire_event_request()`) the application answers
 * — from any thread, at once or later while the event lives — with
 * `rtwire_request_accept()` or `rtwire_request_reject()`. A request not
 * answered within the accept timeout
 * (`rtwire_server_options_set_accept_timeout_ms()`, 10 s), or whose event
 * is freed unanswered, is refused with 503.
 *
 * The decision is an event rather than a callback so that no application
 * code runs on rtwire's threads, as for every other event; the client
 * waits meanwhile, the server does not.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_server_options_set_accept(rtwire_server_options *opts, bool enabled);

/**
 * How long a request waits for the application's answer (with
 * `rtwire_server_options_set_accept()`), in milliseconds (default 10000);
 * then it is refused with 503.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
 */
rtwire_result rtwire_server_options_set_accept_timeout_ms(rtwire_server_options *opts, uint32_t ms);

/**
 * The bound in bytes of each route connection's outgoing queue (default
 * 1 MiB): sends with a timeout wait while more is unsent, sends without
 * one return `RTWIRE_RESULT_QUEUE_FULL`, and a broadcast treats the
 * connection as a slow consumer (`rtwire_server_options_set_slow_consumer()`).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
 */
rtwire_result rtwire_server_options_set_send_queue_bytes(rtwire_server_options *opts, size_t bytes);

/**
 * What a broadcast does with a slow consumer: `RTWIRE_SLOW_CONSUMER_DISCONNECT`
 * (0, the default: close 1008) or `RTWIRE_SLOW_CONSUMER_SKIP` (1: leave it
 * out of that message). Passed as a number so that no value from C can be
 * out of the enum's range.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (another value).
 */
rtwire_result rtwire_server_options_set_slow_consumer(rtwire_server_options *opts, uint32_t policy);

/**
 * Closes a route connection that passed this many milliseconds without a
 * message in either direction (pings do not count) with 1001 "idle
 * timeout"; 0 (the default) means no limit.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_server_options_set_idle_timeout_ms(rtwire_server_options *opts, uint32_t ms);

/**
 * The server's id for the connection (unique while the server runs; the
 * id rooms and broadcasts take); 0 for an invalid handle.
 */
uint64_t rtwire_request_id(const rtwire_request *req);

/**
 * The request path (`/chat`). Absent for an invalid handle. Valid as long
 * as the request.
 */
rtwire_str rtwire_request_path(const rtwire_request *req);

/**
 * The query string without `?`, as sent (empty when there is none).
 * Absent for an invalid handle. Valid as long as the request.
 */
rtwire_str rtwire_request_query(const rtwire_request *req);

/**
 * The first value of query parameter `name`, decoded (`+` and `%XX`):
 * absent (`data` NULL) when there is no such parameter, empty for
 * `?name=` or `?name`. Absent also for an invalid handle or a NULL or
 * non-UTF-8 `name`. Valid as long as the request.
 *
 * # Safety
 * `name` is NULL or a NUL-terminated string.
 */
rtwire_str rtwire_request_query_param(const rtwire_request *req, const char *name);

/**
 * The first value of request header `name` (any case): absent (`data`
 * NULL) when the request has no such header, and for an invalid handle
 * or a NULL `name`. Valid as long as the request.
 *
 * # Safety
 * `name` is NULL or a NUL-terminated string.
 */
rtwire_str rtwire_request_header(const rtwire_request *req, const char *name);

/**
 * The number of request headers (0 for an invalid handle).
 */
size_t rtwire_request_header_count(const rtwire_request *req);

/**
 * Request header number `index`, in the order sent (names in lower case),
 * written to `*name` and `*value` (views valid as long as the request).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT`
 * (`index` out of range). The out-params are written only on success.
 *
 * # Safety
 * `name` and `value` are NULL or writable.
 */
rtwire_result rtwire_request_header_at(const rtwire_request *req,
                                       size_t index,
                                       rtwire_str *name,
                                       rtwire_str *value);

/**
 * The client's address (`127.0.0.1:54321`, `[::1]:54321`). Absent for an
 * invalid handle. Valid as long as the request.
 */
rtwire_str rtwire_request_peer(const rtwire_request *req);

/**
 * The WebSocket subprotocol chosen for the connection (see
 * `rtwire_server_options_add_route()`): absent when none was, for a
 * pending request (it is chosen after the decision) and for an invalid
 * handle. Valid as long as the request.
 */
rtwire_str rtwire_request_protocol(const rtwire_request *req);

/**
 * The `user` pointer the application gave `rtwire_request_accept()` for
 * this connection (also its `rtwire_conn_userdata()`); NULL without an
 * accept decision, for a pending request and for an invalid handle.
 * rtwire never dereferences it.
 */
void *rtwire_request_user(const rtwire_request *req);

/**
 * Whether the request still waits for an answer (a SERVER_REQUEST's
 * request before `rtwire_request_accept()`, `_reject()` or the timeout).
 */
bool rtwire_request_is_pending(const rtwire_request *req);

/**
 * Accepts a pending request (of a SERVER_REQUEST event): the upgrade or
 * the stream goes ahead; for a route, a SERVER_ACCEPTED event follows,
 * whose connection has `user` as its userdata (`rtwire_conn_userdata()`,
 * `rtwire_event_userdata()` of its events, `rtwire_request_user()`).
 * rtwire never dereferences `user`; when the connection does not come
 * about (the client went away, a channel path) nothing tells you, so do
 * not make it the only reference to memory you must free.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (already answered,
 * timed out and refused with 503, or the client or the server is gone),
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (the request of a connection, not a
 * pending one) or `RTWIRE_RESULT_INVALID_HANDLE`, with the text on the
 * request (`rtwire_request_last_error()`). Never blocks; callable from any
 * thread while the event lives.
 */
rtwire_result rtwire_request_accept(const rtwire_request *req, void *user);

/**
 * Refuses a pending request with HTTP `status` (400 to 599) and `body`
 * (UTF-8 text, copied; NULL for none): rtwire clients see a `handshake`
 * error with that status and body.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_ARGUMENT` (a status
 * out of range, a body not UTF-8, the request of a connection),
 * `RTWIRE_RESULT_CLOSED` and `RTWIRE_RESULT_INVALID_HANDLE` as
 * `rtwire_request_accept()`. A refused argument leaves the request
 * pending.
 *
 * # Safety
 * `body` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_request_reject(const rtwire_request *req, uint16_t status, const char *body);

/**
 * Copies the text of the last error recorded on this request into `buf`,
 * snprintf-style (see `rtwire_context_last_error()`). Returns the full
 * length without the NUL; 0 when there is none or the handle is invalid.
 *
 * # Safety
 * `buf` is NULL or points to `cap` writable bytes.
 */
size_t rtwire_request_last_error(const rtwire_request *req, char *buf, size_t cap);

/**
 * Adds route connection `id` to `room` (1 to 256 bytes of UTF-8). When
 * `added` is not NULL it says whether the connection was not in the room
 * yet.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (no open connection
 * `id`; the server was stopped), `RTWIRE_RESULT_INVALID_ARGUMENT` (room
 * name), `RTWIRE_RESULT_NULL_ARGUMENT` (`room`) or
 * `RTWIRE_RESULT_INVALID_HANDLE`, with the text on the server
 * (`rtwire_server_last_error()`). Never blocks. Thread-safe.
 *
 * # Safety
 * `room` is NULL or a NUL-terminated string; `added` is NULL or writable.
 */
rtwire_result rtwire_server_join(rtwire_server *server, uint64_t id, const char *room, bool *added);

/**
 * Takes route connection `id` out of `room`. When `was_member` is not
 * NULL it says whether it was in it (an unknown id or room is not an
 * error: `false`).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (stopped),
 * `RTWIRE_RESULT_NULL_ARGUMENT`, `RTWIRE_RESULT_INVALID_ARGUMENT` (not
 * UTF-8) or `RTWIRE_RESULT_INVALID_HANDLE`. Thread-safe.
 *
 * # Safety
 * `room` is NULL or a NUL-terminated string; `was_member` is NULL or
 * writable.
 */
rtwire_result rtwire_server_leave(rtwire_server *server,
                                  uint64_t id,
                                  const char *room,
                                  bool *was_member);

/**
 * Sends a text message (`len` bytes of UTF-8 at `text`, copied once for
 * every receiver) to the route connections in `room` (NULL: every open
 * route connection), but those whose ids are among the `except_count` ids
 * at `except` (the sender, typically; `(NULL, 0)` for none). Never waits:
 * a receiver whose queue is over `send_queue_bytes` is dealt with by the
 * slow-consumer policy, so one slow client never holds the others up.
 * When `out` is not NULL it receives the counts.
 *
 * Returns `RTWIRE_RESULT_OK` (also when nobody received it),
 * `RTWIRE_RESULT_CLOSED` (the server was stopped),
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (text or room not UTF-8),
 * `RTWIRE_RESULT_NULL_ARGUMENT` (`text` with `len` > 0, `except` with
 * `except_count` > 0) or `RTWIRE_RESULT_INVALID_HANDLE`, with the text on
 * the server. Thread-safe.
 *
 * # Safety
 * `room` is NULL or a NUL-terminated string; `except` points to
 * `except_count` ids (or `except_count` is 0); `text` points to `len`
 * readable bytes (or `len` is 0); `out` is NULL or writable.
 */
rtwire_result rtwire_server_broadcast_text(rtwire_server *server,
                                           const char *room,
                                           const uint64_t *except,
                                           size_t except_count,
                                           const char *text,
                                           size_t len,
                                           rtwire_delivery *out);

/**
 * As `rtwire_server_broadcast_text()`, with a binary message (`len` bytes
 * at `data`, copied once).
 *
 * # Safety
 * As `rtwire_server_broadcast_text()`.
 */
rtwire_result rtwire_server_broadcast_binary(rtwire_server *server,
                                             const char *room,
                                             const uint64_t *except,
                                             size_t except_count,
                                             const uint8_t *data,
                                             size_t len,
                                             rtwire_delivery *out);

/**
 * Sends a text message to route connection `id` alone, without waiting.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_QUEUE_FULL` (its queue is
 * over `send_queue_bytes`), `RTWIRE_RESULT_CLOSED` (no open connection
 * `id`; stopped), `RTWIRE_RESULT_INVALID_ARGUMENT` (not UTF-8),
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_HANDLE`.
 * Thread-safe.
 *
 * # Safety
 * `text` points to `len` readable bytes (or `len` is 0).
 */
rtwire_result rtwire_server_send_text(rtwire_server *server,
                                      uint64_t id,
                                      const char *text,
                                      size_t len);

/**
 * Writes to `*count` how many route connections are in `room` (0 for a
 * room nobody is in).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (stopped),
 * `RTWIRE_RESULT_NULL_ARGUMENT`, `RTWIRE_RESULT_INVALID_ARGUMENT` (not
 * UTF-8) or `RTWIRE_RESULT_INVALID_HANDLE`; `*count` is written only on
 * success. Thread-safe.
 *
 * # Safety
 * `room` is NULL or a NUL-terminated string; `count` is NULL or writable.
 */
rtwire_result rtwire_server_member_count(const rtwire_server *server,
                                         const char *room,
                                         size_t *count);

/**
 * Copies the ids of the members of `room`, in increasing order, into
 * `ids` (at most `cap` of them; `ids` may be NULL when `cap` is 0) and
 * writes how many members there are to `*count` (more than `cap` means
 * the list was cut: call again with a larger buffer).
 *
 * Returns as `rtwire_server_member_count()`.
 *
 * # Safety
 * `room` is NULL or a NUL-terminated string; `ids` points to `cap`
 * writable ids (or `cap` is 0); `count` is NULL or writable.
 */
rtwire_result rtwire_server_members(const rtwire_server *server,
                                    const char *room,
                                    uint64_t *ids,
                                    size_t cap,
                                    size_t *count);

/**
 * Writes to `*count` how many rooms route connection `id` is in (0 for an
 * id that is not open).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (stopped),
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_HANDLE`.
 *
 * # Safety
 * `count` is NULL or writable.
 */
rtwire_result rtwire_server_room_count(const rtwire_server *server, uint64_t id, size_t *count);

/**
 * Copies the name of room number `index` (0-based, in name order) of
 * route connection `id` into `buf`, snprintf-style, and writes its full
 * length (without the NUL) to `*len` when `len` is not NULL.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_ARGUMENT` (`index`
 * out of range), `RTWIRE_RESULT_CLOSED` (stopped) or
 * `RTWIRE_RESULT_INVALID_HANDLE`.
 *
 * # Safety
 * `buf` is NULL or points to `cap` writable bytes; `len` is NULL or
 * writable.
 */
rtwire_result rtwire_server_room_name(const rtwire_server *server,
                                      uint64_t id,
                                      size_t index,
                                      char *buf,
                                      size_t cap,
                                      size_t *len);

/**
 * Opens a connection to `url` with a copy of `opts` (NULL means the
 * defaults) and writes its handle to `*out`. Does not block: the
 * connection opens in the background and reports OPEN, or ERROR then
 * CLOSED, through the context's events.
 *
 * `userdata` is stored with the connection and handed back by
 * `rtwire_event_userdata()` and `rtwire_conn_userdata()`; rtwire never
 * dereferences it.
 *
 * Errors found before any network I/O are returned at once, with the text
 * on the context (`rtwire_context_last_error()`), and nothing is created:
 * `RTWIRE_RESULT_INVALID_URL`, `RTWIRE_RESULT_INVALID_ARGUMENT` (options
 * that do not go together, such as a client certificate without its key;
 * `url` not UTF-8), `RTWIRE_RESULT_UNSUPPORTED`
 * (a transport not available yet), `RTWIRE_RESULT_TLS` (unreadable CA or
 * key file). Also `RTWIRE_RESULT_NULL_ARGUMENT` (`url` or `out`),
 * `RTWIRE_RESULT_INVALID_HANDLE` (`ctx`, or a non-NULL `opts` that is not
 * live). Failures on the network (refused, timeout, handshake, TLS
 * handshake) arrive as an ERROR event followed by CLOSED (code 1006).
 *
 * On success the caller owns `*out` and frees it with `rtwire_conn_free()`
 * (also after CLOSED). Thread-safe.
 *
 * # Safety
 * `url` is NULL or a NUL-terminated string; `out` is NULL or writable.
 */
rtwire_result rtwire_context_connect(rtwire_context *ctx,
                                     const char *url,
                                     const rtwire_options *opts,
                                     void *userdata,
                                     rtwire_conn **out);

/**
 * Queues a text message (`len` bytes of UTF-8 at `text`, copied; need not
 * be NUL-terminated; `(NULL, 0)` sends an empty message).
 *
 * `timeout_ms` says how long the call may block: 0 never blocks; a
 * positive value waits up to that long while the connection is still
 * opening or the outgoing queue is over its high-water mark; a negative
 * value waits without limit. Waiting happens on the calling thread; do not
 * wait on the thread that takes the events if the peer may be blocked on
 * them.
 *
 * Returns `RTWIRE_RESULT_OK` (queued; it is written in order, also across
 * reconnects, or handed back in the CLOSED event's unsent list),
 * `RTWIRE_RESULT_QUEUE_FULL` (backpressure: not queued; retry later),
 * `RTWIRE_RESULT_WOULD_BLOCK` (not open yet and `timeout_ms` is 0),
 * `RTWIRE_RESULT_TIMEOUT` (did not open in time), `RTWIRE_RESULT_CLOSED`
 * (after `rtwire_conn_close()` or the end of the connection),
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (not UTF-8), `RTWIRE_RESULT_NULL_ARGUMENT`
 * (`text` NULL with `len` > 0) or `RTWIRE_RESULT_INVALID_HANDLE`. The error
 * text is kept on the connection. Thread-safe.
 *
 * # Safety
 * `text` points to `len` readable bytes (or `len` is 0).
 */
rtwire_result rtwire_conn_send_text(rtwire_conn *conn,
                                    const char *text,
                                    size_t len,
                                    int32_t timeout_ms);

/**
 * Queues a binary message (`len` bytes at `data`, copied; `(NULL, 0)`
 * sends an empty message). Waiting and results as
 * `rtwire_conn_send_text()` (without the UTF-8 check). Thread-safe.
 *
 * # Safety
 * `data` points to `len` readable bytes (or `len` is 0).
 */
rtwire_result rtwire_conn_send_binary(rtwire_conn *conn,
                                      const uint8_t *data,
                                      size_t len,
                                      int32_t timeout_ms);

/**
 * Starts closing the connection: messages queued before go out first, then
 * a close frame with `code` and `reason` (NULL means no reason); the peer's
 * reply is awaited up to the close timeout. Never blocks. Keep taking
 * events: messages still arriving are delivered and CLOSED comes last.
 * Closing a connection that is still opening cancels it (CLOSED with code
 * 1006). Sends after this return `RTWIRE_RESULT_CLOSED`.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (close was already
 * called, or the connection already ended), `RTWIRE_RESULT_INVALID_ARGUMENT`
 * (a code an application may not send — allowed: 1000–1003, 1007–1014,
 * 3000–4999 — or a reason over 123 bytes or not UTF-8) or
 * `RTWIRE_RESULT_INVALID_HANDLE`. Thread-safe.
 *
 * # Safety
 * `reason` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_conn_close(rtwire_conn *conn, uint16_t code, const char *reason);

/**
 * Writes to `*out` the number of bytes accepted by sends and not yet
 * handed to the socket (0 before the connection opens).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_NULL_ARGUMENT` or
 * `RTWIRE_RESULT_INVALID_HANDLE`; `*out` is written only on success.
 * Thread-safe.
 *
 * # Safety
 * `out` is NULL or writable.
 */
rtwire_result rtwire_conn_buffered_amount(const rtwire_conn *conn, size_t *out);

/**
 * The `userdata` given to `rtwire_context_connect()` (for a connection a
 * server accepted: the `user` given to `rtwire_request_accept()`), or NULL
 * for an invalid handle. Thread-safe.
 */
void *rtwire_conn_userdata(const rtwire_conn *conn);

/**
 * The server's id for a connection it accepted on one of its routes (the
 * id rooms and broadcasts take, `rtwire_request_id()`); 0 for a client
 * connection and for an invalid handle. Thread-safe.
 */
uint64_t rtwire_conn_id(const rtwire_conn *conn);

/**
 * The request a connection accepted by a server came with (path, query,
 * headers, peer, subprotocol, the user pointer of the accept decision):
 * owned by the connection, valid until `rtwire_conn_free()`; do not free
 * it. NULL for a client connection and for an invalid handle.
 * Thread-safe.
 */
const rtwire_request *rtwire_conn_request(const rtwire_conn *conn);

/**
 * Copies the text of the last error recorded on this connection into
 * `buf`, snprintf-style (see `rtwire_context_last_error()`). Returns the
 * full length without the NUL; 0 when there is none or the handle is
 * invalid. Thread-safe.
 *
 * # Safety
 * `buf` is NULL or points to `cap` writable bytes.
 */
size_t rtwire_conn_last_error(const rtwire_conn *conn, char *buf, size_t cap);

/**
 * Frees a connection handle (a client's, or one a server accepted: its
 * request goes with it). If the connection is still open it is closed
 * in the background with code 1001 (going away); for a chosen code call
 * `rtwire_conn_close()` and wait for CLOSED first. Its undelivered events
 * are discarded and no further event of it is delivered; events already
 * taken stay valid until `rtwire_event_free()` (their
 * `rtwire_event_conn()` is then a stale handle).
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
 * double free, freed with its context, not a connection). Never blocks.
 * Thread-safe; safe inside a dispatch callback, also for the connection of
 * the event being dispatched.
 */
rtwire_result rtwire_conn_free(rtwire_conn *conn);

/**
 * Creates a context: starts its background thread (named `rtwire-ctx`;
 * name lookups use up to 4 more, started on demand), opens its notify fd,
 * and writes the context to `*out`.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_NULL_ARGUMENT` (`out` is
 * NULL) or `RTWIRE_RESULT_IO` (no thread or pipe could be created).
 * `*out` is written only on success. The caller owns the context and frees
 * it with `rtwire_context_free()`. Thread-safe.
 *
 * # Safety
 * `out` is NULL or writable.
 */
rtwire_result rtwire_context_new(rtwire_context **out);

/**
 * Frees a context and everything in it: every connection of the context
 * is dropped at once (its socket closes without a close handshake; for a
 * clean close call `rtwire_conn_close()` and wait for the CLOSED event
 * first), every server started on it stops at once (its clients see the
 * connection drop; for a graceful stop call `rtwire_server_stop()` first),
 * undelivered events are discarded, the notify fd is closed (take
 * it out of your poll set first) and the background thread is joined (waiting
 * at most 2 s for a name lookup in progress).
 *
 * Handles of its connections and servers become invalid. Events already
 * taken from the queue stay valid until `rtwire_event_free()`. Calls on
 * the context that are waiting in other threads return
 * `RTWIRE_RESULT_INVALID_HANDLE`.
 * Inside a dispatch callback the teardown is finished when dispatch
 * returns.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
 * double free, not a context). Blocks only for the teardown. Thread-safe.
 */
rtwire_result rtwire_context_free(rtwire_context *ctx);

/**
 * The notify fd: readable while at least one event is queued (and after
 * `rtwire_context_wakeup()` until the next `rtwire_context_next_event()`
 * or `rtwire_context_wait()`). Use it with poll/epoll/select or an event
 * loop (libuv, GLib, asyncio) and call `rtwire_context_next_event()` until
 * it returns `RTWIRE_RESULT_WOULD_BLOCK` when it is readable; never read
 * from or close the fd yourself.
 *
 * The fd belongs to the context and is closed by `rtwire_context_free()`.
 * Returns -1 for an invalid handle. Thread-safe.
 */
int rtwire_context_fd(const rtwire_context *ctx);

/**
 * Takes the next event of any connection or server of the context, without
 * blocking, and writes it to `*out`.
 *
 * Returns `RTWIRE_RESULT_OK` (the caller owns `*out` and frees it with
 * `rtwire_event_free()`), `RTWIRE_RESULT_WOULD_BLOCK` (nothing queued;
 * `*out` untouched), `RTWIRE_RESULT_NULL_ARGUMENT` or
 * `RTWIRE_RESULT_INVALID_HANDLE`. Events of one connection come in order:
 * OPEN, then MESSAGE / RECONNECTING / OPEN / ERROR, and CLOSED exactly
 * once, last. Thread-safe (each event goes to exactly one caller).
 *
 * # Safety
 * `out` is NULL or writable.
 */
rtwire_result rtwire_context_next_event(rtwire_context *ctx, rtwire_event **out);

/**
 * Blocks the calling thread until an event is queued, `timeout_ms`
 * milliseconds pass (a negative value waits without limit; 0 only
 * checks), or another thread calls `rtwire_context_wakeup()`.
 *
 * Returns `RTWIRE_RESULT_OK` (an event is queued: take it with
 * `rtwire_context_next_event()`), `RTWIRE_RESULT_TIMEOUT`,
 * `RTWIRE_RESULT_WOULD_BLOCK` (woken with nothing queued) or
 * `RTWIRE_RESULT_INVALID_HANDLE` (also when the context is freed while
 * waiting). Thread-safe.
 */
rtwire_result rtwire_context_wait(rtwire_context *ctx, int32_t timeout_ms);

/**
 * Makes a `rtwire_context_wait()` in progress (or the next one) return
 * `RTWIRE_RESULT_WOULD_BLOCK`, and the notify fd readable, e.g. to make a
 * waiting thread look at work queued by another thread.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`. Never
 * blocks; callable from any thread (including signal-free contexts such as
 * other event loops).
 */
rtwire_result rtwire_context_wakeup(rtwire_context *ctx);

/**
 * Delivers queued events to `callback` on the calling thread, at most as
 * many as were queued when the call started (so it always returns), and
 * frees each event after its callback returns. Stops early when the
 * callback returns non-zero or frees the context. Never blocks waiting for
 * events. No rtwire lock is held while the callback runs.
 *
 * `userdata` is passed to the callback unchanged. If `count` is not NULL,
 * the number of events delivered is written to it (also on early stop).
 *
 * Returns `RTWIRE_RESULT_OK` (also when nothing was queued),
 * `RTWIRE_RESULT_NULL_ARGUMENT` (`callback` is NULL) or
 * `RTWIRE_RESULT_INVALID_HANDLE`. Thread-safe; each event goes to exactly
 * one thread.
 *
 * # Safety
 * `count` is NULL or writable; `callback` follows `rtwire_event_callback`.
 */
rtwire_result rtwire_context_dispatch(rtwire_context *ctx,
                                      rtwire_event_callback callback,
                                      void *userdata,
                                      size_t *count);

/**
 * Copies the text of the last error recorded on this context (e.g. why
 * `rtwire_context_connect()` failed) into `buf`, snprintf-style: at most
 * `cap` bytes including the NUL, nothing written when `buf` is NULL or
 * `cap` is 0. Returns the full length of the text without the NUL; 0 when
 * there is none or the handle is invalid. Thread-safe.
 *
 * # Safety
 * `buf` is NULL or points to `cap` writable bytes.
 */
size_t rtwire_context_last_error(const rtwire_context *ctx, char *buf, size_t cap);

/**
 * The event's type; `RTWIRE_EVENT_TYPE_NONE` for an invalid handle.
 */
rtwire_event_type rtwire_event_kind(const rtwire_event *ev);

/**
 * The connection the event belongs to, or NULL for an invalid handle and
 * for server events (see `rtwire_event_server()`) but SERVER_ACCEPTED,
 * whose connection is the new one (owned by the application from then
 * on). The handle is not owned by the event: it stays valid until
 * `rtwire_conn_free()` (after that, calls with it return
 * `RTWIRE_RESULT_INVALID_HANDLE`).
 */
rtwire_conn *rtwire_event_conn(const rtwire_event *ev);

/**
 * The `userdata` given to `rtwire_context_connect()` for the event's
 * connection (also valid after the connection is freed); for a connection
 * a server accepted (SERVER_ACCEPTED and its events), the `user` given to
 * `rtwire_request_accept()`. NULL for an invalid handle.
 */
void *rtwire_event_userdata(const rtwire_event *ev);

/**
 * MESSAGE and SERVER_MESSAGE: the payload (UTF-8 for text, not
 * NUL-terminated). Empty for a message without payload, other event types
 * and invalid handles. Valid until `rtwire_event_free()`.
 */
rtwire_bytes rtwire_event_data(const rtwire_event *ev);

/**
 * MESSAGE and SERVER_MESSAGE: whether the payload is text (true) or
 * binary (false). False for
 * other event types and invalid handles.
 */
bool rtwire_event_is_text(const rtwire_event *ev);

/**
 * MESSAGE: the event name (SSE `event:`), absent (`data` NULL) when the
 * transport has none. Valid until `rtwire_event_free()`.
 */
rtwire_str rtwire_event_name(const rtwire_event *ev);

/**
 * MESSAGE: the event id (SSE `id:`, the last event id; with
 * `rtwire_options_set_rtwire_protocol()` the rtwire server's id) or cursor,
 * absent (`data` NULL) when the transport has none. SERVER_PUBLISHED: the
 * new message's id. Valid until `rtwire_event_free()`.
 */
rtwire_str rtwire_event_id(const rtwire_event *ev);

/**
 * OPEN: the transport in use. SERVER_CONNECTED and SERVER_DISCONNECTED:
 * the client's transport (`RTWIRE_TRANSPORT_WEBSOCKET`, `_SSE` or
 * `_STREAM`). `RTWIRE_TRANSPORT_AUTO` for other event types and invalid
 * handles.
 */
rtwire_transport rtwire_event_transport(const rtwire_event *ev);

/**
 * OPEN: the URL connected to, without user name or password. Absent for
 * other event types. Valid until `rtwire_event_free()`.
 */
rtwire_str rtwire_event_url(const rtwire_event *ev);

/**
 * OPEN: the subprotocol the server chose; absent when none was chosen.
 * Valid until `rtwire_event_free()`.
 */
rtwire_str rtwire_event_protocol(const rtwire_event *ev);

/**
 * OPEN: the number of handshake response headers (0 for other types).
 */
size_t rtwire_event_header_count(const rtwire_event *ev);

/**
 * OPEN: response header number `index` (names in lower case), written to
 * `*name` and `*value` (views valid until `rtwire_event_free()`).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT`
 * (`index` out of range). The out-params are written only on success.
 *
 * # Safety
 * `name` and `value` are NULL or writable.
 */
rtwire_result rtwire_event_header(const rtwire_event *ev,
                                  size_t index,
                                  rtwire_str *name,
                                  rtwire_str *value);

/**
 * RECONNECTING: the attempt number (1 for the first retry after a loss);
 * 0 for other types.
 */
uint32_t rtwire_event_reconnect_attempt(const rtwire_event *ev);

/**
 * RECONNECTING: the wait before the attempt, in milliseconds; 0 for other
 * types.
 */
uint64_t rtwire_event_reconnect_delay_ms(const rtwire_event *ev);

/**
 * ERROR and RECONNECTING: the result code of the error (or of the cause of
 * the reconnect). `RTWIRE_RESULT_OK` for other types,
 * `RTWIRE_RESULT_INVALID_HANDLE` for an invalid handle.
 */
rtwire_result rtwire_event_error_code(const rtwire_event *ev);

/**
 * ERROR and RECONNECTING: the error text (what went wrong, with which
 * input). Absent for other types. Valid until `rtwire_event_free()`.
 */
rtwire_str rtwire_event_error_message(const rtwire_event *ev);

/**
 * ERROR and RECONNECTING: the HTTP status of a refused handshake; 0 when
 * there is none.
 */
uint16_t rtwire_event_http_status(const rtwire_event *ev);

/**
 * CLOSED: the close code (the peer's, 1005 when its close frame had none,
 * 1006 when the connection was lost or never opened); 0 for other types.
 */
uint16_t rtwire_event_close_code(const rtwire_event *ev);

/**
 * CLOSED: the close reason (possibly empty). Absent for other types. Valid
 * until `rtwire_event_free()`.
 */
rtwire_str rtwire_event_close_reason(const rtwire_event *ev);

/**
 * CLOSED: whether the close handshake completed in both directions.
 */
bool rtwire_event_close_clean(const rtwire_event *ev);

/**
 * CLOSED: how many messages accepted by sends were never written (they are
 * handed back, in order, rather than lost); 0 for other types.
 */
size_t rtwire_event_unsent_count(const rtwire_event *ev);

/**
 * CLOSED: unsent message number `index`: its bytes (a view valid until
 * `rtwire_event_free()`) and whether it was text.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` (`data` or `is_text` NULL) or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (`index` out of range). Out-params are
 * written only on success.
 *
 * # Safety
 * `data` and `is_text` are NULL or writable.
 */
rtwire_result rtwire_event_unsent(const rtwire_event *ev,
                                  size_t index,
                                  rtwire_bytes *data,
                                  bool *is_text);

/**
 * Server events: the server the event belongs to, or NULL for other
 * events and invalid handles. Not owned by the event: it stays valid until
 * `rtwire_server_free()`.
 */
rtwire_server *rtwire_event_server(const rtwire_event *ev);

/**
 * Server events: the channel. Absent for other types. Valid until
 * `rtwire_event_free()`.
 */
rtwire_str rtwire_event_channel(const rtwire_event *ev);

/**
 * SERVER_CONNECTED, SERVER_DISCONNECTED, SERVER_REQUEST and
 * SERVER_ACCEPTED: the client's address
 * (`127.0.0.1:54321`, `[::1]:54321`). Absent for other types. Valid until
 * `rtwire_event_free()`.
 */
rtwire_str rtwire_event_peer(const rtwire_event *ev);

/**
 * SERVER_PUBLISHED and SERVER_MESSAGE: the payload size in bytes; 0 for
 * other types.
 */
size_t rtwire_event_byte_count(const rtwire_event *ev);

/**
 * Server events: how many events of this server were dropped just before
 * this one because `event_queue` of them were already waiting in the
 * context (`rtwire_server_options_set_event_queue()`). 0 when none were
 * (and for other types).
 */
uint64_t rtwire_event_dropped(const rtwire_event *ev);

/**
 * SERVER_REQUEST: the pending request, owned by the event (valid until
 * `rtwire_event_free()`, which refuses it with 503 if it is still
 * unanswered). SERVER_ACCEPTED: the connection's request, owned by the
 * connection (valid until `rtwire_conn_free()`, the same as
 * `rtwire_conn_request()`). NULL for other types and invalid handles, and
 * for SERVER_ACCEPTED when no handle could be made (the connection was
 * then closed). Never free it.
 */
const rtwire_request *rtwire_event_request(const rtwire_event *ev);

/**
 * SERVER_REQUEST and SERVER_ACCEPTED: the server's id for the connection
 * (`rtwire_request_id()`, `rtwire_conn_id()`), which rooms and broadcasts
 * take; 0 for other types and invalid handles.
 */
uint64_t rtwire_event_connection_id(const rtwire_event *ev);

/**
 * Frees an event taken with `rtwire_context_next_event()`; its views become
 * invalid.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
 * double free, not an event). Thread-safe, but not while another thread
 * still reads the event's views.
 */
rtwire_result rtwire_event_free(rtwire_event *ev);

/**
 * Creates an options object with every option at its default and writes
 * it to `*out`.
 *
 * The defaults are listed in `docs/options.md`.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_NULL_ARGUMENT` (`out` is NULL;
 * nothing is allocated) or `RTWIRE_RESULT_INTERNAL` (too many live
 * handles). `*out` is written only on success. The caller owns the object
 * and frees it with `rtwire_options_free()`. Thread-safe.
 *
 * # Safety
 * `out` is NULL or writable.
 */
rtwire_result rtwire_options_new(rtwire_options **out);

/**
 * Frees an options object. Connections made with it are unaffected (they
 * hold a copy).
 *
 * Returns `RTWIRE_RESULT_OK`, or `RTWIRE_RESULT_INVALID_HANDLE` for NULL,
 * an already freed object (double free) or a handle of another type.
 * Thread-safe; after it returns, every call with `opts` returns
 * `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_options_free(rtwire_options *opts);

/**
 * Sets the option with canonical name `name` (see `docs/options.md`) from
 * text, as a configuration file gives it: `true`/`false`, sizes in bytes
 * with an optional `KiB`/`MiB`/`GiB` suffix (`64KiB`), durations with a
 * unit (`250ms`, `10s`, `2m`) or in seconds, `off` where the option can be
 * off, comma-separated lists (each call adds to the list) and `Name: value`
 * for a header (each call adds one). Both strings are copied.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (an
 * unknown name, text that is not of the option's kind or out of its
 * range; the reason, naming the option, in `rtwire_options_last_error()`).
 *
 * # Safety
 * `name` and `value` are NULL or NUL-terminated strings.
 */
rtwire_result rtwire_options_set(rtwire_options *opts, const char *name, const char *value);

/**
 * Switches off or unsets the option with canonical name `name`: no pings
 * for `keepalive.interval`, unlimited attempts for
 * `reconnect.max_attempts`, no proxy for `proxy`, the system roots for
 * `tls.ca_file`, and so on (`docs/options.md` says what off means for each
 * option that can be off).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (an
 * unknown name, or an option that cannot be off; the reason in
 * `rtwire_options_last_error()`).
 *
 * # Safety
 * `name` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_unset(rtwire_options *opts, const char *name);

/**
 * Checks the options as a whole, as `rtwire_context_connect()` does before
 * any I/O: every option's rule again, and the rules between options (a
 * client certificate and its key go together; a CA file or PEM text, not
 * both; the reconnect delays' cap not below the first delay).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (the reason in
 * `rtwire_options_last_error()`). Thread-safe.
 */
rtwire_result rtwire_options_validate(rtwire_options *opts);

/**
 * Copies the text of the last error recorded on this options object into
 * `buf` (at most `cap` bytes including the NUL; truncated to fit; nothing
 * written when `buf` is NULL or `cap` is 0) and returns the full length of
 * the text, excluding the NUL, like `snprintf`. Returns 0 when there is no
 * error text or the handle is invalid. Thread-safe.
 *
 * # Safety
 * `buf` is NULL or points to `cap` writable bytes.
 */
size_t rtwire_options_last_error(const rtwire_options *opts, char *buf, size_t cap);

/**
 * The transport: `websocket`, `sse`, `long_poll`, `poll`, `stream` or `auto`
 * (the default: `ws`/`wss` URLs use WebSocket; `http`/`https` URLs ask an
 * rtwire server which transports it offers, else use SSE).
 *
 * One of `"auto"`, `"websocket"`, `"sse"`, `"long_poll"`, `"poll"`, `"stream"`
 * (any case). Default: "auto". Option `transport` (text:
 * `rtwire_options_set(opts, "transport", ...)`). NULL is refused.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_transport(rtwire_options *opts, const char *value);

/**
 * Extra request headers, sent on every attempt.
 *
 * Each call adds one header; both strings are copied. Default: none. Option
 * `headers` (text: `rtwire_options_set(opts, "headers", ...)`). NULL is
 * refused.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `name` and `value` are NULL or NUL-terminated strings.
 */
rtwire_result rtwire_options_add_header(rtwire_options *opts, const char *name, const char *value);

/**
 * WebSocket subprotocols to offer (`Sec-WebSocket-Protocol`), in order of
 * preference.
 *
 * Each call appends one; the string is copied. Default: none. Option
 * `subprotocols` (text: `rtwire_options_set(opts, "subprotocols", ...)`). NULL
 * is refused.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_add_subprotocol(rtwire_options *opts, const char *value);

/**
 * The `Origin` header.
 *
 * The string is copied. Default: no Origin header. Option `origin` (text:
 * `rtwire_options_set(opts, "origin", ...)`). NULL (as
 * `rtwire_options_unset(opts, "origin")`) unsets it: no Origin header.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_origin(rtwire_options *opts, const char *value);

/**
 * The `User-Agent` header of every request (WebSocket handshake included); a
 * `User-Agent` among the headers wins.
 *
 * The string is copied. Default: "rtwire/0.1.0". Option `user_agent` (text:
 * `rtwire_options_set(opts, "user_agent", ...)`). NULL (as
 * `rtwire_options_unset(opts, "user_agent")`) unsets it: no User-Agent header.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_user_agent(rtwire_options *opts, const char *value);

/**
 * Limit on TCP connect + TLS + HTTP handshake (proxy included).
 *
 * In milliseconds, more than 0. Default: 10 s. Option `open_timeout` (text:
 * `rtwire_options_set(opts, "open_timeout", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_open_timeout_ms(rtwire_options *opts, uint64_t ms);

/**
 * How long to wait for the peer's reply to our close frame; then the TCP
 * connection is dropped.
 *
 * In milliseconds, more than 0. Default: 10 s. Option `close_timeout` (text:
 * `rtwire_options_set(opts, "close_timeout", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_close_timeout_ms(rtwire_options *opts, uint64_t ms);

/**
 * Send a WebSocket ping after this long without traffic from the peer.
 *
 * In milliseconds, more than 0. Default: 20 s. Option `keepalive.interval`
 * (text: `rtwire_options_set(opts, "keepalive.interval", ...)`).
 * `rtwire_options_unset(opts, "keepalive.interval")` switches it off: no
 * pings.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_keepalive_interval_ms(rtwire_options *opts, uint64_t ms);

/**
 * Declare the peer dead when nothing arrives within this long after a ping.
 *
 * In milliseconds, more than 0. Default: 20 s. Option `keepalive.timeout`
 * (text: `rtwire_options_set(opts, "keepalive.timeout", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_keepalive_timeout_ms(rtwire_options *opts, uint64_t ms);

/**
 * Largest incoming message, after reassembly. Over it: a `too_large` error and
 * close code 1009.
 *
 * In bytes, at least 1. Default: 64 MiB. Option `limits.max_message_size`
 * (text: `rtwire_options_set(opts, "limits.max_message_size", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_max_message_size(rtwire_options *opts, size_t value);

/**
 * Largest incoming WebSocket frame (no larger than the largest message). A
 * compressed frame may be a sixteenth larger: what deflate adds to data it
 * cannot compress (the inflated message is held to the message limit exactly).
 *
 * In bytes, at least 1. Default: 16 MiB. Option `limits.max_frame_size` (text:
 * `rtwire_options_set(opts, "limits.max_frame_size", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_max_frame_size(rtwire_options *opts, size_t value);

/**
 * High-water mark of the outgoing queue: `send` waits and `try_send` fails
 * with `queue_full` while more bytes than this wait to be written.
 *
 * In bytes, at least 1. Default: 8 MiB. Option `limits.send_queue_bytes`
 * (text: `rtwire_options_set(opts, "limits.send_queue_bytes", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_send_queue_bytes(rtwire_options *opts, size_t value);

/**
 * Capacity of the incoming event queue; when the application does not read,
 * the connection stops reading its socket.
 *
 * From 1 to 1073741824. Default: 256. Option `limits.event_queue` (text:
 * `rtwire_options_set(opts, "limits.event_queue", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_event_queue(rtwire_options *opts, size_t value);

/**
 * Bytes read from the socket at a time: the largest part of an idle
 * connection's memory. Raise it (16-64 KiB) for large messages.
 *
 * In bytes, at least 256. Default: 2 KiB. Option `limits.read_buffer_size`
 * (text: `rtwire_options_set(opts, "limits.read_buffer_size", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_read_buffer_size(rtwire_options *opts, size_t value);

/**
 * PEM file of CA certificates to trust instead of the system roots (as curl's
 * --cacert).
 *
 * The string is copied. Default: system roots. Option `tls.ca_file` (text:
 * `rtwire_options_set(opts, "tls.ca_file", ...)`). NULL (as
 * `rtwire_options_unset(opts, "tls.ca_file")`) unsets it: system roots.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_ca_file(rtwire_options *opts, const char *value);

/**
 * CA certificates as PEM text, instead of a file.
 *
 * `len` bytes of PEM text (with a `-----BEGIN ` line), copied. Default: system
 * roots. Option `tls.ca_pem` (text:
 * `rtwire_options_set(opts, "tls.ca_pem", ...)`). NULL (as
 * `rtwire_options_unset(opts, "tls.ca_pem")`) unsets it: system roots.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `pem` is NULL or points to `len` readable bytes.
 */
rtwire_result rtwire_options_set_ca_pem(rtwire_options *opts, const uint8_t *pem, size_t len);

/**
 * PEM file of the client certificate chain (needs a key).
 *
 * The string is copied. Default: no client certificate. Option
 * `tls.client_cert_file` (text:
 * `rtwire_options_set(opts, "tls.client_cert_file", ...)`). NULL (as
 * `rtwire_options_unset(opts, "tls.client_cert_file")`) unsets it: no client
 * certificate.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_client_cert_file(rtwire_options *opts, const char *value);

/**
 * PEM file of the client private key.
 *
 * The string is copied. Default: no client certificate. Option
 * `tls.client_key_file` (text:
 * `rtwire_options_set(opts, "tls.client_key_file", ...)`). NULL (as
 * `rtwire_options_unset(opts, "tls.client_key_file")`) unsets it: no client
 * certificate.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_client_key_file(rtwire_options *opts, const char *value);

/**
 * The client certificate chain as PEM text, instead of a file.
 *
 * `len` bytes of PEM text (with a `-----BEGIN ` line), copied. Default: no
 * client certificate. Option `tls.client_cert_pem` (text:
 * `rtwire_options_set(opts, "tls.client_cert_pem", ...)`). NULL (as
 * `rtwire_options_unset(opts, "tls.client_cert_pem")`) unsets it: no client
 * certificate.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `pem` is NULL or points to `len` readable bytes.
 */
rtwire_result rtwire_options_set_client_cert_pem(rtwire_options *opts,
                                                 const uint8_t *pem,
                                                 size_t len);

/**
 * The client private key as PEM text, instead of a file.
 *
 * `len` bytes of PEM text (with a `-----BEGIN ` line), copied. Default: no
 * client certificate. Option `tls.client_key_pem` (text:
 * `rtwire_options_set(opts, "tls.client_key_pem", ...)`). NULL (as
 * `rtwire_options_unset(opts, "tls.client_key_pem")`) unsets it: no client
 * certificate.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `pem` is NULL or points to `len` readable bytes.
 */
rtwire_result rtwire_options_set_client_key_pem(rtwire_options *opts,
                                                const uint8_t *pem,
                                                size_t len);

/**
 * Accept any server certificate. Only for tests against self-signed servers:
 * it makes the connection open to interception.
 *
 * Default: false. Option `tls.insecure` (text:
 * `rtwire_options_set(opts, "tls.insecure", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_insecure(rtwire_options *opts, bool value);

/**
 * Reconnect after a lost session.
 *
 * Default: true. Option `reconnect.enabled` (text:
 * `rtwire_options_set(opts, "reconnect.enabled", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_reconnect(rtwire_options *opts, bool value);

/**
 * Upper bound of the first reconnect delay (full jitter: the delay before
 * attempt n is drawn from [0, min(max_delay, initial_delay * 2^(n-1))]).
 *
 * In milliseconds; 0 is allowed. Default: 500 ms. Option
 * `reconnect.initial_delay` (text:
 * `rtwire_options_set(opts, "reconnect.initial_delay", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_reconnect_initial_delay_ms(rtwire_options *opts, uint64_t ms);

/**
 * Cap on every reconnect delay.
 *
 * In milliseconds; 0 is allowed. Default: 30 s. Option `reconnect.max_delay`
 * (text: `rtwire_options_set(opts, "reconnect.max_delay", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_reconnect_max_delay_ms(rtwire_options *opts, uint64_t ms);

/**
 * Give up after this many failed attempts in a row.
 *
 * From 0 to 4294967295. Default: unlimited. Option `reconnect.max_attempts`
 * (text: `rtwire_options_set(opts, "reconnect.max_attempts", ...)`).
 * `rtwire_options_unset(opts, "reconnect.max_attempts")` switches it off:
 * unlimited. 0 means zero, not off.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_reconnect_max_attempts(rtwire_options *opts, size_t value);

/**
 * Also retry when the very first attempt fails (else `connect` returns that
 * error).
 *
 * Default: false. Option `reconnect.retry_initial` (text:
 * `rtwire_options_set(opts, "reconnect.retry_initial", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_reconnect_retry_initial(rtwire_options *opts, bool value);

/**
 * The proxy: `env` (from `http_proxy`/`https_proxy`/`all_proxy`/`no_proxy`,
 * the default), `none`, or `http://`, `https://`, `socks5://`, `socks5h://`
 * URLs with optional `user:pass@`.
 *
 * The string is copied. Default: "env". Option `proxy` (text:
 * `rtwire_options_set(opts, "proxy", ...)`). NULL (as
 * `rtwire_options_unset(opts, "proxy")`) unsets it: no proxy.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_proxy(rtwire_options *opts, const char *value);

/**
 * WebSocket to an rtwire server: offer `rtwire.v1`, under which every message
 * carries its id and a reconnect resumes after the last one. `auto` turns it
 * on by itself.
 *
 * Default: false. Option `rtwire_protocol` (text:
 * `rtwire_options_set(opts, "rtwire_protocol", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_rtwire_protocol(rtwire_options *opts, bool value);

/**
 * WebSocket: offer permessage-deflate compression (RFC 7692), without context
 * takeover either way, so it costs no memory per connection. On by default;
 * `--no-deflate` turns it off.
 *
 * Default: true. Option `permessage_deflate` (text:
 * `rtwire_options_set(opts, "permessage_deflate", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_permessage_deflate(rtwire_options *opts, bool value);

/**
 * WebSocket with permessage-deflate: messages under this many bytes are sent
 * uncompressed.
 *
 * In bytes, at least 0. Default: 128 B. Option `deflate_threshold` (text:
 * `rtwire_options_set(opts, "deflate_threshold", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_deflate_threshold(rtwire_options *opts, size_t value);

/**
 * Where `send` POSTs on the HTTP transports.
 *
 * The string is copied. Default: send is unsupported on HTTP transports.
 * Option `http.send_url` (text:
 * `rtwire_options_set(opts, "http.send_url", ...)`). NULL (as
 * `rtwire_options_unset(opts, "http.send_url")`) unsets it: send is
 * unsupported on HTTP transports.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_send_url(rtwire_options *opts, const char *value);

/**
 * An HTTP stream that delivers no byte for this long is dead: reconnect.
 *
 * In milliseconds, more than 0. Default: 60 s. Option `http.read_timeout`
 * (text: `rtwire_options_set(opts, "http.read_timeout", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_read_timeout_ms(rtwire_options *opts, uint64_t ms);

/**
 * Short polling: time between requests (with 10 % jitter).
 *
 * In milliseconds, more than 0. Default: 5 s. Option `http.poll_interval`
 * (text: `rtwire_options_set(opts, "http.poll_interval", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_poll_interval_ms(rtwire_options *opts, uint64_t ms);

/**
 * Long polling: the longest a request may be held before it counts as failed.
 *
 * In milliseconds, more than 0. Default: 65 s. Option `http.long_poll_timeout`
 * (text: `rtwire_options_set(opts, "http.long_poll_timeout", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_long_poll_timeout_ms(rtwire_options *opts, uint64_t ms);

/**
 * Long polling with POST instead of GET.
 *
 * Default: false. Option `http.long_poll_post` (text:
 * `rtwire_options_set(opts, "http.long_poll_post", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_long_poll_post(rtwire_options *opts, bool value);

/**
 * Long polling: a JSON array body is delivered as one message per element.
 *
 * Default: false. Option `http.json_array` (text:
 * `rtwire_options_set(opts, "http.json_array", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_json_array(rtwire_options *opts, bool value);

/**
 * Long polling: read the next cursor from this response header.
 *
 * The string is copied. Default: no cursor. Option `http.cursor.header` (text:
 * `rtwire_options_set(opts, "http.cursor.header", ...)`). NULL (as
 * `rtwire_options_unset(opts, "http.cursor.header")`) unsets it: no cursor.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_cursor_header(rtwire_options *opts, const char *value);

/**
 * Long polling: read the next cursor from this field of a JSON object body
 * (the messages are then in its `messages` array).
 *
 * The string is copied. Default: no cursor. Option `http.cursor.json_field`
 * (text: `rtwire_options_set(opts, "http.cursor.json_field", ...)`). NULL (as
 * `rtwire_options_unset(opts, "http.cursor.json_field")`) unsets it: no
 * cursor.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_cursor_json_field(rtwire_options *opts, const char *value);

/**
 * Long polling: send the cursor in this query parameter (the default, named
 * `cursor`).
 *
 * The string is copied. Default: no cursor. Option `http.cursor.query` (text:
 * `rtwire_options_set(opts, "http.cursor.query", ...)`). NULL (as
 * `rtwire_options_unset(opts, "http.cursor.query")`) unsets it: no cursor.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_cursor_query(rtwire_options *opts, const char *value);

/**
 * Long polling: send the cursor in this request header instead of the query.
 *
 * The string is copied. Default: no cursor. Option `http.cursor.send_header`
 * (text: `rtwire_options_set(opts, "http.cursor.send_header", ...)`). NULL (as
 * `rtwire_options_unset(opts, "http.cursor.send_header")`) unsets it: no
 * cursor.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_cursor_send_header(rtwire_options *opts, const char *value);

/**
 * Long polling: the cursor of the first request.
 *
 * The string is copied. Default: no cursor. Option `http.cursor.initial`
 * (text: `rtwire_options_set(opts, "http.cursor.initial", ...)`). NULL (as
 * `rtwire_options_unset(opts, "http.cursor.initial")`) unsets it: no cursor.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_cursor_initial(rtwire_options *opts, const char *value);

/**
 * HTTP streaming: how the body is cut into messages: `lines` (each line a text
 * message), `ndjson` (each line a JSON value) or `chunks` (each chunk a binary
 * message as it arrived).
 *
 * One of `"chunks"`, `"lines"`, `"ndjson"` (any case). Default: "lines".
 * Option `http.framing` (text:
 * `rtwire_options_set(opts, "http.framing", ...)`). NULL is refused.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_framing(rtwire_options *opts, const char *value);

/**
 * Longest SSE or framed line.
 *
 * In bytes, at least 1. Default: 1 MiB. Option `http.max_line` (text:
 * `rtwire_options_set(opts, "http.max_line", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_max_line(rtwire_options *opts, size_t value);

/**
 * SSE: the `Last-Event-ID` of the first request.
 *
 * The string is copied. Default: none. Option `http.last_event_id` (text:
 * `rtwire_options_set(opts, "http.last_event_id", ...)`). NULL (as
 * `rtwire_options_unset(opts, "http.last_event_id")`) unsets it: none.
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE,
 * RTWIRE_RESULT_NULL_ARGUMENT or RTWIRE_RESULT_INVALID_ARGUMENT (the reason in
 * rtwire_options_last_error()).
 *
 * # Safety
 * `value` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_last_event_id(rtwire_options *opts, const char *value);

/**
 * SSE: retry on 5xx and 429 answers (honouring `Retry-After`) instead of
 * failing, which the standard asks.
 *
 * Default: false. Option `http.retry_server_errors` (text:
 * `rtwire_options_set(opts, "http.retry_server_errors", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_retry_server_errors(rtwire_options *opts, bool value);

/**
 * Redirects followed at most. Credentials are not sent to another origin, and
 * an https-to-http redirect is refused.
 *
 * From 0 to 1000. Default: 10. Option `http.max_redirects` (text:
 * `rtwire_options_set(opts, "http.max_redirects", ...)`).
 *
 * Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or
 * RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error()).
 */
rtwire_result rtwire_options_set_max_redirects(rtwire_options *opts, size_t value);

/**
 * A static, NUL-terminated, English one-line description of a result code.
 *
 * Never NULL: an unknown code gives "unknown result code". The string lives
 * for the whole process; do not free it. Thread-safe.
 */
const char *rtwire_result_message(uint32_t code);

/**
 * The stable snake_case name of a result code (`"ok"`, `"invalid_url"`,
 * `"queue_full"`, ...), static and NUL-terminated.
 *
 * For codes that stand for a core error kind it equals that kind's name,
 * as used by every rtwire binding. Never NULL: an unknown code gives
 * `"unknown"`. Do not free it. Thread-safe.
 */
const char *rtwire_result_name(uint32_t code);

/**
 * Creates a server options object with every setting at its default and
 * writes it to `*out`.
 *
 * Defaults: bind `127.0.0.1:0` (a free loopback port); history 1000
 * messages per channel; client queue 1024 messages; no token; plain TCP
 * (no TLS); any WebSocket `Origin`; no CORS; WebSocket ping every 20 s;
 * SSE/stream heartbeat every 15 s; long polls held up to 25 s; max message
 * 16 MiB; max 64 request headers; 10 s for a request's headers; no server
 * events; event queue 256; WebSocket client messages published as sent;
 * no routes; every request accepted (no accept decision; 10 s to answer
 * when there is one); route connections' send queues 1 MiB, slow
 * consumers disconnected, no idle timeout.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_NULL_ARGUMENT` (`out` is NULL)
 * or `RTWIRE_RESULT_INTERNAL` (too many live handles). The caller owns the
 * object and frees it with `rtwire_server_options_free()`. Thread-safe.
 *
 * # Safety
 * `out` is NULL or writable.
 */
rtwire_result rtwire_server_options_new(rtwire_server_options **out);

/**
 * Frees a server options object; servers started with it are unaffected.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
 * double free, not a server options handle). Thread-safe.
 */
rtwire_result rtwire_server_options_free(rtwire_server_options *opts);

/**
 * The address to listen on: an IP address and a port, `"127.0.0.1:0"`
 * (the default; port 0 picks a free port, see `rtwire_server_port()`),
 * `"0.0.0.0:8080"`, `"[::1]:9000"`. Host names are not accepted. The
 * string is copied.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (not
 * `IP:PORT`; not UTF-8). An address that cannot be bound makes
 * `rtwire_server_start()` fail with `RTWIRE_RESULT_CONNECT`.
 *
 * # Safety
 * `addr` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_server_options_set_bind(rtwire_server_options *opts, const char *addr);

/**
 * Messages kept per channel for clients that resume (default 1000, at
 * most 2^30).
 *
 * This setter and the other `rtwire_server_options_set_*` of the server's
 * options go through the core's server option schema
 * (`docs/server-options.md`), as Python's `rtwire.serve`, Node's `serve()`
 * and `rtwire serve` do: the same values are refused with the same
 * message.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (out of range: 0 or more than 2^30; the
 * reason in `rtwire_server_options_last_error()`).
 */
rtwire_result rtwire_server_options_set_history(rtwire_server_options *opts, size_t messages);

/**
 * How many messages a subscriber may fall behind the live stream before it
 * is cut off (WebSocket: close 1008; SSE and streaming: the response ends
 * and the client resumes from history), default 1024, at most 2^20.
 *
 * Returns as `rtwire_server_options_set_history()` (out of range: 0 or
 * more than 2^20).
 */
rtwire_result rtwire_server_options_set_client_queue(rtwire_server_options *opts, size_t messages);

/**
 * A bearer token every channel request must carry (`Authorization: Bearer
 * TOKEN` or `?token=TOKEN`), compared in constant time; `""` removes the
 * requirement (the default). The string is copied.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (not
 * UTF-8; control characters or spaces, which no header could carry).
 *
 * # Safety
 * `token` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_server_options_set_token(rtwire_server_options *opts, const char *token);

/**
 * Serves TLS (`https://`, `wss://`) with a PEM certificate chain file and a
 * PEM private key file. Paths are copied; the files are read by
 * `rtwire_server_start()` (unreadable or bad files make it fail with
 * `RTWIRE_RESULT_TLS`).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (not
 * UTF-8).
 *
 * # Safety
 * `cert_path` and `key_path` are NULL or NUL-terminated strings.
 */
rtwire_result rtwire_server_options_set_tls(rtwire_server_options *opts,
                                            const char *cert_path,
                                            const char *key_path);

/**
 * Allows WebSocket clients with this `Origin` (exact match). Without any
 * call every origin is allowed, including none; after the first call only
 * the origins added are (others get 403). The string is copied.
 *
 * Returns as `rtwire_server_options_set_tls()`.
 *
 * # Safety
 * `origin` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_server_options_add_allowed_origin(rtwire_server_options *opts,
                                                       const char *origin);

/**
 * Answers CORS preflights and adds `Access-Control-Allow-Origin`, for
 * browser clients on other origins (default off).
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_server_options_set_cors(rtwire_server_options *opts, bool enabled);

/**
 * Accepts permessage-deflate (RFC 7692) from WebSocket clients that offer
 * it (default off), answered without context takeover both ways: no
 * compression state is kept per connection, and a broadcast is compressed
 * once for all its receivers.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_server_options_set_permessage_deflate(rtwire_server_options *opts,
                                                           bool enabled);

/**
 * With permessage-deflate: messages under `bytes` bytes are sent
 * uncompressed (default 128).
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_server_options_set_deflate_threshold(rtwire_server_options *opts,
                                                          size_t bytes);

/**
 * WebSocket ping interval in milliseconds (default 20000); a client silent
 * for this long after a ping, or not taking a write for this long, is
 * disconnected.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
 */
rtwire_result rtwire_server_options_set_ping_interval_ms(rtwire_server_options *opts, uint32_t ms);

/**
 * SSE comment / NDJSON blank-line heartbeat interval in milliseconds
 * (default 15000), so clients' idle timeouts can tell a quiet stream from
 * a dead one.
 *
 * Returns as `rtwire_server_options_set_ping_interval_ms()`.
 */
rtwire_result rtwire_server_options_set_heartbeat_ms(rtwire_server_options *opts, uint32_t ms);

/**
 * The longest a long poll is held, in milliseconds (default 25000).
 *
 * Returns as `rtwire_server_options_set_ping_interval_ms()`.
 */
rtwire_result rtwire_server_options_set_long_poll_hold_ms(rtwire_server_options *opts, uint32_t ms);

/**
 * The largest message accepted from a WebSocket client or a publish body,
 * in bytes (default 16 MiB; over it: close 1009 or 413).
 *
 * Returns as `rtwire_server_options_set_history()`.
 */
rtwire_result rtwire_server_options_set_max_message_size(rtwire_server_options *opts, size_t bytes);

/**
 * The most request headers (default 64, at most 65536; more: 431).
 *
 * Returns as `rtwire_server_options_set_history()` (out of range: 0 or
 * more than 65536).
 */
rtwire_result rtwire_server_options_set_max_headers(rtwire_server_options *opts, size_t headers);

/**
 * Time allowed for a request's headers (and a TLS handshake), in
 * milliseconds (default 10000), against slow clients.
 *
 * Returns as `rtwire_server_options_set_ping_interval_ms()`.
 */
rtwire_result rtwire_server_options_set_header_timeout_ms(rtwire_server_options *opts, uint32_t ms);

/**
 * The most connections open at once (TCP connections and WebSocket
 * sessions), default 100000; past it a new connection is answered `503`
 * with `Retry-After: 1` (dropped, under TLS) and closed.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (0; the reason in
 * `rtwire_server_options_last_error()`).
 */
rtwire_result rtwire_server_options_set_max_connections(rtwire_server_options *opts,
                                                        size_t connections);

/**
 * The most connections open at once from one IP address; 0 (the default)
 * means no limit (behind a reverse proxy every client has the proxy's
 * address). Past it: as for `rtwire_server_options_set_max_connections()`.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_server_options_set_max_per_ip(rtwire_server_options *opts, size_t connections);

/**
 * Sets the server option with canonical name `name` from text, as the
 * command line's `rtwire serve` flags take it (`docs/server-options.md`
 * lists every option): `"true"`/`"false"`, whole numbers with an optional
 * `KiB`/`MiB`/`GiB` suffix for sizes, durations with a unit (`"250ms"`,
 * `"10s"`, `"2m"`) or a number of seconds, `"off"` where the option can be
 * off; for `allowed_origins` each call adds one origin. Both strings are
 * copied. The core's server schema checks the value, as it does for the
 * named setters and for every other language.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (an
 * unknown name or a value the option refuses; the reason in
 * `rtwire_server_options_last_error()`).
 *
 * # Safety
 * `name` and `value` are NULL or NUL-terminated strings.
 */
rtwire_result rtwire_server_options_set(rtwire_server_options *opts,
                                        const char *name,
                                        const char *value);

/**
 * Switches off or unsets the server option with canonical name `name`:
 * no token for `token`, plain TCP for `tls_cert` and `tls_key`, any origin
 * for `allowed_origins`, no limit for `max_per_ip` and `idle_timeout`.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (an
 * unknown name, or an option that cannot be off; the reason in
 * `rtwire_server_options_last_error()`).
 *
 * # Safety
 * `name` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_server_options_unset(rtwire_server_options *opts, const char *name);

/**
 * Reports what happens on the server as events of its context (default
 * off): `RTWIRE_EVENT_TYPE_SERVER_CONNECTED` and `_DISCONNECTED` for
 * clients of WebSocket, SSE and streaming, `_PUBLISHED` for every
 * published message. Take them like connection events;
 * `rtwire_event_server()` tells which server.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_server_options_set_events(rtwire_server_options *opts, bool enabled);

/**
 * Messages WebSocket clients send: when `deliver` is true they are not
 * published but delivered as `RTWIRE_EVENT_TYPE_SERVER_MESSAGE` events
 * (channel and data), and the application publishes what it wants with
 * `rtwire_server_publish_text()` / `_binary()`. Default false: they are
 * published to their channel as sent.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_server_options_set_client_messages(rtwire_server_options *opts, bool deliver);

/**
 * How many events of the server may wait, undelivered, in the context's
 * queue (default 256). The server never waits for the application: when
 * that many are waiting, further events (client messages too) are dropped
 * and counted, and the next event delivered tells how many
 * (`rtwire_event_dropped()`).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
 */
rtwire_result rtwire_server_options_set_event_queue(rtwire_server_options *opts, size_t events);

/**
 * Copies the text of the last error recorded on this server options object
 * into `buf`, snprintf-style (see `rtwire_options_last_error()`). Returns
 * the full length without the NUL; 0 when there is none or the handle is
 * invalid. Thread-safe.
 *
 * # Safety
 * `buf` is NULL or points to `cap` writable bytes.
 */
size_t rtwire_server_options_last_error(const rtwire_server_options *opts, char *buf, size_t cap);

/**
 * Starts an embedded server on the context's runtime with a copy of `opts`
 * (NULL means the defaults) and writes its handle to `*out`. Blocks only
 * until the address is bound (TLS files are read first); then the server
 * runs on the context's background thread until `rtwire_server_stop()`,
 * `rtwire_server_free()` or `rtwire_context_free()`.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CONNECT` (the address cannot
 * be bound, e.g. in use), `RTWIRE_RESULT_TLS` (unreadable or bad
 * certificate or key file), `RTWIRE_RESULT_INVALID_ARGUMENT` (inconsistent
 * options), `RTWIRE_RESULT_NULL_ARGUMENT` (`out`) or
 * `RTWIRE_RESULT_INVALID_HANDLE` (`ctx`, or a non-NULL `opts` that is not
 * live). The error text is kept on the context
 * (`rtwire_context_last_error()`). On success the caller owns `*out` and
 * frees it with `rtwire_server_free()`. Thread-safe; do not call it from a
 * thread of another tokio runtime.
 *
 * # Safety
 * `out` is NULL or writable.
 */
rtwire_result rtwire_server_start(rtwire_context *ctx,
                                  const rtwire_server_options *opts,
                                  rtwire_server **out);

/**
 * The port the server listens on (the real one when bound to port 0); 0
 * for an invalid handle. Also valid after `rtwire_server_stop()`.
 * Thread-safe.
 */
uint16_t rtwire_server_port(const rtwire_server *server);

/**
 * Copies the bound address (`127.0.0.1:40123`, `[::1]:8080`) into `buf`,
 * snprintf-style: at most `cap` bytes including the NUL, nothing written
 * when `buf` is NULL or `cap` is 0. Returns the full length without the
 * NUL; 0 for an invalid handle. Thread-safe.
 *
 * # Safety
 * `buf` is NULL or points to `cap` writable bytes.
 */
size_t rtwire_server_local_addr(const rtwire_server *server, char *buf, size_t cap);

/**
 * Copies the base URL (`http://127.0.0.1:40123`, or `https://...` with
 * TLS) into `buf`, snprintf-style; append `/sse/{channel}` and so on.
 * WebSocket URLs are the same with `ws://` (`wss://`). Returns as
 * `rtwire_server_local_addr()`.
 *
 * # Safety
 * `buf` is NULL or points to `cap` writable bytes.
 */
size_t rtwire_server_base_url(const rtwire_server *server, char *buf, size_t cap);

/**
 * Copies the ids' epoch (drawn anew every time a server starts; every id
 * is `{epoch}-{sequence}`) into `buf`, snprintf-style. Returns as
 * `rtwire_server_local_addr()`.
 *
 * # Safety
 * `buf` is NULL or points to `cap` writable bytes.
 */
size_t rtwire_server_epoch(const rtwire_server *server, char *buf, size_t cap);

/**
 * Publishes a text message (`len` bytes of UTF-8 at `text`, copied; need
 * not be NUL-terminated; `(NULL, 0)` is the empty message) to `channel`:
 * every subscriber gets it, on every transport, and it enters the
 * channel's history. Never blocks on clients.
 *
 * When `id_buf` is not NULL and `id_cap` > 0, the new message's id is
 * copied into it snprintf-style (a buffer of `RTWIRE_SERVER_ID_MAX` bytes
 * always fits it).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (the server was
 * stopped), `RTWIRE_RESULT_INVALID_ARGUMENT` (a channel name that is not
 * 1–128 characters of `A-Z a-z 0-9 . _ -`; text not UTF-8),
 * `RTWIRE_RESULT_NULL_ARGUMENT` (`channel`, or `text` with `len` > 0) or
 * `RTWIRE_RESULT_INVALID_HANDLE`. The error text is kept on the server
 * (`rtwire_server_last_error()`). Thread-safe.
 *
 * # Safety
 * `channel` is NULL or a NUL-terminated string; `text` points to `len`
 * readable bytes (or `len` is 0); `id_buf` is NULL or points to `id_cap`
 * writable bytes.
 */
rtwire_result rtwire_server_publish_text(rtwire_server *server,
                                         const char *channel,
                                         const char *text,
                                         size_t len,
                                         char *id_buf,
                                         size_t id_cap);

/**
 * Publishes a binary message (`len` bytes at `data`, copied; `(NULL, 0)`
 * is the empty message). SSE clients get it as event `binary` in base64.
 * Otherwise as `rtwire_server_publish_text()` (without the UTF-8 check).
 *
 * # Safety
 * `channel` is NULL or a NUL-terminated string; `data` points to `len`
 * readable bytes (or `len` is 0); `id_buf` is NULL or points to `id_cap`
 * writable bytes.
 */
rtwire_result rtwire_server_publish_binary(rtwire_server *server,
                                           const char *channel,
                                           const uint8_t *data,
                                           size_t len,
                                           char *id_buf,
                                           size_t id_cap);

/**
 * Drops every live WebSocket session and ends every SSE and streaming
 * response and held poll at once, without close frames, as a network cut
 * would; clients reconnect and resume from history. For tests and
 * demonstrations.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (stopped) or
 * `RTWIRE_RESULT_INVALID_HANDLE`. Never blocks. Thread-safe.
 */
rtwire_result rtwire_server_disconnect_all(rtwire_server *server);

/**
 * Takes a snapshot of the server's figures (open connections; per channel:
 * messages published, messages in history, live subscribers) and writes it
 * to `*out`.
 *
 * Returns `RTWIRE_RESULT_OK` (the caller owns `*out` and frees it with
 * `rtwire_stats_free()`), `RTWIRE_RESULT_CLOSED` (stopped),
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_HANDLE`.
 * Thread-safe.
 *
 * # Safety
 * `out` is NULL or writable.
 */
rtwire_result rtwire_server_stats(const rtwire_server *server, rtwire_stats **out);

/**
 * Open TCP connections (of every kind) at the time of the snapshot; 0 for
 * an invalid handle.
 */
size_t rtwire_stats_connections(const rtwire_stats *st);

/**
 * How many channels the snapshot lists (every channel published to or
 * subscribed to since the start), sorted by name; 0 for an invalid
 * handle.
 */
size_t rtwire_stats_channel_count(const rtwire_stats *st);

/**
 * The name of channel `index` (0-based, in name order). Absent for an
 * index out of range or an invalid handle. Valid until
 * `rtwire_stats_free()`.
 */
rtwire_str rtwire_stats_channel_name(const rtwire_stats *st, size_t index);

/**
 * Messages published to channel `index` since the server started; 0 for
 * an index out of range or an invalid handle.
 */
uint64_t rtwire_stats_channel_published(const rtwire_stats *st, size_t index);

/**
 * Messages of channel `index` kept in history; 0 for an index out of
 * range or an invalid handle.
 */
size_t rtwire_stats_channel_history(const rtwire_stats *st, size_t index);

/**
 * Live subscribers of channel `index` (WebSocket, SSE, streaming, held
 * polls); 0 for an index out of range or an invalid handle.
 */
size_t rtwire_stats_channel_subscribers(const rtwire_stats *st, size_t index);

/**
 * Finds a channel of the snapshot by name and writes its index to
 * `*index`.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_ARGUMENT` (no such
 * channel in the snapshot; not UTF-8), `RTWIRE_RESULT_NULL_ARGUMENT`
 * (`channel` or `index`) or `RTWIRE_RESULT_INVALID_HANDLE`. `*index` is
 * written only on success.
 *
 * # Safety
 * `channel` is NULL or a NUL-terminated string; `index` is NULL or
 * writable.
 */
rtwire_result rtwire_stats_find(const rtwire_stats *st, const char *channel, size_t *index);

/**
 * Frees a stats snapshot; its views become invalid.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
 * double free, not a snapshot). Thread-safe.
 */
rtwire_result rtwire_stats_free(rtwire_stats *st);

/**
 * Stops the server gracefully: it stops accepting, WebSocket clients get
 * close 1001, SSE and streaming responses and held polls end, and the call
 * waits for the connections to finish — at most 5 s, then the rest are
 * dropped. Blocks the calling thread meanwhile; keep in mind that clients
 * on the same context deliver their CLOSED or RECONNECTING events to the
 * queue while it waits.
 *
 * Afterwards the handle stays valid until `rtwire_server_free()`:
 * `rtwire_server_port()`, `_local_addr()`, `_base_url()` and `_epoch()`
 * still answer; publishing, `rtwire_server_stats()` and
 * `rtwire_server_disconnect_all()` return `RTWIRE_RESULT_CLOSED`. Events the
 * server queued before stay queued.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (already stopped) or
 * `RTWIRE_RESULT_INVALID_HANDLE`. Thread-safe.
 */
rtwire_result rtwire_server_stop(rtwire_server *server);

/**
 * Frees a server handle. A server still running is stopped in the
 * background without waiting (clients get close 1001 and stream ends, as
 * far as the context keeps running); for a stop that waits, call
 * `rtwire_server_stop()` first. Its undelivered events are discarded;
 * events already taken stay valid until `rtwire_event_free()`.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
 * double free, freed with its context, not a server). Never blocks.
 * Thread-safe; after it returns every call with `server` returns
 * `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_server_free(rtwire_server *server);

/**
 * Copies the text of the last error recorded on this server (e.g. why a
 * publish failed) into `buf`, snprintf-style (see
 * `rtwire_context_last_error()`). Returns the full length without the
 * NUL; 0 when there is none or the handle is invalid. Thread-safe.
 *
 * # Safety
 * `buf` is NULL or points to `cap` writable bytes.
 */
size_t rtwire_server_last_error(const rtwire_server *server, char *buf, size_t cap);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* RTWIRE_H */


