/* JUnit XML for CI test pages: one testsuite, one testcase per process (the program's base name
 * and pid), one <failure> per finding of that process that is not suppressed, its text the stack
 * as the text output prints it. Everything from a report is untrusted: escaped for XML, control
 * characters XML 1.0 cannot carry shown as \xNN, invalid UTF-8 as U+FFFD. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "render.h"

static void xml_escaped(FILE *out, const char *str, bool attr) {
  const unsigned char *s = (const unsigned char *)(str ? str : "");
  while (*s) {
    size_t n = json_utf8_len(s);
    if (n == 0) {
      fputs("\xef\xbf\xbd", out);
      s++;
      continue;
    }
    if (n > 1) {
      fwrite(s, 1, n, out);
      s += n;
      continue;
    }
    switch (*s) {
    case '&': fputs("&amp;", out); break;
    case '<': fputs("&lt;", out); break;
    case '>': fputs("&gt;", out); break;
    case '"': fputs("&quot;", out); break;
    case '\'': fputs("&apos;", out); break;
    case '\n': fputs(attr ? "&#10;" : "\n", out); break;
    case '\t': fputs(attr ? "&#9;" : "\t", out); break;
    case '\r': fputs("&#13;", out); break;
    default:
      if (*s < 0x20 || *s == 0x7f) fprintf(out, "\\x%02x", *s);
      else fputc(*s, out);
    }
    s++;
  }
}

static const char *base(const char *p) {
  const char *s = p ? strrchr(p, '/') : NULL;
  return s ? s + 1 : p ? p : "";
}

static void stack_text(FILE *out, const struct lsm_finding *lf) {
  char buf[1400], fb[600];
  snprintf(buf, sizeof(buf), "%s: %s: %s\n", lf->f->severity ? lf->f->severity : "?",
           lf->f->category ? lf->f->category : "?", lf->message);
  xml_escaped(out, buf, false);
  if (lf->f->count > 1) {
    snprintf(buf, sizeof(buf), "seen %" PRIu64 " times\n", lf->f->count);
    xml_escaped(out, buf, false);
  }
  if (!lf->stack.n) return;
  xml_escaped(out, "created at (most recent call last):\n", false);
  for (size_t i = lf->stack.n; i-- > 0;) {
    const struct ls_frame *f = &lf->stack.frames[i];
    const char *fn = f->function ? f->function : ls_frame_fallback(f, fb, sizeof(fb));
    if (f->path && f->line) snprintf(buf, sizeof(buf), "  File \"%s\", line %u, in %s\n", f->path, f->line, fn);
    else snprintf(buf, sizeof(buf), "  in %s\n", fn);
    xml_escaped(out, buf, false);
  }
}

static size_t shown(const struct lsm_process *p) {
  size_t n = 0;
  for (size_t i = 0; i < p->nfindings; i++) n += p->findings[i].supp == NULL;
  return n;
}

void render_junit(FILE *out, const struct lsm *m) {
  size_t failed = 0; /* testcases (processes) with a failure */
  for (size_t i = 0; i < m->nprocs; i++) {
    size_t n = shown(&m->procs[i]);
    failed += n > 0;
  }
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
  fprintf(out, "<testsuite name=\"loopscope\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n", m->nprocs,
          failed);
  for (size_t i = 0; i < m->nprocs; i++) {
    const struct lsm_process *p = &m->procs[i];
    const struct ls_report *r = p->r;
    char name[512];
    snprintf(name, sizeof(name), "%s %" PRIu64, base(r->exe ? r->exe : r->argc ? r->argv[0] : "?"), r->pid);
    fputs("  <testcase classname=\"loopscope\" name=\"", out);
    xml_escaped(out, name, true);
    if (!shown(p)) {
      fputs("\"/>\n", out);
      continue;
    }
    fputs("\">\n", out);
    for (size_t k = 0; k < p->nfindings; k++) {
      const struct lsm_finding *lf = &p->findings[k];
      if (lf->supp) continue;
      fputs("    <failure message=\"", out);
      xml_escaped(out, lf->message, true);
      fputs("\" type=\"", out);
      xml_escaped(out, lf->f->category, true);
      fputs("\">", out);
      stack_text(out, lf);
      fputs("</failure>\n", out);
    }
    fputs("  </testcase>\n", out);
  }
  fputs("</testsuite>\n", out);
}
