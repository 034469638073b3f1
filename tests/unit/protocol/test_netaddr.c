/* Socket-address helpers (protocol/netaddr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "protocol/netaddr.h"
#include "tap.h"

static struct sockaddr_storage addr(int af, const char *host, uint16_t port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)af;
	if (af == AF_INET)
		inet_pton(AF_INET, host, &((struct sockaddr_in *)(void *)&ss)->sin_addr);
	else
		inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)(void *)&ss)->sin6_addr);
	netaddr_set_port(&ss, port);
	return ss;
}

int main(void)
{
	struct sockaddr_storage a = addr(AF_INET, "192.0.2.1", 123);
	struct sockaddr_storage b = addr(AF_INET6, "2001:db8::1", 4460);
	struct sockaddr_storage c = addr(AF_INET, "192.0.2.1", 40000);
	struct sockaddr_storage u;
	char t[NETADDR_TEXT_MAX];

	memset(&u, 0, sizeof(u));
	tap_ok(!strcmp(netaddr_format(&a, t, sizeof(t)), "192.0.2.1:123"), "IPv4 with port: %s", t);
	tap_ok(!strcmp(netaddr_format(&b, t, sizeof(t)), "[2001:db8::1]:4460"), "IPv6 with port: %s", t);
	tap_ok(!strcmp(netaddr_host(&b, t, sizeof(t)), "2001:db8::1"), "IPv6 host: %s", t);
	tap_ok(!strcmp(netaddr_host(&u, t, sizeof(t)), "?") && netaddr_port(&u) == 0,
	       "an unknown family prints ? with port 0");
	tap_ok(netaddr_port(&a) == 123 && netaddr_port(&b) == 4460, "ports in host order");
	tap_ok(netaddr_len(&a) == sizeof(struct sockaddr_in) &&
	           netaddr_len(&b) == sizeof(struct sockaddr_in6),
	       "lengths by family");
	tap_ok(netaddr_same_host(&a, &c), "same host, other port");
	tap_ok(!netaddr_same_host(&a, &b) && !netaddr_same_host(&a, &u), "other family differs");
	struct sockaddr_storage d = addr(AF_INET6, "2001:db8::2", 4460);
	tap_ok(!netaddr_same_host(&b, &d), "other IPv6 host differs");
	char small[8];
	netaddr_format(&b, small, sizeof(small));
	tap_ok(strlen(small) == sizeof(small) - 1, "a short buffer is cut, NUL-terminated");
	return tap_done();
}
