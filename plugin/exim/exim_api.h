/*
 * exim_api.h - Exim's own headers, as the tlsrelay transport module
 * (tlsrelay_transport.c) sees them: exim.h (every structure and function
 * of the Exim it is built against) and version.h (EXIM_VERSION_STR).
 *
 * They come from the configured Exim tree given to configure
 * (--with-exim-source), found through -iquote BUILD_DIR (ac/
 * exim_module.ac): Exim's headers include "config.h", which must be
 * Exim's, not tlsrelay's (-I. of the build), and the quote path is
 * searched first. Not -isystem: GCC then drops the same directory from
 * the quote path. So Exim's style (old-style declarations, mixed-sign
 * comparisons, K&R-era prototypes) is silenced here, for these two
 * includes only: the module's own code keeps every warning. -Wpragmas and
 * -Wunknown-warning-option keep GCC and clang quiet about each other's
 * names.
 */
#ifndef TR_EXIM_API_H
#define TR_EXIM_API_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunknown-warning-option"
#pragma GCC diagnostic ignored "-Wold-style-declaration"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#include "exim.h"
#include "version.h"
#pragma GCC diagnostic pop

#endif
