/* WebSocket echo with the rtwire C API: connect, send a text and a binary
 * message, print what comes back, close cleanly.
 *
 *   cc echo.c $(pkg-config --cflags --libs rtwire) -o echo
 *   ./echo ws://127.0.0.1:9001/echo
 */
#include <stdio.h>
#include <string.h>

#include <rtwire.h>

static int fail(const char *what, rtwire_result r) {
    fprintf(stderr, "%s: %s (%s)\n", what, rtwire_result_message(r), rtwire_result_name(r));
    return 1;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "ws://127.0.0.1:9001/echo";
    rtwire_context *ctx = NULL;
    rtwire_conn *conn = NULL;
    rtwire_result r = rtwire_context_new(&ctx);
    if (r != RTWIRE_RESULT_OK) {
        return fail("rtwire_context_new", r);
    }
    r = rtwire_context_connect(ctx, url, NULL, NULL, &conn);
    if (r != RTWIRE_RESULT_OK) {
        char why[256];
        rtwire_context_last_error(ctx, why, sizeof why);
        fprintf(stderr, "connect %s: %s\n", url, why);
        rtwire_context_free(ctx);
        return 1;
    }

    int status = 1, echoes = 0;
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
        case RTWIRE_EVENT_TYPE_OPEN: {
            rtwire_str u = rtwire_event_url(ev);
            printf("open %s\n", u.data);
            const char *text = "hello from C";
            const uint8_t bin[] = {0xde, 0xad, 0xbe, 0xef};
            if ((r = rtwire_conn_send_text(conn, text, strlen(text), 1000)) != RTWIRE_RESULT_OK ||
                (r = rtwire_conn_send_binary(conn, bin, sizeof bin, 1000)) != RTWIRE_RESULT_OK) {
                fail("send", r);
            }
            break;
        }
        case RTWIRE_EVENT_TYPE_MESSAGE: {
            rtwire_bytes d = rtwire_event_data(ev);
            if (rtwire_event_is_text(ev)) {
                printf("text: %.*s\n", (int)d.len, (const char *)d.data);
            } else {
                printf("binary: %zu bytes\n", d.len);
            }
            if (++echoes == 2) {
                rtwire_conn_close(conn, 1000, "done");
            }
            break;
        }
        case RTWIRE_EVENT_TYPE_ERROR: {
            rtwire_str m = rtwire_event_error_message(ev);
            fprintf(stderr, "error (%s): %s\n", rtwire_result_name(rtwire_event_error_code(ev)),
                    m.data);
            break;
        }
        case RTWIRE_EVENT_TYPE_CLOSED: {
            rtwire_str reason = rtwire_event_close_reason(ev);
            printf("closed %u %s\n", (unsigned)rtwire_event_close_code(ev), reason.data);
            status = (echoes == 2 && rtwire_event_close_code(ev) == 1000) ? 0 : 1;
            idle = 100;
            break;
        }
        default:
            break;
        }
        rtwire_event_free(ev);
    }
    rtwire_conn_free(conn);
    rtwire_context_free(ctx);
    return status;
}
