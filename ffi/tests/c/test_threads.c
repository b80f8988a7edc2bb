/* Threads: eight threads send while the main thread waits on events, a
 * ninth closes mid-stream, the connection is freed on a thread that did
 * not create it, and a context is freed while another thread waits on it;
 * four threads publish to one server, which is stopped while another
 * thread publishes.
 * Usage: test_threads PORT. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "common.h"

#define SENDERS 8
#define PER_SENDER 200

static rtwire_conn *g_conn;
/* Set by the main thread once the connection is open. */
static atomic_int g_open;
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
    /* Close mid-stream: after the open (which may take a while under
     * valgrind), while the senders are still sending. */
    for (int i = 0; i < 20000 && !atomic_load(&g_open); i++) {
        sleep_ms(1);
    }
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

/* Publishers: several threads publish to one server at once while
 * another stops it. */
#define PUBLISHERS 4
#define PER_PUBLISHER 100

static rtwire_server *g_server;
static int g_published[PUBLISHERS];
static int g_pub_bad[PUBLISHERS];

static void *publisher(void *arg) {
    int id = (int)(size_t)arg;
    char msg[32], mid[RTWIRE_SERVER_ID_MAX];
    for (int i = 0; i < PER_PUBLISHER; i++) {
        int n = snprintf(msg, sizeof msg, "p%d-%d", id, i);
        rtwire_result r = rtwire_server_publish_text(g_server, "load", msg, (size_t)n, mid, sizeof mid);
        if (r == RTWIRE_RESULT_OK && strchr(mid, '-') != NULL) {
            g_published[id]++;
        } else {
            g_pub_bad[id]++;
        }
    }
    return NULL;
}

static void *stop_server(void *arg) {
    (void)arg;
    return (void *)(size_t)(rtwire_server_stop(g_server) == RTWIRE_RESULT_OK ? 0 : 1);
}

static void test_server_threads(void) {
    rtwire_context *ctx = NULL;
    rtwire_server_options *so = NULL;
    CHECK_RESULT(rtwire_context_new(&ctx), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_new(&so), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_options_set_history(so, PUBLISHERS * PER_PUBLISHER), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_server_start(ctx, so, &g_server), RTWIRE_RESULT_OK);
    rtwire_server_options_free(so);
    pthread_t t[PUBLISHERS];
    for (int i = 0; i < PUBLISHERS; i++) {
        pthread_create(&t[i], NULL, publisher, (void *)(size_t)i);
    }
    int total = 0, bad = 0;
    for (int i = 0; i < PUBLISHERS; i++) {
        pthread_join(t[i], NULL);
        total += g_published[i];
        bad += g_pub_bad[i];
    }
    CHECK(total == PUBLISHERS * PER_PUBLISHER && bad == 0);
    rtwire_stats *st = NULL;
    CHECK_RESULT(rtwire_server_stats(g_server, &st), RTWIRE_RESULT_OK);
    size_t i = 0;
    CHECK_RESULT(rtwire_stats_find(st, "load", &i), RTWIRE_RESULT_OK);
    CHECK(rtwire_stats_channel_published(st, i) == (uint64_t)total);
    CHECK(rtwire_stats_channel_history(st, i) == (size_t)total);
    CHECK_RESULT(rtwire_stats_free(st), RTWIRE_RESULT_OK);

    /* Stop on another thread while this one keeps publishing: every
     * publish either succeeds or reports CLOSED. */
    pthread_t stopper;
    pthread_create(&stopper, NULL, stop_server, NULL);
    int closed = 0, other = 0;
    for (int n = 0; n < 100000 && closed == 0; n++) {
        rtwire_result r = rtwire_server_publish_text(g_server, "load", "x", 1, NULL, 0);
        closed += r == RTWIRE_RESULT_CLOSED;
        other += r != RTWIRE_RESULT_CLOSED && r != RTWIRE_RESULT_OK;
    }
    void *stop_rc = NULL;
    pthread_join(stopper, &stop_rc);
    CHECK(stop_rc == NULL);
    CHECK(other == 0);
    CHECK_RESULT(rtwire_server_publish_text(g_server, "load", "x", 1, NULL, 0), RTWIRE_RESULT_CLOSED);
    CHECK_RESULT(rtwire_server_free(g_server), RTWIRE_RESULT_OK);
    CHECK_RESULT(rtwire_context_free(ctx), RTWIRE_RESULT_OK);
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
            atomic_store(&g_open, 1);
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

    test_server_threads();
    return finish("test_threads");
}
