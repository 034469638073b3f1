/* Socket addresses as the daemon and the tools print and compare them:
 * "192.0.2.1:123", "[2001:db8::1]:123", the port, the host part. IPv4 and
 * IPv6 only; anything else prints as "?" with port 0. Pure, no I/O. */
#ifndef NTSD_PROTOCOL_NETADDR_H
#define NTSD_PROTOCOL_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for "[" IPv6 "]:" port and the NUL. */
#define NETADDR_TEXT_MAX 56

/* The length bind/connect/sendto want for ss's family. */
socklen_t netaddr_len(const struct sockaddr_storage *ss);
/* The port in host order; 0 for other families. */
uint16_t netaddr_port(const struct sockaddr_storage *ss);
/* Sets the port (host order) of an IPv4 or IPv6 address. */
void netaddr_set_port(struct sockaddr_storage *ss, uint16_t port);
/* The host part alone ("192.0.2.1", "2001:db8::1"); returns out. */
const char *netaddr_host(const struct sockaddr_storage *ss, char *out, size_t outlen);
/* Host and port ("192.0.2.1:123", "[2001:db8::1]:123"); returns out. */
const char *netaddr_format(const struct sockaddr_storage *ss, char *out, size_t outlen);
/* Same family and host address; ports are not compared. */
bool netaddr_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

#endif
