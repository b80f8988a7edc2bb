/* A chat server with rooms and token authentication on rtwire's
 * application server, speaking the chat protocol every rtwire chat example
 * shares (examples/README.md).
 *
 *   cc chat_server.c $(pkg-config --cflags --libs rtwire) -o chat_server
 *   ./chat_server [PORT]
 *
 * Clients open ws://127.0.0.1:PORT/chat?room=lobby&name=ada&token=s3cret
 * (the token comes from CHAT_TOKEN, default s3cret; `Authorization: Bearer`
 * works too). It prints `PORT <n>` once it listens and serves until SIGTERM
 * or Ctrl-C (300 s at most); clients get close 1001.
 *
 * Every request (the route and the channel paths of the room logs) is a
 * SERVER_REQUEST event, answered here; every client of /chat is a
 * SERVER_ACCEPTED event carrying its rtwire_conn, whose messages and close
 * then come through the same context.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rtwire.h>

#define LIFETIME_S 300

struct member {
    rtwire_conn *conn;
    uint64_t id;
    char *room;
    char *name;
    struct member *next;
};

static volatile sig_atomic_t g_stop;
static rtwire_server *g_server;
static struct member *g_members;
static const char *g_token;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A new string from printf-style arguments; NULL when out of memory. */
static char *format(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (s == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* A copy of query parameter `name`, or of `fallback` when it is absent or
 * empty. */
static char *param(const rtwire_request *req, const char *name, const char *fallback) {
    rtwire_str v = rtwire_request_query_param(req, name);
    if (v.data == NULL || v.len == 0) {
        return format("%s", fallback);
    }
    return format("%.*s", (int)v.len, v.data);
}

/* Whether the request carries the token as ?token= or Authorization: Bearer. */
static int has_token(const rtwire_request *req) {
    rtwire_str t = rtwire_request_query_param(req, "token");
    if (t.data != NULL && strcmp(t.data, g_token) == 0) {
        return 1;
    }
    rtwire_str a = rtwire_request_header(req, "authorization");
    return a.data != NULL && strncmp(a.data, "Bearer ", 7) == 0 && strcmp(a.data + 7, g_token) == 0;
}

/* A line for the rest of the member's room, also kept in the room's log
 * channel (a room that is no valid channel name has no log). */
static void say(const struct member *m, char *line) {
    if (line == NULL) {
        return;
    }
    rtwire_server_broadcast_text(g_server, m->room, &m->id, 1, line, strlen(line), NULL);
    char *channel = format("log-%s", m->room);
    if (channel != NULL) {
        rtwire_server_publish_text(g_server, channel, line, strlen(line), NULL, 0);
    }
    free(channel);
    free(line);
}

static void send_line(const struct member *m, char *line) {
    if (line != NULL) {
        rtwire_conn_send_text(m->conn, line, strlen(line), 0);
    }
    free(line);
}

static struct member *find(const rtwire_conn *conn) {
    for (struct member *m = g_members; m != NULL; m = m->next) {
        if (m->conn == conn) {
            return m;
        }
    }
    return NULL;
}

/* Frees a member and its connection, unlinking it. */
static void drop(struct member *gone) {
    for (struct member **p = &g_members; *p != NULL; p = &(*p)->next) {
        if (*p == gone) {
            *p = gone->next;
            break;
        }
    }
    rtwire_conn_free(gone->conn);
    free(gone->room);
    free(gone->name);
    free(gone);
}

static void on_accepted(rtwire_event *ev) {
    rtwire_conn *conn = rtwire_event_conn(ev);
    const rtwire_request *req = rtwire_event_request(ev);
    if (conn == NULL) {
        return;
    }
    struct member *m = calloc(1, sizeof *m);
    if (m == NULL) {
        rtwire_conn_free(conn);
        return;
    }
    m->conn = conn;
    m->id = rtwire_event_connection_id(ev);
    m->room = param(req, "room", "lobby");
    m->name = param(req, "name", "anon");
    m->next = g_members;
    g_members = m;
    if (m->room == NULL || m->name == NULL) {
        drop(m);
        return;
    }
    rtwire_server_join(g_server, m->id, m->room, NULL);
    send_line(m, format("welcome %s to %s", m->name, m->room));
    say(m, format("%s joined", m->name));
}

static void on_message(rtwire_event *ev) {
    struct member *m = find(rtwire_event_conn(ev));
    if (m == NULL || !rtwire_event_is_text(ev)) {
        return; /* binary: not part of the chat */
    }
    rtwire_bytes d = rtwire_event_data(ev);
    if (d.len == 4 && memcmp(d.data, "/who", 4) == 0) {
        size_t n = 0;
        rtwire_server_member_count(g_server, m->room, &n);
        send_line(m, format("members %s: %zu", m->room, n));
    } else {
        say(m, format("%s: %.*s", m->name, (int)d.len, d.data ? (const char *)d.data : ""));
    }
}

static void on_closed(rtwire_event *ev) {
    struct member *m = find(rtwire_event_conn(ev));
    if (m == NULL) {
        return;
    }
    rtwire_server_leave(g_server, m->id, m->room, NULL);
    say(m, format("%s left", m->name));
    drop(m);
}

static void handle(rtwire_event *ev) {
    switch (rtwire_event_kind(ev)) {
    case RTWIRE_EVENT_TYPE_SERVER_REQUEST: {
        const rtwire_request *req = rtwire_event_request(ev);
        if (has_token(req)) {
            rtwire_request_accept(req, NULL);
        } else {
            rtwire_request_reject(req, 401, "bad token");
        }
        break;
    }
    case RTWIRE_EVENT_TYPE_SERVER_ACCEPTED:
        on_accepted(ev);
        break;
    case RTWIRE_EVENT_TYPE_MESSAGE:
        on_message(ev);
        break;
    case RTWIRE_EVENT_TYPE_CLOSED:
        on_closed(ev);
        break;
    default:
        break;
    }
}

/* Handles the events queued now; returns how many there were. */
static int drain(rtwire_context *ctx) {
    int n = 0;
    rtwire_event *ev;
    while (n < 10000 && rtwire_context_next_event(ctx, &ev) == RTWIRE_RESULT_OK) {
        handle(ev);
        rtwire_event_free(ev);
        n++;
    }
    return n;
}

int main(int argc, char **argv) {
    const char *port = argc > 1 ? argv[1] : "0";
    g_token = getenv("CHAT_TOKEN") ? getenv("CHAT_TOKEN") : "s3cret";
    char bind[64];
    snprintf(bind, sizeof bind, "127.0.0.1:%s", port);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    rtwire_context *ctx;
    rtwire_server_options *so;
    if (rtwire_context_new(&ctx) != RTWIRE_RESULT_OK) {
        return 1;
    }
    if (rtwire_server_options_new(&so) != RTWIRE_RESULT_OK) {
        rtwire_context_free(ctx);
        return 1;
    }
    rtwire_result r = rtwire_server_options_set_bind(so, bind);
    if (r == RTWIRE_RESULT_OK) r = rtwire_server_options_add_route(so, "/chat", NULL);
    if (r == RTWIRE_RESULT_OK) r = rtwire_server_options_set_accept(so, true);
    if (r == RTWIRE_RESULT_OK) r = rtwire_server_options_set_cors(so, true);
    if (r != RTWIRE_RESULT_OK) {
        char why[256];
        rtwire_server_options_last_error(so, why, sizeof why);
        fprintf(stderr, "options: %s\n", why);
        rtwire_server_options_free(so);
        rtwire_context_free(ctx);
        return 1;
    }
    r = rtwire_server_start(ctx, so, &g_server);
    rtwire_server_options_free(so);
    if (r != RTWIRE_RESULT_OK) {
        char why[256];
        rtwire_context_last_error(ctx, why, sizeof why);
        fprintf(stderr, "start: %s\n", why);
        rtwire_context_free(ctx);
        return 1;
    }
    printf("PORT %u\n", (unsigned)rtwire_server_port(g_server));
    fflush(stdout);

    double deadline = now_s() + LIFETIME_S;
    while (!g_stop && now_s() < deadline) {
        rtwire_context_wait(ctx, 200);
        drain(ctx);
    }

    /* Clients get close 1001; their CLOSED events free them. */
    rtwire_server_stop(g_server);
    for (int i = 0; i < 50 && g_members != NULL; i++) {
        rtwire_context_wait(ctx, 100);
        drain(ctx);
    }
    drain(ctx);
    while (g_members != NULL) {
        drop(g_members);
    }
    rtwire_server_free(g_server);
    rtwire_context_free(ctx);
    return 0;
}
