# The libevent adapter: libevent's headers only (the shim never links libevent; a program without it
# pays nothing). Debian: libevent-dev.
loopscope_require(LIBEVENT libevent libevent-dev)
target_sources(loopscope_shim PRIVATE ev.c ev_bev.c ev_tramp.c ev_track.c)
target_include_directories(loopscope_shim PRIVATE ${LIBEVENT_INCLUDE_DIRS})
