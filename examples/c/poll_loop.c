/* Two WebSocket connections served by one poll() loop on the context's
 * notify fd, next to another fd (stdin here) the program also watches.
 *
 *   cc poll_loop.c $(pkg-config --cflags --libs rtwire) -o poll_loop
 *   ./poll_loop ws://127.0.0.1:9001/echo < /dev/null
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <rtwire.h>

#define ROUNDS 5

struct peer {
    const char *name;
    rtwire_conn *conn;
    int received;
    int closed;
};

static void send_round(struct peer *p, int round) {
    char msg[64];
    int n = snprintf(msg, sizeof msg, "%s round %d", p->name, round);
    rtwire_result r = rtwire_conn_send_text(p->conn, msg, (size_t)n, 0);
    if (r == RTWIRE_RESULT_QUEUE_FULL) {
        /* Backpressure: a real program would retry when the queue drains. */
        fprintf(stderr, "%s: queue full\n", p->name);
    }
}

static void handle(rtwire_event *ev) {
    struct peer *p = rtwire_event_userdata(ev);
    switch (rtwire_event_kind(ev)) {
    case RTWIRE_EVENT_TYPE_OPEN:
        printf("%s: open\n", p->name);
        send_round(p, 1);
        break;
    case RTWIRE_EVENT_TYPE_MESSAGE: {
        rtwire_bytes d = rtwire_event_data(ev);
        printf("%s: %.*s\n", p->name, (int)d.len, (const char *)d.data);
        if (++p->received < ROUNDS) {
            send_round(p, p->received + 1);
        } else {
            rtwire_conn_close(p->conn, 1000, "done");
        }
        break;
    }
    case RTWIRE_EVENT_TYPE_ERROR:
        fprintf(stderr, "%s: error: %s\n", p->name, rtwire_event_error_message(ev).data);
        break;
    case RTWIRE_EVENT_TYPE_CLOSED:
        printf("%s: closed %u\n", p->name, (unsigned)rtwire_event_close_code(ev));
        p->closed = 1;
        break;
    default:
        break;
    }
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "ws://127.0.0.1:9001/echo";
    struct peer peers[2] = {{"alpha", NULL, 0, 0}, {"beta", NULL, 0, 0}};
    rtwire_context *ctx = NULL;
    if (rtwire_context_new(&ctx) != RTWIRE_RESULT_OK) {
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        rtwire_result r = rtwire_context_connect(ctx, url, NULL, &peers[i], &peers[i].conn);
        if (r != RTWIRE_RESULT_OK) {
            fprintf(stderr, "connect: %s\n", rtwire_result_message(r));
            rtwire_context_free(ctx);
            return 1;
        }
    }

    struct pollfd fds[2] = {
        {.fd = rtwire_context_fd(ctx), .events = POLLIN, .revents = 0},
        {.fd = 0, .events = POLLIN, .revents = 0},
    };
    int stdin_open = 1;
    /* Bounded: stop after 100 idle seconds or once both connections end. */
    for (int idle = 0; idle < 100 && !(peers[0].closed && peers[1].closed);) {
        int n = poll(fds, stdin_open ? 2 : 1, 1000);
        if (n == 0) {
            idle++;
            continue;
        }
        if (n < 0) {
            break;
        }
        if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP))) {
            char buf[256];
            if (fgets(buf, sizeof buf, stdin) == NULL) {
                stdin_open = 0; /* EOF: keep serving the connections */
            }
        }
        if (fds[0].revents & POLLIN) {
            rtwire_event *ev = NULL;
            while (rtwire_context_next_event(ctx, &ev) == RTWIRE_RESULT_OK) {
                handle(ev);
                rtwire_event_free(ev);
            }
        }
    }
    int ok = peers[0].received == ROUNDS && peers[1].received == ROUNDS && peers[0].closed &&
             peers[1].closed;
    for (int i = 0; i < 2; i++) {
        rtwire_conn_free(peers[i].conn);
    }
    rtwire_context_free(ctx);
    printf("%s\n", ok ? "both connections done" : "incomplete");
    return ok ? 0 : 1;
}
