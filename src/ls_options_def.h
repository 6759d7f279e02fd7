/* The one option table. Both sides include it: the shim parses LOOPSCOPE_OPTIONS from it, the CLI
 * generates its `run` flags from it, and a test checks every entry appears in loopscope-options(7).
 *
 * X(key, flag, type, default, min, max, help)
 *   key      the LOOPSCOPE_OPTIONS key, and the field of struct ls_options
 *   flag     the `loopscope run` long flag (without "--")
 *   type     LS_OPT_STRING, LS_OPT_UINT, LS_OPT_MS (a duration: 250, 250ms, 0.25s, 250000us), LS_OPT_BOOL
 *   default  the value as text, parsed like user input (so the default is checked too)
 *   min,max  accepted range for numbers (ignored for strings and booleans)
 */
/* clang-format off */
#define LS_OPTIONS(X) \
  X(log_path,         "output",         LS_OPT_STRING, "loopscope.%n.%p.%s.lsr", 0, 0, \
    "report file path template: %p = pid, %n = program name, %s = sequence number (0, 1, ... on EEXIST); made absolute at start-up") \
  X(slow_callback_ms, "slow-callback",  LS_OPT_MS,     "100",  1, 3600000, \
    "a dispatched callback that runs this long or longer is a slow-callback finding (asyncio's slow_callback_duration)") \
  X(stack_depth,      "stack-depth",    LS_OPT_UINT,   "16",   0, 64, \
    "frames kept per creation stack, 0 = no stacks") \
  X(verbosity,        "verbosity",      LS_OPT_UINT,   "1",    0, 3, \
    "0 = silent, 1 = findings logged live to stderr, 2 = also start-up and report path") \
  X(flush_ms,         "flush-interval", LS_OPT_MS,     "1000", 10, 60000, \
    "how often aggregates are written to the report, so a SIGKILL loses at most this much") \
  X(help,             "help-options",   LS_OPT_BOOL,   "0",    0, 1, \
    "print this table to stderr; the program runs on")
/* clang-format on */
