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
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtwire_event_type rtwire_event_type;
#else
typedef uint32_t rtwire_event_type;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Which transport carries a connection. Pass one of these values to
 * `rtwire_options_set_transport()`.
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
 * One connection (opaque), created by `rtwire_context_connect()` and freed
 * with `rtwire_conn_free()`. Its events arrive through its context.
 *
 * Thread safety: every function may be called from any thread, also
 * concurrently (e.g. sends from several threads while another closes).
 */
typedef struct rtwire_conn rtwire_conn;

/**
 * A context (opaque): one background thread on which its connections run,
 * their shared event queue, and a notify fd.
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
 * One event of a connection (opaque). Taken with
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
 * `RTWIRE_RESULT_INVALID_URL`, `RTWIRE_RESULT_INVALID_ARGUMENT` (bad option
 * values, headers, subprotocols; `url` not UTF-8), `RTWIRE_RESULT_UNSUPPORTED`
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
 * The `userdata` given to `rtwire_context_connect()`, or NULL for an
 * invalid handle. Thread-safe.
 */
void *rtwire_conn_userdata(const rtwire_conn *conn);

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
 * Frees a connection handle. If the connection is still open it is closed
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
 * first), undelivered events are discarded, the notify fd is closed (take
 * it out of your poll set first) and the background thread is joined (waiting
 * at most 2 s for a name lookup in progress).
 *
 * Handles of its connections become invalid. Events already taken from
 * the queue stay valid until `rtwire_event_free()`. Calls on the context
 * that are waiting in other threads return `RTWIRE_RESULT_INVALID_HANDLE`.
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
 * Takes the next event of any connection of the context, without
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
 * The connection the event belongs to, or NULL for an invalid handle. The
 * handle is not owned by the event: it stays valid until
 * `rtwire_conn_free()` (after that, calls with it return
 * `RTWIRE_RESULT_INVALID_HANDLE`).
 */
rtwire_conn *rtwire_event_conn(const rtwire_event *ev);

/**
 * The `userdata` given to `rtwire_context_connect()` for the event's
 * connection (also valid after the connection is freed), or NULL for an
 * invalid handle.
 */
void *rtwire_event_userdata(const rtwire_event *ev);

/**
 * MESSAGE: the payload (UTF-8 for text, not NUL-terminated). Empty for a
 * message without payload, other event types and invalid handles. Valid
 * until `rtwire_event_free()`.
 */
rtwire_bytes rtwire_event_data(const rtwire_event *ev);

/**
 * MESSAGE: whether the payload is text (true) or binary (false). False for
 * other event types and invalid handles.
 */
bool rtwire_event_is_text(const rtwire_event *ev);

/**
 * MESSAGE: the event name (SSE `event:`), absent (`data` NULL) when the
 * transport has none. Valid until `rtwire_event_free()`.
 */
rtwire_str rtwire_event_name(const rtwire_event *ev);

/**
 * MESSAGE: the event id (SSE `id:`) or cursor, absent (`data` NULL) when
 * the transport has none. Valid until `rtwire_event_free()`.
 */
rtwire_str rtwire_event_id(const rtwire_event *ev);

/**
 * OPEN: the transport in use (`RTWIRE_TRANSPORT_AUTO` for other event
 * types and invalid handles).
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
 * Frees an event taken with `rtwire_context_next_event()`; its views become
 * invalid.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
 * double free, not an event). Thread-safe, but not while another thread
 * still reads the event's views.
 */
rtwire_result rtwire_event_free(rtwire_event *ev);

/**
 * Creates an options object with every setting at its default and writes
 * it to `*out`.
 *
 * Defaults: transport auto; proxy from the environment; no extra headers
 * or subprotocols; open and
 * close timeouts 10 s; keepalive ping every 20 s, peer dead after 20 s;
 * max message 64 MiB, max frame 16 MiB; outgoing queue 8 MiB; event queue
 * 256 events per connection; reconnect on with backoff 500 ms doubling to
 * 30 s, unlimited attempts, first attempt not retried; system TLS roots;
 * certificate verification on.
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
 * Sets the transport: one of the `rtwire_transport` values.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`, or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` for a value that is not an
 * `rtwire_transport`.
 */
rtwire_result rtwire_options_set_transport(rtwire_options *opts, uint32_t transport);

/**
 * Adds a request header sent on every connection attempt. Both strings are
 * copied; they must be NUL-terminated UTF-8. The name and value are checked
 * at connect time (an invalid one makes `rtwire_context_connect()` return
 * `RTWIRE_RESULT_INVALID_ARGUMENT`).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
 * `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT`
 * (not UTF-8).
 *
 * # Safety
 * `name` and `value` are NULL or NUL-terminated strings.
 */
rtwire_result rtwire_options_add_header(rtwire_options *opts, const char *name, const char *value);

/**
 * Adds a subprotocol to offer (`Sec-WebSocket-Protocol`), in preference
 * order. The string is copied. The server's choice is reported by
 * `rtwire_event_protocol()` on the OPEN event.
 *
 * Returns as `rtwire_options_add_header()`.
 *
 * # Safety
 * `protocol` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_add_subprotocol(rtwire_options *opts, const char *protocol);

/**
 * Sets the `Origin` header. The string is copied.
 *
 * Returns as `rtwire_options_add_header()`.
 *
 * # Safety
 * `origin` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_origin(rtwire_options *opts, const char *origin);

/**
 * Sets the limit on TCP connect + TLS + HTTP handshake, in milliseconds
 * (default 10000).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
 */
rtwire_result rtwire_options_set_open_timeout_ms(rtwire_options *opts, uint32_t ms);

/**
 * Sets how long to wait for the peer's reply to our close frame, in
 * milliseconds (default 10000); then the TCP connection is dropped.
 *
 * Returns as `rtwire_options_set_open_timeout_ms()`.
 */
rtwire_result rtwire_options_set_close_timeout_ms(rtwire_options *opts, uint32_t ms);

/**
 * Sets keepalive: a ping after `interval_ms` without traffic from the peer
 * (0 disables pings), and the peer is declared dead when nothing arrives
 * within `timeout_ms` after a ping. Defaults 20000 and 20000.
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (`timeout_ms` is 0).
 */
rtwire_result rtwire_options_set_keepalive(rtwire_options *opts,
                                           uint32_t interval_ms,
                                           uint32_t timeout_ms);

/**
 * Sets the largest incoming message in bytes (default 64 MiB). A larger
 * message ends the session with `RTWIRE_RESULT_TOO_LARGE` (close code
 * 1009).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
 */
rtwire_result rtwire_options_set_max_message_size(rtwire_options *opts, size_t bytes);

/**
 * Sets the largest incoming frame in bytes (default 16 MiB).
 *
 * Returns as `rtwire_options_set_max_message_size()`.
 */
rtwire_result rtwire_options_set_max_frame_size(rtwire_options *opts, size_t bytes);

/**
 * Sets the outgoing queue's high-water mark in bytes (default 8 MiB).
 * While more bytes than this wait to be written, sends report
 * `RTWIRE_RESULT_QUEUE_FULL` (or wait, given a timeout).
 *
 * Returns as `rtwire_options_set_max_message_size()`.
 */
rtwire_result rtwire_options_set_send_queue_bytes(rtwire_options *opts, size_t bytes);

/**
 * Sets how many events of one connection may wait, undelivered, in the
 * context's queue (default 256). When the application does not take
 * events, the connection stops reading its socket: memory stays bounded.
 *
 * Returns as `rtwire_options_set_max_message_size()`.
 */
rtwire_result rtwire_options_set_event_queue(rtwire_options *opts, size_t events);

/**
 * Turns reconnecting after a lost session on or off (default on).
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_options_set_reconnect(rtwire_options *opts, bool enabled);

/**
 * Sets the reconnect backoff: the delay before attempt n is drawn from
 * [0, min(max_ms, initial_ms * 2^(n-1))] (defaults 500 and 30000).
 *
 * Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
 * `RTWIRE_RESULT_INVALID_ARGUMENT` (`max_ms` < `initial_ms`).
 */
rtwire_result rtwire_options_set_reconnect_delays(rtwire_options *opts,
                                                  uint32_t initial_ms,
                                                  uint32_t max_ms);

/**
 * Gives up reconnecting after `attempts` failed attempts in a row; 0 means
 * never give up (the default).
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_options_set_reconnect_max_attempts(rtwire_options *opts, uint32_t attempts);

/**
 * Also retries when the very first connection attempt fails (default off:
 * the first failure is reported as ERROR then CLOSED).
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_options_set_reconnect_initial(rtwire_options *opts, bool retry);

/**
 * Sets the proxy: `http://[user:pass@]host:port` (HTTP CONNECT),
 * `https://...` (CONNECT over TLS to the proxy), `socks5://` or
 * `socks5h://`; the empty string means never use a proxy. Without this
 * call the proxy comes from the environment (`HTTPS_PROXY` for
 * `wss`/`https`, `HTTP_PROXY` for `ws`/`http`, else `ALL_PROXY`; hosts in
 * `NO_PROXY` connect directly). The string is copied and checked at
 * connect time.
 *
 * Returns as `rtwire_options_add_header()`.
 *
 * # Safety
 * `proxy_url` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_proxy(rtwire_options *opts, const char *proxy_url);

/**
 * HTTP transports (SSE, long polling, polling, streaming): the URL that
 * sends POST to. Without it, sends on those transports fail with
 * `RTWIRE_RESULT_UNSUPPORTED`. WebSocket ignores it. The string is copied.
 *
 * Returns as `rtwire_options_add_header()`.
 *
 * # Safety
 * `url` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_send_url(rtwire_options *opts, const char *url);

/**
 * SSE: the `Last-Event-ID` to send on the first request, to resume a
 * stream where an earlier one stopped (later requests send the id of the
 * last event received). The string is copied.
 *
 * Returns as `rtwire_options_add_header()`.
 *
 * # Safety
 * `id` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_last_event_id(rtwire_options *opts, const char *id);

/**
 * HTTP transports: a response that delivers no byte for this long is
 * dead and the connection reconnects (default 60000 ms).
 *
 * Returns as `rtwire_options_set_open_timeout_ms()`.
 */
rtwire_result rtwire_options_set_read_timeout_ms(rtwire_options *opts, uint32_t ms);

/**
 * Trusts the CA certificates in this PEM file instead of the system roots.
 * The path is copied; the file is read at connect time (an unreadable file
 * makes `rtwire_context_connect()` return `RTWIRE_RESULT_TLS`).
 *
 * Returns as `rtwire_options_add_header()`.
 *
 * # Safety
 * `path` is NULL or a NUL-terminated string.
 */
rtwire_result rtwire_options_set_ca_file(rtwire_options *opts, const char *path);

/**
 * Presents a client certificate: a PEM certificate chain file and a PEM
 * private key file. Paths are copied; files are read at connect time.
 *
 * Returns as `rtwire_options_add_header()`.
 *
 * # Safety
 * `cert_path` and `key_path` are NULL or NUL-terminated strings.
 */
rtwire_result rtwire_options_set_client_cert(rtwire_options *opts,
                                             const char *cert_path,
                                             const char *key_path);

/**
 * Accepts any server certificate when `insecure` is true. Off by default;
 * only for tests against self-signed servers, as it opens the connection
 * to interception.
 *
 * Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
 */
rtwire_result rtwire_options_set_insecure(rtwire_options *opts, bool insecure);

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

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* RTWIRE_H */


