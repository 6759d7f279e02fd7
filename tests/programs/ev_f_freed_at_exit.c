/* never-run at exit, with an event the program no longer has: a timer event lives in memory the
 * program unmaps while the event is still added, and another event (made by event_new) is activated
 * and never run; the program exits without freeing its base. Without loopscope this is harmless:
 * nothing reads the base's lists at exit. loopscope must not read them either (the program runs
 * exactly as without it) and must still report the activated event as never-run, created at the
 * "active" line. Prints "scheduled=2". */
#include <stdio.h>
#include <sys/mman.h>

#include <event2/event.h>
#include <event2/event_struct.h>

static void on_never(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  printf("on_never ran\n");
}

static void on_active_never(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  printf("on_active_never ran\n");
}

int main(void) {
  struct event_base *base = event_base_new();
  struct event *gone = mmap(NULL, sizeof(struct event), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!base || gone == MAP_FAILED) return 1;
  struct timeval hour = {3600, 0};
  if (event_assign(gone, base, -1, 0, on_never, NULL) != 0 || event_add(gone, &hour) != 0) return 1;
  struct event *active = event_new(base, -1, 0, on_active_never, NULL); /* LS-SITE: active */
  if (!active) return 1;
  event_active(active, EV_TIMEOUT, 1);
  /* The program's bug: the memory goes, the event stays in the base's timer heap. */
  munmap(gone, sizeof(struct event));
  printf("scheduled=2\n");
  return 0;
}
