/* Exercises every function of the C API, including misuse: NULL arguments,
 * bad URLs, a refused connection, double close, send after close, and
 * freed handles. Usage: test_api PORT (a WebSocket echo peer on
 * 127.0.0.1:PORT serving /echo and /close). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static char g_base[128];

static const char *url(const char *path) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s%s", g_base, path);
    return buf;
}

/* A loopback port with nothing listening on it. */
static int closed_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &n) != 0) {
        return 1;
    }
    close(s);
    return ntohs(a.sin_port);
}

static void test_version_and_results(void) {
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", RTWIRE_VERSION_MAJOR,
             RTWIRE_VERSION_MINOR, RTWIRE_VERSION_PATCH);
    CHECK(strcmp(rtwire_version(), want) == 0);
    CHECK(RTWIRE_VERSION_NUMBER == RTWIRE_VERSION_MAJOR * 10000 +
                                       RTWIRE_VERSION_MINOR * 100 +
                                       RTWIRE_VERSION_PATCH);
    const rtwire_result codes[] = {
        RTWIRE_RESULT_OK,          RTWIRE_RESULT_NULL_ARGUMENT,
        RTWIRE_RESULT_INVALID_HANDLE, RTWIRE_RESULT_WOULD_BLOCK,
        RTWIRE_RESULT_PANIC,       RTWIRE_RESULT_UNKNOWN,
        RTWIRE_RESULT_INVALID_ARGUMENT, RTWIRE_RESULT_INVALID_URL,
        RTWIRE_RESULT_UNSUPPORTED, RTWIRE_RESULT_CONNECT,
        RTWIRE_RESULT_TLS,         RTWIRE_RESULT_HANDSHAKE,
        RTWIRE_RESULT_TIMEOUT,     RTWIRE_RESULT_PROTOCOL,
        RTWIRE_RESULT_TOO_LARGE,   RTWIRE_RESULT_IO,
        RTWIRE_RESULT_CLOSED,      RTWIRE_RESULT_QUEUE_FULL,
        RTWIRE_RESULT_INTERNAL};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *m = rtwire_result_message(codes[i]);
        const char *n = rtwire_result_name(codes[i]);
        CHECK(m != NULL && strlen(m) > 0 && strcmp(m, "unknown result code") != 0);
        CHECK(n != NULL && strlen(n) > 0);
        CHECK(codes[i] == RTWIRE_RESULT_UNKNOWN || strcmp(n, "unknown") != 0);
    }
    CHECK(strcmp(rtwire_result_name(RTWIRE_RESULT_INVALID_URL), "invalid_url") == 0);
    CHECK(strcmp(rtwire_result_name(RTWIRE_RESULT_QUEUE_FULL), "queue_full") == 0);
    CHECK(strcmp(rtwire_result_name(12345), "unknown") == 0);
    CHECK(strcmp(rtwire_result_message(12345), "unknown result code") == 0);
}

static void test_null_arguments(void) {
    char buf[64];
    rtwire_options *opts = NULL;
    rtwire_context *ctx = NULL;
    rtwire_event *ev = NULL;
    rtwire_conn *conn = NULL;
    size_t n = 0;

    CHECK_RESULT(rtwire_options_new(NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_free(NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_transport(NULL, 0), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_add_header(NULL, "a", "b"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_add_subprotocol(NULL, "a"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_origin(NULL, "a"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_open_timeout_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_close_timeout_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_keepalive(NULL, 1, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_max_message_size(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_max_frame_size(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_send_queue_bytes(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_event_queue(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_reconnect(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_reconnect_delays(NULL, 1, 2), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_reconnect_max_attempts(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_reconnect_initial(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_proxy(NULL, "http://127.0.0.1:1"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_send_url(NULL, "x"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_last_event_id(NULL, "x"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_read_timeout_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_ca_file(NULL, "x"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_client_cert(NULL, "x", "y"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_insecure(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_options_last_error(NULL, buf, sizeof buf) == 0);

    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_add_header(opts, NULL, "b"), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_add_header(opts, "a", NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0);
    CHECK_RESULT(rtwire_options_add_subprotocol(opts, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_origin(opts, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_proxy(opts, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_send_url(opts, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_last_event_id(opts, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_ca_file(opts, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_client_cert(opts, NULL, "k"), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_client_cert(opts, "c", NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_free(opts), RTWIRE_RESULT_OK);

    CHECK_RESULT(rtwire_context_new(NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_context_free(NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_context_fd(NULL) == -1);
    CHECK_RESULT(rtwire_context_next_event(NULL, &ev), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(ev == NULL);
    CHECK_RESULT(rtwire_context_wait(NULL, 0), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_context_wakeup(NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_context_dispatch(NULL, NULL, NULL, NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_context_last_error(NULL, buf, sizeof buf) == 0);
    CHECK_RESULT(rtwire_context_connect(NULL, "ws://127.0.0.1:1/", NULL, NULL, &conn),
                 RTWIRE_RESULT_INVALID_HANDLE);

    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_next_event(ctx, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_context_dispatch(ctx, NULL, NULL, &n), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_context_connect(ctx, NULL, NULL, NULL, &conn), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK(rtwire_context_last_error(ctx, buf, sizeof buf) > 0);
    CHECK_RESULT(rtwire_context_connect(ctx, "ws://127.0.0.1:1/", NULL, NULL, NULL),
                 RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK(conn == NULL);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);

    CHECK_RESULT(rtwire_conn_send_text(NULL, "x", 1, 0), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_conn_send_binary(NULL, (const uint8_t *)"x", 1, 0), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_conn_close(NULL, 1000, NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_conn_buffered_amount(NULL, &n), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_conn_userdata(NULL) == NULL);
    CHECK(rtwire_conn_last_error(NULL, buf, sizeof buf) == 0);
    CHECK_RESULT(rtwire_conn_free(NULL), RTWIRE_RESULT_INVALID_HANDLE);

    CHECK(rtwire_event_kind(NULL) == RTWIRE_EVENT_TYPE_NONE);
    CHECK(rtwire_event_conn(NULL) == NULL);
    CHECK(rtwire_event_userdata(NULL) == NULL);
    CHECK(rtwire_event_data(NULL).data == NULL && rtwire_event_data(NULL).len == 0);
    CHECK(!rtwire_event_is_text(NULL));
    CHECK(rtwire_event_name(NULL).data == NULL);
    CHECK(rtwire_event_id(NULL).data == NULL);
    CHECK(rtwire_event_transport(NULL) == RTWIRE_TRANSPORT_AUTO);
    CHECK(rtwire_event_url(NULL).data == NULL);
    CHECK(rtwire_event_protocol(NULL).data == NULL);
    CHECK(rtwire_event_header_count(NULL) == 0);
    {
        rtwire_str k, v;
        CHECK_RESULT(rtwire_event_header(NULL, 0, &k, &v), RTWIRE_RESULT_INVALID_HANDLE);
        rtwire_bytes b;
        bool t;
        CHECK_RESULT(rtwire_event_unsent(NULL, 0, &b, &t), RTWIRE_RESULT_INVALID_HANDLE);
    }
    CHECK(rtwire_event_reconnect_attempt(NULL) == 0);
    CHECK(rtwire_event_reconnect_delay_ms(NULL) == 0);
    CHECK(rtwire_event_error_code(NULL) == RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_event_error_message(NULL).data == NULL);
    CHECK(rtwire_event_http_status(NULL) == 0);
    CHECK(rtwire_event_close_code(NULL) == 0);
    CHECK(rtwire_event_close_reason(NULL).data == NULL);
    CHECK(!rtwire_event_close_clean(NULL));
    CHECK(rtwire_event_unsent_count(NULL) == 0);
    CHECK_RESULT(rtwire_event_free(NULL), RTWIRE_RESULT_INVALID_HANDLE);
}

static void test_options(void) {
    rtwire_options *opts = NULL;
    char buf[256];
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK(opts != NULL);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) == 0);
    CHECK_RESULT(rtwire_options_set_transport(opts, RTWIRE_TRANSPORT_WEBSOCKET), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_transport(opts, 99), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_add_header(opts, "X-Test", "1"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_add_header(opts, "X-Bad", "\xff\xfe"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0);
    CHECK(strstr(buf, "UTF-8") != NULL);
    CHECK_RESULT(rtwire_options_add_subprotocol(opts, "chat.v1"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_origin(opts, "http://127.0.0.1"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_open_timeout_ms(opts, 5000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_open_timeout_ms(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_close_timeout_ms(opts, 3000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_close_timeout_ms(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_keepalive(opts, 0, 1000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_keepalive(opts, 1000, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_max_message_size(opts, 1 << 20), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_max_message_size(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_max_frame_size(opts, 1 << 20), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_max_frame_size(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_send_queue_bytes(opts, 1 << 16), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_send_queue_bytes(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_event_queue(opts, 16), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_event_queue(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_reconnect(opts, false), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect_delays(opts, 100, 1000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect_delays(opts, 1000, 100), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_reconnect_max_attempts(opts, 3), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect_initial(opts, false), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_proxy(opts, "http://127.0.0.1:3128"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_proxy(opts, ""), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_send_url(opts, "http://127.0.0.1:1/send"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_last_event_id(opts, "42"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_read_timeout_ms(opts, 1000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_read_timeout_ms(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_ca_file(opts, "/nonexistent/ca.pem"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_client_cert(opts, "/nonexistent/c.pem", "/nonexistent/k.pem"),
                 RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_insecure(opts, false), RTWIRE_RESULT_OK);
    /* snprintf-style copy: the full length comes back, the copy is cut. */
    size_t full = rtwire_options_last_error(opts, NULL, 0);
    CHECK(full > 4);
    char small[4] = {'x', 'x', 'x', 'x'};
    CHECK(rtwire_options_last_error(opts, small, sizeof small) == full);
    CHECK(small[3] == '\0' && strlen(small) == 3);

    CHECK_RESULT(rtwire_options_free(opts), RTWIRE_RESULT_OK);
    /* Use after free and double free are detected. */
    CHECK_RESULT(rtwire_options_free(opts), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_insecure(opts, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_add_header(opts, "a", "b"), RTWIRE_RESULT_INVALID_HANDLE);
    /* A new object does not revive the stale handle. */
    rtwire_options *again = NULL;
    CHECK_RESULT(rtwire_options_new(&again), RTWIRE_RESULT_OK);
    CHECK(again != opts);
    CHECK_RESULT(rtwire_options_set_insecure(opts, true), RTWIRE_RESULT_INVALID_HANDLE);
    /* A handle of one type is refused by functions of another. */
    CHECK_RESULT(rtwire_context_free((rtwire_context *)(void *)again), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_free(again), RTWIRE_RESULT_OK);
}

static void test_connect_errors(void) {
    rtwire_context *ctx = NULL;
    rtwire_conn *conn = NULL;
    rtwire_options *opts = NULL;
    char buf[256];
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK(rtwire_context_fd(ctx) >= 0);

    CHECK_RESULT(rtwire_context_connect(ctx, "not a url", NULL, NULL, &conn), RTWIRE_RESULT_INVALID_URL);
    CHECK(conn == NULL);
    CHECK(rtwire_context_last_error(ctx, buf, sizeof buf) > 0);
    CHECK_RESULT(rtwire_context_connect(ctx, "ws://", NULL, NULL, &conn), RTWIRE_RESULT_INVALID_URL);
    CHECK_RESULT(rtwire_context_connect(ctx, "ws://127.0.0.1:65536/", NULL, NULL, &conn),
                 RTWIRE_RESULT_INVALID_URL);
    CHECK_RESULT(rtwire_context_connect(ctx, "ftp://127.0.0.1/", NULL, NULL, &conn),
                 RTWIRE_RESULT_INVALID_URL);
    CHECK_RESULT(rtwire_context_connect(ctx, "ws://127.0.0.1:1/#frag", NULL, NULL, &conn),
                 RTWIRE_RESULT_INVALID_URL);
    CHECK_RESULT(rtwire_context_connect(ctx, "ws://127.0.0.1:1/\xff", NULL, NULL, &conn),
                 RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(conn == NULL);

    /* Bad option values are found at connect time, before any I/O. */
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_add_header(opts, "bad header", "x"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, url("/echo"), opts, NULL, &conn),
                 RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_context_last_error(ctx, buf, sizeof buf) > 0);
    CHECK(strstr(buf, "bad header") != NULL);
    CHECK_RESULT(rtwire_options_free(opts), RTWIRE_RESULT_OK);
    /* A freed options handle is refused. */
    CHECK_RESULT(rtwire_context_connect(ctx, url("/echo"), opts, NULL, &conn),
                 RTWIRE_RESULT_INVALID_HANDLE);

    /* An unreadable CA file is a TLS error, reported at once. */
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_ca_file(opts, "/nonexistent/ca.pem"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, "wss://127.0.0.1:1/", opts, NULL, &conn), RTWIRE_RESULT_TLS);
    CHECK_RESULT(rtwire_options_free(opts), RTWIRE_RESULT_OK);
    CHECK(conn == NULL);

    /* A refused connection: ERROR (connect) then CLOSED (1006). */
    char refused[64];
    snprintf(refused, sizeof refused, "ws://127.0.0.1:%d/", closed_port());
    int tag = 7;
    CHECK_RESULT(rtwire_context_connect(ctx, refused, NULL, &tag, &conn), RTWIRE_RESULT_OK);
    CHECK(conn != NULL);
    CHECK(rtwire_conn_userdata(conn) == &tag);
    rtwire_event *ev = expect_event(ctx, RTWIRE_EVENT_TYPE_ERROR, 10000);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(rtwire_event_error_code(ev) == RTWIRE_RESULT_CONNECT);
        rtwire_str m = rtwire_event_error_message(ev);
        CHECK(m.data != NULL && m.len > 0 && strlen(m.data) == m.len);
        CHECK(rtwire_event_conn(ev) == conn);
        CHECK(rtwire_event_userdata(ev) == &tag);
        CHECK(rtwire_event_close_code(ev) == 0);
        CHECK(rtwire_event_data(ev).len == 0);
        CHECK_RESULT(rtwire_event_free(ev), RTWIRE_RESULT_OK);
    }
    ev = expect_event(ctx, RTWIRE_EVENT_TYPE_CLOSED, 5000);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(rtwire_event_close_code(ev) == 1006);
        CHECK(!rtwire_event_close_clean(ev));
        CHECK(rtwire_event_error_code(ev) == RTWIRE_RESULT_OK);
        CHECK_RESULT(rtwire_event_free(ev), RTWIRE_RESULT_OK);
    }
    CHECK_RESULT(rtwire_conn_send_text(conn, "x", 1, 0), RTWIRE_RESULT_CLOSED);
    CHECK(rtwire_conn_last_error(conn, buf, sizeof buf) > 0);
    CHECK_RESULT(rtwire_conn_send_text(conn, "x", 1, 100), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_conn_close(conn, 1000, NULL), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_conn_free(conn), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_conn_free(conn), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_context_next_event(ctx, &ev), RTWIRE_RESULT_WOULD_BLOCK);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
}

static void test_echo(void) {
    rtwire_context *ctx = NULL;
    rtwire_options *opts = NULL;
    rtwire_conn *conn = NULL;
    char buf[256];
    int tag = 42;
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_add_subprotocol(opts, "chat.v1"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_add_header(opts, "X-Test", "yes"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, url("/echo"), opts, &tag, &conn), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_free(opts), RTWIRE_RESULT_OK);

    /* Before OPEN a send without a timeout would have to wait. */
    rtwire_result early = rtwire_conn_send_text(conn, "early", 5, 0);
    CHECK(early == RTWIRE_RESULT_WOULD_BLOCK || early == RTWIRE_RESULT_OK);
    if (early == RTWIRE_RESULT_WOULD_BLOCK) {
        CHECK_RESULT(rtwire_conn_send_text(conn, "early", 5, 10000), RTWIRE_RESULT_OK);
    }

    rtwire_event *ev = expect_event(ctx, RTWIRE_EVENT_TYPE_OPEN, 10000);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(rtwire_event_transport(ev) == RTWIRE_TRANSPORT_WEBSOCKET);
        rtwire_str p = rtwire_event_protocol(ev);
        CHECK(p.data != NULL && strcmp(p.data, "chat.v1") == 0 && p.len == 7);
        rtwire_str u = rtwire_event_url(ev);
        CHECK(u.data != NULL && strstr(u.data, "/echo") != NULL);
        CHECK(rtwire_event_header_count(ev) > 0);
        rtwire_str k = {NULL, 0}, v = {NULL, 0};
        CHECK_RESULT(rtwire_event_header(ev, 0, &k, &v), RTWIRE_RESULT_OK);
        CHECK(k.data != NULL && k.len > 0);
        CHECK_RESULT(rtwire_event_header(ev, 9999, &k, &v), RTWIRE_RESULT_INVALID_ARGUMENT);
        CHECK_RESULT(rtwire_event_header(ev, 0, NULL, &v), RTWIRE_RESULT_NULL_ARGUMENT);
        CHECK(rtwire_event_conn(ev) == conn);
        CHECK(rtwire_event_userdata(ev) == &tag);
        CHECK(rtwire_event_error_code(ev) == RTWIRE_RESULT_OK);
        CHECK_RESULT(rtwire_event_free(ev), RTWIRE_RESULT_OK);
        /* The freed event is stale now. */
        CHECK_RESULT(rtwire_event_free(ev), RTWIRE_RESULT_INVALID_HANDLE);
        CHECK(rtwire_event_kind(ev) == RTWIRE_EVENT_TYPE_NONE);
        CHECK(rtwire_event_url(ev).data == NULL);
    }

    const uint8_t bin[] = {0, 1, 2, 255, 0};
    CHECK_RESULT(rtwire_conn_send_binary(conn, bin, sizeof bin, 0), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_conn_send_text(conn, NULL, 0, 0), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_conn_send_text(conn, NULL, 3, 0), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_conn_send_binary(conn, NULL, 3, 0), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_conn_send_text(conn, "\xc0\xaf", 2, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_conn_last_error(conn, buf, sizeof buf) > 0 && strstr(buf, "UTF-8") != NULL);
    size_t buffered = 99;
    CHECK_RESULT(rtwire_conn_buffered_amount(conn, &buffered), RTWIRE_RESULT_OK);
    CHECK(buffered < 99);
    CHECK_RESULT(rtwire_conn_buffered_amount(conn, NULL), RTWIRE_RESULT_NULL_ARGUMENT);

    /* Echoes come back in order: "early", the binary, the empty text. */
    ev = expect_event(ctx, RTWIRE_EVENT_TYPE_MESSAGE, 10000);
    CHECK(ev != NULL);
    if (ev) {
        rtwire_bytes d = rtwire_event_data(ev);
        CHECK(rtwire_event_is_text(ev));
        CHECK(d.len == 5 && memcmp(d.data, "early", 5) == 0);
        CHECK(rtwire_event_name(ev).data == NULL);
        CHECK(rtwire_event_id(ev).data == NULL);
        CHECK(rtwire_event_close_reason(ev).data == NULL);
        rtwire_event_free(ev);
    }
    ev = expect_event(ctx, RTWIRE_EVENT_TYPE_MESSAGE, 10000);
    CHECK(ev != NULL);
    if (ev) {
        rtwire_bytes d = rtwire_event_data(ev);
        CHECK(!rtwire_event_is_text(ev));
        CHECK(d.len == sizeof bin && memcmp(d.data, bin, sizeof bin) == 0);
        rtwire_event_free(ev);
    }
    ev = expect_event(ctx, RTWIRE_EVENT_TYPE_MESSAGE, 10000);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(rtwire_event_is_text(ev));
        CHECK(rtwire_event_data(ev).len == 0);
        rtwire_event_free(ev);
    }

    /* Close: bad arguments first, then double close and send after close. */
    CHECK_RESULT(rtwire_conn_close(conn, 999, "x"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_conn_close(conn, 1005, NULL), RTWIRE_RESULT_INVALID_ARGUMENT);
    char longr[200];
    memset(longr, 'r', sizeof longr - 1);
    longr[sizeof longr - 1] = '\0';
    CHECK_RESULT(rtwire_conn_close(conn, 1000, longr), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_conn_close(conn, 1000, "\xff"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_conn_close(conn, 1000, "bye"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_conn_close(conn, 1000, "bye"), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_conn_send_text(conn, "late", 4, 0), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_conn_send_binary(conn, bin, 1, 1000), RTWIRE_RESULT_CLOSED);
    ev = expect_event(ctx, RTWIRE_EVENT_TYPE_CLOSED, 15000);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(rtwire_event_close_code(ev) == 1000);
        rtwire_str r = rtwire_event_close_reason(ev);
        CHECK(r.data != NULL && strcmp(r.data, "bye") == 0);
        CHECK(rtwire_event_close_clean(ev));
        CHECK(rtwire_event_unsent_count(ev) == 0);
        rtwire_bytes b;
        bool t;
        CHECK_RESULT(rtwire_event_unsent(ev, 0, &b, &t), RTWIRE_RESULT_INVALID_ARGUMENT);
        CHECK_RESULT(rtwire_event_unsent(ev, 0, NULL, &t), RTWIRE_RESULT_NULL_ARGUMENT);
        rtwire_event_free(ev);
    }
    CHECK_RESULT(rtwire_context_next_event(ctx, &ev), RTWIRE_RESULT_WOULD_BLOCK);
    CHECK_RESULT(rtwire_conn_close(conn, 1000, NULL), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_conn_free(conn), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_conn_free(conn), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_conn_send_text(conn, "x", 1, 0), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_conn_close(conn, 1000, NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_conn_userdata(conn) == NULL);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
}

static void test_server_close(void) {
    rtwire_context *ctx = NULL;
    rtwire_options *opts = NULL;
    rtwire_conn *conn = NULL;
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect(opts, false), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, url("/close?code=4001&reason=done"), opts, NULL, &conn),
                 RTWIRE_RESULT_OK);
    rtwire_options_free(opts);
    rtwire_event *ev = expect_event(ctx, RTWIRE_EVENT_TYPE_OPEN, 10000);
    CHECK(ev != NULL);
    rtwire_event_free(ev);
    /* A close with a code other than 1000 is reported as an error first. */
    ev = expect_event(ctx, RTWIRE_EVENT_TYPE_ERROR, 10000);
    CHECK(ev != NULL);
    if (ev) {
        rtwire_str m = rtwire_event_error_message(ev);
        CHECK(m.data != NULL && strstr(m.data, "4001") != NULL);
        rtwire_event_free(ev);
    }
    ev = expect_event(ctx, RTWIRE_EVENT_TYPE_CLOSED, 15000);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(rtwire_event_close_code(ev) == 4001);
        rtwire_str r = rtwire_event_close_reason(ev);
        CHECK(r.data != NULL && strcmp(r.data, "done") == 0);
        rtwire_event_free(ev);
    }
    CHECK_RESULT(rtwire_conn_send_text(conn, "x", 1, 0), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_conn_free(conn), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
}

struct dispatch_state {
    int messages;
    int opens;
    int stop_after;
    rtwire_context *ctx;
    bool free_conn_inside;
};

static int on_event(void *userdata, const rtwire_event *ev) {
    struct dispatch_state *st = userdata;
    switch (rtwire_event_kind(ev)) {
    case RTWIRE_EVENT_TYPE_OPEN:
        st->opens++;
        break;
    case RTWIRE_EVENT_TYPE_MESSAGE:
        st->messages++;
        if (st->free_conn_inside) {
            /* Re-entrant: free the event's connection from the callback. */
            CHECK_RESULT(rtwire_conn_free(rtwire_event_conn(ev)), RTWIRE_RESULT_OK);
            CHECK_RESULT(rtwire_conn_send_text(rtwire_event_conn(ev), "x", 1, 0),
                         RTWIRE_RESULT_INVALID_HANDLE);
        }
        break;
    default:
        break;
    }
    return st->stop_after > 0 && st->messages >= st->stop_after;
}

/* Waits until at least n events are queued (by polling the fd). */
static void wait_queued(rtwire_context *ctx, int n_messages_sent) {
    (void)n_messages_sent;
    struct pollfd p = {.fd = rtwire_context_fd(ctx), .events = POLLIN, .revents = 0};
    CHECK(poll(&p, 1, 10000) == 1);
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void test_dispatch_fd_wakeup(void) {
    rtwire_context *ctx = NULL;
    rtwire_conn *conn = NULL;
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    int fd = rtwire_context_fd(ctx);
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    CHECK(poll(&p, 1, 0) == 0); /* nothing queued: not readable */
    CHECK_RESULT(rtwire_context_wait(ctx, 10), RTWIRE_RESULT_TIMEOUT);
    CHECK_RESULT(rtwire_context_wakeup(ctx), RTWIRE_RESULT_OK);
    CHECK(poll(&p, 1, 0) == 1);
    CHECK_RESULT(rtwire_context_wait(ctx, 5000), RTWIRE_RESULT_WOULD_BLOCK);
    CHECK(poll(&p, 1, 0) == 0);
    size_t n = 99;
    struct dispatch_state st = {0, 0, 0, ctx, false};
    CHECK_RESULT(rtwire_context_dispatch(ctx, on_event, &st, &n), RTWIRE_RESULT_OK);
    CHECK(n == 0);

    CHECK_RESULT(rtwire_context_connect(ctx, url("/echo"), NULL, NULL, &conn), RTWIRE_RESULT_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_RESULT(rtwire_conn_send_text(conn, "m", 1, 10000), RTWIRE_RESULT_OK);
    }
    wait_queued(ctx, 3);
    CHECK(poll(&p, 1, 0) == 1); /* events queued: readable */
    /* Stop after the first message. */
    st.stop_after = 1;
    CHECK_RESULT(rtwire_context_dispatch(ctx, on_event, &st, &n), RTWIRE_RESULT_OK);
    CHECK(st.opens == 1 && st.messages == 1 && n == 2);
    st.stop_after = 0;
    for (int i = 0; i < 50 && st.messages < 3; i++) {
        rtwire_context_wait(ctx, 100);
        CHECK_RESULT(rtwire_context_dispatch(ctx, on_event, &st, NULL), RTWIRE_RESULT_OK);
    }
    CHECK(st.messages == 3);
    CHECK(poll(&p, 1, 0) == 0); /* drained: not readable */

    /* Free the connection from inside the callback; its remaining events
     * are dropped. */
    CHECK_RESULT(rtwire_conn_send_text(conn, "a", 1, 10000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_conn_send_text(conn, "b", 1, 10000), RTWIRE_RESULT_OK);
    wait_queued(ctx, 2);
    st.free_conn_inside = true;
    st.messages = 0;
    CHECK_RESULT(rtwire_context_dispatch(ctx, on_event, &st, &n), RTWIRE_RESULT_OK);
    CHECK(st.messages == 1 && n == 1);
    rtwire_event *ev = NULL;
    CHECK_RESULT(rtwire_context_next_event(ctx, &ev), RTWIRE_RESULT_WOULD_BLOCK);
    CHECK(poll(&p, 1, 0) == 0);
    CHECK_RESULT(rtwire_conn_free(conn), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
}

static int free_ctx_cb(void *userdata, const rtwire_event *ev) {
    (void)ev;
    rtwire_context *ctx = userdata;
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
    return 0;
}

static void test_free_context_with_live_connections(void) {
    rtwire_context *ctx = NULL;
    rtwire_conn *a = NULL, *b = NULL;
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, url("/echo"), NULL, NULL, &a), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, url("/echo"), NULL, NULL, &b), RTWIRE_RESULT_OK);
    rtwire_event *ev = expect_event(ctx, RTWIRE_EVENT_TYPE_OPEN, 10000);
    CHECK(ev != NULL);
    CHECK_RESULT(rtwire_conn_send_text(a, "x", 1, 10000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
    /* An event taken before stays readable; connection handles are stale. */
    CHECK(rtwire_event_kind(ev) == RTWIRE_EVENT_TYPE_OPEN);
    CHECK(rtwire_event_url(ev).data != NULL);
    CHECK_RESULT(rtwire_event_free(ev), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_conn_send_text(a, "x", 1, 0), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_conn_free(b), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_context_fd(ctx) == -1);
    CHECK_RESULT(rtwire_context_next_event(ctx, &ev), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_context_wait(ctx, 0), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_context_connect(ctx, url("/echo"), NULL, NULL, &a),
                 RTWIRE_RESULT_INVALID_HANDLE);

    /* Freeing the context from inside a dispatch callback. */
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, url("/echo"), NULL, NULL, &a), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_conn_send_text(a, "x", 1, 10000), RTWIRE_RESULT_OK);
    wait_queued(ctx, 1);
    size_t n = 0;
    CHECK_RESULT(rtwire_context_dispatch(ctx, free_ctx_cb, ctx, &n), RTWIRE_RESULT_OK);
    CHECK(n == 1);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_conn_free(a), RTWIRE_RESULT_INVALID_HANDLE);
}

static void test_backpressure(void) {
    rtwire_context *ctx = NULL;
    rtwire_options *opts = NULL;
    rtwire_conn *conn = NULL;
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_send_queue_bytes(opts, 1024), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, url("/echo"), opts, NULL, &conn), RTWIRE_RESULT_OK);
    rtwire_options_free(opts);
    rtwire_event *ev = expect_event(ctx, RTWIRE_EVENT_TYPE_OPEN, 10000);
    CHECK(ev != NULL);
    rtwire_event_free(ev);

    static uint8_t big[256 * 1024];
    memset(big, 'b', sizeof big);
    int accepted = 0;
    bool full = false;
    for (int i = 0; i < 1000 && !full; i++) {
        rtwire_result r = rtwire_conn_send_binary(conn, big, sizeof big, 0);
        if (r == RTWIRE_RESULT_OK) {
            accepted++;
        } else {
            CHECK_RESULT(r, RTWIRE_RESULT_QUEUE_FULL);
            full = true;
        }
    }
    CHECK(full);
    /* With a timeout the send waits for room (events are taken meanwhile
     * so the echo peer is never blocked on us). */
    bool sent = false;
    int echoed = 0;
    for (int i = 0; i < 400 && !sent; i++) {
        while (rtwire_context_next_event(ctx, &ev) == RTWIRE_RESULT_OK) {
            echoed += rtwire_event_kind(ev) == RTWIRE_EVENT_TYPE_MESSAGE;
            rtwire_event_free(ev);
        }
        rtwire_result r = rtwire_conn_send_binary(conn, big, sizeof big, 50);
        CHECK(r == RTWIRE_RESULT_OK || r == RTWIRE_RESULT_QUEUE_FULL);
        sent = r == RTWIRE_RESULT_OK;
    }
    CHECK(sent);
    accepted += sent;
    CHECK_RESULT(rtwire_conn_close(conn, 1000, NULL), RTWIRE_RESULT_OK);
    for (int i = 0; i < 1000; i++) {
        ev = next_event_within(ctx, 10000);
        if (ev == NULL) {
            break;
        }
        rtwire_event_type t = rtwire_event_kind(ev);
        echoed += t == RTWIRE_EVENT_TYPE_MESSAGE;
        if (t == RTWIRE_EVENT_TYPE_CLOSED) {
            CHECK(rtwire_event_close_code(ev) == 1000);
            CHECK(rtwire_event_unsent_count(ev) == 0);
            rtwire_event_free(ev);
            break;
        }
        rtwire_event_free(ev);
    }
    /* The peer answers our close at once, so echoes still in its buffers
     * may be dropped; none can be invented. */
    CHECK(echoed >= 1 && echoed <= accepted);
    rtwire_conn_free(conn);
    rtwire_context_free(ctx);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    snprintf(g_base, sizeof g_base, "ws://127.0.0.1:%s", argv[1]);
    test_version_and_results();
    test_null_arguments();
    test_options();
    test_connect_errors();
    test_echo();
    test_server_close();
    test_dispatch_fd_wakeup();
    test_free_context_with_live_connections();
    test_backpressure();
    return finish("test_api");
}
