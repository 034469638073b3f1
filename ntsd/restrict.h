/* ntpd `restrict` access rules: the most specific matching entry (longest
 * mask) wins; `default` for the address family otherwise; no match and no
 * default means no restriction. Built once per (re)load, read-only after,
 * so worker threads share it without locks. */
#ifndef NTSD_NTSD_RESTRICT_H
#define NTSD_NTSD_RESTRICT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"

struct restrict_table;

/* Copies the rules (the conf may be freed afterwards; rules may be NULL when
 * n is 0); NULL on OOM. Duplicate entries (same family, masked address, mask
 * and ntpport) are merged by OR-ing their flags, as ntpd and NTPsec do.
 * `is_source` entries (templates for association addresses) are ignored. */
struct restrict_table *restrict_table_new(const struct conf_restrict *rules, size_t n);
void restrict_table_free(struct restrict_table *t);

/* CONF_RES_* flags for a packet from sa (AF_INET or AF_INET6; a v4-mapped
 * IPv6 address matches the IPv4 rules only). Of two entries with the same
 * address and mask, one with CONF_RES_NTPPORT wins for source port 123; that
 * flag is a match modifier and never appears in the result. A multicast
 * source or an unknown family gets CONF_RES_IGNORE (ntpd). t NULL: no rules.
 * Hot-path safe: no allocation. */
uint32_t restrict_match(const struct restrict_table *t, const struct sockaddr *sa);

#endif
