/* The embedded server and two of its clients on one context: start the
 * server on a free loopback port, connect a WebSocket client and an SSE
 * client to the channel "news", publish a few messages, print what each
 * client receives (with the message ids) and what the server reports,
 * then close the clients and stop the server.
 *
 *   cc server.c $(pkg-config --cflags --libs rtwire) -o server
 *   ./server
 *
 * Exits 0 when both clients received every message, in order, with the ids
 * that publishing returned.
 */
#include <stdio.h>
#include <string.h>

#include <rtwire.h>

#define MESSAGES 3

struct client {
    const char *name;
    rtwire_conn *conn;
    int open;
    int received;
    int closed;
    int ok;
};

static char g_ids[MESSAGES][RTWIRE_SERVER_ID_MAX];
static int g_published;

static int fail(const char *what, rtwire_result r) {
    fprintf(stderr, "%s: %s (%s)\n", what, rtwire_result_message(r), rtwire_result_name(r));
    return 1;
}

static void publish_next(rtwire_server *server) {
    char text[32];
    int n = snprintf(text, sizeof text, "update %d", g_published + 1);
    rtwire_result r = rtwire_server_publish_text(server, "news", text, (size_t)n, g_ids[g_published],
                                                 sizeof g_ids[g_published]);
    if (r != RTWIRE_RESULT_OK) {
        fail("publish", r);
        return;
    }
    printf("server: published \"%s\" as %s\n", text, g_ids[g_published]);
    g_published++;
}

/* One event of a client. */
static void client_event(struct client *c, rtwire_event *ev) {
    switch (rtwire_event_kind(ev)) {
    case RTWIRE_EVENT_TYPE_OPEN:
        c->open = 1;
        printf("%s: open %s\n", c->name, rtwire_event_url(ev).data);
        break;
    case RTWIRE_EVENT_TYPE_MESSAGE: {
        rtwire_bytes d = rtwire_event_data(ev);
        rtwire_str id = rtwire_event_id(ev);
        printf("%s: id=%s data=%.*s\n", c->name, id.data ? id.data : "(none)", (int)d.len,
               (const char *)d.data);
        if (c->received < MESSAGES && id.data != NULL && strcmp(id.data, g_ids[c->received]) == 0) {
            c->ok++;
        }
        c->received++;
        break;
    }
    case RTWIRE_EVENT_TYPE_ERROR:
        fprintf(stderr, "%s: error: %s\n", c->name, rtwire_event_error_message(ev).data);
        break;
    case RTWIRE_EVENT_TYPE_CLOSED:
        printf("%s: closed %u\n", c->name, (unsigned)rtwire_event_close_code(ev));
        c->closed = 1;
        break;
    default:
        break;
    }
}

static const char *transport_name(rtwire_transport t) {
    switch (t) {
    case RTWIRE_TRANSPORT_WEBSOCKET:
        return "websocket";
    case RTWIRE_TRANSPORT_SSE:
        return "sse";
    case RTWIRE_TRANSPORT_STREAM:
        return "stream";
    default:
        return "other";
    }
}

static void server_event(rtwire_event *ev) {
    rtwire_str ch = rtwire_event_channel(ev);
    switch (rtwire_event_kind(ev)) {
    case RTWIRE_EVENT_TYPE_SERVER_CONNECTED:
    case RTWIRE_EVENT_TYPE_SERVER_DISCONNECTED:
        printf("server: %s %s client on %s from %s\n",
               rtwire_event_kind(ev) == RTWIRE_EVENT_TYPE_SERVER_CONNECTED ? "connected" : "disconnected",
               transport_name(rtwire_event_transport(ev)), ch.data,
               rtwire_event_peer(ev).data);
        break;
    case RTWIRE_EVENT_TYPE_SERVER_PUBLISHED:
        printf("server: %s got %s (%zu bytes)\n", ch.data, rtwire_event_id(ev).data,
               rtwire_event_byte_count(ev));
        break;
    default:
        break;
    }
}

int main(void) {
    rtwire_context *ctx = NULL;
    rtwire_server_options *sopts = NULL;
    rtwire_server *server = NULL;
    rtwire_options *opts = NULL;
    struct client ws = {"websocket", NULL, 0, 0, 0, 0};
    struct client sse = {"sse", NULL, 0, 0, 0, 0};
    rtwire_result r;

    if ((r = rtwire_context_new(&ctx)) != RTWIRE_RESULT_OK) {
        return fail("rtwire_context_new", r);
    }
    /* The server: a free loopback port, its events on the context. */
    rtwire_server_options_new(&sopts);
    rtwire_server_options_set_bind(sopts, "127.0.0.1:0");
    rtwire_server_options_set_history(sopts, 100);
    rtwire_server_options_set_events(sopts, true);
    r = rtwire_server_start(ctx, sopts, &server);
    rtwire_server_options_free(sopts);
    if (r != RTWIRE_RESULT_OK) {
        char why[256];
        rtwire_context_last_error(ctx, why, sizeof why);
        fprintf(stderr, "server: %s\n", why);
        rtwire_context_free(ctx);
        return 1;
    }
    char base[128], url[192];
    rtwire_server_base_url(server, base, sizeof base);
    printf("server: listening on %s\n", base);

    /* The clients: WebSocket with rtwire.v1 (message ids, resume) and SSE. */
    rtwire_options_new(&opts);
    rtwire_options_set_rtwire_protocol(opts, true);
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/ws/news", (unsigned)rtwire_server_port(server));
    r = rtwire_context_connect(ctx, url, opts, &ws, &ws.conn);
    if (r == RTWIRE_RESULT_OK) {
        rtwire_options_set_transport(opts, "sse");
        snprintf(url, sizeof url, "%s/sse/news", base);
        r = rtwire_context_connect(ctx, url, opts, &sse, &sse.conn);
    }
    rtwire_options_free(opts);
    if (r != RTWIRE_RESULT_OK) {
        fail("connect", r);
        rtwire_context_free(ctx);
        return 1;
    }

    int stopping = 0;
    /* Bounded: at most 100 waits of 100 ms each without an event. */
    for (int idle = 0; idle < 100 && !(ws.closed && sse.closed);) {
        rtwire_event *ev = NULL;
        if (rtwire_context_next_event(ctx, &ev) != RTWIRE_RESULT_OK) {
            if (rtwire_context_wait(ctx, 100) == RTWIRE_RESULT_TIMEOUT) {
                idle++;
            }
            continue;
        }
        idle = 0;
        struct client *c = rtwire_event_userdata(ev);
        if (c != NULL) {
            client_event(c, ev);
        } else {
            server_event(ev);
        }
        rtwire_event_free(ev);

        /* Publish once both are subscribed, one message at a time. */
        if (ws.open && sse.open && g_published < MESSAGES && ws.received == g_published &&
            sse.received == g_published) {
            publish_next(server);
        }
        if (!stopping && ws.received == MESSAGES && sse.received == MESSAGES) {
            stopping = 1;
            rtwire_stats *st = NULL;
            size_t i;
            if (rtwire_server_stats(server, &st) == RTWIRE_RESULT_OK &&
                rtwire_stats_find(st, "news", &i) == RTWIRE_RESULT_OK) {
                printf("server: %zu connections; news: %llu published, %zu subscribers\n",
                       rtwire_stats_connections(st),
                       (unsigned long long)rtwire_stats_channel_published(st, i),
                       rtwire_stats_channel_subscribers(st, i));
            }
            rtwire_stats_free(st);
            rtwire_conn_close(ws.conn, 1000, "done");
            rtwire_conn_close(sse.conn, 1000, "done");
        }
    }

    /* Graceful: waits (at most 5 s) for the server's connections to end. */
    r = rtwire_server_stop(server);
    printf("server: stopped (%s)\n", rtwire_result_name(r));
    rtwire_server_free(server);
    rtwire_conn_free(ws.conn);
    rtwire_conn_free(sse.conn);
    rtwire_context_free(ctx);

    int ok = ws.ok == MESSAGES && sse.ok == MESSAGES && ws.received == MESSAGES &&
             sse.received == MESSAGES && ws.closed && sse.closed;
    if (!ok) {
        fprintf(stderr, "FAIL: websocket %d/%d, sse %d/%d messages with the right ids\n", ws.ok,
                MESSAGES, sse.ok, MESSAGES);
    }
    return ok ? 0 : 1;
}
