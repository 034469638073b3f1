/* conf/: ntp.conf parser. Every diagnostic text is checked here (STYLE §9). */
#include "conf/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

static struct conf C;
static struct conf_diags D;
static bool R;
static char dir[64];

static void reset(void)
{
	conf_free(&C);
	conf_diags_free(&D);
	conf_init(&C);
}

static void parse(const char *text)
{
	reset();
	R = conf_parse_string("t.conf", text, &C, &D);
}

static const char *dtext(size_t i)
{
	static char buf[CONF_PATH_MAX + CONF_DIAG_MAX + 64];

	return conf_diag_format(&D.v[i], buf, sizeof buf);
}

static void dump(void)
{
	size_t i;

	for (i = 0; i < D.n; i++)
		tap_diag("got: %s", dtext(i));
}

static bool has(const char *want)
{
	size_t i;

	for (i = 0; i < D.n; i++)
		if (!strcmp(dtext(i), want))
			return true;
	return false;
}

/* The text yields exactly one diagnostic, want, and the return value and
 * counters agree with its severity. */
static void expect1(const char *text, const char *want)
{
	bool err = strstr(want, ": error: ") != NULL;
	bool warn = strstr(want, ": warning: ") != NULL;
	bool ok;

	parse(text);
	ok = D.n == 1 && !strcmp(dtext(0), want) && R == !err && D.errors == (unsigned)err &&
	     D.warnings == (unsigned)warn;
	if (!tap_ok(ok, "%s", want))
		dump();
}

/* The text yields no diagnostic at all. */
static void clean(const char *text, const char *what)
{
	parse(text);
	if (!tap_ok(R && D.n == 0 && D.errors == 0 && D.warnings == 0, "clean: %s", what))
		dump();
}

/* strcat is banned (STYLE §7); this one knows the buffer size. */
static void append(char *buf, size_t cap, const char *s)
{
	size_t len = strlen(buf), n = strlen(s);

	if (len + n >= cap) {
		tap_ok(false, "test buffer too small");
		exit(1);
	}
	memcpy(buf + len, s, n + 1);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		tap_ok(false, "write %s: %s", path, strerror(errno));
		exit(1);
	}
}

static void write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s));
}

static const struct conf_restrict *find_restrict(int family, const char *addr, unsigned prefix,
						 bool is_default)
{
	uint8_t a[16] = {0};
	size_t i;

	if (addr && inet_pton(family, addr, a) != 1)
		return NULL;
	for (i = 0; i < C.n_restricts; i++) {
		const struct conf_restrict *r = &C.restricts[i];

		if (r->family == family && r->is_default == is_default && r->prefix == prefix &&
		    !memcmp(r->addr, a, 16))
			return r;
	}
	return NULL;
}

static void test_centos(void)
{
	static const char centos[] =
		"driftfile /var/lib/ntp/drift\n"
		"restrict default kod nomodify notrap nopeer noquery\n"
		"restrict -6 default kod nomodify notrap nopeer noquery\n"
		"restrict 127.0.0.1\n"
		"restrict -6 ::1\n"
		"#restrict 192.168.1.0 mask 255.255.255.0 nomodify notrap\n"
		"server 10.25.167.33\n"
		"#server 127.127.1.0     # local clock\n"
		"#fudge  127.127.1.0 stratum 10\n"
		"includefile /etc/ntp/crypto/pw\n"
		"keys /etc/ntp/keys\n";
	const uint32_t fl = CONF_RES_KOD | CONF_RES_NOMODIFY | CONF_RES_NOTRAP | CONF_RES_NOPEER |
			    CONF_RES_NOQUERY;
	char path[128], want[512];
	const struct conf_restrict *r;
	struct stat st;
	bool pw_missing = stat("/etc/ntp/crypto/pw", &st) != 0;

	snprintf(path, sizeof path, "%s/ntp.conf", dir);
	write_str(path, centos);
	reset();
	R = conf_parse_file(path, &C, &D);
	tap_ok(R && D.errors == 0, "centos: no error");
	snprintf(want, sizeof want,
		 "%s:10: warning: includefile /etc/ntp/crypto/pw: No such file or directory; skipped", path);
	if (pw_missing)
		tap_ok(D.n == 1 && D.warnings == 1 && has(want), "centos: only the includefile warning");
	else
		tap_ok(D.warnings == 0, "centos: no warning");
	if (D.n != (pw_missing ? 1u : 0u))
		dump();
	tap_ok(!strcmp(C.driftfile, "/var/lib/ntp/drift"), "centos: driftfile");
	tap_ok(!strcmp(C.keys, "/etc/ntp/keys"), "centos: keys");
	tap_ok(C.n_assocs == 1 && C.assocs[0].kind == CONF_ASSOC_SERVER &&
		       !strcmp(C.assocs[0].host, "10.25.167.33") && C.assocs[0].flags == 0 &&
		       C.assocs[0].minpoll == 6 && C.assocs[0].maxpoll == 10 && C.assocs[0].port == 0 &&
		       C.assocs[0].key == 0 && C.assocs[0].line == 7 && !strcmp(C.assocs[0].file, path),
	       "centos: one server 10.25.167.33, defaults");
	/* default (both families) + -6 default merge: 2 defaults, 2 hosts */
	tap_ok(C.n_restricts == 4, "centos: 4 restrict entries (got %zu)", C.n_restricts);
	tap_ok(C.has_default4 && C.has_default6, "centos: defaults for both families");
	r = find_restrict(AF_INET, NULL, 0, true);
	tap_ok(r && r->flags == fl && r->line == 2, "centos: IPv4 default flags");
	r = find_restrict(AF_INET6, NULL, 0, true);
	tap_ok(r && r->flags == fl && r->line == 2, "centos: IPv6 default flags (merged)");
	r = find_restrict(AF_INET, "127.0.0.1", 32, false);
	tap_ok(r && r->flags == 0 && r->mask[0] == 0xff && r->mask[3] == 0xff && r->line == 4,
	       "centos: 127.0.0.1/32 no flags");
	r = find_restrict(AF_INET6, "::1", 128, false);
	tap_ok(r && r->flags == 0 && r->mask[15] == 0xff, "centos: ::1/128 no flags");
	tap_ok(!C.local_enabled, "centos: no local clock");
	unlink(path);
}

static void test_assoc(void)
{
	const struct conf_assoc *a;

	parse("server a.example iburst prefer key 7 minpoll 4 maxpoll 8 version 3\n"
	      "pool pool.example burst noselect true port 1123\n"
	      "peer 2001:db8::1 nts ca /etc/ca.pem noval\n"
	      "server fe80::1%eth0\n");
	tap_ok(R && D.n == 0 && C.n_assocs == 4, "assoc: 4 parsed cleanly");
	if (D.n)
		dump();
	if (C.n_assocs != 4)
		return;
	a = &C.assocs[0];
	tap_ok(a->kind == CONF_ASSOC_SERVER && !strcmp(a->host, "a.example") &&
		       a->flags == (CONF_ASSOC_IBURST | CONF_ASSOC_PREFER) && a->key == 7 &&
		       a->minpoll == 4 && a->maxpoll == 8 && a->version == 3 && a->line == 1 &&
		       !strcmp(a->file, "t.conf"),
	       "assoc: server options");
	a = &C.assocs[1];
	tap_ok(a->kind == CONF_ASSOC_POOL && a->port == 1123 &&
		       a->flags == (CONF_ASSOC_BURST | CONF_ASSOC_NOSELECT | CONF_ASSOC_TRUE) &&
		       a->version == 0,
	       "assoc: pool options");
	a = &C.assocs[2];
	tap_ok(a->kind == CONF_ASSOC_PEER && !strcmp(a->host, "2001:db8::1") &&
		       a->flags == (CONF_ASSOC_NTS | CONF_ASSOC_NOVAL) && !strcmp(a->ca, "/etc/ca.pem"),
	       "assoc: peer with nts");
	tap_ok(!strcmp(C.assocs[3].host, "fe80::1%eth0"), "assoc: scoped IPv6");

	parse("server a maxpoll 4\nserver b minpoll 12\n");
	tap_ok(R && C.n_assocs == 2 && C.assocs[0].minpoll == 4 && C.assocs[0].maxpoll == 4 &&
		       C.assocs[1].minpoll == 12 && C.assocs[1].maxpoll == 12,
	       "assoc: one poll bound pulls the other default along");
	parse("server a minpoll 3 maxpoll 17\n");
	tap_ok(R && C.n_assocs == 1 && C.assocs[0].minpoll == 3 && C.assocs[0].maxpoll == 17,
	       "assoc: poll range limits accepted");

	expect1("server\n", "t.conf:1: error: server: missing host name or address");
	expect1("pool -4\n", "t.conf:1: error: pool: missing host name or address");
	expect1("server 10.0.0.1:123\n",
		"t.conf:1: error: server: invalid host '10.0.0.1:123'; expected a host name or a numeric address (use 'port N' for a port)");
	expect1("server bad/host\n",
		"t.conf:1: error: server: invalid host 'bad/host'; expected a host name or a numeric address (use 'port N' for a port)");
	expect1("server fe80::1%e$h\n",
		"t.conf:1: error: server: invalid host 'fe80::1%e$h'; expected a host name or a numeric address (use 'port N' for a port)");
	expect1("server fe80::1%\n",
		"t.conf:1: error: server: invalid host 'fe80::1%'; expected a host name or a numeric address (use 'port N' for a port)");
	expect1("server -6 a.example\n",
		"t.conf:1: note: server: '-6' is ignored; every address of the name is used");
	tap_ok(C.n_assocs == 1 && !strcmp(C.assocs[0].host, "a.example"), "assoc: -6 host still added");
	expect1("server a ibrust\n", "t.conf:1: error: server: unknown option 'ibrust' (did you mean 'iburst'?)");
	tap_ok(C.n_assocs == 0, "assoc: a line with an error adds nothing");
	expect1("peer a zzzzzz\n", "t.conf:1: error: peer: unknown option 'zzzzzz'");
	expect1("server a key 0\n",
		"t.conf:1: error: server key: '0' is out of range; expected an integer from 1 to 65535");
	expect1("server a key 65536\n",
		"t.conf:1: error: server key: '65536' is out of range; expected an integer from 1 to 65535");
	expect1("server a key\n",
		"t.conf:1: error: server key: missing value; expected an integer from 1 to 65535");
	expect1("server a key x1\n",
		"t.conf:1: error: server key: 'x1' is not a number; expected an integer from 1 to 65535");
	expect1("server a key -1\n",
		"t.conf:1: error: server key: '-1' is not a number; expected an integer from 1 to 65535");
	expect1("server a key 99999999999999999999999\n",
		"t.conf:1: error: server key: '99999999999999999999999' is not a number; expected an integer from 1 to 65535");
	expect1("server a minpoll 2\n",
		"t.conf:1: error: server minpoll: '2' is out of range; expected an integer from 3 to 17");
	expect1("server a maxpoll 18\n",
		"t.conf:1: error: server maxpoll: '18' is out of range; expected an integer from 3 to 17");
	expect1("server a version 5\n",
		"t.conf:1: error: server version: '5' is out of range; expected an integer from 1 to 4");
	expect1("server a port 0\n",
		"t.conf:1: error: server port: '0' is out of range; expected an integer from 1 to 65535");
	expect1("server a nts ca\n", "t.conf:1: error: server ca: missing file name");
	expect1("server a minpoll 9 maxpoll 7\n",
		"t.conf:1: error: server: minpoll 9 is greater than maxpoll 7; expected minpoll <= maxpoll");
	expect1("server a mode 5\n", "t.conf:1: warning: server: option 'mode' is not supported; ignored");
	tap_ok(C.n_assocs == 1, "assoc: ignored option keeps the server");
	expect1("server a xleave\n", "t.conf:1: warning: server: option 'xleave' is not supported; ignored");
	parse("server a ttl\n");
	tap_ok(!R && has("t.conf:1: warning: server: option 'ttl' is not supported; ignored") &&
		       has("t.conf:1: error: server: option 'ttl' needs a value") && D.n == 2,
	       "assoc: ignored option without its value");
	expect1("server a autokey\n", "t.conf:1: warning: server: autokey is not supported; use nts");
	expect1("server a ca /x\n", "t.conf:1: warning: server: 'ca' has no effect without 'nts'");
	expect1("server a noval\n", "t.conf:1: warning: server: 'noval' has no effect without 'nts'");
	parse("server a key x minpoll 99 ibrust\n");
	tap_ok(!R && D.errors == 3 && C.n_assocs == 0, "assoc: every bad option reported (3 errors)");
}

static void test_local(void)
{
	parse("server 127.127.1.0\n");
	tap_ok(R && D.n == 0 && C.local_enabled && C.local_stratum == 5 && C.n_assocs == 0,
	       "local: server 127.127.1.0 -> local clock at ntpd's stratum 5, no assoc");
	parse("fudge 127.127.1.0 stratum 10\nserver 127.127.1.0 minpoll 4\n");
	tap_ok(R && D.n == 0 && C.local_enabled && C.local_stratum == 10,
	       "local: fudge before server sets stratum 10");
	parse("server 127.127.1.1\nfudge 127.127.1.1 stratum 0\n");
	tap_ok(R && C.local_enabled && C.local_stratum == 0, "local: fudge stratum 0");
	parse("local\n");
	tap_ok(R && D.n == 0 && C.local_enabled && C.local_stratum == 10, "local: chrony default 10");
	parse("local stratum 3 orphan distance 0.5\n");
	tap_ok(R && D.n == 0 && C.local_enabled && C.local_stratum == 3, "local: chrony stratum 3");
	parse("local stratum 8\nserver 127.127.1.0\nfudge 127.127.1.0 stratum 2\n");
	tap_ok(R && C.local_enabled && C.local_stratum == 8, "local: chrony 'local' wins over fudge");
	clean("", "empty input");
	tap_ok(!C.local_enabled && C.local_stratum == 10, "local: off by default");

	expect1("server 127.127.20.0\n", "t.conf:1: warning: server 127.127.20.0: refclock type 20 not supported; ignored");
	tap_ok(C.n_assocs == 0 && !C.local_enabled, "local: other refclock ignored");
	expect1("pool 127.127.1.0\n", "t.conf:1: error: pool: 127.127.1.0 is a reference clock; use 'server'");
	expect1("fudge 127.127.1.0 stratum 3\n",
		"t.conf:1: warning: fudge 127.127.1.0: no 'server 127.127.1.0' line; ignored");
	tap_ok(!C.local_enabled, "local: fudge alone enables nothing");
	parse("server 127.127.1.0\nfudge 127.127.1.2 stratum 3\n");
	tap_ok(R && has("t.conf:2: warning: fudge 127.127.1.2: no 'server 127.127.1.2' line; ignored") &&
		       C.local_stratum == 5,
	       "local: fudge for another unit");
	expect1("fudge 10.0.0.1 stratum 3\n",
		"t.conf:1: error: fudge: '10.0.0.1' is not a reference clock address; expected 127.127.T.U");
	expect1("fudge\n", "t.conf:1: error: fudge: '' is not a reference clock address; expected 127.127.T.U");
	expect1("fudge 127.127.8.0 stratum 3\n",
		"t.conf:1: warning: fudge 127.127.8.0: refclock type 8 not supported; ignored");
	expect1("server 127.127.1.0\nfudge 127.127.1.0 stratum 16\n",
		"t.conf:2: error: fudge stratum: '16' is out of range; expected an integer from 0 to 15");
	expect1("server 127.127.1.0\nfudge 127.127.1.0 stratum\n", "t.conf:2: error: fudge: 'stratum' needs a value");
	expect1("server 127.127.1.0\nfudge 127.127.1.0 stratm 3\n",
		"t.conf:2: error: fudge: unknown option 'stratm' (did you mean 'stratum'?)");
	expect1("server 127.127.1.0\nfudge 127.127.1.0 time1 0.5\n",
		"t.conf:2: warning: fudge: 'time1' is not supported for the local clock; ignored");
	{
		char text[2048] = "server 127.127.1.0\n";
		int i;

		for (i = 0; i < 17; i++)
			append(text, sizeof text, "fudge 127.127.1.0 stratum 4\n");
		expect1(text, "t.conf:18: error: fudge: too many fudge lines (limit 16)");
	}
	expect1("local stratum 0\n",
		"t.conf:1: error: local stratum: '0' is out of range; expected an integer from 1 to 15");
	tap_ok(!C.local_enabled, "local: bad line enables nothing");
	expect1("local distance x\n",
		"t.conf:1: error: local distance: 'x' is not a number; expected a number from 0 to 16");
	expect1("local distance 17\n",
		"t.conf:1: error: local distance: '17' is out of range; expected a number from 0 to 16");
	expect1("local distance\n", "t.conf:1: error: local distance: missing value; expected a number from 0 to 16");
	expect1("local distance nan\n",
		"t.conf:1: error: local distance: 'nan' is not a number; expected a number from 0 to 16");
	expect1("local orpan\n", "t.conf:1: error: local: unknown option 'orpan' (did you mean 'orphan'?)");
}

static void test_restrict(void)
{
	const struct conf_restrict *r;

	parse("restrict -4 default ignore\n"
	      "restrict 192.168.1.0 mask 255.255.255.0 nomodify notrap limited\n"
	      "restrict 10.0.0.0/8 noserve version ntpport\n"
	      "restrict 2001:db8::/32 notrust nomrulist noepeer lowpriotrap\n"
	      "restrict -6 fe80:: mask ffff:ffff:ffff:ffff:: kod\n"
	      "restrict source nopeer\n"
	      "restrict 192.168.1.0 mask 255.255.255.0 noquery\n");
	tap_ok(R && D.n == 0, "restrict: clean");
	if (D.n)
		dump();
	tap_ok(C.n_restricts == 7, "restrict: 7 entries (got %zu)", C.n_restricts);
	tap_ok(C.has_default4 && !C.has_default6, "restrict: -4 default is IPv4 only");
	r = find_restrict(AF_INET, NULL, 0, true);
	tap_ok(r && r->flags == CONF_RES_IGNORE, "restrict: -4 default ignore");
	r = find_restrict(AF_INET, "192.168.1.0", 24, false);
	tap_ok(r && r->flags == (CONF_RES_NOMODIFY | CONF_RES_NOTRAP | CONF_RES_LIMITED | CONF_RES_NOQUERY) &&
		       r->mask[2] == 0xff && r->mask[3] == 0 && r->line == 2,
	       "restrict: mask, and a repeated line merges its flags");
	r = find_restrict(AF_INET, "10.0.0.0", 8, false);
	tap_ok(r && r->flags == (CONF_RES_NOSERVE | CONF_RES_VERSION | CONF_RES_NTPPORT) && r->mask[0] == 0xff &&
		       r->mask[1] == 0,
	       "restrict: IPv4 CIDR");
	r = find_restrict(AF_INET6, "2001:db8::", 32, false);
	tap_ok(r && r->flags == (CONF_RES_NOTRUST | CONF_RES_NOMRULIST | CONF_RES_NOEPEER | CONF_RES_LOWPRIOTRAP) &&
		       r->mask[3] == 0xff && r->mask[4] == 0,
	       "restrict: IPv6 CIDR");
	r = find_restrict(AF_INET6, "fe80::", 64, false);
	tap_ok(r && r->flags == CONF_RES_KOD, "restrict: IPv6 mask");
	r = NULL;
	for (size_t i = 0; i < C.n_restricts; i++)
		if (C.restricts[i].is_source && C.restricts[i].family == AF_INET6)
			r = &C.restricts[i];
	tap_ok(r && r->flags == CONF_RES_NOPEER && r->prefix == 128, "restrict: source, IPv6 entry");

	parse("restrict default nopeer\nrestrict -6 default noquery\n");
	r = find_restrict(AF_INET, NULL, 0, true);
	tap_ok(r && r->flags == CONF_RES_NOPEER, "restrict: default -> IPv4 nopeer");
	r = find_restrict(AF_INET6, NULL, 0, true);
	tap_ok(r && r->flags == (CONF_RES_NOPEER | CONF_RES_NOQUERY) && C.n_restricts == 2,
	       "restrict: -6 default merges into the IPv6 default");
	parse("restrict 10.0.0.1\nrestrict 10.0.0.1 ntpport\n");
	tap_ok(C.n_restricts == 2, "restrict: ntpport entries are distinct from plain ones");
	parse("restrict 0.0.0.0/0 kod\n");
	r = find_restrict(AF_INET, "0.0.0.0", 0, false);
	tap_ok(R && r && r->flags == CONF_RES_KOD, "restrict: /0 prefix");

	expect1("restrict 10.1.2.3 mask 255.255.0.0\n",
		"t.conf:1: warning: restrict: address '10.1.2.3' has bits outside the mask; using 10.1.0.0/16");
	r = find_restrict(AF_INET, "10.1.0.0", 16, false);
	tap_ok(r != NULL, "restrict: address masked");
	expect1("restrict 2001:db8::1/32\n",
		"t.conf:1: warning: restrict: address '2001:db8::1/32' has bits outside the mask; using 2001:db8::/32");
	expect1("restrict\n", "t.conf:1: error: restrict: missing address; expected 'default', 'source' or an address");
	expect1("restrict -6\n", "t.conf:1: error: restrict: missing address; expected 'default', 'source' or an address");
	expect1("restrict ntp.example.com nomodify\n",
		"t.conf:1: warning: restrict ntp.example.com: host names are not resolved; use an address (line ignored)");
	tap_ok(C.n_restricts == 0, "restrict: host name line ignored");
	expect1("restrict 10.0.0.256\n",
		"t.conf:1: error: restrict: bad address '10.0.0.256'; expected an IPv4 or IPv6 address, optionally with /PREFIX");
	expect1("restrict 2001:db8:::1\n",
		"t.conf:1: error: restrict: bad address '2001:db8:::1'; expected an IPv4 or IPv6 address, optionally with /PREFIX");
	expect1("restrict host/8\n",
		"t.conf:1: error: restrict: bad address 'host/8'; expected an IPv4 or IPv6 address, optionally with /PREFIX");
	expect1("restrict 10.0.0.0/33\n",
		"t.conf:1: error: restrict prefix: '33' is out of range; expected an integer from 0 to 32");
	expect1("restrict ::/129\n",
		"t.conf:1: error: restrict prefix: '129' is out of range; expected an integer from 0 to 128");
	expect1("restrict 10.0.0.0/\n",
		"t.conf:1: error: restrict prefix: '' is not a number; expected an integer from 0 to 32");
	expect1("restrict -4 ::1\n", "t.conf:1: error: restrict: '::1' is not an IPv4 address but -4 was given");
	expect1("restrict -6 127.0.0.1\n",
		"t.conf:1: error: restrict: '127.0.0.1' is not an IPv6 address but -6 was given");
	expect1("restrict 10.0.0.0 mask\n",
		"t.conf:1: error: restrict: 'mask' needs a value; expected a mask such as 255.255.255.0");
	expect1("restrict 10.0.0.0 mask 255.0.255.0\n",
		"t.conf:1: error: restrict: mask '255.0.255.0' is not contiguous; expected one bits followed by zero bits");
	tap_ok(C.n_restricts == 0, "restrict: bad mask adds nothing");
	expect1("restrict ::1 mask ffff::ffff\n",
		"t.conf:1: error: restrict: mask 'ffff::ffff' is not contiguous; expected one bits followed by zero bits");
	expect1("restrict 10.0.0.0 mask ffff::\n",
		"t.conf:1: error: restrict: bad mask 'ffff::'; expected an IPv4 mask such as 255.255.255.0");
	expect1("restrict ::1 mask 255.0.0.0\n",
		"t.conf:1: error: restrict: bad mask '255.0.0.0'; expected an IPv6 mask such as ffff:ffff:ffff:ffff::");
	expect1("restrict default mask 0.0.0.0\n", "t.conf:1: error: restrict: 'mask' cannot be used with 'default'");
	expect1("restrict 10.0.0.0/8 mask 255.0.0.0\n",
		"t.conf:1: error: restrict: more than one mask or /PREFIX for '10.0.0.0/8'");
	expect1("restrict default nomodfy\n",
		"t.conf:1: error: restrict: unknown flag 'nomodfy' (did you mean 'nomodify'?)");
	tap_ok(!C.has_default4 && C.n_restricts == 0, "restrict: line with bad flag adds nothing");
	expect1("restrict default bogusflag\n", "t.conf:1: error: restrict: unknown flag 'bogusflag'");
	expect1("restrict default flake\n", "t.conf:1: warning: restrict: flag 'flake' is not supported; ignored");
	tap_ok(C.has_default4 && C.has_default6, "restrict: unsupported flag keeps the line");
	expect1("restrict default mssntp\n", "t.conf:1: warning: restrict: flag 'mssntp' is not supported; ignored");
	expect1("restrict default interface\n",
		"t.conf:1: warning: restrict: flag 'interface' is not supported; ignored");
	expect1("restrict default ippeerlimit 2 kod\n",
		"t.conf:1: warning: restrict: flag 'ippeerlimit' is not supported; ignored");
	tap_ok(C.n_restricts == 2 && C.restricts[0].flags == CONF_RES_KOD, "restrict: ippeerlimit value skipped");
	parse("restrict default serverresponse\n");
	tap_ok(!R && has("t.conf:1: error: restrict: 'serverresponse' needs a value"), "restrict: value missing");
	{
		/* CONF_RESTRICTS_MAX distinct entries, then one more */
		size_t cap = (CONF_RESTRICTS_MAX + 1) * 32, len = 0;
		char *text = malloc(cap);
		int i;

		for (i = 0; i <= CONF_RESTRICTS_MAX; i++)
			len += (size_t)snprintf(text + len, cap - len, "restrict 10.%d.%d.0/24\n", i / 256, i % 256);
		expect1(text, "t.conf:4097: error: restrict: too many entries (limit 4096)");
		tap_ok(C.n_restricts == CONF_RESTRICTS_MAX, "restrict: stops at the limit");
		free(text);
	}
}

static void test_keys(void)
{
	parse("keys /etc/ntp.keys\ntrustedkey 1 4 (10 ... 12) 20-21 (30...31) 65535\ncontrolkey 9\n");
	tap_ok(R && D.n == 0 && !strcmp(C.keys, "/etc/ntp.keys") && C.controlkey == 9, "keys: parsed");
	tap_ok(conf_key_trusted(&C, 1) && !conf_key_trusted(&C, 2) && conf_key_trusted(&C, 4) &&
		       !conf_key_trusted(&C, 9) && conf_key_trusted(&C, 10) && conf_key_trusted(&C, 11) &&
		       conf_key_trusted(&C, 12) && !conf_key_trusted(&C, 13) && conf_key_trusted(&C, 20) &&
		       conf_key_trusted(&C, 21) && !conf_key_trusted(&C, 22) && conf_key_trusted(&C, 30) &&
		       conf_key_trusted(&C, 31) && conf_key_trusted(&C, 65535),
	       "keys: trustedkey ids and ranges");
	tap_ok(!conf_key_trusted(&C, 0) && !conf_key_trusted(&C, 65536) && !conf_key_trusted(&C, UINT32_MAX),
	       "keys: ids outside 1..65535 never trusted");
	expect1("requestkey 5\n", "t.conf:1: note: requestkey: mode 7 requests are never answered; key 5 unused");
	tap_ok(R && C.requestkey == 5, "keys: requestkey stored, note does not fail");
	expect1("trustedkey\n", "t.conf:1: error: trustedkey: missing key id; expected an integer from 1 to 65535");
	expect1("trustedkey 1 0\n",
		"t.conf:1: error: trustedkey: '0' is out of range; expected an integer from 1 to 65535");
	tap_ok(!conf_key_trusted(&C, 1), "keys: a bad trustedkey line trusts nothing");
	expect1("trustedkey (1 ... 70000)\n",
		"t.conf:1: error: trustedkey: '70000' is out of range; expected an integer from 1 to 65535");
	expect1("trustedkey (5 ... 2)\n", "t.conf:1: error: trustedkey: empty range 5 to 2; FIRST must not exceed LAST");
	expect1("trustedkey 9-3\n", "t.conf:1: error: trustedkey: empty range 9 to 3; FIRST must not exceed LAST");
	expect1("trustedkey 1 (2 .. 3)\n",
		"t.conf:1: error: trustedkey: bad key list at '(2'; expected key ids, (FIRST ... LAST) or FIRST-LAST");
	expect1("trustedkey (2 ... 3\n",
		"t.conf:1: error: trustedkey: bad key list at '(2'; expected key ids, (FIRST ... LAST) or FIRST-LAST");
	expect1("trustedkey 3x\n",
		"t.conf:1: error: trustedkey: bad key list at '3x'; expected key ids, (FIRST ... LAST) or FIRST-LAST");
	expect1("trustedkey 3-\n",
		"t.conf:1: error: trustedkey: bad key list at '3-'; expected key ids, (FIRST ... LAST) or FIRST-LAST");
	expect1("trustedkey abc\n",
		"t.conf:1: error: trustedkey: bad key list at 'abc'; expected key ids, (FIRST ... LAST) or FIRST-LAST");
	expect1("controlkey 0\n",
		"t.conf:1: error: controlkey: '0' is out of range; expected an integer from 1 to 65535");
	expect1("controlkey\n", "t.conf:1: error: controlkey: missing value; expected an integer from 1 to 65535");
	expect1("controlkey 1 2\n", "t.conf:1: error: controlkey: unexpected argument '2'");
	expect1("keys\n", "t.conf:1: error: keys: missing file name");
}

static void test_paths(void)
{
	char *text = malloc(CONF_PATH_MAX + 64);

	parse("driftfile /d\nlogfile /l\npidfile /p\nstatsdir /s/\nstatistics loopstats peerstats\n"
	      "filegen loopstats file loopstats type day enable\ndriftfile \"/with space#x\"\n");
	tap_ok(R && D.n == 0 && !strcmp(C.driftfile, "/with space#x") && !strcmp(C.logfile, "/l") &&
		       !strcmp(C.pidfile, "/p") && !strcmp(C.statsdir, "/s/"),
	       "paths: parsed, quoted path with blank and #");
	expect1("driftfile /d 1e-7\n", "t.conf:1: warning: driftfile: the wander threshold is not supported; ignored");
	tap_ok(!strcmp(C.driftfile, "/d"), "paths: driftfile with threshold");
	expect1("driftfile /d x\n",
		"t.conf:1: error: driftfile wander threshold: 'x' is not a number; expected a number from 0 to 1");
	expect1("logfile /a /b\n", "t.conf:1: error: logfile: unexpected argument '/b'");
	tap_ok(C.logfile[0] == '\0', "paths: bad line stores nothing");
	expect1("pidfile \"\"\n", "t.conf:1: error: pidfile: missing file name");
	memcpy(text, "statsdir /", 10);
	memset(text + 10, 'a', CONF_PATH_MAX);
	memcpy(text + 10 + CONF_PATH_MAX, "\n", 2);
	parse(text);
	tap_ok(!R && D.n == 1 && !strcmp(dtext(0), "t.conf:1: error: line is longer than 1024 bytes; line ignored"),
	       "paths: long line is an error, not truncated");
	expect1("driftfile \"/unterminated\n", "t.conf:1: error: unterminated quoted string; line ignored");
	parse("leapfile /usr/share/zoneinfo/leap-seconds.list\n");
	tap_ok(R && D.n == 0 && !strcmp(C.leapfile, "/usr/share/zoneinfo/leap-seconds.list"),
	       "paths: leapfile (ntpd, NTPsec)");
	parse("leapseclist /l.list\n");
	tap_ok(R && D.n == 0 && !strcmp(C.leapfile, "/l.list"), "paths: leapseclist (chrony)");
	expect1("leapfile\n", "t.conf:1: error: leapfile: missing file name");
	parse("metrics 127.0.0.1:9975\n");
	tap_ok(R && D.n == 0 && !strcmp(C.metrics_addr, "127.0.0.1") && C.metrics_port == 9975,
	       "metrics: IPv4 loopback and port");
	parse("metrics [::1]:9100\n");
	tap_ok(R && D.n == 0 && !strcmp(C.metrics_addr, "::1") && C.metrics_port == 9100,
	       "metrics: [IPv6]:port");
	expect1("metrics 0.0.0.0:9975\n", "t.conf:1: warning: metrics: 0.0.0.0:9975 is not a loopback "
		"address: anyone who reaches it can read the server's counters; restrict it with a firewall");
	expect1("metrics localhost:9975\n", "t.conf:1: error: metrics: 'localhost:9975' is not a numeric "
		"address and port; expected ADDRESS:PORT, e.g. 127.0.0.1:9975 or [::1]:9975");
	expect1("metrics ::1:9975\n", "t.conf:1: error: metrics: '::1:9975' is not a numeric address and "
		"port; expected ADDRESS:PORT, e.g. 127.0.0.1:9975 or [::1]:9975");
	expect1("metrics 127.0.0.1:0\n",
		"t.conf:1: error: metrics port: '0' is out of range; expected an integer from 1 to 65535");
	expect1("metrics\n", "t.conf:1: error: metrics: missing address; expected ADDRESS:PORT, e.g. "
		"127.0.0.1:9975 or [::1]:9975");
	free(text);
}

static void test_misc(void)
{
	parse("discard average 5 minimum 1 monitor 3000\n");
	tap_ok(R && D.n == 0 && C.discard_average == 5 && C.discard_minimum == 1, "discard: parsed");
	parse("");
	tap_ok(C.discard_average == 3 && C.discard_minimum == 2 && C.port == 123 && C.nts_port == 4460 &&
		       C.tos_minsane == 1 && C.tos_orphan == 0 && !C.disable_ntp,
	       "defaults");
	expect1("discard\n", "t.conf:1: error: discard: missing option; expected 'average', 'minimum' or 'monitor'");
	expect1("discard average 17\n",
		"t.conf:1: error: discard average: '17' is out of range; expected an integer from 0 to 16");
	expect1("discard minimum 61\n",
		"t.conf:1: error: discard minimum: '61' is out of range; expected an integer from 0 to 60");
	expect1("discard minimum 5 averag 4\n",
		"t.conf:1: error: discard: unknown option 'averag' (did you mean 'average'?)");
	tap_ok(C.discard_minimum == 2, "discard: bad line changes nothing");
	expect1("discard monitor\n",
		"t.conf:1: error: discard monitor: missing value; expected an integer from 0 to 1000000");

	parse("tos minsane 3 maxdist 2.5 orphan 12 minclock 3 maxclock 10 mindist 0.01 cohort 1 basedate 2020-01-01\n");
	tap_ok(R && D.n == 0 && C.tos_minsane == 3 && C.tos_maxdist_set && C.tos_maxdist == 2.5 &&
		       C.tos_orphan == 12,
	       "tos: parsed");
	expect1("tos\n", "t.conf:1: error: tos: missing option; expected NAME VALUE pairs such as 'minsane 3'");
	expect1("tos minsane 0\n", "t.conf:1: error: tos minsane: '0' is out of range; expected an integer from 1 to 15");
	expect1("tos maxdist 0\n", "t.conf:1: error: tos maxdist: '0' is out of range; expected a number from 0.001 to 16");
	expect1("tos orphan 16\n", "t.conf:1: error: tos orphan: '16' is out of range; expected an integer from 1 to 15");
	expect1("tos minsan 2\n", "t.conf:1: error: tos: unknown option 'minsan' (did you mean 'minsane'?)");
	expect1("tos basedate\n", "t.conf:1: error: tos basedate: missing value; expected a date YYYY-MM-DD");

	parse("disable ntp monitor\nenable auth kernel stats calibrate pps bclient mode7\n");
	tap_ok(R && D.n == 0 && C.disable_ntp && C.disable_monitor, "disable ntp monitor");
	parse("disable ntp\nenable ntp\n");
	tap_ok(R && !C.disable_ntp, "enable ntp after disable");
	expect1("disable\n", "t.conf:1: error: disable: missing flag; expected ntp, monitor, auth, kernel, stats, ...");
	expect1("enable montor\n", "t.conf:1: error: enable: unknown flag 'montor' (did you mean 'monitor'?)");

	parse("port 1123\n");
	tap_ok(R && C.port == 1123, "port");
	expect1("port 65536\n", "t.conf:1: error: port: '65536' is out of range; expected an integer from 1 to 65535");
	expect1("port 1 2\n", "t.conf:1: error: port: unexpected argument '2'");

	parse("interface listen 192.0.2.1\ninterface listen eth0\nnic listen ipv6\ninterface listen all\n");
	tap_ok(R && D.n == 0 && C.n_listen == 5 && !strcmp(C.listen[0].addr, "192.0.2.1") &&
		       !strcmp(C.listen[1].addr, "eth0") && !strcmp(C.listen[2].addr, "::") &&
		       !strcmp(C.listen[3].addr, "0.0.0.0") && !strcmp(C.listen[4].addr, "::") &&
		       C.listen[1].line == 2,
	       "interface listen");
	expect1("interface listen\n",
		"t.conf:1: error: interface: expected 'listen', 'ignore' or 'drop' and an address, interface name, 'all', 'ipv4' or 'ipv6'");
	expect1("interface lisen eth0\n",
		"t.conf:1: error: interface: unknown action 'lisen' (did you mean 'listen'?)");
	expect1("interface ignore wildcard\n",
		"t.conf:1: warning: interface ignore: only 'interface listen' is honored; ignored");
	tap_ok(C.n_listen == 0, "interface ignore adds nothing");
	expect1("nic listen 10.0.0.300\n",
		"t.conf:1: error: nic: bad address or interface name '10.0.0.300'; expected an address, an interface name, 'all', 'ipv4' or 'ipv6'");
	expect1("interface listen eth0 eth1\n", "t.conf:1: error: interface: unexpected argument 'eth1'");
	{
		char text[4096] = "";
		int i;

		for (i = 0; i <= CONF_LISTEN_MAX; i++)
			append(text, sizeof text, "interface listen eth0\n");
		expect1(text, "t.conf:65: error: interface: too many listen entries (limit 64)");
	}
}

static void test_nts(void)
{
	parse("nts enable\nnts key /k.pem\nnts cert /c.pem\nnts cookie /cookie\nnts ca /ca\n"
	      "nts port 4461 mintls TLS1.3 maxtls tlsv1.3\nnts aead AES_SIV_CMAC_512, aes_siv_cmac_256\n"
	      "nts ntpserver ntp.example ntpport 1234\nnts rotate 3600\n");
	tap_ok(R && D.n == 0, "nts: clean");
	if (D.n)
		dump();
	tap_ok(C.nts_enable && !strcmp(C.nts_key, "/k.pem") && !strcmp(C.nts_cert, "/c.pem") &&
		       !strcmp(C.nts_cookie, "/cookie") && !strcmp(C.nts_ca, "/ca") && C.nts_port == 4461 &&
		       !strcmp(C.nts_mintls, "TLS1.3") && !strcmp(C.nts_aead, "AES_SIV_CMAC_512,AES_SIV_CMAC_256") &&
		       !strcmp(C.nts_ntp_server, "ntp.example") && C.nts_ntp_port == 1234 &&
		       C.nts_rotate == 3600,
	       "nts: values");
	parse("nts enable\nnts disable\nnts aead AES_SIV_CMAC_384 port 99\n");
	tap_ok(R && !C.nts_enable && !strcmp(C.nts_aead, "AES_SIV_CMAC_384") && C.nts_port == 99,
	       "nts: disable; aead list ends at the next option");
	expect1("nts\n", "t.conf:1: error: nts: missing option; expected enable, key, cert, ca, port, ...");
	expect1("nts mintls TLS1.2\n", "t.conf:1: error: nts mintls: NTS requires TLS 1.3; use TLS1.3");
	expect1("nts mintls\n", "t.conf:1: error: nts mintls: missing value; expected TLS1.3");
	expect1("nts maxtls TLS9\n", "t.conf:1: error: nts maxtls: unknown TLS version 'TLS9'; expected TLS1.3");
	expect1("nts aead AES_SIV_CMAC_256,AES_GCM\n",
		"t.conf:1: error: nts aead: unknown algorithm 'AES_GCM'; expected AES_SIV_CMAC_256, AES_SIV_CMAC_384 or AES_SIV_CMAC_512");
	tap_ok(C.nts_aead[0] == '\0', "nts: bad aead list stores nothing");
	expect1("nts aead\n",
		"t.conf:1: error: nts aead: missing value; expected AES_SIV_CMAC_256, AES_SIV_CMAC_384 or AES_SIV_CMAC_512");
	expect1("nts aead AES_SIV_CMAC_256 AES_SIV_CMAC_256 AES_SIV_CMAC_256 AES_SIV_CMAC_256 AES_SIV_CMAC_256 "
		"AES_SIV_CMAC_256 AES_SIV_CMAC_256 AES_SIV_CMAC_256\n",
		"t.conf:1: error: nts aead: list is too long");
	expect1("nts port 0\n", "t.conf:1: error: nts port: '0' is out of range; expected an integer from 1 to 65535");
	expect1("nts rotate 60\n", "t.conf:1: error: nts rotate: '60' is out of range; expected an integer from 3600 to 31536000");
	expect1("nts ntpport x\n", "t.conf:1: error: nts ntpport: 'x' is not a number; expected an integer from 1 to 65535");
	expect1("nts key\n", "t.conf:1: error: nts key: missing file name");
	expect1("nts ntpserver a:b\n", "t.conf:1: error: nts ntpserver: bad host 'a:b'; expected a host name or address");
	expect1("nts ntpserver\n", "t.conf:1: error: nts ntpserver: bad host ''; expected a host name or address");
	expect1("nts tlsciphersuites TLS_AES_256_GCM_SHA384\n",
		"t.conf:1: note: nts tlsciphersuites: the TLS library's defaults are used; ignored");
	expect1("nts tlsecdhcurves X25519\n",
		"t.conf:1: note: nts tlsecdhcurves: the TLS library's defaults are used; ignored");
	expect1("nts tlsecdhcurves\n", "t.conf:1: error: nts tlsecdhcurves: missing value");
	expect1("nts enabel\n", "t.conf:1: error: nts: unknown option 'enabel' (did you mean 'enable'?)");
}

static void test_unsupported(void)
{
	static const char *const cases[][2] = {
		{"broadcast 192.0.2.255", "'broadcast' is not supported; clients should use 'server' or 'pool'"},
		{"broadcastclient", "'broadcastclient' is not supported; use 'server' or 'pool'"},
		{"manycastserver 239.1.1.1", "'manycastserver' is not supported; clients should use 'server' or 'pool'"},
		{"manycastclient 239.1.1.1", "'manycastclient' is not supported; use 'pool'"},
		{"multicastclient", "'multicastclient' is not supported; use 'server' or 'pool'"},
		{"crypto pw secret", "'crypto' (autokey) is not supported; use 'server ... nts'"},
		{"revoke 17", "'revoke' (autokey) is not supported; use 'server ... nts'"},
		{"keysdir /etc/ntp", "'keysdir' (autokey) is not supported; use 'server ... nts'"},
		{"automax 12", "'automax' (autokey) is not supported; use 'server ... nts'"},
		{"ident x", "'ident' (autokey) is not supported; use 'server ... nts'"},
		{"setvar a = b", "'setvar' is not supported; ignored"},
		{"trap 192.0.2.1", "'trap' is not supported; ignored"},
		{"phone 123", "'phone' (modem reference clock) is not supported; ignored"},
		{"mdnstries 5", "'mdnstries' is not supported; ignored"},
		{"ttl 1 2", "'ttl' (broadcast and manycast) is not supported; ignored"},
		{"rlimit memlock 32", "'rlimit' is not supported; ignored"},
		{"dscp 46", "'dscp' is not supported; ignored"},
		{"leapsmearinterval 86400", "'leapsmearinterval' is not supported; leap seconds are not smeared"},
		{"nonvolatile 1e-7", "'nonvolatile' is not supported; ignored"},
		{"tinker panic 0", "'tinker' is not supported; the defaults are used"},
		{"refclock shm unit 0", "'refclock' is not supported; use 'local stratum N' for the local clock"},
		{"logconfig =syncall", "'logconfig' is not supported; ignored"},
		{"saveconfigdir /tmp", "'saveconfigdir' is not supported; ignored"},
		{"mru maxmem 1024", "'mru' is not supported; ignored"},
		{"limit average 1", "'limit' is not supported; use 'discard'"},
		{"calldelay 5", "'calldelay' is not supported; ignored"},
		{"ntpsigndsocket /x", "'ntpsigndsocket' (MS-SNTP) is not supported; ignored"},
		{"device 1 /dev/x", "'device' (reference clocks) is not supported; ignored"},
		{"unpeer 1", "'unpeer' is not supported; remove the 'server' line"},
	};
	char text[128], want[256];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, "%s\n", cases[i][0]);
		snprintf(want, sizeof want, "t.conf:1: warning: %s", cases[i][1]);
		expect1(text, want);
	}
	expect1("sever a\n", "t.conf:1: error: unknown directive 'sever' (did you mean 'server'?)");
	expect1("restirct default\n", "t.conf:1: error: unknown directive 'restirct' (did you mean 'restrict'?)");
	expect1("trustedkeys 1\n", "t.conf:1: error: unknown directive 'trustedkeys' (did you mean 'trustedkey'?)");
	expect1("brodcast x\n", "t.conf:1: error: unknown directive 'brodcast' (did you mean 'broadcast'?)");
	expect1("frobnicate\n", "t.conf:1: error: unknown directive 'frobnicate'");
	expect1("x\n", "t.conf:1: error: unknown directive 'x'");
	expect1("bad\x01word\n", "t.conf:1: error: unknown directive 'bad?word'");
}

static void test_lexing(void)
{
	const char text[] = "# comment\n\n   \t\nserver a#comment\r\nserver b iburst # x\r\n\"server\" \"c\"\nserver d";

	parse(text);
	tap_ok(R && D.n == 0 && C.n_assocs == 4 && !strcmp(C.assocs[0].host, "a") &&
		       C.assocs[1].flags == CONF_ASSOC_IBURST && !strcmp(C.assocs[2].host, "c") &&
		       !strcmp(C.assocs[3].host, "d") && C.assocs[3].line == 7,
	       "lexing: comments, blank lines, CRLF, quotes, no final newline");
	parse("sever a\nserver b\nfoo\nrestrict default nomodfy\n");
	tap_ok(!R && D.errors == 3 && C.n_assocs == 1 && D.n == 3 && D.v[2].line == 4,
	       "every error is reported, parsing goes on");
	{
		/* exactly CONF_LINE_MAX bytes is fine, one more is not */
		char *t = malloc(CONF_LINE_MAX + 16);

		memset(t, ' ', CONF_LINE_MAX + 1);
		memcpy(t, "port 5", 6);
		memcpy(t + CONF_LINE_MAX, "\r\n", 3);
		parse(t);
		tap_ok(R && D.n == 0 && C.port == 5, "lexing: %d-byte line with CRLF accepted", CONF_LINE_MAX);
		memset(t, ' ', CONF_LINE_MAX + 1);
		memcpy(t, "port 5", 6);
		memcpy(t + CONF_LINE_MAX + 1, "\n", 2);
		expect1(t, "t.conf:1: error: line is longer than 1024 bytes; line ignored");
		free(t);
	}
	{
		/* more diagnostics than are stored */
		char *t = malloc(CONF_DIAGS_MAX * 8 + 16);
		size_t i;

		t[0] = '\0';
		for (i = 0; i < CONF_DIAGS_MAX + 50; i++)
			append(t, CONF_DIAGS_MAX * 8 + 16, "bogus\n");
		parse(t);
		tap_ok(!R && D.errors == CONF_DIAGS_MAX + 50 && D.n == CONF_DIAGS_MAX &&
			       !strcmp(dtext(D.n - 1), "t.conf:200: note: too many diagnostics; the rest are not shown") &&
			       !strcmp(dtext(0), "t.conf:1: error: unknown directive 'bogus'"),
		       "diagnostics are capped, errors still counted");
		free(t);
	}
	{
		/* CONF_ASSOCS_MAX */
		char *t = malloc((CONF_ASSOCS_MAX + 1) * 16);
		int i;

		t[0] = '\0';
		for (i = 0; i <= CONF_ASSOCS_MAX; i++)
			append(t, (CONF_ASSOCS_MAX + 1) * 16, "pool p.example\n");
		expect1(t, "t.conf:257: error: pool: too many servers, pools and peers (limit 256)");
		tap_ok(C.n_assocs == CONF_ASSOCS_MAX, "assoc limit");
		free(t);
	}
}

static void test_format(void)
{
	struct conf_diag d = {.severity = CONF_WARNING, .line = 0};
	char out[64];

	snprintf(d.file, sizeof d.file, "/etc/ntp.conf");
	snprintf(d.msg, sizeof d.msg, "m");
	tap_ok(!strcmp(conf_diag_format(&d, out, sizeof out), "/etc/ntp.conf: warning: m"), "format: line 0");
	d.line = 7;
	d.severity = CONF_ERROR;
	tap_ok(!strcmp(conf_diag_format(&d, out, sizeof out), "/etc/ntp.conf:7: error: m"), "format: error");
	tap_ok(!strcmp(conf_diag_format(&d, out, 8), "/etc/nt"), "format: truncated and terminated");
	out[0] = 'x';
	tap_ok(conf_diag_format(&d, out, 0) == out && out[0] == 'x', "format: outlen 0 writes nothing");
}

static void test_files(void)
{
	char top[128], a[128], b[128], loop[128], big[128], want[1024], text[512], nul[128], sub[128];
	char *buf;
	const size_t bigsize = CONF_FILE_MAX + 1;

	snprintf(sub, sizeof sub, "%s/sub", dir);
	mkdir(sub, 0700);
	snprintf(top, sizeof top, "%s/top.conf", dir);
	snprintf(a, sizeof a, "%s/sub/a.conf", dir);
	snprintf(b, sizeof b, "%s/sub/b.conf", dir);
	/* relative includes resolve against the including file's directory */
	write_str(top, "server top\nincludefile sub/a.conf\nserver after\n");
	write_str(a, "server in-a\nincludefile b.conf\n");
	write_str(b, "server in-b\nbogus\n");
	reset();
	R = conf_parse_file(top, &C, &D);
	snprintf(want, sizeof want, "%s:2: error: unknown directive 'bogus'", b);
	tap_ok(!R && D.n == 1 && !strcmp(dtext(0), want), "include: error names the included file and line");
	tap_ok(C.n_assocs == 4 && !strcmp(C.assocs[1].host, "in-a") && !strcmp(C.assocs[2].host, "in-b") &&
		       !strcmp(C.assocs[2].file, b) && C.assocs[2].line == 1 && !strcmp(C.assocs[3].host, "after") &&
		       !strcmp(C.assocs[3].file, top) && C.assocs[3].line == 3,
	       "include: parsed in place, file and line restored after");

	/* a file including itself: exactly one error at depth 5 */
	snprintf(loop, sizeof loop, "%s/loop.conf", dir);
	write_str(loop, "server l\nincludefile loop.conf\n");
	reset();
	R = conf_parse_file(loop, &C, &D);
	snprintf(want, sizeof want,
		 "%s:2: error: includefile loop.conf: nested more than 5 levels deep (include loop?)", loop);
	tap_ok(!R && D.n == 1 && !strcmp(dtext(0), want) && C.n_assocs == CONF_INCLUDE_MAX + 1,
	       "include: loop stops after %d levels", CONF_INCLUDE_MAX);
	if (D.n != 1)
		dump();

	snprintf(text, sizeof text, "includefile %s/none.conf\n", dir);
	snprintf(want, sizeof want, "t.conf:1: warning: includefile %s/none.conf: No such file or directory; skipped",
		 dir);
	expect1(text, want);
	snprintf(text, sizeof text, "includefile %s\n", sub);
	snprintf(want, sizeof want, "t.conf:1: error: includefile %s: Is a directory", sub);
	expect1(text, want);
	expect1("includefile\n", "t.conf:1: error: includefile: missing file name");
	expect1("includefile a b\n", "t.conf:1: error: includefile: unexpected argument 'b'");
	{
		/* a relative name joined to a long directory overflows */
		static char name[CONF_PATH_MAX + 16], line[256];

		memset(name, 'd', CONF_PATH_MAX - 10);
		memcpy(name + CONF_PATH_MAX - 10, "/x.conf", 8);
		reset();
		snprintf(line, sizeof line, "includefile %s\n", "abcdefghijklmnop");
		R = conf_parse_string(name, line, &C, &D);
		tap_ok(!R && D.n == 1 && strstr(dtext(0), ":1: error: includefile: path is longer than 4095 bytes"),
		       "include: over-long path");
	}

	/* the top file: missing, too big, NUL byte */
	snprintf(text, sizeof text, "%s/missing.conf", dir);
	reset();
	R = conf_parse_file(text, &C, &D);
	snprintf(want, sizeof want, "%s: error: cannot read file: No such file or directory", text);
	tap_ok(!R && D.n == 1 && D.v[0].line == 0 && !strcmp(dtext(0), want), "file: missing top file");
	reset();
	R = conf_parse_file(sub, &C, &D);
	snprintf(want, sizeof want, "%s: error: cannot read file: Is a directory", sub);
	tap_ok(!R && D.n == 1 && !strcmp(dtext(0), want), "file: directory as top file");

	snprintf(big, sizeof big, "%s/big.conf", dir);
	buf = malloc(bigsize);
	memset(buf, '\n', bigsize);
	write_file(big, buf, bigsize);
	reset();
	R = conf_parse_file(big, &C, &D);
	snprintf(want, sizeof want, "%s: error: file is larger than 1048576 bytes", big);
	tap_ok(!R && D.n == 1 && !strcmp(dtext(0), want), "file: too big");
	snprintf(text, sizeof text, "includefile %s\n", big);
	snprintf(want, sizeof want, "t.conf:1: error: includefile %s: file is larger than 1048576 bytes", big);
	expect1(text, want);
	write_file(big, buf, bigsize - 1);
	reset();
	R = conf_parse_file(big, &C, &D);
	tap_ok(R && D.n == 0, "file: exactly CONF_FILE_MAX bytes accepted");
	free(buf);
	unlink(big);

	snprintf(nul, sizeof nul, "%s/nul.conf", dir);
	write_file(nul, "server a\nserver \0b\nserver c", 27);
	reset();
	R = conf_parse_file(nul, &C, &D);
	snprintf(want, sizeof want, "%s:2: error: line contains a NUL byte; line ignored", nul);
	tap_ok(!R && D.n == 1 && !strcmp(dtext(0), want) && C.n_assocs == 2 &&
		       !strcmp(C.assocs[1].host, "c"),
	       "file: NUL byte line rejected, no final newline");

	unlink(top);
	unlink(a);
	unlink(b);
	unlink(loop);
	unlink(nul);
	rmdir(sub);
}

/* Crashes found by tests/fuzz/fuzz_conf.c become cases here. Two 60 s runs
 * (plain and with a keyword dictionary) found none; these are the truncated
 * inputs that exercise the parser's end-of-line paths. */
static void test_fuzz_regressions(void)
{
	static const char *const inputs[] = {
		"trustedkey (",
		"trustedkey (1 ...",
		"trustedkey 1-",
		"nts aead ,,,",
		"restrict / mask",
		"server \"\"",
		"restrict -4",
		"\"",
	};
	size_t i;

	for (i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		parse(inputs[i]);
		tap_ok(D.errors > 0 && !R, "fuzz regression %zu: '%s' is an error", i, inputs[i]);
	}
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_conf.XXXXXX");
	if (!mkdtemp(dir)) {
		tap_ok(false, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	conf_init(&C);
	test_centos();
	test_assoc();
	test_local();
	test_restrict();
	test_keys();
	test_paths();
	test_misc();
	test_nts();
	test_unsupported();
	test_lexing();
	test_format();
	test_files();
	test_fuzz_regressions();
	conf_free(&C);
	conf_diags_free(&D);
	rmdir(dir);
	return tap_done();
}
