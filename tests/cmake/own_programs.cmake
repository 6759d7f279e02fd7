# Own-call programs (it_own_calls): -O2 on purpose, unlike the others. Their functions end in tail calls
# (`jmp uv_timer_start@plt`), which is what the shim must not be fooled by; the test checks with objdump
# that the compiler made them.
set(LS_OWN_PROGRAMS own_uv_tail own_ev_tail own_gl_tail own_gl_freed)
foreach(p ${LS_OWN_PROGRAMS})
  add_executable(${p} programs/${p}.c)
  target_compile_options(${p} PRIVATE -g -O2)
  set_target_properties(${p} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${LS_PROG_DIR})
endforeach()
target_link_libraries(own_uv_tail PRIVATE PkgConfig::LIBUV Threads::Threads)
target_link_libraries(own_ev_tail PRIVATE PkgConfig::LIBEVENT_CORE Threads::Threads)
target_link_libraries(own_gl_tail PRIVATE PkgConfig::GIO_PROG)
target_link_libraries(own_gl_freed PRIVATE PkgConfig::GIO_PROG)
list(APPEND LS_ALL_PROGRAMS ${LS_OWN_PROGRAMS})
