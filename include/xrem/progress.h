/* xrem/progress.h — how long work says how far it has got. The library never prints: an entry
 * that can take minutes (embedding a corpus, preparing images, a run, a sweep) takes an
 * xrem_progress and calls it after each unit of work, from the calling thread, and once more with
 * what == NULL when it stops (finished or not), so a drawer can end its line. A NULL
 * xrem_progress, or one whose fn is NULL, reports nothing.
 *
 *   static void draw(void *user, const char *what, int64_t done, int64_t total, const char *note)
 *   {
 *       if (what) fprintf(stderr, "\r%s: %lld/%lld %s%s", (const char *)user, (long long)done,
 *                         (long long)total, what, note ? note : "");
 *       else fputc('\n', stderr);
 *   }
 *   xrem_progress p = {draw, "embed"};
 *
 * what names the unit ("reports", "images", "settings"); note, when not NULL, says more
 * (" (3 chunks reused)"). Both are valid during the call only.
 */
#ifndef XREM_PUBLIC_PROGRESS_H
#define XREM_PUBLIC_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*xrem_progress_fn)(void *user, const char *what, int64_t done, int64_t total, const char *note);

typedef struct {
    xrem_progress_fn fn;
    void *user;
} xrem_progress;

static inline void xrem_progress_report(const xrem_progress *p, const char *what, int64_t done, int64_t total,
                                        const char *note)
{
    if (p && p->fn) p->fn(p->user, what, done, total, note);
}

static inline void xrem_progress_end(const xrem_progress *p)
{
    if (p && p->fn) p->fn(p->user, NULL, 0, 0, NULL);
}

#ifdef __cplusplus
}
#endif
#endif
