/* Threads: eight threads send while the main thread waits on events, a
 * ninth closes mid-stream, the connection is freed on a thread that did
 * not create it, and a context is freed while another thread waits on it.
 * Usage: test_threads PORT. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "common.h"

#define SENDERS 8
#define PER_SENDER 200

static rtwire_conn *g_conn;
static int g_ok[SENDERS];
static int g_bad[SENDERS];

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *sender(void *arg) {
    int id = (int)(size_t)arg;
    char msg[32];
    for (int i = 0; i < PER_SENDER; i++) {
        int n = snprintf(msg, sizeof msg, "t%d-%d", id, i);
        rtwire_result r = rtwire_conn_send_text(g_conn, msg, (size_t)n, 10000);
        if (r == RTWIRE_RESULT_OK) {
            g_ok[id]++;
        } else if (r != RTWIRE_RESULT_CLOSED) {
            g_bad[id]++;
        }
    }
    return NULL;
}

static void *closer(void *arg) {
    (void)arg;
    sleep_ms(3);
    rtwire_result r = rtwire_conn_close(g_conn, 1000, "enough");
    /* OK, or CLOSED if the connection somehow ended already. */
    return (void *)(size_t)(r == RTWIRE_RESULT_OK ? 0 : 1);
}

static void *free_conn(void *arg) {
    (void)arg;
    return (void *)(size_t)(rtwire_conn_free(g_conn) == RTWIRE_RESULT_OK ? 0 : 1);
}

struct waiter {
    rtwire_context *ctx;
    rtwire_result result;
};

static void *wait_forever(void *arg) {
    struct waiter *w = arg;
    w->result = rtwire_context_wait(w->ctx, -1);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    char url[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%s/echo", argv[1]);

    rtwire_context *ctx = NULL;
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_connect(ctx, url, NULL, NULL, &g_conn), RTWIRE_RESULT_OK);

    pthread_t threads[SENDERS], close_thread;
    for (int i = 0; i < SENDERS; i++) {
        pthread_create(&threads[i], NULL, sender, (void *)(size_t)i);
    }
    pthread_create(&close_thread, NULL, closer, NULL);

    /* The main thread only waits on and takes events. */
    int opens = 0, messages = 0, closed = 0;
    size_t unsent = 0;
    for (int i = 0; i < 100000 && !closed; i++) {
        rtwire_event *ev = next_event_within(ctx, 20000);
        if (ev == NULL) {
            fprintf(stderr, "no event within 20 s\n");
            break;
        }
        switch (rtwire_event_kind(ev)) {
        case RTWIRE_EVENT_TYPE_OPEN:
            opens++;
            break;
        case RTWIRE_EVENT_TYPE_MESSAGE:
            messages++;
            break;
        case RTWIRE_EVENT_TYPE_CLOSED:
            closed++;
            unsent = rtwire_event_unsent_count(ev);
            CHECK(rtwire_event_close_code(ev) == 1000);
            break;
        default:
            break;
        }
        rtwire_event_free(ev);
    }
    void *close_rc = NULL;
    pthread_join(close_thread, &close_rc);
    CHECK(close_rc == NULL);
    int ok = 0, bad = 0;
    for (int i = 0; i < SENDERS; i++) {
        pthread_join(threads[i], NULL);
        ok += g_ok[i];
        bad += g_bad[i];
    }
    printf("sent %d, echoed %d, unsent %zu\n", ok, messages, unsent);
    CHECK(opens == 1);
    CHECK(closed == 1);
    CHECK(bad == 0);
    CHECK(messages + (int)unsent <= ok);
    CHECK_RESULT(rtwire_conn_send_text(g_conn, "x", 1, 0), RTWIRE_RESULT_CLOSED);

    /* Free the connection on another thread. */
    pthread_t f;
    void *free_rc = NULL;
    pthread_create(&f, NULL, free_conn, NULL);
    pthread_join(f, &free_rc);
    CHECK(free_rc == NULL);
    CHECK_RESULT(rtwire_conn_free(g_conn), RTWIRE_RESULT_INVALID_HANDLE);

    /* Wakeup from another thread ends a wait without limit; freeing the
     * context ends one too. */
    struct waiter w = {ctx, RTWIRE_RESULT_OK};
    pthread_t wt;
    pthread_create(&wt, NULL, wait_forever, &w);
    sleep_ms(50);
    CHECK_RESULT(rtwire_context_wakeup(ctx), RTWIRE_RESULT_OK);
    pthread_join(wt, NULL);
    CHECK_RESULT(w.result, RTWIRE_RESULT_WOULD_BLOCK);
    pthread_create(&wt, NULL, wait_forever, &w);
    sleep_ms(50);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
    pthread_join(wt, NULL);
    CHECK_RESULT(w.result, RTWIRE_RESULT_INVALID_HANDLE);
    return finish("test_threads");
}
