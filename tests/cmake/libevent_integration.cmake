# The libevent adapter's integration tests (issue 5): the real CLI on the ev_* programs under the real
# shim, asserting on the JSON report; built and registered as the tests in tests/CMakeLists.txt are.
set(LS_EV_IT_TESTS it_ev_findings it_ev_debian)
foreach(t ${LS_EV_IT_TESTS})
  add_executable(${t} integration/${t}.c)
  target_link_libraries(${t} PRIVATE it_util)
  set_target_properties(${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)
  add_dependencies(${t} loopscope loopscope_shim ${LS_ALL_PROGRAMS})
  add_test(NAME ${t} COMMAND ${t})
  set_tests_properties(${t} PROPERTIES ENVIRONMENT "${LS_TEST_ENV}" LABELS integration TIMEOUT 600)
endforeach()
