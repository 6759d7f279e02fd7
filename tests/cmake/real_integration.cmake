# Issue 4's real-target tests (tests/integration/it_real_*.c), built like the integration tests in
# tests/CMakeLists.txt. it_real_targets is one binary run as several CTest tests, one per target: the
# programs of ours no adapter can see into, and node (embeds libuv). A test whose binary is not
# installed exits 77, which CTest reports as skipped, never as passed.
ls_integration_test(it_real_targets PREFIX it_real_ SUITES programs node)

# Real servers from Debian (.ci/run installs redis-server and nginx-light), one CTest test each.
ls_integration_test(it_real_servers PREFIX it_real_ SUITES redis nginx)
