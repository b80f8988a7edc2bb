/* Server-Sent Events with resume: connect to an SSE endpoint and print each
 * event with its id. When the stream ends or the network fails, rtwire
 * reconnects and sends the id of the last event received as
 * Last-Event-ID, so the server carries on where it stopped.
 *
 *   cc sse_listen.c $(pkg-config --cflags --libs rtwire) -o sse_listen
 *   ./sse_listen 'http://127.0.0.1:8000/events?total=6&per_conn=2' [EXPECTED]
 *
 * With EXPECTED, the program checks that exactly that many events arrived
 * with the ids 1, 2, ..., EXPECTED in order (none lost, none repeated across
 * the reconnects), closes the connection after the last one, and exits 1
 * otherwise. Without it, it prints events until the server ends the
 * stream for good (e.g. with 204 No Content) or nothing happens for 10 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rtwire.h>

/* Prints a view that may be absent. */
static void print_str(const char *label, rtwire_str s) {
    if (s.data != NULL) {
        printf(" %s=%.*s", label, (int)s.len, s.data);
    }
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:8000/events";
    long expected = argc > 2 ? strtol(argv[2], NULL, 10) : -1;
    rtwire_context *ctx = NULL;
    rtwire_options *opts = NULL;
    rtwire_conn *conn = NULL;
    if (rtwire_context_new(&ctx) != RTWIRE_RESULT_OK || rtwire_options_new(&opts) != RTWIRE_RESULT_OK) {
        fprintf(stderr, "out of resources\n");
        return 1;
    }
    /* SSE whatever the scheme says; reconnect quickly (the server's
     * `retry:` is honoured for the first attempt). */
    rtwire_options_set_transport(opts, "sse");
    rtwire_options_set_reconnect_initial_delay_ms(opts, 50);
    rtwire_options_set(opts, "reconnect.max_delay", "2s");
    rtwire_result r = rtwire_context_connect(ctx, url, opts, NULL, &conn);
    rtwire_options_free(opts);
    if (r != RTWIRE_RESULT_OK) {
        char why[256];
        rtwire_context_last_error(ctx, why, sizeof why);
        fprintf(stderr, "connect %s: %s (%s)\n", url, why, rtwire_result_name(r));
        rtwire_context_free(ctx);
        return 1;
    }

    long received = 0;
    int opens = 0, in_order = 1, closing = 0;
    char last_id[128] = "";
    /* Bounded: at most 100 waits of 100 ms each without an event. */
    for (int idle = 0; idle < 100;) {
        rtwire_event *ev = NULL;
        if (rtwire_context_next_event(ctx, &ev) != RTWIRE_RESULT_OK) {
            if (rtwire_context_wait(ctx, 100) == RTWIRE_RESULT_TIMEOUT) {
                idle++;
            }
            continue;
        }
        idle = 0;
        switch (rtwire_event_kind(ev)) {
        case RTWIRE_EVENT_TYPE_OPEN:
            if (opens++ == 0) {
                printf("open %s\n", rtwire_event_url(ev).data);
            } else {
                printf("reopened, resuming after id %s\n", last_id[0] ? last_id : "(none)");
            }
            break;
        case RTWIRE_EVENT_TYPE_MESSAGE: {
            rtwire_bytes d = rtwire_event_data(ev);
            rtwire_str id = rtwire_event_id(ev);
            received++;
            printf("event %ld:", received);
            print_str("id", id);
            print_str("type", rtwire_event_name(ev));
            printf(" data=%.*s\n", (int)d.len, (const char *)d.data);
            /* With EXPECTED, the ids must be 1, 2, 3, ... */
            char want[32];
            snprintf(want, sizeof want, "%ld", received);
            if (expected >= 0 && (id.data == NULL || strcmp(id.data, want) != 0)) {
                fprintf(stderr, "event %ld has id %s, expected %s\n", received,
                        id.data ? id.data : "(none)", want);
                in_order = 0;
            }
            if (id.data != NULL) {
                snprintf(last_id, sizeof last_id, "%.*s", (int)id.len, id.data);
            }
            if (expected >= 0 && received == expected && !closing) {
                closing = 1;
                /* CLOSED if the server already ended the stream: fine. */
                r = rtwire_conn_close(conn, 1000, "got everything");
                if (r != RTWIRE_RESULT_OK && r != RTWIRE_RESULT_CLOSED) {
                    fprintf(stderr, "close: %s\n", rtwire_result_name(r));
                }
            }
            break;
        }
        case RTWIRE_EVENT_TYPE_RECONNECTING: {
            rtwire_str m = rtwire_event_error_message(ev);
            printf("reconnecting (attempt %u in %llu ms): %s\n",
                   (unsigned)rtwire_event_reconnect_attempt(ev),
                   (unsigned long long)rtwire_event_reconnect_delay_ms(ev), m.data ? m.data : "");
            break;
        }
        case RTWIRE_EVENT_TYPE_ERROR: {
            /* 204 No Content is the server's way to say "do not reconnect". */
            unsigned status = rtwire_event_http_status(ev);
            rtwire_str m = rtwire_event_error_message(ev);
            if (status == 204) {
                printf("the server ended the stream (204)\n");
            } else {
                fprintf(stderr, "error (%s): %s\n", rtwire_result_name(rtwire_event_error_code(ev)),
                        m.data ? m.data : "");
            }
            break;
        }
        case RTWIRE_EVENT_TYPE_CLOSED:
            printf("closed after %ld events\n", received);
            idle = 100;
            break;
        default:
            break;
        }
        rtwire_event_free(ev);
    }
    rtwire_conn_free(conn);
    rtwire_context_free(ctx);

    if (expected >= 0 && (received != expected || !in_order)) {
        fprintf(stderr, "FAIL: %ld events (expected %ld)%s\n", received, expected,
                in_order ? "" : ", ids out of order");
        return 1;
    }
    return received > 0 ? 0 : 1;
}
