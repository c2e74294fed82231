/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfv-switchd's control socket: a Unix stream socket that takes one JSON
 * object per line and answers one JSON object per line, in the same style
 * as nfv-vmm's (docs/vmm.md):
 *
 *   {"cmd": "fdb-show", "bridge": "br0"}
 *     -> {"ok": true, "result": {"bridge": "br0", "entries": [...]}}
 *   {"cmd": "port-del", "port": "nope"}
 *     -> {"ok": false, "error": "..."}
 *
 * An "id" member of a request is copied into its answer. A request is at
 * most SW_CTL_MAX_LINE bytes with its newline; a longer one is answered
 * with an error and skipped up to its newline. Invalid JSON, an unknown
 * command, a missing, unknown or invalid argument are answered with an
 * error too: nothing changes and the connection stays usable. At most
 * SW_CTL_MAX_CLIENTS connections at once. docs/vswitch.md has the commands
 * and their arguments; nfv-switchctl is the command-line client.
 *
 * Two layers:
 * - sw_ctl_execute() translates one parsed request into calls of the switch
 *   (vswitch/switch.h) and returns the answer; it does no I/O, so the unit
 *   tests drive it against a fake switch;
 * - sw_ctl_open()/sw_ctl_close() serve the socket on an event loop.
 *
 * Threads: everything here runs on the control thread, the one that runs
 * the event loop given to sw_ctl_open() (the switch's own locking makes its
 * calls safe against the telemetry thread).
 */
#ifndef NFV_VSWITCH_CTL_H
#define NFV_VSWITCH_CTL_H

#include <stddef.h>

#include <jansson.h>

#include "common/util.h"

/* Where nfv-switchd listens and nfv-switchctl connects unless told otherwise. */
#define NFV_SWITCHD_CTL_DEFAULT "/run/nfv-switchd.sock"

#define SW_CTL_MAX_LINE 4096  /* bytes of one request, its newline included */
#define SW_CTL_MAX_CLIENTS 16 /* connections served at once */

struct evloop;
struct sw_switch;
struct sw_ctl;

/*
 * Runs one request (a JSON object with a string "cmd") on sw and returns the
 * answer, {"ok": true, "result": ...} or {"ok": false, "error": "..."}; the
 * caller owns it. Never NULL unless memory runs out. req is not modified.
 * A request that is refused makes no call that changes the switch.
 */
json_t *sw_ctl_execute(struct sw_switch *sw, const json_t *req);
/* The same from one line of text (without its newline). */
json_t *sw_ctl_execute_line(struct sw_switch *sw, const char *line);

/*
 * Listens on path and serves requests on loop. A stale socket file (nobody
 * accepts on it) is replaced; a socket another process listens on, or a file
 * that is not a socket, is refused. 0 and *out, or -errno with one line in
 * err ("control socket PATH: ...").
 */
int __must_check sw_ctl_open(struct evloop *loop, struct sw_switch *sw, const char *path,
			     struct sw_ctl **out, char *err, size_t errlen);
/* Closes every connection, stops listening and removes the socket file
 * (unless another process has replaced it meanwhile). NULL is a no-op. */
void sw_ctl_close(struct sw_ctl *ctl);

#endif /* NFV_VSWITCH_CTL_H */
