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
# it_ev_coverage reads the man page and libevent's headers (the include directory pkg-config names, or
# the default one).
set(LS_EVENT_INCLUDE /usr/include)
if(LIBEVENT_CORE_INCLUDEDIR)
  set(LS_EVENT_INCLUDE ${LIBEVENT_CORE_INCLUDEDIR})
endif()
add_executable(it_ev_coverage integration/it_ev_coverage.c)
target_link_libraries(it_ev_coverage PRIVATE it_util)
target_compile_definitions(it_ev_coverage PRIVATE LS_MAN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/../man"
                           LS_EVENT_INCLUDE="${LS_EVENT_INCLUDE}")
set_target_properties(it_ev_coverage PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)
add_dependencies(it_ev_coverage loopscope loopscope_shim ${LS_ALL_PROGRAMS})
add_test(NAME it_ev_coverage COMMAND it_ev_coverage)
set_tests_properties(it_ev_coverage PROPERTIES ENVIRONMENT "${LS_TEST_ENV}" LABELS integration TIMEOUT 600)
