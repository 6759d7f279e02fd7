# `cpack -G DEB` in the build tree makes loopscope_VERSION_ARCH.deb, laid out for Debian: /usr/bin/loopscope,
# the shim in /usr/lib/<multiarch>/loopscope/, man pages in /usr/share/man (compressed), README and
# copyright in /usr/share/doc/loopscope, bash completion in /usr/share/bash-completion/completions.
# Depends comes from dpkg-shlibdeps (the libraries the binaries really link), not from a hand-kept list.

# cpack installs what is built; it does not build (its "preinstall" would rebuild the whole tree, tests
# included, under a running test suite that packs the tree).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/cmake/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME loopscope)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "the loopscope developers")
set(CPACK_PACKAGE_CONTACT "the loopscope developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "asyncio's debug mode for native C event loops")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # loopscope_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# CPack makes the Debian Description of these two: the summary line, then this text indented.
set(CPACK_PACKAGE_DESCRIPTION
    "loopscope runs an unmodified program with a preload library that watches its
event loops (libuv, libevent, GLib, and any epoll/poll/select loop) and its
threads, and reports slow callbacks, stalled loops, blocking calls on a loop
thread, calls from the wrong thread, work that never ran, handles left open,
errors nobody retrieved and threads nobody joined, each with the stack where
it came from. Reports render as text, JSON, SARIF and JUnit, for people and CI.")
# The binaries keep their debug information: the CLI names the shim's own file:line when the shim
# itself fails, and a user's bug report is only useful with it.
set(CPACK_STRIP_FILES OFF)
include(CPack)
