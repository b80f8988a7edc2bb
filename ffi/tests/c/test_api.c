/* Exercises every function of the C API, including misuse: NULL arguments,
 * bad URLs, a refused connection, double close, send after close, and
 * freed handles; and the embedded server, with a WebSocket and an SSE
 * client of it on the same context. Usage: test_api PORT (a WebSocket echo peer on
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
    CHECK_RESULT(rtwire_options_set(NULL, "tls.insecure", "true"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_unset(NULL, "origin"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_transport(NULL, "sse"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_add_header(NULL, "a", "b"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_add_subprotocol(NULL, "a"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_origin(NULL, "a"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_open_timeout_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_keepalive_interval_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_max_message_size(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_reconnect(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_reconnect_max_attempts(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_ca_pem(NULL, (const uint8_t *)"x", 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_insecure(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_options_last_error(NULL, buf, sizeof buf) == 0);

    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set(opts, NULL, "1"), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_set(opts, "origin", NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_unset(opts, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_add_header(opts, NULL, "b"), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_options_add_header(opts, "a", NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0);
    CHECK_RESULT(rtwire_options_add_subprotocol(opts, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    /* NULL for an option that cannot be off. */
    CHECK_RESULT(rtwire_options_set_transport(opts, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "transport") != NULL);
    CHECK_RESULT(rtwire_options_set_framing(opts, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    /* A PEM pointer that is NULL with a length is "no PEM" (off). */
    CHECK_RESULT(rtwire_options_set_ca_pem(opts, NULL, 5), RTWIRE_RESULT_OK);
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
    /* The generic setter: canonical name, text as a configuration file has it. */
    CHECK_RESULT(rtwire_options_set(opts, "limits.max_message_size", "64KiB"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set(opts, "limits.max_message_size", "0"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0);
    CHECK(strstr(buf, "limits.max_message_size") != NULL);
    CHECK_RESULT(rtwire_options_set(opts, "limits.max_message_size", "lots"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set(opts, "no.such_option", "1"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "no.such_option") != NULL);
    CHECK_RESULT(rtwire_options_set(opts, "open_timeout", "250ms"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set(opts, "keepalive.interval", "off"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set(opts, "headers", "X-From-Text: 1"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set(opts, "headers", "no colon"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set(opts, "subprotocols", "a.v1, b.v1"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set(opts, "transport", "long_poll"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set(opts, "tls.insecure", "maybe"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set(opts, "origin", "\xff"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "UTF-8") != NULL);

    /* Unset: off where an option can be off, refused where not. */
    CHECK_RESULT(rtwire_options_unset(opts, "keepalive.interval"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_unset(opts, "reconnect.max_attempts"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_unset(opts, "proxy"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_unset(opts, "origin"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_unset(opts, "open_timeout"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "open_timeout") != NULL);
    CHECK_RESULT(rtwire_options_unset(opts, "no.such_option"), RTWIRE_RESULT_INVALID_ARGUMENT);

    /* The named setters, one of each kind. */
    CHECK_RESULT(rtwire_options_set_transport(opts, "websocket"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_transport(opts, "SSE"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_transport(opts, "carrier-pigeon"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "transport") != NULL);
    CHECK_RESULT(rtwire_options_add_header(opts, "X-Test", "1"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_add_header(opts, "X-Bad", "\xff\xfe"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0);
    CHECK(strstr(buf, "UTF-8") != NULL);
    CHECK_RESULT(rtwire_options_add_header(opts, "bad header", "x"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "bad header") != NULL);
    CHECK_RESULT(rtwire_options_add_subprotocol(opts, "chat.v1"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_add_subprotocol(opts, "not a token"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_origin(opts, "http://127.0.0.1"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_origin(opts, NULL), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_origin(opts, "a\r\nb"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_open_timeout_ms(opts, 5000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_open_timeout_ms(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "open_timeout") != NULL);
    CHECK_RESULT(rtwire_options_set_close_timeout_ms(opts, 3000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_close_timeout_ms(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_keepalive_interval_ms(opts, 1000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_keepalive_interval_ms(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_keepalive_timeout_ms(opts, 1000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_keepalive_timeout_ms(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_max_message_size(opts, 1 << 20), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_max_message_size(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "max_message_size") != NULL);
    CHECK_RESULT(rtwire_options_set_max_message_size(opts, SIZE_MAX), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_max_frame_size(opts, 1 << 20), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_max_frame_size(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_send_queue_bytes(opts, 1 << 16), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_send_queue_bytes(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_event_queue(opts, 16), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_event_queue(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_reconnect(opts, false), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect_initial_delay_ms(opts, 100), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect_max_delay_ms(opts, 1000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect_initial_delay_ms(opts, 0), RTWIRE_RESULT_OK);
    /* 0 attempts: no retry; unlimited is rtwire_options_unset. */
    CHECK_RESULT(rtwire_options_set_reconnect_max_attempts(opts, 0), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect_max_attempts(opts, 3), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect_retry_initial(opts, false), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_proxy(opts, "http://127.0.0.1:3128"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_proxy(opts, "none"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_proxy(opts, NULL), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_proxy(opts, ""), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_send_url(opts, "http://127.0.0.1:1/send"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_last_event_id(opts, "42"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_read_timeout_ms(opts, 1000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_read_timeout_ms(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_ca_file(opts, "/nonexistent/ca.pem"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_ca_file(opts, ""), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_ca_file(opts, NULL), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_client_cert_file(opts, "/nonexistent/c.pem"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_client_key_file(opts, "/nonexistent/k.pem"), RTWIRE_RESULT_OK);
    {
        static const char pem[] = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
        static const uint8_t junk[] = {0x30, 0x82, 0x01, 0x0a, 0xff};
        CHECK_RESULT(rtwire_options_set_ca_pem(opts, (const uint8_t *)pem, strlen(pem)), RTWIRE_RESULT_OK);
        CHECK_RESULT(rtwire_options_set_ca_pem(opts, junk, sizeof junk), RTWIRE_RESULT_INVALID_ARGUMENT);
        CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "tls.ca_pem") != NULL);
        CHECK_RESULT(rtwire_options_set_client_cert_pem(opts, junk, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
        CHECK_RESULT(rtwire_options_set_client_key_pem(opts, NULL, 0), RTWIRE_RESULT_OK);
    }
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

    /* Rules tying options together are checked at connect time, before any
     * I/O: a client certificate without its key. */
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_client_cert_file(opts, "/nonexistent/c.pem"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, url("/echo"), opts, NULL, &conn),
                 RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_context_last_error(ctx, buf, sizeof buf) > 0);
    CHECK(strstr(buf, "key") != NULL);
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

    /* A CA file and CA PEM text together are refused at connect; PEM text
     * without a usable certificate is a TLS error, reported at once. */
    static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_ca_file(opts, "/nonexistent/ca.pem"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_ca_pem(opts, (const uint8_t *)bad_pem, strlen(bad_pem)), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, "wss://127.0.0.1:1/", opts, NULL, &conn),
                 RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_context_last_error(ctx, buf, sizeof buf) > 0 && strstr(buf, "not both") != NULL);
    CHECK_RESULT(rtwire_options_unset(opts, "tls.ca_file"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, "wss://127.0.0.1:1/", opts, NULL, &conn), RTWIRE_RESULT_TLS);
    CHECK(rtwire_context_last_error(ctx, buf, sizeof buf) > 0);
    CHECK(strstr(buf, "PEM text") != NULL);
    CHECK(strstr(buf, "nonexistent") == NULL);
    CHECK_RESULT(rtwire_options_free(opts), RTWIRE_RESULT_OK);
    CHECK(conn == NULL);
    /* A client certificate as PEM text that is not one: a TLS error. */
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_client_cert_pem(opts, (const uint8_t *)bad_pem, strlen(bad_pem)),
                 RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_client_key_pem(opts, (const uint8_t *)bad_pem, strlen(bad_pem)),
                 RTWIRE_RESULT_OK);
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
    /* Every accepted message comes back from the echo peer: wait for them
     * before closing, since a peer may drop echoes it has not yet sent
     * once it has answered our close. */
    for (int i = 0; i < 1000 && echoed < accepted; i++) {
        ev = next_event_within(ctx, 10000);
        if (ev == NULL) {
            break;
        }
        echoed += rtwire_event_kind(ev) == RTWIRE_EVENT_TYPE_MESSAGE;
        rtwire_event_free(ev);
    }
    CHECK(echoed == accepted);
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
    /* Nothing arrives after the close that was not sent. */
    CHECK(echoed == accepted);
    rtwire_conn_free(conn);
    rtwire_context_free(ctx);
}

/* ---- HTTP transport options ------------------------------------------- */

static void test_http_options(void) {
    rtwire_options *opts = NULL;
    char buf[256];

    /* Invalid handle. */
    CHECK_RESULT(rtwire_options_set_poll_interval_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_long_poll_timeout_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_long_poll_post(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_json_array(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_cursor_header(NULL, "X-Cursor"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_cursor_json_field(NULL, "cursor"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_cursor_query(NULL, "c"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_cursor_send_header(NULL, "X-C"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_cursor_initial(NULL, "0"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_framing(NULL, "lines"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_max_line(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_retry_server_errors(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_max_redirects(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_rtwire_protocol(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_read_buffer_size(NULL, 4096), RTWIRE_RESULT_INVALID_HANDLE);

    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_poll_interval_ms(opts, 250), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_poll_interval_ms(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "http.poll_interval") != NULL);
    CHECK_RESULT(rtwire_options_set_long_poll_timeout_ms(opts, 30000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_long_poll_timeout_ms(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_long_poll_post(opts, true), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_json_array(opts, true), RTWIRE_RESULT_OK);

    /* The cursor needs a source before a destination or initial value. */
    CHECK_RESULT(rtwire_options_set_cursor_query(opts, "since"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "http.cursor.header") != NULL);
    CHECK_RESULT(rtwire_options_set_cursor_send_header(opts, "X-Since"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_cursor_initial(opts, "0"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_cursor_header(opts, ""), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_cursor_header(opts, "X Cursor"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_cursor_header(opts, "\xff"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_cursor_header(opts, "X-Cursor"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_cursor_json_field(opts, ""), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_cursor_json_field(opts, "cursor"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_cursor_query(opts, ""), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_cursor_query(opts, "since"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_cursor_send_header(opts, "bad header"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_cursor_send_header(opts, "X-Since"), RTWIRE_RESULT_OK);
    /* NULL is off: back to the query parameter, no initial cursor. */
    CHECK_RESULT(rtwire_options_set_cursor_send_header(opts, NULL), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_cursor_initial(opts, NULL), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_cursor_initial(opts, "a\nb"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_cursor_initial(opts, "42"), RTWIRE_RESULT_OK);
    /* Unsetting the source drops the whole cursor. */
    CHECK_RESULT(rtwire_options_set_cursor_json_field(opts, NULL), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_cursor_initial(opts, "42"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_cursor_header(opts, "X-Cursor"), RTWIRE_RESULT_OK);

    CHECK_RESULT(rtwire_options_set_framing(opts, "ndjson"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_framing(opts, "chunks"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_framing(opts, "lines"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_framing(opts, "paragraphs"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_options_last_error(opts, buf, sizeof buf) > 0 && strstr(buf, "http.framing") != NULL);
    CHECK_RESULT(rtwire_options_set_max_line(opts, 4096), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_max_line(opts, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_options_set_retry_server_errors(opts, true), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_max_redirects(opts, 0), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_max_redirects(opts, 5), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_rtwire_protocol(opts, true), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_read_buffer_size(opts, 8192), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_read_buffer_size(opts, 255), RTWIRE_RESULT_INVALID_ARGUMENT);

    /* The whole set is accepted by connect (checked before any I/O). */
    rtwire_context *ctx = NULL;
    rtwire_conn *conn = NULL;
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_transport(opts, "long_poll"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect(opts, false), RTWIRE_RESULT_OK);
    char lp[64];
    snprintf(lp, sizeof lp, "http://127.0.0.1:%d/poll", closed_port());
    CHECK_RESULT(rtwire_context_connect(ctx, lp, opts, NULL, &conn), RTWIRE_RESULT_OK);
    rtwire_event *ev = expect_event(ctx, RTWIRE_EVENT_TYPE_CLOSED, 15000);
    CHECK(ev != NULL);
    rtwire_event_free(ev);
    CHECK_RESULT(rtwire_conn_free(conn), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);

    CHECK_RESULT(rtwire_options_free(opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_framing(opts, "lines"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_options_set_cursor_header(opts, "X-Cursor"), RTWIRE_RESULT_INVALID_HANDLE);
}

/* ---- The embedded server ---------------------------------------------- */

static void test_server_misuse(void) {
    char buf[128];
    size_t idx = 0;
    rtwire_server_options *so = NULL;
    rtwire_server *srv = NULL;
    rtwire_stats *st = NULL;
    rtwire_context *ctx = NULL;

    /* NULL handles everywhere. */
    CHECK_RESULT(rtwire_server_options_new(NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_free(NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_bind(NULL, "127.0.0.1:0"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_history(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_client_queue(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_token(NULL, "t"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_tls(NULL, "c", "k"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_add_allowed_origin(NULL, "o"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_cors(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_ping_interval_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_heartbeat_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_long_poll_hold_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_max_message_size(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_max_headers(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_header_timeout_ms(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_events(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_client_messages(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_event_queue(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_max_connections(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_max_per_ip(NULL, 1), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set(NULL, "history", "1"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_unset(NULL, "token"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_server_options_last_error(NULL, buf, sizeof buf) == 0);

    CHECK_RESULT(rtwire_server_start(NULL, NULL, &srv), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(srv == NULL);
    CHECK(rtwire_server_port(NULL) == 0);
    CHECK(rtwire_server_local_addr(NULL, buf, sizeof buf) == 0);
    CHECK(rtwire_server_base_url(NULL, buf, sizeof buf) == 0);
    CHECK(rtwire_server_epoch(NULL, buf, sizeof buf) == 0);
    CHECK_RESULT(rtwire_server_publish_text(NULL, "c", "x", 1, NULL, 0), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_publish_binary(NULL, "c", (const uint8_t *)"x", 1, NULL, 0),
                 RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_disconnect_all(NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_stats(NULL, &st), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(st == NULL);
    CHECK_RESULT(rtwire_server_stop(NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_free(NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_server_last_error(NULL, buf, sizeof buf) == 0);
    CHECK(rtwire_stats_connections(NULL) == 0);
    CHECK(rtwire_stats_channel_count(NULL) == 0);
    CHECK(rtwire_stats_channel_name(NULL, 0).data == NULL);
    CHECK(rtwire_stats_channel_published(NULL, 0) == 0);
    CHECK(rtwire_stats_channel_history(NULL, 0) == 0);
    CHECK(rtwire_stats_channel_subscribers(NULL, 0) == 0);
    CHECK_RESULT(rtwire_stats_find(NULL, "c", &idx), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_stats_free(NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_event_server(NULL) == NULL);
    CHECK(rtwire_event_channel(NULL).data == NULL);
    CHECK(rtwire_event_peer(NULL).data == NULL);
    CHECK(rtwire_event_byte_count(NULL) == 0);
    CHECK(rtwire_event_dropped(NULL) == 0);

    /* Options: bad values are refused with a reason. */
    CHECK_RESULT(rtwire_server_options_new(&so), RTWIRE_RESULT_OK);
    CHECK(rtwire_server_options_last_error(so, buf, sizeof buf) == 0);
    CHECK_RESULT(rtwire_server_options_set_bind(so, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_bind(so, "localhost:0"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_server_options_last_error(so, buf, sizeof buf) > 0 && strstr(buf, "IP:PORT") != NULL);
    CHECK_RESULT(rtwire_server_options_set_bind(so, "127.0.0.1"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_bind(so, "127.0.0.1:99999"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_bind(so, "\xff"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_bind(so, "[::1]:0"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_bind(so, "127.0.0.1:0"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_history(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_history(so, 10), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_client_queue(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_client_queue(so, 64), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_token(so, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_token(so, "a b"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_token(so, "s3cret"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_token(so, ""), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_tls(so, NULL, "k"), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_tls(so, "c", NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_add_allowed_origin(so, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_cors(so, true), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_ping_interval_ms(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_ping_interval_ms(so, 5000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_heartbeat_ms(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_heartbeat_ms(so, 5000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_long_poll_hold_ms(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_long_poll_hold_ms(so, 2000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_max_message_size(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_max_message_size(so, 1 << 20), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_max_headers(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_max_headers(so, 32), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_header_timeout_ms(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_header_timeout_ms(so, 5000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_event_queue(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_event_queue(so, 8), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_events(so, true), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_client_messages(so, false), RTWIRE_RESULT_OK);
    /* The server schema: the core's ranges and messages, by name too. */
    CHECK_RESULT(rtwire_server_options_set_history(so, (size_t)1 << 31), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_server_options_last_error(so, buf, sizeof buf) > 0
          && strstr(buf, "history must be at least 1 and at most") != NULL);
    CHECK_RESULT(rtwire_server_options_set_max_connections(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_max_connections(so, 1000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_max_per_ip(so, 4), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_max_per_ip(so, 0), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set(so, "history", "0"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_server_options_last_error(so, buf, sizeof buf) > 0
          && strstr(buf, "history must be at least 1") != NULL);
    CHECK_RESULT(rtwire_server_options_set(so, "history", "20"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set(so, "idle_timeout", "30s"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set(so, "idle_timeout", "0"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set(so, "slow_consumer", "skip"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set(so, "max_message_size", "64KiB"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set(so, "nope", "1"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set(so, NULL, "1"), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set(so, "history", NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_unset(so, "idle_timeout"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_unset(so, "token"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_unset(so, "history"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_unset(so, "nope"), RTWIRE_RESULT_INVALID_ARGUMENT);

    /* Start errors: text on the context, nothing created. */
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_start(ctx, so, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_start(ctx, (const rtwire_server_options *)(void *)ctx, &srv),
                 RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_tls(so, "/nonexistent/cert.pem", "/nonexistent/key.pem"),
                 RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_start(ctx, so, &srv), RTWIRE_RESULT_TLS);
    CHECK(srv == NULL);
    CHECK(rtwire_context_last_error(ctx, buf, sizeof buf) > 0 && strstr(buf, "cert.pem") != NULL);
    rtwire_server_options_free(so);
    so = NULL;

    /* A port in use. */
    rtwire_server *first = NULL;
    CHECK_RESULT(rtwire_server_start(ctx, NULL, &first), RTWIRE_RESULT_OK);
    char addr[64];
    size_t alen = rtwire_server_local_addr(first, addr, sizeof addr);
    CHECK(alen > 0 && alen < sizeof addr && strlen(addr) == alen);
    CHECK(strncmp(addr, "127.0.0.1:", 10) == 0);
    CHECK_RESULT(rtwire_server_options_new(&so), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_bind(so, addr), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_start(ctx, so, &srv), RTWIRE_RESULT_CONNECT);
    CHECK(srv == NULL);
    CHECK_RESULT(rtwire_server_options_free(so), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_free(so), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_history(so, 1), RTWIRE_RESULT_INVALID_HANDLE);

    /* Publish misuse. */
    char id[RTWIRE_SERVER_ID_MAX];
    CHECK_RESULT(rtwire_server_publish_text(first, NULL, "x", 1, NULL, 0), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_publish_text(first, "news", NULL, 1, NULL, 0), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_publish_binary(first, "news", NULL, 1, NULL, 0), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_publish_text(first, "", "x", 1, NULL, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_publish_text(first, "a/b", "x", 1, NULL, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_server_last_error(first, buf, sizeof buf) > 0 && strstr(buf, "channel") != NULL);
    CHECK_RESULT(rtwire_server_publish_text(first, "news", "\xc0\xaf", 2, NULL, 0),
                 RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_server_last_error(first, buf, sizeof buf) > 0 && strstr(buf, "UTF-8") != NULL);
    /* Empty messages, no id buffer, and a truncated id buffer. */
    CHECK_RESULT(rtwire_server_publish_text(first, "news", NULL, 0, NULL, 0), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_publish_binary(first, "news", NULL, 0, id, sizeof id), RTWIRE_RESULT_OK);
    char epoch[32];
    size_t elen = rtwire_server_epoch(first, epoch, sizeof epoch);
    CHECK(elen > 0 && strlen(epoch) == elen);
    char want[64];
    snprintf(want, sizeof want, "%s-2", epoch);
    CHECK(strcmp(id, want) == 0);
    char tiny[4] = {'x', 'x', 'x', 'x'};
    CHECK_RESULT(rtwire_server_publish_text(first, "news", "t", 1, tiny, sizeof tiny), RTWIRE_RESULT_OK);
    CHECK(tiny[3] == '\0' && strncmp(tiny, epoch, 3) == 0);

    /* Stats snapshot and its misuse. */
    CHECK_RESULT(rtwire_server_stats(first, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_stats(first, &st), RTWIRE_RESULT_OK);
    CHECK(rtwire_stats_channel_count(st) == 1);
    CHECK_RESULT(rtwire_stats_find(st, "news", &idx), RTWIRE_RESULT_OK);
    CHECK(idx == 0);
    CHECK(rtwire_stats_channel_published(st, 0) == 3);
    CHECK(rtwire_stats_channel_history(st, 0) == 3);
    CHECK(rtwire_stats_channel_subscribers(st, 0) == 0);
    rtwire_str name = rtwire_stats_channel_name(st, 0);
    CHECK(name.data != NULL && name.len == 4 && strcmp(name.data, "news") == 0);
    CHECK(rtwire_stats_channel_name(st, 1).data == NULL);
    CHECK(rtwire_stats_channel_published(st, 1) == 0);
    CHECK_RESULT(rtwire_stats_find(st, "other", &idx), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_stats_find(st, NULL, &idx), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_stats_find(st, "news", NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_stats_free(st), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_stats_free(st), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_stats_channel_count(st) == 0);
    /* Handles of one type are refused by functions of another. */
    CHECK_RESULT(rtwire_server_free((rtwire_server *)(void *)ctx), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_context_free((rtwire_context *)(void *)first), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_conn_free((rtwire_conn *)(void *)first), RTWIRE_RESULT_INVALID_HANDLE);

    /* Stop: the handle stays valid, the server refuses work. */
    uint16_t port = rtwire_server_port(first);
    CHECK(port != 0);
    CHECK_RESULT(rtwire_server_stop(first), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_stop(first), RTWIRE_RESULT_CLOSED);
    CHECK(rtwire_server_port(first) == port);
    CHECK_RESULT(rtwire_server_publish_text(first, "news", "x", 1, NULL, 0), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_server_disconnect_all(first), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_server_stats(first, &st), RTWIRE_RESULT_CLOSED);
    /* The port is free again. */
    CHECK_RESULT(rtwire_server_options_new(&so), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_bind(so, addr), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_start(ctx, so, &srv), RTWIRE_RESULT_OK);
    rtwire_server_options_free(so);
    CHECK(rtwire_server_port(srv) == port);
    /* Free: double free and use after free are detected. */
    CHECK_RESULT(rtwire_server_free(first), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_free(first), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_server_port(first) == 0);
    CHECK_RESULT(rtwire_server_publish_text(first, "news", "x", 1, NULL, 0), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_stop(first), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_server_base_url(first, buf, sizeof buf) == 0);

    /* Freeing the context stops its servers and invalidates their handles. */
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_publish_text(srv, "news", "x", 1, NULL, 0), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_free(srv), RTWIRE_RESULT_INVALID_HANDLE);
}

/* What the clients and the server of test_server_roundtrip saw. */
struct seen {
    rtwire_conn *ws, *sse;
    rtwire_server *srv;
    int ws_open, sse_open, ws_msgs, sse_msgs, reconnecting;
    int connected, disconnected, published, client_msgs;
    char ws_id[RTWIRE_SERVER_ID_MAX], sse_id[RTWIRE_SERVER_ID_MAX], pub_id[RTWIRE_SERVER_ID_MAX];
    char ws_text[64], sse_text[64], client_text[64];
    char sse_name[32];
    int ws_binary;
};

static void copy_view(char *dst, size_t cap, const char *src, size_t len) {
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void take(struct seen *s, rtwire_event *ev) {
    rtwire_bytes d = rtwire_event_data(ev);
    rtwire_str id = rtwire_event_id(ev);
    switch (rtwire_event_kind(ev)) {
    case RTWIRE_EVENT_TYPE_OPEN:
        CHECK(rtwire_event_server(ev) == NULL);
        if (rtwire_event_conn(ev) == s->ws) {
            s->ws_open++;
        } else {
            s->sse_open++;
        }
        break;
    case RTWIRE_EVENT_TYPE_MESSAGE:
        if (rtwire_event_conn(ev) == s->ws) {
            s->ws_msgs++;
            s->ws_binary = !rtwire_event_is_text(ev);
            copy_view(s->ws_id, sizeof s->ws_id, id.data, id.len);
            copy_view(s->ws_text, sizeof s->ws_text, (const char *)d.data, d.len);
        } else {
            rtwire_str n = rtwire_event_name(ev);
            s->sse_msgs++;
            copy_view(s->sse_id, sizeof s->sse_id, id.data, id.len);
            copy_view(s->sse_text, sizeof s->sse_text, (const char *)d.data, d.len);
            copy_view(s->sse_name, sizeof s->sse_name, n.data, n.len);
        }
        break;
    case RTWIRE_EVENT_TYPE_RECONNECTING:
        s->reconnecting++;
        break;
    case RTWIRE_EVENT_TYPE_SERVER_CONNECTED:
    case RTWIRE_EVENT_TYPE_SERVER_DISCONNECTED: {
        CHECK(rtwire_event_server(ev) == s->srv);
        CHECK(rtwire_event_conn(ev) == NULL);
        rtwire_str ch = rtwire_event_channel(ev);
        rtwire_str peer = rtwire_event_peer(ev);
        CHECK(ch.data != NULL && strcmp(ch.data, "news") == 0);
        CHECK(peer.data != NULL && strncmp(peer.data, "127.0.0.1:", 10) == 0);
        rtwire_transport t = rtwire_event_transport(ev);
        CHECK(t == RTWIRE_TRANSPORT_WEBSOCKET || t == RTWIRE_TRANSPORT_SSE);
        if (rtwire_event_kind(ev) == RTWIRE_EVENT_TYPE_SERVER_CONNECTED) {
            s->connected++;
        } else {
            s->disconnected++;
        }
        break;
    }
    case RTWIRE_EVENT_TYPE_SERVER_PUBLISHED:
        CHECK(rtwire_event_server(ev) == s->srv);
        CHECK(rtwire_event_channel(ev).data != NULL);
        CHECK(id.data != NULL);
        copy_view(s->pub_id, sizeof s->pub_id, id.data, id.len);
        s->published++;
        break;
    case RTWIRE_EVENT_TYPE_SERVER_MESSAGE:
        CHECK(rtwire_event_server(ev) == s->srv);
        CHECK(rtwire_event_byte_count(ev) == d.len);
        copy_view(s->client_text, sizeof s->client_text, (const char *)d.data, d.len);
        s->client_msgs++;
        break;
    default:
        break;
    }
    rtwire_event_free(ev);
}

/* Takes events until *counter reaches want (or 15 s pass). */
static int pump_until(rtwire_context *ctx, struct seen *s, const int *counter, int want) {
    for (int i = 0; i < 150 && *counter < want; i++) {
        rtwire_event *ev = NULL;
        while (*counter < want && rtwire_context_next_event(ctx, &ev) == RTWIRE_RESULT_OK) {
            take(s, ev);
        }
        if (*counter < want) {
            rtwire_context_wait(ctx, 100);
        }
    }
    return *counter >= want;
}

static void test_server_roundtrip(void) {
    rtwire_context *ctx = NULL;
    rtwire_server_options *so = NULL;
    rtwire_options *opts = NULL;
    struct seen s;
    memset(&s, 0, sizeof s);
    char base[128], u[192], id[RTWIRE_SERVER_ID_MAX];

    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_new(&so), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_events(so, true), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_start(ctx, so, &s.srv), RTWIRE_RESULT_OK);
    rtwire_server_options_free(so);
    size_t blen = rtwire_server_base_url(s.srv, base, sizeof base);
    CHECK(blen > 7 && strncmp(base, "http://127.0.0.1:", 17) == 0);
    CHECK(rtwire_server_base_url(s.srv, NULL, 0) == blen);

    /* A WebSocket client speaking rtwire.v1 and an SSE client. */
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_rtwire_protocol(opts, true), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect_initial_delay_ms(opts, 10), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect_max_delay_ms(opts, 200), RTWIRE_RESULT_OK);
    snprintf(u, sizeof u, "ws://127.0.0.1:%u/ws/news", (unsigned)rtwire_server_port(s.srv));
    CHECK_RESULT(rtwire_context_connect(ctx, u, opts, NULL, &s.ws), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_transport(opts, "sse"), RTWIRE_RESULT_OK);
    snprintf(u, sizeof u, "%s/sse/news", base);
    CHECK_RESULT(rtwire_context_connect(ctx, u, opts, NULL, &s.sse), RTWIRE_RESULT_OK);
    rtwire_options_free(opts);
    CHECK(pump_until(ctx, &s, &s.ws_open, 1));
    CHECK(pump_until(ctx, &s, &s.sse_open, 1));
    CHECK(pump_until(ctx, &s, &s.connected, 2));

    rtwire_stats *st = NULL;
    CHECK_RESULT(rtwire_server_stats(s.srv, &st), RTWIRE_RESULT_OK);
    CHECK(rtwire_stats_connections(st) >= 2);
    size_t idx = 99;
    CHECK_RESULT(rtwire_stats_find(st, "news", &idx), RTWIRE_RESULT_OK);
    CHECK(rtwire_stats_channel_subscribers(st, idx) == 2);
    rtwire_stats_free(st);

    /* A text message reaches both clients with the id publish returned. */
    CHECK_RESULT(rtwire_server_publish_text(s.srv, "news", "hello", 5, id, sizeof id), RTWIRE_RESULT_OK);
    CHECK(pump_until(ctx, &s, &s.ws_msgs, 1));
    CHECK(pump_until(ctx, &s, &s.sse_msgs, 1));
    CHECK(pump_until(ctx, &s, &s.published, 1));
    CHECK(strcmp(s.ws_text, "hello") == 0 && strcmp(s.sse_text, "hello") == 0);
    CHECK(strcmp(s.ws_id, id) == 0);
    CHECK(strcmp(s.sse_id, id) == 0);
    CHECK(strcmp(s.pub_id, id) == 0);

    /* Binary: WebSocket gets bytes, SSE the event "binary" (base64). */
    const uint8_t bin[] = {1, 2, 3};
    CHECK_RESULT(rtwire_server_publish_binary(s.srv, "news", bin, sizeof bin, NULL, 0), RTWIRE_RESULT_OK);
    CHECK(pump_until(ctx, &s, &s.ws_msgs, 2));
    CHECK(pump_until(ctx, &s, &s.sse_msgs, 2));
    CHECK(s.ws_binary);
    CHECK(strcmp(s.sse_name, "binary") == 0);

    /* A network cut: both reconnect and resume, nothing lost or repeated. */
    CHECK_RESULT(rtwire_server_disconnect_all(s.srv), RTWIRE_RESULT_OK);
    CHECK(pump_until(ctx, &s, &s.ws_open, 2));
    CHECK(pump_until(ctx, &s, &s.sse_open, 2));
    CHECK(s.reconnecting >= 2);
    CHECK_RESULT(rtwire_server_publish_text(s.srv, "news", "again", 5, id, sizeof id), RTWIRE_RESULT_OK);
    CHECK(pump_until(ctx, &s, &s.ws_msgs, 3));
    CHECK(pump_until(ctx, &s, &s.sse_msgs, 3));
    CHECK(strcmp(s.ws_text, "again") == 0 && strcmp(s.ws_id, id) == 0);
    CHECK(strcmp(s.sse_text, "again") == 0 && strcmp(s.sse_id, id) == 0);

    /* A WebSocket client's message is published to the channel. */
    CHECK_RESULT(rtwire_conn_send_text(s.ws, "from ws", 7, 1000), RTWIRE_RESULT_OK);
    CHECK(pump_until(ctx, &s, &s.sse_msgs, 4));
    CHECK(strcmp(s.sse_text, "from ws") == 0);
    CHECK(s.client_msgs == 0);

    /* Close the clients, then stop: the server reports them gone. */
    CHECK_RESULT(rtwire_conn_free(s.ws), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_conn_free(s.sse), RTWIRE_RESULT_OK);
    CHECK(pump_until(ctx, &s, &s.disconnected, s.connected));
    CHECK_RESULT(rtwire_server_stop(s.srv), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_free(s.srv), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
}

static void test_server_client_messages_and_drops(void) {
    rtwire_context *ctx = NULL;
    rtwire_server_options *so = NULL;
    rtwire_options *opts = NULL;
    struct seen s;
    memset(&s, 0, sizeof s);
    char u[128];

    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_new(&so), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_client_messages(so, true), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_event_queue(so, 2), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_start(ctx, so, &s.srv), RTWIRE_RESULT_OK);
    rtwire_server_options_free(so);
    CHECK_RESULT(rtwire_options_new(&opts), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect(opts, false), RTWIRE_RESULT_OK);
    snprintf(u, sizeof u, "ws://127.0.0.1:%u/ws/room", (unsigned)rtwire_server_port(s.srv));
    CHECK_RESULT(rtwire_context_connect(ctx, u, opts, NULL, &s.ws), RTWIRE_RESULT_OK);
    rtwire_options_free(opts);
    CHECK(pump_until(ctx, &s, &s.ws_open, 1));

    /* The client's message comes to the application, not to the channel. */
    CHECK_RESULT(rtwire_conn_send_text(s.ws, "hi server", 9, 1000), RTWIRE_RESULT_OK);
    CHECK(pump_until(ctx, &s, &s.client_msgs, 1));
    CHECK(strcmp(s.client_text, "hi server") == 0);
    CHECK_RESULT(rtwire_server_publish_text(s.srv, "room", "reply", 5, NULL, 0), RTWIRE_RESULT_OK);
    CHECK(pump_until(ctx, &s, &s.ws_msgs, 1));
    CHECK(s.ws_msgs == 1 && strcmp(s.ws_text, "reply") == 0);

    /* Over the event queue: with nobody taking events, two client messages
     * are queued and the other four are dropped and counted. */
    for (int i = 0; i < 6; i++) {
        CHECK_RESULT(rtwire_conn_send_text(s.ws, "m", 1, 1000), RTWIRE_RESULT_OK);
    }
    struct timespec pause = {2, 0};
    nanosleep(&pause, NULL);
    int got = 0;
    rtwire_event *ev = NULL;
    while (rtwire_context_next_event(ctx, &ev) == RTWIRE_RESULT_OK) {
        if (rtwire_event_kind(ev) == RTWIRE_EVENT_TYPE_SERVER_MESSAGE) {
            got++;
            CHECK(rtwire_event_dropped(ev) == 0);
        }
        rtwire_event_free(ev);
    }
    CHECK(got == 2);
    CHECK_RESULT(rtwire_conn_send_text(s.ws, "last", 4, 1000), RTWIRE_RESULT_OK);
    ev = expect_event(ctx, RTWIRE_EVENT_TYPE_SERVER_MESSAGE, 10000);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(rtwire_event_dropped(ev) == 4);
        CHECK(rtwire_event_data(ev).len == 4);
        CHECK(rtwire_event_channel(ev).data != NULL && strcmp(rtwire_event_channel(ev).data, "room") == 0);
        rtwire_event_free(ev);
    }

    /* Freeing the server drops its queued events; the client is cut off. */
    CHECK_RESULT(rtwire_conn_send_text(s.ws, "queued", 6, 1000), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_free(s.srv), RTWIRE_RESULT_OK);
    ev = expect_event(ctx, RTWIRE_EVENT_TYPE_CLOSED, 15000);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(rtwire_event_conn(ev) == s.ws);
        rtwire_event_free(ev);
    }
    CHECK_RESULT(rtwire_conn_free(s.ws), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_next_event(ctx, &ev), RTWIRE_RESULT_WOULD_BLOCK);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
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
    test_http_options();
    test_server_misuse();
    test_server_roundtrip();
    test_server_client_messages_and_drops();
    return finish("test_api");
}
