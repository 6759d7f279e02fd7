# The GLib adapter's integration tests (issue 6), built like the ones in tests/CMakeLists.txt.
set(LS_GLIB_IT_TESTS it_gl_coverage it_gl_findings it_gl_debian)
foreach(t ${LS_GLIB_IT_TESTS})
  ls_integration_test(${t})
endforeach()
# it_gl_coverage checks that every GLib function the shim exports is listed in loopscope-report(1).
target_compile_definitions(it_gl_coverage PRIVATE LS_MAN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/../man")
