# The GLib adapter (glib*.c): GLib's and GIO's headers only. The shim never links GLib: every GLib
# function it calls is resolved at run time (a program without GLib pays nothing).
loopscope_require(GIO_HDRS gio-unix-2.0 libglib2.0-dev)
target_sources(loopscope_shim PRIVATE glib.c glib_src.c glib_track.c glib_task.c)
target_include_directories(loopscope_shim PRIVATE ${GIO_HDRS_INCLUDE_DIRS})
