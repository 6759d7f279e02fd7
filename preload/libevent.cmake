# The libevent adapter: libevent's headers only (the shim never links libevent; a program without it
# pays nothing). Debian: libevent-dev.
loopscope_require(LIBEVENT libevent libevent-dev)
target_sources(loopscope_shim PRIVATE ev.c ev_bev.c ev_http.c ev_tramp.c ev_track.c)
target_include_directories(loopscope_shim PRIVATE ${LIBEVENT_INCLUDE_DIRS})
# No sibling calls out of the hooks: libevent tail-calls its own exports (event_base_loopexit jumps to
# event_base_once), and a hook that jumped to the real function would leave the program's return
# address in place, making libevent's inner call look like the program's. With a real call the inner
# hook sees the shim as its caller and passes it through.
set_source_files_properties(ev.c ev_bev.c ev_http.c PROPERTIES COMPILE_OPTIONS -fno-optimize-sibling-calls)
