# The GLib adapter's programs (issue 6): each finding's trigger and its clean twin, -g -O0 like the rest.
loopscope_require(GIO_PROG gio-unix-2.0 libglib2.0-dev)
set(LS_GLIB_PROGRAMS gl_slow_callback gl_quiet gl_task_unretrieved gl_task_unretrieved_clean gl_never_run
     gl_never_run_clean gl_pool_wait gl_pool_wait_clean gl_reentry gl_reentry_clean
     gl_open_at_exit gl_hang gl_threads)
foreach(p ${LS_GLIB_PROGRAMS})
  add_executable(${p} programs/${p}.c)
  target_compile_options(${p} PRIVATE -g -O0)
  target_link_libraries(${p} PRIVATE PkgConfig::GIO_PROG Threads::Threads)
  set_target_properties(${p} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${LS_PROG_DIR})
endforeach()
list(APPEND LS_ALL_PROGRAMS ${LS_GLIB_PROGRAMS})
