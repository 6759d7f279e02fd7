/* unclosed-resource trigger, with handles the program no longer has: three timers are started and
 * never closed; the second's memory is unmapped and the third's freed before the program calls
 * uv_loop_close, which returns UV_EBUSY. Without loopscope this is harmless: libuv stops reading its
 * handle queue at the first handle of the program's (the first timer, still alive). loopscope must
 * not read further either (the program runs exactly as without it) and must still report the three
 * timers as unclosed-resource findings, created at the "alive", "unmapped" and "freed" lines.
 * Prints "close=RC" (UV_EBUSY, -16). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <uv.h>

static uv_loop_t loop;
static uv_timer_t alive;

static void on_timer(uv_timer_t *t) { (void)t; }

int main(void) {
  if (uv_loop_init(&loop) != 0) return 1;
  uv_timer_t *unmapped = mmap(NULL, sizeof(uv_timer_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uv_timer_t *freed = malloc(sizeof(uv_timer_t));
  if (unmapped == MAP_FAILED || !freed) return 1;
  uv_timer_init(&loop, &alive); /* LS-SITE: alive */
  uv_timer_init(&loop, unmapped); /* LS-SITE: unmapped */
  uv_timer_init(&loop, freed); /* LS-SITE: freed */
  uv_timer_start(&alive, on_timer, 3600000, 0);
  uv_timer_start(unmapped, on_timer, 3600000, 0);
  uv_timer_start(freed, on_timer, 3600000, 0);
  /* The program's bug: the memory goes, the handles stay in the loop's queue. */
  munmap(unmapped, sizeof(uv_timer_t));
  free(freed);
  int rc = uv_loop_close(&loop);
  printf("close=%d\n", rc);
  return rc == UV_EBUSY ? 0 : 1;
}
