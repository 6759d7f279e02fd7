# The libevent dispatch benchmark (issue 5 item 9): `cmake --build BUILD --target bench-ev`. Not a CTest
# test: its figures depend on the machine.
#   bench_ev         the child: persistent events activated with event_active, dispatched >= 10M times
#   bench_ev_driver  runs it plain and under the shim, alternating, pinned; medians beside the goal
#                    (<= 30 ns added per callback), and checks the shimmed report counted every callback
loopscope_require(LIBEVENT_CORE libevent_core libevent-dev)
add_executable(bench_ev bench_ev.c)
target_link_libraries(bench_ev PRIVATE PkgConfig::LIBEVENT_CORE)
set_target_properties(bench_ev PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
if(TARGET loopscope_shim AND TARGET loopscope)
  add_executable(bench_ev_driver bench_ev_driver.c bench_common.c)
  target_link_libraries(bench_ev_driver PRIVATE PkgConfig::JSONC)
  set_target_properties(bench_ev_driver PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  target_compile_definitions(bench_ev_driver PRIVATE
    LS_BENCH_EV_CHILD="$<TARGET_FILE:bench_ev>"
    LS_BENCH_SHIM="$<TARGET_FILE:loopscope_shim>"
    LS_BENCH_CLI="$<TARGET_FILE:loopscope>")
  add_dependencies(bench_ev_driver bench_ev loopscope_shim loopscope)
  add_custom_target(bench-ev
    COMMAND bench_ev_driver
    DEPENDS bench_ev_driver bench_ev loopscope_shim loopscope
    USES_TERMINAL
    COMMENT "Benchmark: libevent dispatch (event_active on persistent events), plain vs under libloopscope.so")
endif()
