/* The one option table. Both sides include it: the shim parses LOOPSCOPE_OPTIONS from it, the CLI
 * generates its `run` flags from it, and a test checks every entry appears in loopscope-options(7).
 *
 * X(key, flag, type, default, min, max, choices, help)
 *   key      the LOOPSCOPE_OPTIONS key, and the field of struct ls_options
 *   flag     the `loopscope run` long flag (without "--")
 *   type     LS_OPT_STRING, LS_OPT_UINT, LS_OPT_MS (a duration: 250, 250ms, 0.25s, 250000us), LS_OPT_BOOL,
 *            LS_OPT_RTSIG (0 or a real-time signal number, SIGRTMIN..SIGRTMAX as this libc counts them)
 *   default  the value as text, parsed like user input (so the default is checked too)
 *   min,max  accepted range for numbers; for strings min is the shortest accepted length
 *   choices  for a string that is one of a few words: "a|b", else NULL
 */
/* clang-format off */
#define LS_OPTIONS(X) \
  X(log_path,         "output",         LS_OPT_STRING, "loopscope.%n.%p.%s.lsr", 1, 0, NULL, \
    "report file path template: %p = pid, %n = program name, %s = sequence number (0, 1, ... on EEXIST); made absolute at start-up") \
  X(slow_callback_ms, "slow-callback",  LS_OPT_MS,     "100",  1, 3600000, NULL, \
    "a dispatched callback that runs this long or longer is a slow-callback finding (asyncio's slow_callback_duration)") \
  X(stack_depth,      "stack-depth",    LS_OPT_UINT,   "16",   0, 64, NULL, \
    "frames kept per creation stack, 0 = no stacks") \
  X(verbosity,        "verbosity",      LS_OPT_UINT,   "1",    0, 3, NULL, \
    "0 = silent, 1 = findings logged live to stderr, 2 = also start-up and report path") \
  X(flush_ms,         "flush-interval", LS_OPT_MS,     "1000", 10, 60000, NULL, \
    "how often aggregates are written to the report, so a SIGKILL loses at most this much") \
  X(pool_wait_ms,     "pool-wait",      LS_OPT_MS,     "100",  1, 3600000, NULL, \
    "queued work that waits this long or longer for a pool thread is a pool-wait finding") \
  X(stall_ms,         "stall",          LS_OPT_MS,     "100",  1, 3600000, NULL, \
    "a loop iteration (poll return -> next poll) that runs this long or longer is a loop-stall finding, sampled while it lasts") \
  X(stall_sample_ms,  "stall-sample",   LS_OPT_MS,     "10",   1, 1000, NULL, \
    "how often a stalled loop thread's stack is sampled") \
  X(stall_signal,     "stall-signal",   LS_OPT_RTSIG,  "0",    0, 0, NULL, \
    "the real-time signal (SIGRTMIN..SIGRTMAX) that samples a stalled thread running on a CPU; 0 = SIGRTMIN+3") \
  X(blocking_min_ms,  "blocking-min",   LS_OPT_MS,     "1",    1, 3600000, NULL, \
    "a read/write/recv/send/accept/connect on a blocking socket, pipe or terminal made on a loop thread is a blocking-call finding when it slept this long or longer") \
  X(lock_wait_ms,     "lock-wait",      LS_OPT_MS,     "10",   1, 3600000, NULL, \
    "a contended mutex/rwlock/semaphore or a condition variable waited on this long or longer on a loop thread is a blocking-call finding") \
  X(allow_blocking,   "allow-blocking", LS_OPT_STRING, "",     0, 0, NULL, \
    "functions allowed to block on a loop thread: comma-separated names (* and ?) of the function that makes the call; their blocking calls are not findings") \
  X(wrong_thread,     "wrong-thread",   LS_OPT_STRING, "report", 1, 0, "report|abort", \
    "what a wrong-thread call does: report it, or report it and abort at once (asyncio raises)") \
  X(report_open_at_exit, "report-open-at-exit", LS_OPT_BOOL, "0", 0, 1, NULL, \
    "1 = handles still open at exit are unclosed-resource findings, not only listed") \
  X(follow_children,  "follow-children", LS_OPT_BOOL,  "1",    0, 1, NULL, \
    "children (fork, exec, posix_spawn) are watched too, each with its own report; an exec with a cleaned environment gets LD_PRELOAD and LOOPSCOPE_OPTIONS back") \
  X(trace_children_skip, "trace-children-skip", LS_OPT_STRING, "", 0, 0, NULL, \
    "programs not to follow into: comma-separated patterns (* and ?) matched against the exec'd program's name and path") \
  X(suppressions,     "suppressions",   LS_OPT_STRING, "",     0, 0, NULL, \
    "suppressions files (ID:PATTERN lines), comma-separated: a suppressed finding is still recorded but not logged live, and wrong_thread=abort spares it") \
  X(help,             "help-options",   LS_OPT_BOOL,   "0",    0, 1, NULL, \
    "print this table to stderr; the program runs on")
/* clang-format on */
