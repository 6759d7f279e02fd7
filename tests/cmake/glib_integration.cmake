# The GLib adapter's integration tests (issue 6), built like the ones in tests/CMakeLists.txt.
set(LS_GLIB_IT_TESTS it_gl_coverage it_gl_findings it_gl_debian)
foreach(t ${LS_GLIB_IT_TESTS})
  add_executable(${t} integration/${t}.c)
  target_link_libraries(${t} PRIVATE it_util)
  set_target_properties(${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)
  add_dependencies(${t} loopscope loopscope_shim ${LS_ALL_PROGRAMS})
  add_test(NAME ${t} COMMAND ${t})
  set_tests_properties(${t} PROPERTIES ENVIRONMENT "${LS_TEST_ENV}" LABELS integration TIMEOUT 600)
endforeach()
# it_gl_coverage checks that every GLib function the shim exports is listed in loopscope-report(1).
target_compile_definitions(it_gl_coverage PRIVATE LS_MAN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/../man")
