/* The libevent adapter's coverage: every callback kind it wraps is a site named after the program's
 * callback, with the registration line and the count the program itself counted, in programs that
 * free everything and must give no finding (ev_cover: the event core, bufferevents, listeners;
 * ev_cover_http: evhttp and evdns); and loopscope-report(1) lists every libevent function the shim
 * exports, while every function of libevent's event, bufferevent, listener, http and dns headers that
 * takes a callback is either exported (wrapped) or named as not wrapped there. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"
#include "uv_plugin.h"

struct cover_site {
  const char *marker, *function, *kind;
  bool outside; /* run inside the registering call, before any loop runs: no loop counts it */
};

static const struct cover_site cover_sites[] = {
    {"read", "on_read", "event read", false},
    {"write", "on_write", "event write", false},
    {"timer", "on_timer", "timer", false},
    {"signal", "on_signal", "signal", false},
    {"once", "on_once", "event once", false},
    {"assign", "on_assign", "timer", false},
    {"bev_read", "on_bev_read", "bufferevent read", false},
    {"bev_write", "on_bev_write", "bufferevent write", false},
    {"bev_event", "on_bev_event", "bufferevent event", false},
    {"listener", "on_accept", "evconnlistener", false},
    {"set", "on_set", "timer", false},
    {NULL, NULL, NULL, false},
};

static const struct cover_site http_sites[] = {
    {"hello", "on_hello", "evhttp request", false},
    {"other", "on_other", "evhttp request", false},
    {"response", "on_response", "evhttp response", false},
    {"complete", "on_complete", "evhttp complete", false},
    {"close", "on_close", "evhttp close", false},
    {"gai", "on_gai", "evdns getaddrinfo", true},
    {NULL, NULL, NULL, false},
};

/* "MARKER=N" from the program's output. */
static long printed(const char *out, const char *marker) {
  char key[64];
  snprintf(key, sizeof(key), "\n%s=", marker);
  char *text;
  ck_assert_int_ge(asprintf(&text, "\n%s", out), 0);
  const char *p = strstr(text, key);
  long n = p ? strtol(p + strlen(key), NULL, 10) : -1;
  free(text);
  return n;
}

/* The one site registered at src:line (stack[0]). */
static json_object *site_at(json_object *proc, const char *src, int line) {
  json_object *sites = it_need(proc, "sites"), *found = NULL;
  size_t m = 0;
  for (size_t i = 0; i < json_object_array_length(sites); i++) {
    json_object *s = json_object_array_get_idx(sites, i);
    if (it_frame_is(it_get(s, "stack.0"), src, line)) found = s, m++;
  }
  ck_assert_msg(m == 1, "%zu sites registered at %s:%d, expected 1:\n%s", m, src, line, it_json_text(sites));
  return found;
}

/* Runs prog (whose source is src) under loopscope: no finding, each marker's site of its kind naming
 * its function and counting what the program counted, every base run by the main thread and freed,
 * the loops' callbacks exactly the program's (libevent's own are not counted), nothing still open. */
static void cover(const char *name, const char *prog, const char *src, const struct cover_site *want,
                  size_t want_loops) {
  char *dir = it_mkdir(name);
  const char *argv[] = {prog, NULL};
  struct it_proc p;
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "%s exited %d\nstdout:\n%s\nstderr:\n%s", prog, p.code, p.out, p.err);
  json_object *root = it_report_json(dir), *f[1];
  size_t nf = it_findings(root, NULL, f, 1);
  ck_assert_msg(nf == 0, "%s gave %zu findings:\n%s", src, nf, it_json_text(it_need(root, "findings")));
  json_object *proc = it_need(root, "processes.0");
  int64_t callbacks = 0;
  for (const struct cover_site *k = want; k->marker; k++) {
    long n = printed(p.out, k->marker);
    ck_assert_msg(n > 0, "the program ran no %s callback:\n%s", k->marker, p.out);
    json_object *s = site_at(proc, src, it_marker_line(src, k->marker));
    ck_assert_str_eq(it_str(s, "callback.function"), k->function);
    ck_assert_str_eq(it_str(s, "kind"), k->kind);
    ck_assert_msg(it_int(s, "count") == n, "%s: the program counted %ld, the report %lld:\n%s", k->marker, n,
                  (long long)it_int(s, "count"), it_json_text(s));
    if (!k->outside) callbacks += n;
  }
  json_object *loops = it_need(proc, "loops");
  ck_assert_msg(json_object_array_length(loops) == want_loops, "%zu libevent loops expected:\n%s", want_loops,
                it_json_text(loops));
  int64_t sum = 0;
  for (size_t i = 0; i < want_loops; i++) {
    json_object *l = json_object_array_get_idx(loops, i);
    ck_assert_str_eq(it_str(l, "library"), "libevent");
    ck_assert_int_eq(it_int(l, "thread"), it_int(proc, "pid"));
    ck_assert_msg(json_object_get_boolean(it_need(l, "closed")), "a base not closed:\n%s", it_json_text(l));
    sum += it_int(l, "callbacks");
  }
  ck_assert_msg(sum == callbacks, "loops counted %lld callbacks, the program %lld:\n%s", (long long)sum,
                (long long)callbacks, it_json_text(loops));
  ck_assert_msg(json_object_array_length(it_need(proc, "still_open_at_exit")) == 0, "%s freed everything:\n%s", src,
                it_json_text(it_need(proc, "still_open_at_exit")));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}

/* two bases (event_base_new, event_init); the bufferevents' and the listener's own events and
 * event_base_loopexit's are libevent's */
START_TEST(every_callback_kind_is_a_site_and_the_clean_program_is_quiet) {
  cover("it_ev_coverage", LS_PROG_ev_cover, "ev_cover.c", cover_sites, 2);
}
END_TEST

/* one base: evhttp's own requests, bufferevents and timers are libevent's */
START_TEST(evhttp_and_evdns_callbacks_are_sites_and_the_clean_program_is_quiet) {
  cover("it_ev_coverage_http", LS_PROG_ev_cover_http, "ev_cover_http.c", http_sites, 1);
}
END_TEST

/* bufferevent_openssl: the TLS bufferevent's event callback is a site; the one never freed is listed */
#ifdef LS_PROG_ev_ssl
START_TEST(bufferevent_openssl_callbacks_and_still_open) {
  char *dir = it_mkdir("it_ev_coverage_ssl");
  const char *argv[] = {LS_PROG_ev_ssl, NULL};
  struct it_proc p;
  it_loopscope_run(&p, dir, NULL, argv);
  ck_assert_msg(p.code == 0, "ev_ssl exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  ck_assert_str_eq(p.out, "ssl_event=1\n");
  json_object *root = it_report_json(dir), *f[1];
  size_t nf = it_findings(root, NULL, f, 1);
  ck_assert_msg(nf == 0, "ev_ssl gave %zu findings:\n%s", nf, it_json_text(it_need(root, "findings")));
  json_object *proc = it_need(root, "processes.0");
  json_object *s = site_at(proc, "ev_ssl.c", it_marker_line("ev_ssl.c", "ssl_cb"));
  ck_assert_str_eq(it_str(s, "callback.function"), "on_ssl_event");
  ck_assert_str_eq(it_str(s, "kind"), "bufferevent event");
  ck_assert_int_eq(it_int(s, "count"), 1);
  json_object *open = it_need(proc, "still_open_at_exit");
  int line = it_marker_line("ev_ssl.c", "ssl_open"), bevs = 0, bases = 0;
  for (size_t i = 0; i < json_object_array_length(open); i++) {
    json_object *h = json_object_array_get_idx(open, i);
    const char *kind = it_str(h, "kind");
    if (kind && strcmp(kind, "bufferevent") == 0 && it_frame_is(it_get(h, "stack.0"), "ev_ssl.c", line))
      bevs += (int)it_int(h, "count");
    if (kind && strcmp(kind, "event_base") == 0) bases += (int)it_int(h, "count");
  }
  ck_assert_msg(bevs == 1 && bases == 1, "the TLS bufferevent at ev_ssl.c:%d and the base, still open:\n%s", line,
                it_json_text(open));
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST
#endif

/* A plugin that uses libevent, dlopen()ed RTLD_NOW|RTLD_LOCAL by a program that does not link it: the
 * shim finds libevent through its soname, and the plugin's 250 ms callback is still a slow-callback. */
START_TEST(rtld_local_plugin) {
  int line = it_marker_line("ev_plugin.c", "plugin-slow");
  char *dir = it_mkdir("it_ev_plugin");
  struct it_proc p;
  const char *argv[] = {LS_PROG_dlopen_local, LS_PROG_ev_plugin, NULL};
  it_loopscope_run(&p, dir, NULL, argv);
  char want[64];
  snprintf(want, sizeof(want), "plugin_run=%d\n", PLUGIN_SLOW_TICKS + PLUGIN_FAST_TICKS);
  ck_assert_msg(p.code == 0, "dlopen_local under loopscope exited %d\nstdout:\n%s\nstderr:\n%s", p.code, p.out, p.err);
  ck_assert_str_eq(p.out, want);
  json_object *root = it_report_json(dir), *f[4];
  size_t n = it_findings(root, NULL, f, 4);
  ck_assert_msg(n == 1, "%zu findings, expected one slow-callback:\n%s", n, it_json_text(it_need(root, "findings")));
  ck_assert_str_eq(it_str(f[0], "category"), "slow-callback");
  ck_assert_str_eq(it_str(f[0], "callback.function"), "ev_plugin_slow");
  ck_assert_int_eq(it_int(f[0], "count"), PLUGIN_SLOW_TICKS);
  ck_assert_msg(it_frame_is(it_get(f[0], "stack.0"), "ev_plugin.c", line), "stack[0] is not ev_plugin.c:%d:\n%s", line,
                it_json_text(f[0]));
  json_object *loop = it_need(root, "processes.0.loops.0");
  ck_assert_str_eq(it_str(loop, "library"), "libevent");
  ck_assert_int_eq(it_int(loop, "callbacks"), PLUGIN_SLOW_TICKS + PLUGIN_FAST_TICKS);
  json_object_put(root);
  it_proc_free(&p);
  it_done(dir);
}
END_TEST

static bool libevent_name(const char *n) {
  static const char *const prefixes[] = {"event_", "bufferevent_", "evconnlistener_", "evthread_", "evhttp_", "evdns_"};
  for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
    if (strncmp(n, prefixes[i], strlen(prefixes[i])) == 0) return true;
  return false;
}

/* The WRAPPED LIBEVENT FUNCTIONS section, NUL-terminated (free the returned buffer's *base). */
static char *man_section(char **base) {
  size_t len;
  *base = it_read_file(LS_MAN_DIR "/loopscope-report.1", &len);
  ck_assert_ptr_nonnull(*base);
  char *sec = strstr(*base, ".SH WRAPPED LIBEVENT FUNCTIONS");
  ck_assert_ptr_nonnull(sec);
  char *end = strstr(sec + 1, "\n.SH ");
  if (end) *end = 0;
  return sec;
}

/* name as a whole word in text */
static bool names(const char *text, const char *name) {
  size_t n = strlen(name);
  for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
    bool left = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
    bool right = !(isalnum((unsigned char)p[n]) || p[n] == '_');
    if (left && right) return true;
  }
  return false;
}

START_TEST(every_wrapped_libevent_function_is_in_the_man_page) {
  char *man, *sec = man_section(&man);
  FILE *nm = popen("nm -D --defined-only " LS_SHIM, "r");
  ck_assert_ptr_nonnull(nm);
  char line[512];
  size_t n = 0;
  while (fgets(line, sizeof(line), nm)) {
    char *name = strrchr(line, ' ');
    if (!name) continue;
    name++;
    name[strcspn(name, "\n")] = 0;
    if (!libevent_name(name) ) continue;
    n++;
    ck_assert_msg(names(sec, name), "%s is exported by the shim but not in WRAPPED LIBEVENT FUNCTIONS", name);
  }
  ck_assert_int_eq(pclose(nm), 0);
  ck_assert_msg(n >= 40, "only %zu libevent hooks exported", n);
  free(man);
}
END_TEST

/* Every function of these headers with a callback parameter: exported by the shim (wrapped), or named
 * in the man section's "Not wrapped" paragraph. */
START_TEST(every_libevent_function_taking_a_callback_is_wrapped_or_listed) {
  static const char *const headers[] = {"event.h", "event_compat.h", "bufferevent.h", "bufferevent_compat.h",
                                        "listener.h", "http.h", "dns.h", "bufferevent_ssl.h"};
  static const char *const cb_types[] = {"event_callback_fn", "bufferevent_data_cb", "bufferevent_event_cb",
                                         "evconnlistener_cb", "evconnlistener_errorcb", "evbuffercb", "everrorcb",
                                         "event_finalize_callback_fn", "event_base_foreach_event_cb",
                                         "event_log_cb", "event_fatal_cb", "evdns_callback_type",
                                         "evdns_getaddrinfo_cb", "evdns_request_callback_fn_type",
                                         "evdns_debug_log_fn_type", "_foreach_fn", "(*"};
  char *man, *sec = man_section(&man);
  char *not_wrapped = strstr(sec, "Not wrapped");
  ck_assert_ptr_nonnull(not_wrapped);
  char exported[16384] = " ";
  FILE *nm = popen("nm -D --defined-only " LS_SHIM, "r");
  ck_assert_ptr_nonnull(nm);
  char line[512];
  while (fgets(line, sizeof(line), nm)) {
    char *name = strrchr(line, ' ');
    if (!name) continue;
    name[1 + strcspn(name + 1, "\n")] = 0;
    if (strlen(exported) + strlen(name) + 2 < sizeof(exported)) strcat(strcat(exported, name + 1), " ");
  }
  ck_assert_int_eq(pclose(nm), 0);
  size_t found = 0;
  for (size_t h = 0; h < sizeof(headers) / sizeof(headers[0]); h++) {
    char path[256];
    snprintf(path, sizeof(path), "%s/event2/%s", LS_EVENT_INCLUDE, headers[h]);
    char *text = it_read_file(path, NULL);
    ck_assert_msg(text, "cannot read %s", path);
    /* comments and preprocessor lines out, then one declaration per ';' */
    for (char *p = text; *p; p++) {
      if (p[0] == '/' && p[1] == '*') {
        char *e = strstr(p + 2, "*/");
        char *stop = e ? e + 2 : p + strlen(p);
        memset(p, ' ', (size_t)(stop - p));
        p = stop - 1;
      } else if (*p == '#' && (p == text || p[-1] == '\n')) {
        while (*p && *p != '\n') *p++ = ' ';
        if (!*p) break;
      }
    }
    for (char *decl = strtok(text, ";"); decl; decl = strtok(NULL, ";")) {
      if (strstr(decl, "typedef") || !strchr(decl, '(')) continue;
      bool takes_cb = false;
      const char *params = strchr(decl, '(');
      for (size_t t = 0; t < sizeof(cb_types) / sizeof(cb_types[0]); t++)
        if (strstr(params + 1, cb_types[t])) takes_cb = true;
      if (!takes_cb) continue;
      /* the function's name: the identifier before the first '(' */
      const char *e = params;
      while (e > decl && isspace((unsigned char)e[-1])) e--;
      const char *b = e;
      while (b > decl && (isalnum((unsigned char)b[-1]) || b[-1] == '_')) b--;
      char name[128], word[132];
      snprintf(name, sizeof(name), "%.*s", (int)(e - b), b);
      if (!name[0]) continue;
      found++;
      snprintf(word, sizeof(word), " %s ", name);
      ck_assert_msg(strstr(exported, word) || names(not_wrapped, name),
                    "%s (event2/%s) takes a callback but is neither wrapped nor listed as not wrapped", name,
                    headers[h]);
    }
    free(text);
  }
  ck_assert_msg(found >= 15, "only %zu functions with a callback found in libevent's headers", found);
  free(man);
}
END_TEST

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "core";
  Suite *s = suite_create("it_ev_coverage");
  TCase *tc = tcase_create(which);
  if (strcmp(which, "core") == 0) {
    tcase_add_test(tc, every_callback_kind_is_a_site_and_the_clean_program_is_quiet);
    tcase_add_test(tc, evhttp_and_evdns_callbacks_are_sites_and_the_clean_program_is_quiet);
    tcase_add_test(tc, rtld_local_plugin);
    tcase_add_test(tc, every_wrapped_libevent_function_is_in_the_man_page);
    tcase_add_test(tc, every_libevent_function_taking_a_callback_is_wrapped_or_listed);
  } else if (strcmp(which, "ssl") == 0) {
#ifdef LS_PROG_ev_ssl
    tcase_add_test(tc, bufferevent_openssl_callbacks_and_still_open);
#else
    fprintf(stderr, "it_ev_coverage: SKIP: ev_ssl was not built (no OpenSSL headers: apt-get install libssl-dev)\n");
    return 77;
#endif
  } else {
    fprintf(stderr, "usage: it_ev_coverage [core|ssl]\n");
    return 2;
  }
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return it_main(s);
}
