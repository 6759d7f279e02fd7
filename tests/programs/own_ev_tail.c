/* Own calls, libevent: a program built with -O2 whose callbacks end in tail calls, so the return
 * address a hook sees is the shim's trampoline, not the program. Every such call is still the program's:
 *  - on_poke (main base) ends in `jmp event_add@plt` on an event of another base, which a second thread
 *    runs without a lock: one wrong-thread finding (the second thread waits inside a callback until
 *    main is done, so no real race happens);
 *  - on_a makes event b with a plain call (the marked line: the site's stack) and ends in a tail call
 *    to event_assign for event c: the program's site of on_c, and its event;
 *  - on_b ends in a tail call to event_add(c).
 * it_own_calls checks with objdump that these are `jmp`s. Prints "other_tid=N a=1 b=1 c=1". */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

static struct event_base *base, *other;
static struct event *keepalive, *started, *far, *poke, *a, *b;
static struct event c;
static sem_t other_running, main_done;
static pid_t other_tid;
static int fired_a, fired_b, fired_c;
static const struct timeval ms1 = {0, 1000}, ms5 = {0, 5000}, hour = {3600, 0};

void on_nothing(evutil_socket_t fd, short what, void *arg) { (void)fd, (void)what, (void)arg; }

void on_started(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  sem_post(&other_running);
  sem_wait(&main_done);
  event_base_loopbreak(other); /* on its own thread: the loop ends once main is done */
}

void *other_thread(void *arg) {
  (void)arg;
  other_tid = gettid();
  event_base_dispatch(other);
  return NULL;
}

void on_poke(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  event_add(far, &hour); /* a tail call, on the other base */
}

void on_c(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  fired_c++;
}

void on_b(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  fired_b++;
  event_add(&c, &ms1); /* a tail call */
}

void on_a(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  b = evtimer_new(base, on_b, NULL); /* LS-SITE: new_b */
  event_add(b, &ms1);
  fired_a++;
  event_assign(&c, base, -1, 0, on_c, NULL); /* a tail call */
}

int main(void) {
  pthread_t runner;
  sem_init(&other_running, 0, 0);
  sem_init(&main_done, 0, 0);
  other = event_base_new();
  base = event_base_new();
  if (!other || !base) return 1;
  keepalive = event_new(other, -1, EV_PERSIST, on_nothing, NULL);
  started = evtimer_new(other, on_started, NULL);
  far = evtimer_new(other, on_nothing, NULL);
  if (!keepalive || !started || !far || event_add(keepalive, &hour) || event_add(started, &ms1)) return 1;
  if (pthread_create(&runner, NULL, other_thread, NULL) != 0) return 1;
  sem_wait(&other_running);

  poke = evtimer_new(base, on_poke, NULL);
  a = evtimer_new(base, on_a, NULL);
  if (!poke || !a || event_add(poke, &ms1) || event_add(a, &ms5)) return 1;
  event_base_dispatch(base);

  sem_post(&main_done);
  pthread_join(runner, NULL);
  event_free(keepalive);
  event_free(started);
  event_free(far);
  event_free(poke);
  event_free(a);
  event_free(b);
  event_base_free(other);
  event_base_free(base);
  printf("other_tid=%d a=%d b=%d c=%d\n", (int)other_tid, fired_a, fired_b, fired_c);
  return 0;
}
