/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Listening on a Unix stream socket by path, the way every nfvkit control
 * socket does it.
 */
#ifndef NFV_COMMON_UNIXSOCK_H
#define NFV_COMMON_UNIXSOCK_H

#include <stddef.h>

#include "common/util.h"

/*
 * Listens on path (non-blocking, close-on-exec, backlog as given). A socket
 * file nobody accepts on (left by a process that is gone) is replaced; a
 * socket another process listens on, or a file that is not a socket, is
 * refused. Returns the listening fd, or -errno with the reason, without
 * the path, in err: "path longer than N bytes", "exists and is not a
 * socket", "another process is listening there", or the system's message.
 */
int __must_check unix_listen(const char *path, int backlog, char *err, size_t errlen);

/*
 * Readies path for a listening socket that some other code will bind (a
 * library that takes a path): the same rules as unix_listen, and the
 * directory must exist. A stale socket file is removed. 0, or -errno with
 * the reason, without the path, in err.
 */
int __must_check unix_path_claim(const char *path, char *err, size_t errlen);

#endif /* NFV_COMMON_UNIXSOCK_H */
