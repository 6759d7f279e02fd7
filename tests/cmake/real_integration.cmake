# Issue 4's real-target tests (tests/integration/it_real_*.c), built like the integration tests in
# tests/CMakeLists.txt. it_real_targets is one binary run as several CTest tests, one per target: the
# programs of ours no adapter can see into, and node (embeds libuv). A test whose binary is not
# installed exits 77, which CTest reports as skipped, never as passed.
add_executable(it_real_targets integration/it_real_targets.c)
target_link_libraries(it_real_targets PRIVATE it_util)
set_target_properties(it_real_targets PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)
add_dependencies(it_real_targets loopscope loopscope_shim ${LS_ALL_PROGRAMS})
foreach(suite programs node)
  add_test(NAME it_real_${suite} COMMAND it_real_targets ${suite})
  set_tests_properties(it_real_${suite} PROPERTIES ENVIRONMENT "${LS_TEST_ENV}" LABELS integration TIMEOUT 600
                       SKIP_RETURN_CODE 77)
endforeach()

# Real servers from Debian (.ci/run installs redis-server and nginx-light), one CTest test each.
add_executable(it_real_servers integration/it_real_servers.c)
target_link_libraries(it_real_servers PRIVATE it_util)
set_target_properties(it_real_servers PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)
add_dependencies(it_real_servers loopscope loopscope_shim)
foreach(server redis nginx)
  add_test(NAME it_real_${server} COMMAND it_real_servers ${server})
  set_tests_properties(it_real_${server} PROPERTIES ENVIRONMENT "${LS_TEST_ENV}" LABELS integration TIMEOUT 600
                       SKIP_RETURN_CODE 77)
endforeach()
