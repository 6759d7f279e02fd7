# The libevent adapter's test programs (issue 5): each finding's trigger and its clean twin, linked
# with libevent (libevent_core + libevent_pthreads where a base needs a lock). -g -O0 as the others.
loopscope_require(LIBEVENT_CORE libevent_core libevent-dev)
loopscope_require(LIBEVENT_PTHREADS libevent_pthreads libevent-dev)
loopscope_require(LIBEVENT_EXTRA libevent_extra libevent-dev)
set(LS_EV_PROGRAMS ev_f_slow ev_f_slow_clean ev_f_wrong_thread ev_f_wrong_thread_clean ev_f_reentry
     ev_f_reentry_clean ev_f_never_run ev_f_never_run_clean ev_f_unclosed ev_f_unclosed_clean ev_f_open_at_exit ev_f_freed_at_exit
     ev_f_unretrieved ev_f_unretrieved_clean ev_cover
     ev_cover_http ev_hang)
foreach(p ${LS_EV_PROGRAMS})
  add_executable(${p} programs/${p}.c)
  target_compile_options(${p} PRIVATE -g -O0)
  target_link_libraries(${p} PRIVATE PkgConfig::LIBEVENT_CORE PkgConfig::LIBEVENT_EXTRA PkgConfig::LIBEVENT_PTHREADS
                        Threads::Threads)
  set_target_properties(${p} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${LS_PROG_DIR})
endforeach()
list(APPEND LS_ALL_PROGRAMS ${LS_EV_PROGRAMS})

# bufferevent_openssl: a TLS client bufferevent (libevent_openssl + OpenSSL's libssl). Optional: built
# when libssl-dev is there (.ci/run does not install it); it_ev_coverage says SKIP without it.
pkg_check_modules(OPENSSL IMPORTED_TARGET openssl)
pkg_check_modules(LIBEVENT_OPENSSL IMPORTED_TARGET libevent_openssl)
if(OPENSSL_FOUND AND LIBEVENT_OPENSSL_FOUND)
  add_executable(ev_ssl programs/ev_ssl.c)
  target_compile_options(ev_ssl PRIVATE -g -O0)
  target_link_libraries(ev_ssl PRIVATE PkgConfig::LIBEVENT_CORE PkgConfig::LIBEVENT_OPENSSL PkgConfig::OPENSSL)
  set_target_properties(ev_ssl PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${LS_PROG_DIR})
  list(APPEND LS_ALL_PROGRAMS ev_ssl)
else()
  message(STATUS "loopscope: no OpenSSL headers (apt-get install libssl-dev): the bufferevent_openssl test is skipped")
endif()

# A plugin that uses libevent, loaded RTLD_LOCAL by dlopen_local (given its path as argument).
add_library(ev_plugin SHARED programs/ev_plugin.c)
target_compile_options(ev_plugin PRIVATE -g -O0)
target_link_libraries(ev_plugin PRIVATE PkgConfig::LIBEVENT_CORE)
set_target_properties(ev_plugin PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${LS_PROG_DIR} PREFIX "")
list(APPEND LS_ALL_PROGRAMS ev_plugin)
