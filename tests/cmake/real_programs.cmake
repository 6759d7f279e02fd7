# Issue 4's real-target programs (it_real_targets): each built like the others in tests/CMakeLists.txt
# (-g -O0, one program per file), appended to LS_ALL_PROGRAMS so it_util gets LS_PROG_<name>.
set(LS_REAL_PROGRAMS real_epoll_blocking real_mt_clean)
foreach(p ${LS_REAL_PROGRAMS})
  add_executable(${p} programs/${p}.c)
  target_compile_options(${p} PRIVATE -g -O0)
  target_link_libraries(${p} PRIVATE Threads::Threads)
  set_target_properties(${p} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${LS_PROG_DIR})
endforeach()

# real_static_uv_spin links Debian's static libuv (libuv1-dev, already required, ships libuv_a.a) by its
# full path, so libuv.so is not in its NEEDED and the shim's libuv hooks cannot see it, as with an
# official Node.js build. libuv's own dependencies (pthread, dl) come after it.
find_file(LS_LIBUV_A libuv_a.a PATHS ${LIBUV_LIBRARY_DIRS} /usr/lib/x86_64-linux-gnu /usr/lib NO_CACHE REQUIRED)
# real_static_uv_clean is its clean twin.
foreach(p real_static_uv_spin real_static_uv_clean)
  add_executable(${p} programs/${p}.c)
  target_compile_options(${p} PRIVATE -g -O0)
  target_include_directories(${p} PRIVATE ${LIBUV_INCLUDE_DIRS})
  target_link_libraries(${p} PRIVATE ${LS_LIBUV_A} Threads::Threads ${CMAKE_DL_LIBS})
  set_target_properties(${p} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${LS_PROG_DIR})
  list(APPEND LS_REAL_PROGRAMS ${p})
endforeach()
list(APPEND LS_ALL_PROGRAMS ${LS_REAL_PROGRAMS})
