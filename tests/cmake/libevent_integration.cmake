# The libevent adapter's integration tests (issue 5), built and registered like the others
# (ls_integration_test in tests/CMakeLists.txt): the real CLI on the ev_* programs under the real shim,
# asserting on the JSON report. Exit 77 is a skip (what a suite needs is not installed), never a pass.
ls_integration_test(it_ev_findings)
# memcached and tmux from Debian, one CTest test each (.ci/run installs both).
ls_integration_test(it_ev_debian PREFIX it_ev_debian_ SUITES memcached tmux)
# Coverage: the event core, evhttp/evdns, the RTLD_LOCAL plugin and the man page ("core"), and
# bufferevent_openssl ("ssl", built only with libssl-dev, which .ci/run does not install). It reads
# the man page and libevent's headers (the include directory pkg-config names, or the default one).
ls_integration_test(it_ev_coverage PREFIX it_ev_coverage_ SUITES core ssl)
set(LS_EVENT_INCLUDE /usr/include)
if(LIBEVENT_CORE_INCLUDEDIR)
  set(LS_EVENT_INCLUDE ${LIBEVENT_CORE_INCLUDEDIR})
endif()
target_compile_definitions(it_ev_coverage PRIVATE LS_MAN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/../man"
                           LS_EVENT_INCLUDE="${LS_EVENT_INCLUDE}")
