/* The report reader on any bytes: no crash, leak or undefined behaviour, and what it promises holds
 * (an error names an offset inside the input; every reference it kept resolves). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_report.h"

static void check(int ok) {
  if (!ok) abort(); /* a broken promise is a finding like a crash */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct ls_report r;
  int rc = ls_report_parse((const char *)data, size, &r);
  check(rc == 0 || rc == -EBADMSG || rc == -ENOMSG || rc == -EPROTONOSUPPORT || rc == -ENOMEM);
  if (rc == -EBADMSG || rc == -ENOMSG) check(r.error != NULL && r.error_offset <= size);
  if (rc == 0) check(r.truncated == !r.complete && r.truncated_at <= size);
  if (rc == -ENOMSG) check(!r.truncated && r.nmodules + r.nstacks + r.nfindings + r.nsites + r.nthreads == 0);
  for (size_t i = 0; i < r.nsites; i++) {
    const struct ls_rd_site *s = &r.sites[i];
    check(ls_report_site(&r, s->id) != NULL && s->kind != NULL);
    check(s->stack == 0 || ls_report_stack(&r, s->stack) != NULL);
  }
  for (size_t i = 0; i < r.nfindings; i++) {
    const struct ls_rd_finding *f = &r.findings[i];
    check(f->category && f->severity && f->message);
    check(!f->has_site || ls_report_site(&r, f->site) != NULL);
    check(!f->has_stack || ls_report_stack(&r, f->stack) != NULL);
    check(f->nsamples <= LS_RD_MAX_SAMPLES);
  }
  for (size_t i = 0; i < r.nthreads; i++) {
    check(ls_report_thread(&r, r.threads[i].tid) != NULL);
    check(r.threads[i].stack == 0 || ls_report_stack(&r, r.threads[i].stack) != NULL);
  }
  for (size_t i = 0; i < r.nstacks; i++) {
    check(r.stacks[i].n <= LS_RD_MAX_FRAMES);
    for (size_t k = 0; k < r.stacks[i].n; k++) {
      const struct ls_rd_module *m = ls_report_module_for(&r, r.stacks[i].ips[k]);
      check(!m || (r.stacks[i].ips[k] >= m->lo && r.stacks[i].ips[k] < m->hi));
    }
  }
  for (size_t i = 0; i < r.nloops; i++) check(ls_report_loop(&r, r.loops[i].id) != NULL && r.loops[i].lib);
  for (size_t i = 0; i < r.nopen; i++) check(r.open[i].kind && (r.open[i].stack == 0 || ls_report_stack(&r, r.open[i].stack)));
  ls_report_free(&r);
  return 0;
}
