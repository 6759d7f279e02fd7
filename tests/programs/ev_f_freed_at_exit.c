/* never-run at exit, with events the program no longer has: a timer event lives in memory the program
 * unmaps while the event is still added; an event made by event_new is handed to event_free_finalize,
 * which frees it once its finalizer has run (its base runs once for that); a third event (made by
 * event_new) is activated and never run; the program exits without freeing its bases. libevent's memory comes from mmap and goes back
 * with munmap (event_set_mem_functions), so whatever it freed cannot be read. Without loopscope all
 * this is harmless: nothing reads the base's lists at exit. loopscope must not read them either (the
 * program runs exactly as without it) and must still report the activated event as never-run, created
 * at the "active" line, and nothing about the others. Prints "finalized=1 scheduled=3". */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <event2/event.h>
#include <event2/event_struct.h>

/* Each allocation its own mapping, its size in front. */
static void *map_alloc(size_t n) {
  size_t *p = mmap(NULL, n + 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  *p = n + 16;
  return (char *)p + 16;
}

static void map_free(void *q) {
  if (!q) return;
  size_t *p = (size_t *)((char *)q - 16);
  munmap(p, *p);
}

static void *map_realloc(void *q, size_t n) {
  void *r = map_alloc(n);
  if (r && q) {
    size_t old = *(size_t *)((char *)q - 16) - 16;
    memcpy(r, q, old < n ? old : n);
    map_free(q);
  }
  return r;
}

static int finalized;

static void on_never(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  printf("on_never ran\n");
}

static void on_active_never(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  printf("on_active_never ran\n");
}

static void on_finalized(struct event *ev, void *arg) { (void)ev, (void)arg, finalized++; }

int main(void) {
  event_set_mem_functions(map_alloc, map_realloc, map_free);
  struct event_base *base = event_base_new(), *fbase = event_base_new();
  struct event *gone = mmap(NULL, sizeof(struct event), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!base || !fbase || gone == MAP_FAILED) return 1;
  struct timeval hour = {3600, 0};
  if (event_assign(gone, base, -1, 0, on_never, NULL) != 0 || event_add(gone, &hour) != 0) return 1;
  struct event *active = event_new(base, -1, 0, on_active_never, NULL); /* LS-SITE: active */
  if (!active) return 1;
  event_active(active, EV_TIMEOUT, 1);
  /* Made active on a base of its own, then finalized: libevent frees it while that base runs. */
  struct event *fin = event_new(fbase, -1, 0, on_never, NULL);
  if (!fin) return 1;
  event_active(fin, EV_TIMEOUT, 1);
  if (event_free_finalize(0, fin, on_finalized) != 0) return 1;
  event_base_loop(fbase, EVLOOP_NONBLOCK);
  /* The program's bug: the memory goes, the event stays in the base's timer heap. */
  munmap(gone, sizeof(struct event));
  printf("finalized=%d scheduled=3\n", finalized);
  return 0;
}
