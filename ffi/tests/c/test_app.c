/* The application server over the C API: routes whose clients become
 * rtwire_conn connections, the acceptance decision as SERVER_REQUEST
 * events, rooms by connection id, and misuse (NULL arguments, bad
 * handles, answers given twice or too late). Server and clients share one
 * context on 127.0.0.1.
 *
 *   ./test_app
 */
#include <pthread.h>
#include <stdint.h>

#include "common.h"

struct answer {
    const rtwire_request *req;
    void *user;
    rtwire_result result;
};

/* Answers a pending request from another thread. */
static void *answer_thread(void *arg) {
    struct answer *a = arg;
    a->result = rtwire_request_accept(a->req, a->user);
    return NULL;
}

/* Every event taken and not waited for, so that checks can look back. */
struct logged {
    rtwire_event_type type;
    rtwire_conn *conn;
    char text[64];
    uint16_t status;
};
#define LOG_MAX 512
static struct logged g_log[LOG_MAX];
static int g_logged;

static void log_event(const rtwire_event *ev) {
    if (g_logged >= LOG_MAX) {
        return;
    }
    struct logged *l = &g_log[g_logged++];
    l->type = rtwire_event_kind(ev);
    l->conn = rtwire_event_conn(ev);
    l->status = rtwire_event_http_status(ev);
    rtwire_bytes d = rtwire_event_data(ev);
    size_t n = d.len < sizeof l->text - 1 ? d.len : sizeof l->text - 1;
    if (n > 0) {
        memcpy(l->text, d.data, n);
    }
    l->text[n] = 0;
}

/* Waits up to timeout_ms for an event of `type` (of `conn` unless NULL),
 * logging the others; NULL on timeout. */
static rtwire_event *wait_for(rtwire_context *ctx, rtwire_event_type type, rtwire_conn *conn,
                              int timeout_ms) {
    for (int waited = 0; waited <= timeout_ms;) {
        rtwire_event *ev = NULL;
        if (rtwire_context_next_event(ctx, &ev) != RTWIRE_RESULT_OK) {
            rtwire_context_wait(ctx, 50);
            waited += 50;
            continue;
        }
        if (rtwire_event_kind(ev) == type && (conn == NULL || rtwire_event_conn(ev) == conn)) {
            return ev;
        }
        log_event(ev);
        rtwire_event_free(ev);
    }
    fprintf(stderr, "timed out waiting for event type %u\n", (unsigned)type);
    return NULL;
}

/* Whether the log holds a message `text` for `conn` (or any message of it
 * when text is NULL); takes events for up to timeout_ms first. */
static int received(rtwire_context *ctx, rtwire_conn *conn, const char *text, int timeout_ms) {
    for (int waited = 0;; waited += 50) {
        for (int i = 0; i < g_logged; i++) {
            if (g_log[i].type == RTWIRE_EVENT_TYPE_MESSAGE && g_log[i].conn == conn &&
                (text == NULL || strcmp(g_log[i].text, text) == 0)) {
                return 1;
            }
        }
        if (waited >= timeout_ms) {
            return 0;
        }
        rtwire_event *ev = NULL;
        if (rtwire_context_next_event(ctx, &ev) == RTWIRE_RESULT_OK) {
            log_event(ev);
            rtwire_event_free(ev);
        } else {
            rtwire_context_wait(ctx, 50);
        }
    }
}

static char g_url[128];

static rtwire_conn *connect_client(rtwire_context *ctx, const char *path_query,
                                   const char *protocol) {
    rtwire_options *o;
    rtwire_conn *c = NULL;
    char url[256];
    snprintf(url, sizeof url, "%s%s", g_url, path_query);
    CHECK_RESULT(rtwire_options_new(&o), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_options_set_reconnect(o, false), RTWIRE_RESULT_OK);
    if (protocol != NULL) {
        CHECK_RESULT(rtwire_options_add_subprotocol(o, protocol), RTWIRE_RESULT_OK);
    }
    CHECK_RESULT(rtwire_context_connect(ctx, url, o, NULL, &c), RTWIRE_RESULT_OK);
    rtwire_options_free(o);
    return c;
}

/* A client refused by the server: its ERROR status, or 0. */
static uint16_t refusal(rtwire_context *ctx, rtwire_conn *client, char *why, size_t cap) {
    rtwire_event *ev = wait_for(ctx, RTWIRE_EVENT_TYPE_ERROR, client, 5000);
    if (ev == NULL) {
        return 0;
    }
    uint16_t status = rtwire_event_http_status(ev);
    rtwire_str m = rtwire_event_error_message(ev);
    snprintf(why, cap, "%s", m.data ? m.data : "");
    CHECK(rtwire_event_error_code(ev) == RTWIRE_RESULT_HANDSHAKE);
    rtwire_event_free(ev);
    return status;
}

static void test_options_misuse(void) {
    rtwire_server_options *so;
    CHECK_RESULT(rtwire_server_options_new(&so), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_add_route(NULL, "/a", NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_add_route(so, NULL, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_add_route(so, "chat", NULL), RTWIRE_RESULT_INVALID_ARGUMENT);
    char why[256] = "";
    rtwire_server_options_last_error(so, why, sizeof why);
    CHECK(strstr(why, "chat") != NULL);
    CHECK_RESULT(rtwire_server_options_add_route(so, "/a?b", NULL), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_add_route(so, "/a", "x,,y"), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_add_route(so, "/a", "x, y"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_accept(NULL, true), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_options_set_accept_timeout_ms(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_send_queue_bytes(so, 0), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_slow_consumer(so, 7), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_options_set_slow_consumer(so, RTWIRE_SLOW_CONSUMER_SKIP), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_idle_timeout_ms(so, 0), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_free(so), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_add_route(so, "/a", NULL), RTWIRE_RESULT_INVALID_HANDLE);

    /* Requests and rooms with bad handles and NULL arguments. */
    rtwire_request *bogus = (rtwire_request *)(uintptr_t)0x1234;
    CHECK_RESULT(rtwire_request_accept(NULL, NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_request_accept(bogus, NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_request_reject(NULL, 401, "x"), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_request_id(NULL) == 0);
    CHECK(rtwire_request_path(NULL).data == NULL);
    CHECK(rtwire_request_header(bogus, "host").data == NULL);
    CHECK(rtwire_request_query_param(NULL, "x").data == NULL);
    CHECK(rtwire_request_user(NULL) == NULL);
    CHECK(!rtwire_request_is_pending(NULL));
    CHECK(rtwire_request_last_error(NULL, why, sizeof why) == 0);
    rtwire_str n, v;
    CHECK_RESULT(rtwire_request_header_at(NULL, 0, &n, &v), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_join(NULL, 1, "r", NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_leave(NULL, 1, "r", NULL), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK_RESULT(rtwire_server_broadcast_text(NULL, "r", NULL, 0, "x", 1, NULL),
                 RTWIRE_RESULT_INVALID_HANDLE);
    size_t count = 0;
    CHECK_RESULT(rtwire_server_member_count(NULL, "r", &count), RTWIRE_RESULT_INVALID_HANDLE);
    CHECK(rtwire_conn_id(NULL) == 0);
    CHECK(rtwire_conn_request(NULL) == NULL);
    CHECK(rtwire_event_request(NULL) == NULL);
    CHECK(rtwire_event_connection_id(NULL) == 0);
}

static void test_server(void) {
    rtwire_context *ctx;
    rtwire_server_options *so;
    rtwire_server *srv;
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_new(&so), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_add_route(so, "/app", "a, b"), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_accept(so, true), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_accept_timeout_ms(so, 500), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_start(ctx, so, &srv), RTWIRE_RESULT_OK);
    rtwire_server_options_free(so);
    snprintf(g_url, sizeof g_url, "ws://127.0.0.1:%u", (unsigned)rtwire_server_port(srv));
    char why[512];

    /* A refusal's status and body reach the client. */
    rtwire_conn *refused = connect_client(ctx, "/app?x=1&y=a+b%21", NULL);
    rtwire_event *ev = wait_for(ctx, RTWIRE_EVENT_TYPE_SERVER_REQUEST, NULL, 5000);
    CHECK(ev != NULL);
    if (ev != NULL) {
        const rtwire_request *req = rtwire_event_request(ev);
        CHECK(req != NULL);
        CHECK(rtwire_event_server(ev) == srv);
        CHECK(rtwire_event_conn(ev) == NULL);
        CHECK(rtwire_event_connection_id(ev) == rtwire_request_id(req));
        CHECK(rtwire_request_id(req) != 0);
        CHECK(strcmp(rtwire_request_path(req).data, "/app") == 0);
        CHECK(strcmp(rtwire_request_query(req).data, "x=1&y=a+b%21") == 0);
        CHECK(strcmp(rtwire_request_query_param(req, "x").data, "1") == 0);
        CHECK(strcmp(rtwire_request_query_param(req, "y").data, "a b!") == 0);
        CHECK(rtwire_request_query_param(req, "z").data == NULL);
        CHECK(rtwire_request_query_param(req, NULL).data == NULL);
        CHECK(rtwire_request_header(req, "HOST").data != NULL);
        CHECK(rtwire_request_header(req, "x-none").data == NULL);
        CHECK(rtwire_request_header_count(req) > 0);
        rtwire_str hn, hv;
        CHECK_RESULT(rtwire_request_header_at(req, 0, &hn, &hv), RTWIRE_RESULT_OK);
        CHECK_RESULT(rtwire_request_header_at(req, 1000, &hn, &hv), RTWIRE_RESULT_INVALID_ARGUMENT);
        CHECK_RESULT(rtwire_request_header_at(req, 0, NULL, &hv), RTWIRE_RESULT_NULL_ARGUMENT);
        CHECK(strncmp(rtwire_request_peer(req).data, "127.0.0.1:", 10) == 0);
        CHECK(rtwire_request_protocol(req).data == NULL);
        CHECK(rtwire_request_is_pending(req));
        CHECK_RESULT(rtwire_request_reject(req, 200, "no"), RTWIRE_RESULT_INVALID_ARGUMENT);
        CHECK(rtwire_request_is_pending(req));
        CHECK_RESULT(rtwire_request_reject(req, 429, "slow down"), RTWIRE_RESULT_OK);
        CHECK_RESULT(rtwire_request_accept(req, NULL), RTWIRE_RESULT_CLOSED);
        CHECK(rtwire_request_last_error(req, why, sizeof why) > 0);
        CHECK(!rtwire_request_is_pending(req));
        rtwire_event_free(ev);
    }
    CHECK(refusal(ctx, refused, why, sizeof why) == 429);
    CHECK(strstr(why, "slow down") != NULL);
    rtwire_conn_free(refused);

    /* A request whose event is freed unanswered: 503. */
    rtwire_conn *dropped = connect_client(ctx, "/app", NULL);
    ev = wait_for(ctx, RTWIRE_EVENT_TYPE_SERVER_REQUEST, NULL, 5000);
    CHECK(ev != NULL);
    rtwire_event_free(ev);
    CHECK(refusal(ctx, dropped, why, sizeof why) == 503);
    rtwire_conn_free(dropped);

    /* A request not answered in time: 503, and a late answer is CLOSED. */
    rtwire_conn *late = connect_client(ctx, "/app", NULL);
    ev = wait_for(ctx, RTWIRE_EVENT_TYPE_SERVER_REQUEST, NULL, 5000);
    CHECK(ev != NULL);
    CHECK(refusal(ctx, late, why, sizeof why) == 503);
    if (ev != NULL) {
        CHECK(!rtwire_request_is_pending(rtwire_event_request(ev)));
        CHECK_RESULT(rtwire_request_accept(rtwire_event_request(ev), NULL), RTWIRE_RESULT_CLOSED);
        rtwire_event_free(ev);
    }
    rtwire_conn_free(late);

    /* Three accepted connections, with the user pointer and the protocol. */
    int marks[3];
    rtwire_conn *clients[3];
    rtwire_conn *conns[3] = {NULL, NULL, NULL};
    uint64_t ids[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        clients[i] = connect_client(ctx, "/app", i == 0 ? "b" : NULL);
        ev = wait_for(ctx, RTWIRE_EVENT_TYPE_SERVER_REQUEST, NULL, 5000);
        CHECK(ev != NULL);
        uint64_t asked = 0;
        if (ev != NULL) {
            asked = rtwire_event_connection_id(ev);
            if (i < 2) {
                CHECK_RESULT(rtwire_request_accept(rtwire_event_request(ev), &marks[i]),
                             RTWIRE_RESULT_OK);
            } else {
                /* Answered from another thread while the event lives. */
                struct answer a = {rtwire_event_request(ev), &marks[i], RTWIRE_RESULT_PANIC};
                pthread_t t;
                CHECK(pthread_create(&t, NULL, answer_thread, &a) == 0);
                pthread_join(t, NULL);
                CHECK_RESULT(a.result, RTWIRE_RESULT_OK);
            }
            rtwire_event_free(ev);
        }
        ev = wait_for(ctx, RTWIRE_EVENT_TYPE_SERVER_ACCEPTED, NULL, 5000);
        CHECK(ev != NULL);
        if (ev == NULL) {
            continue;
        }
        conns[i] = rtwire_event_conn(ev);
        ids[i] = rtwire_event_connection_id(ev);
        const rtwire_request *req = rtwire_event_request(ev);
        CHECK(conns[i] != NULL);
        CHECK(ids[i] == asked);
        CHECK(rtwire_event_server(ev) == srv);
        CHECK(rtwire_event_userdata(ev) == &marks[i]);
        CHECK(rtwire_conn_userdata(conns[i]) == &marks[i]);
        CHECK(rtwire_request_user(req) == &marks[i]);
        CHECK(rtwire_conn_id(conns[i]) == ids[i]);
        CHECK(rtwire_conn_request(conns[i]) == req);
        CHECK(rtwire_request_id(req) == ids[i]);
        CHECK(!rtwire_request_is_pending(req));
        CHECK_RESULT(rtwire_request_accept(req, NULL), RTWIRE_RESULT_INVALID_ARGUMENT);
        if (i == 0) {
            CHECK(rtwire_request_protocol(req).data != NULL &&
                  strcmp(rtwire_request_protocol(req).data, "b") == 0);
        }
        rtwire_event_free(ev);
        rtwire_event *open = wait_for(ctx, RTWIRE_EVENT_TYPE_OPEN, clients[i], 5000);
        CHECK(open != NULL);
        if (open != NULL && i == 0) {
            CHECK(rtwire_event_protocol(open).data != NULL &&
                  strcmp(rtwire_event_protocol(open).data, "b") == 0);
        }
        if (open != NULL) {
            rtwire_event_free(open);
        }
    }
    CHECK(rtwire_conn_id(clients[0]) == 0);
    CHECK(rtwire_conn_request(clients[0]) == NULL);

    /* The server's side of a connection sends and receives. */
    CHECK_RESULT(rtwire_conn_send_text(clients[0], "hi", 2, 1000), RTWIRE_RESULT_OK);
    ev = wait_for(ctx, RTWIRE_EVENT_TYPE_MESSAGE, conns[0], 5000);
    CHECK(ev != NULL);
    if (ev != NULL) {
        rtwire_bytes d = rtwire_event_data(ev);
        CHECK(d.len == 2 && memcmp(d.data, "hi", 2) == 0);
        CHECK(rtwire_event_userdata(ev) == &marks[0]);
        rtwire_event_free(ev);
    }
    CHECK_RESULT(rtwire_conn_send_text(conns[0], "yo", 2, 0), RTWIRE_RESULT_OK);
    CHECK(received(ctx, clients[0], "yo", 5000));

    /* Rooms. */
    bool flag = false;
    for (int i = 0; i < 3; i++) {
        CHECK_RESULT(rtwire_server_join(srv, ids[i], "r", &flag), RTWIRE_RESULT_OK);
        CHECK(flag);
    }
    CHECK_RESULT(rtwire_server_join(srv, ids[0], "r", &flag), RTWIRE_RESULT_OK);
    CHECK(!flag);
    CHECK_RESULT(rtwire_server_join(srv, 999999, "r", NULL), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_server_join(srv, ids[0], NULL, NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_join(srv, ids[0], "", NULL), RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK(rtwire_server_last_error(srv, why, sizeof why) > 0);
    size_t count = 0;
    CHECK_RESULT(rtwire_server_member_count(srv, "r", &count), RTWIRE_RESULT_OK);
    CHECK(count == 3);
    CHECK_RESULT(rtwire_server_member_count(srv, "r", NULL), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_member_count(srv, "nobody", &count), RTWIRE_RESULT_OK);
    CHECK(count == 0);
    uint64_t listed[2] = {0, 0};
    CHECK_RESULT(rtwire_server_members(srv, "r", listed, 2, &count), RTWIRE_RESULT_OK);
    CHECK(count == 3);
    CHECK(listed[0] == ids[0] && listed[1] == ids[1]);
    CHECK_RESULT(rtwire_server_members(srv, "r", NULL, 2, &count), RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_room_count(srv, ids[1], &count), RTWIRE_RESULT_OK);
    CHECK(count == 1);
    char name[8];
    size_t len = 0;
    CHECK_RESULT(rtwire_server_room_name(srv, ids[1], 0, name, sizeof name, &len), RTWIRE_RESULT_OK);
    CHECK(len == 1 && strcmp(name, "r") == 0);
    CHECK_RESULT(rtwire_server_room_name(srv, ids[1], 1, name, sizeof name, &len),
                 RTWIRE_RESULT_INVALID_ARGUMENT);

    /* Broadcast but one. */
    rtwire_delivery d = {9, 9, 9};
    CHECK_RESULT(rtwire_server_broadcast_text(srv, "r", &ids[0], 1, "all but 0", 9, &d),
                 RTWIRE_RESULT_OK);
    CHECK(d.queued == 2 && d.skipped == 0 && d.disconnected == 0);
    CHECK_RESULT(rtwire_server_broadcast_text(srv, "r", NULL, 1, "x", 1, NULL),
                 RTWIRE_RESULT_NULL_ARGUMENT);
    CHECK_RESULT(rtwire_server_broadcast_text(srv, "r", NULL, 0, "\xff", 1, NULL),
                 RTWIRE_RESULT_INVALID_ARGUMENT);
    CHECK_RESULT(rtwire_server_send_text(srv, ids[0], "direct", 6), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_send_text(srv, 999999, "x", 1), RTWIRE_RESULT_CLOSED);
    CHECK(received(ctx, clients[1], "all but 0", 5000));
    CHECK(received(ctx, clients[2], "all but 0", 5000));
    CHECK(received(ctx, clients[0], "direct", 5000));
    CHECK(!received(ctx, clients[0], "all but 0", 200));

    CHECK_RESULT(rtwire_server_leave(srv, ids[0], "r", &flag), RTWIRE_RESULT_OK);
    CHECK(flag);
    CHECK_RESULT(rtwire_server_leave(srv, ids[0], "r", &flag), RTWIRE_RESULT_OK);
    CHECK(!flag);
    CHECK_RESULT(rtwire_server_broadcast_binary(srv, NULL, NULL, 0, (const uint8_t *)"\x01", 1, &d),
                 RTWIRE_RESULT_OK);
    CHECK(d.queued == 3);

    /* A client that closes: its server connection sees CLOSED. */
    CHECK_RESULT(rtwire_conn_close(clients[2], 1000, "bye"), RTWIRE_RESULT_OK);
    ev = wait_for(ctx, RTWIRE_EVENT_TYPE_CLOSED, conns[2], 5000);
    CHECK(ev != NULL);
    if (ev != NULL) {
        CHECK(rtwire_event_close_code(ev) == 1000);
        rtwire_event_free(ev);
    }
    CHECK_RESULT(rtwire_server_member_count(srv, "r", &count), RTWIRE_RESULT_OK);
    CHECK(count == 1);

    /* Stopping the server closes its connections with 1001. */
    CHECK_RESULT(rtwire_server_stop(srv), RTWIRE_RESULT_OK);
    ev = wait_for(ctx, RTWIRE_EVENT_TYPE_CLOSED, clients[1], 5000);
    CHECK(ev != NULL);
    if (ev != NULL) {
        CHECK(rtwire_event_close_code(ev) == 1001);
        rtwire_event_free(ev);
    }
    CHECK_RESULT(rtwire_server_join(srv, ids[0], "r", NULL), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_server_broadcast_text(srv, NULL, NULL, 0, "x", 1, NULL), RTWIRE_RESULT_CLOSED);

    for (int i = 0; i < 3; i++) {
        CHECK_RESULT(rtwire_conn_free(clients[i]), RTWIRE_RESULT_OK);
        if (conns[i] != NULL) {
            const rtwire_request *req = rtwire_conn_request(conns[i]);
            CHECK_RESULT(rtwire_conn_free(conns[i]), RTWIRE_RESULT_OK);
            CHECK(rtwire_request_id(req) == 0); /* freed with its connection */
            CHECK_RESULT(rtwire_conn_free(conns[i]), RTWIRE_RESULT_INVALID_HANDLE);
        }
    }
    CHECK_RESULT(rtwire_server_free(srv), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
}

/* Freeing the context frees the connections its servers accepted, taken or not. */
static void test_free_with_pending(void) {
    rtwire_context *ctx;
    rtwire_server_options *so;
    rtwire_server *srv;
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_new(&so), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_add_route(so, "/app", NULL), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_start(ctx, so, &srv), RTWIRE_RESULT_OK);
    rtwire_server_options_free(so);
    snprintf(g_url, sizeof g_url, "ws://127.0.0.1:%u", (unsigned)rtwire_server_port(srv));
    rtwire_conn *c = connect_client(ctx, "/app", NULL);
    rtwire_event *ev = wait_for(ctx, RTWIRE_EVENT_TYPE_OPEN, c, 5000);
    CHECK(ev != NULL);
    if (ev != NULL) {
        rtwire_event_free(ev);
    }
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_free(srv), RTWIRE_RESULT_INVALID_HANDLE);
}

int main(void) {
    test_options_misuse();
    test_server();
    test_free_with_pending();
    return finish("test_app");
}
