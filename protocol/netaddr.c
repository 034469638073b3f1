#include "config.h"
#include "protocol/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const struct sockaddr_in *in4(const struct sockaddr_storage *ss)
{
	return (const struct sockaddr_in *)(const void *)ss;
}

static const struct sockaddr_in6 *in6(const struct sockaddr_storage *ss)
{
	return (const struct sockaddr_in6 *)(const void *)ss;
}

socklen_t netaddr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

uint16_t netaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(in4(ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(in6(ss)->sin6_port);
	return 0;
}

void netaddr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)(void *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons(port);
}

const char *netaddr_host(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	const char *r = NULL;

	if (ss->ss_family == AF_INET)
		r = inet_ntop(AF_INET, &in4(ss)->sin_addr, out, (socklen_t)outlen);
	else if (ss->ss_family == AF_INET6)
		r = inet_ntop(AF_INET6, &in6(ss)->sin6_addr, out, (socklen_t)outlen);
	if (!r && outlen)
		snprintf(out, outlen, "?");
	return out;
}

const char *netaddr_format(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN];

	netaddr_host(ss, host, sizeof(host));
	snprintf(out, outlen, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
	         (unsigned)netaddr_port(ss));
	return out;
}

bool netaddr_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return in4(a)->sin_addr.s_addr == in4(b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&in6(a)->sin6_addr, &in6(b)->sin6_addr, sizeof(struct in6_addr));
	return false;
}
