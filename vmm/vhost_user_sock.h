/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user socket in either role, on an event loop, with reconnection:
 *
 *   server (server=on, the lab default): nfv-vmm listens on PATH and the
 *     backend (nfv-switchd, testpmd with client=1, Open vSwitch's
 *     dpdkvhostuserclient) connects; when it goes away, nfv-vmm listens on,
 *     and the backend may come back at any time;
 *   client (server=off): nfv-vmm connects to a backend listening on PATH,
 *     and retries every second while it is not there or after it left.
 *
 * One connection at a time: a second backend connecting to a busy server
 * is refused (closed at once, logged). While connected, the socket is
 * watched: the backend closing it, or sending anything nobody asked for
 * (this frontend offers no backend-initiated channel), ends the connection
 * and ops->disconnected runs. The session above runs its request/reply
 * sequences on the same loop thread, so the watch never fires in the middle
 * of one.
 *
 * A stale socket file left by a dead process is replaced; a live one (a
 * listener answers) is refused: two VMs never share a path.
 */
#ifndef NFV_VMM_VHOST_USER_SOCK_H
#define NFV_VMM_VHOST_USER_SOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/evloop.h"
#include "common/util.h"

#define VU_SOCK_RETRY_MS 1000

struct vu_sock;

struct vu_sock_ops {
	/* A backend is connected on fd (owned by vu_sock). Loop thread. */
	void (*connected)(void *opaque, int fd);
	/* The connection ended (the backend left, or vu_sock_drop()). Loop thread. */
	void (*disconnected)(void *opaque);
};

/*
 * Listens on (server) or starts connecting to (client) `path` on `loop`.
 * NULL with one line in err: a path too long for a Unix socket, a live
 * listener already on it (server), no permission, ...
 */
struct vu_sock *vu_sock_new(struct evloop *loop, const char *path, bool server,
			    const struct vu_sock_ops *ops, void *opaque, char *err, size_t err_len);
/* Ends the current connection (the session failed); reconnection follows the role. */
void vu_sock_drop(struct vu_sock *s);
bool vu_sock_connected(const struct vu_sock *s);
const char *vu_sock_path(const struct vu_sock *s);
/* Closes everything; a server removes its socket file. NULL is fine. */
void vu_sock_free(struct vu_sock *s);

#endif /* NFV_VMM_VHOST_USER_SOCK_H */
