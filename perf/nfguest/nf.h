/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfguest NF modes (nf.c): parsed from the command line before the NICs
 * are probed, run once they are up.
 */
#ifndef NFGUEST_NF_H
#define NFGUEST_NF_H

#include "netif.h"

/* Read nf= and the mode's arguments; bad ones end the guest with status 2. */
void nf_parse(void);
/* The mode's name, for the start-up lines. */
const char *nf_mode_name(void);
/* Whether the mode needs every unicast frame (the default of promisc=). */
bool nf_wants_promisc(void);
/* Run the mode on the registered NICs; returns only for nf=none (never). */
void nf_run(void) __noreturn;

#endif /* NFGUEST_NF_H */
