/* Helpers shared by the C tests: checks that count failures, and bounded
 * waiting for events. */
#ifndef RTWIRE_TEST_COMMON_H
#define RTWIRE_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtwire.h"

static int g_failures = 0;
static int g_checks = 0;

#define CHECK(cond)                                                          \
    do {                                                                     \
        g_checks++;                                                          \
        if (!(cond)) {                                                       \
            g_failures++;                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

#define CHECK_RESULT(expr, expected)                                           \
    do {                                                                       \
        rtwire_result got_ = (expr);                                           \
        g_checks++;                                                            \
        if (got_ != (expected)) {                                              \
            g_failures++;                                                      \
            fprintf(stderr, "%s:%d: %s returned %s (%u), expected %s\n",       \
                    __FILE__, __LINE__, #expr, rtwire_result_name(got_),       \
                    (unsigned)got_, rtwire_result_name(expected));             \
        }                                                                      \
    } while (0)

/* Waits up to timeout_ms for the next event of the context; NULL on
 * timeout. The caller frees the event. */
static inline rtwire_event *next_event_within(rtwire_context *ctx, int timeout_ms) {
    int waited = 0;
    while (waited <= timeout_ms) {
        rtwire_event *ev = NULL;
        if (rtwire_context_next_event(ctx, &ev) == RTWIRE_RESULT_OK) {
            return ev;
        }
        rtwire_result r = rtwire_context_wait(ctx, 100);
        if (r == RTWIRE_RESULT_INVALID_HANDLE) {
            return NULL;
        }
        waited += 100;
    }
    return NULL;
}

/* Waits for the next event of the given type, freeing events of other
 * types; NULL on timeout. */
static inline rtwire_event *expect_event(rtwire_context *ctx, rtwire_event_type type,
                                  int timeout_ms) {
    for (int i = 0; i < 1000; i++) {
        rtwire_event *ev = next_event_within(ctx, timeout_ms);
        if (ev == NULL) {
            fprintf(stderr, "timed out waiting for event type %u\n",
                    (unsigned)type);
            return NULL;
        }
        if (rtwire_event_kind(ev) == type) {
            return ev;
        }
        rtwire_str m = rtwire_event_error_message(ev);
        fprintf(stderr, "note: skipping event type %u while waiting for %u%s%s\n",
                (unsigned)rtwire_event_kind(ev), (unsigned)type, m.data ? ": " : "",
                m.data ? m.data : "");
        rtwire_event_free(ev);
    }
    return NULL;
}

static inline int finish(const char *name) {
    if (g_failures == 0) {
        printf("%s: all %d checks passed\n", name, g_checks);
        return 0;
    }
    printf("%s: %d of %d checks failed\n", name, g_failures, g_checks);
    return 1;
}

#endif
