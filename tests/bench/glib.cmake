# The GLib adapter's benchmark (issue 6): `cmake --build BUILD --target bench-glib`. Not a CTest test.
if(TARGET loopscope_shim AND TARGET loopscope)
  loopscope_require(GIO_BENCH gio-2.0 libglib2.0-dev)
  add_executable(bench_glib bench_glib.c bench_common.c)
  target_link_libraries(bench_glib PRIVATE PkgConfig::GIO_BENCH PkgConfig::JSONC)
  set_target_properties(bench_glib PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  target_compile_definitions(bench_glib PRIVATE LS_BENCH_SHIM="$<TARGET_FILE:loopscope_shim>"
                                                LS_BENCH_CLI="$<TARGET_FILE:loopscope>")
  add_dependencies(bench_glib loopscope_shim loopscope)
  add_custom_target(bench-glib COMMAND bench_glib DEPENDS bench_glib loopscope_shim loopscope USES_TERMINAL
    COMMENT "Benchmark: the GLib adapter, plain vs under libloopscope.so")
endif()
