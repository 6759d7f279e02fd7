/* The plugin's interface, shared with dlopen_local and the integration test. */
#ifndef UV_PLUGIN_H
#define UV_PLUGIN_H

#define PLUGIN_SLOW_TICKS 2
#define PLUGIN_FAST_TICKS 3

/* Runs a private libuv loop until its timers are done. Returns the number of callbacks dispatched
 * (PLUGIN_SLOW_TICKS + PLUGIN_FAST_TICKS), or -1 when libuv failed. */
typedef int (*plugin_run_fn)(void);

#endif
