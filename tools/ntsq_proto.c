#include "config.h"
#include "tools/ntsq.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/buf.h"
#include "crypto/keyfile.h"
#include "crypto/mac.h"
#include "crypto/secret.h"
#include "protocol/mode6.h"

#define MAX_FRAGS 32

struct ntsq_session {
	int fd;
	uint16_t seq;
	double timeout;
	char peer[300];
	struct keyfile *kf;
	const struct symkey *key;
	struct mac_ctx *mac;
};

/* host, host:port, [v6], [v6]:port; a bare IPv6 address has no port. */
static bool split_host(const char *in, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon = strrchr(in, ':');

	port[0] = '\0';
	if (in[0] == '[') {
		const char *end = strchr(in, ']');
		if (!end || (size_t)(end - in) > hostlen)
			return false;
		snprintf(host, hostlen, "%.*s", (int)(end - in - 1), in + 1);
		if (end[1] == ':')
			snprintf(port, portlen, "%s", end + 2);
		else if (end[1])
			return false;
		return true;
	}
	if (colon && strchr(in, ':') == colon) {
		if ((size_t)(colon - in) >= hostlen)
			return false;
		snprintf(host, hostlen, "%.*s", (int)(colon - in), in);
		snprintf(port, portlen, "%s", colon + 1);
		return true;
	}
	return (size_t)snprintf(host, hostlen, "%s", in) < hostlen;
}

static bool load_key(struct ntsq_session *s, const struct ntsq_target *t, char *err, size_t errlen)
{
	struct keyfile_errors errs;

	/* Keys live in libsodium's guarded memory. */
	if (!secret_init()) {
		snprintf(err, errlen, "Cannot initialise libsodium");
		return false;
	}
	s->kf = keyfile_load(t->keyfile, &errs);
	if (!s->kf) {
		if (errs.n)
			snprintf(err, errlen, "%s:%u: %s", t->keyfile, errs.v[0].line, errs.v[0].msg);
		else
			snprintf(err, errlen, "%s: cannot load", t->keyfile);
		return false;
	}
	s->key = keyfile_get(s->kf, t->keyid);
	if (!s->key) {
		snprintf(err, errlen, "%s: no key %u", t->keyfile, t->keyid);
		return false;
	}
	s->mac = mac_ctx_new();
	if (!s->mac) {
		snprintf(err, errlen, "Out of memory");
		return false;
	}
	return true;
}

struct ntsq_session *ntsq_open(const struct ntsq_target *t, char *err, size_t errlen)
{
	struct ntsq_session *s = calloc(1, sizeof(*s));
	char host[256], port[16];
	struct addrinfo hints = { .ai_family = t->family, .ai_socktype = SOCK_DGRAM }, *res = NULL;

	if (!s) {
		snprintf(err, errlen, "Out of memory");
		return NULL;
	}
	s->fd = -1;
	s->timeout = t->timeout > 0 ? t->timeout : 2;
	if (!split_host(t->host, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "%s: bad host (use host, host:port or [ipv6]:port)", t->host);
		goto fail;
	}
	if (t->port)
		snprintf(port, sizeof(port), "%u", t->port);
	else if (!port[0])
		snprintf(port, sizeof(port), "123");
	int r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		goto fail;
	}
	s->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || connect(s->fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(err, errlen, "%s port %s: %s", host, port, strerror(errno));
		goto fail;
	}
	char num[NI_MAXHOST];
	if (getnameinfo(res->ai_addr, res->ai_addrlen, num, sizeof(num), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(num, sizeof(num), "%s", host);
	snprintf(s->peer, sizeof(s->peer), res->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", num, port);
	freeaddrinfo(res);
	res = NULL;
	if (t->keyid && !load_key(s, t, err, errlen))
		goto fail;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->seq = (uint16_t)(ts.tv_nsec ^ getpid());
	return s;
fail:
	if (res)
		freeaddrinfo(res);
	ntsq_close(s);
	return NULL;
}

void ntsq_close(struct ntsq_session *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->mac)
		mac_ctx_free(s->mac);
	if (s->kf)
		keyfile_free(s->kf);
	free(s);
}

const char *ntsq_peername(const struct ntsq_session *s)
{
	return s->peer;
}

/* NTPsec truncates SHA-2 digests to 20 octets; ntsd accepts both. */
static size_t digest_len(const struct symkey *k)
{
	size_t n = mac_digest_len(k->alg);
	return n > 20 ? 20 : n;
}

static bool send_request(struct ntsq_session *s, uint8_t opcode, uint16_t associd,
                         const char *data, size_t dlen)
{
	uint8_t pkt[MODE6_HEADER_LEN + 480 + 8 + 4 + MAC_MAX_DIGEST] = { 0 };
	struct mode6_header h = { .version = 4, .mode = 6, .opcode = opcode, .sequence = s->seq,
		                  .associd = associd, .count = (uint16_t)dlen };
	size_t len;

	mode6_header_encode(&h, pkt);
	memcpy(pkt + MODE6_HEADER_LEN, data, dlen);
	len = MODE6_HEADER_LEN + dlen;
	if (s->key) {
		/* RFC 9327 §4: data padded to 8, key id, digest. */
		uint8_t d[MAC_MAX_DIGEST];
		len = mode6_pad8(len);
		size_t dl = digest_len(s->key);
		if (mac_compute(s->mac, s->key->alg, s->key->key, s->key->len, pkt, len, d) < dl)
			return false;
		store_be32(pkt + len, s->key->id);
		memcpy(pkt + len + 4, d, dl);
		len += 4 + dl;
	} else {
		len = (len + 3) & ~(size_t)3;
	}
	return send(s->fd, pkt, len, 0) == (ssize_t)len;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct range {
	uint16_t off, count;
};

/* Collects fragments until the answer is complete or the time is up.
 * Returns NTSQ_TIMEOUT when incomplete. */
static enum ntsq_result collect(struct ntsq_session *s, uint8_t opcode, struct ntsq_answer *a)
{
	struct range got[MAX_FRAGS];
	size_t n = 0;
	bool last_seen = false;
	size_t end = 0;
	double deadline = now_s() + s->timeout;

	a->len = 0;
	a->fragments = 0;
	for (;;) {
		double left = deadline - now_s();
		if (left <= 0)
			return NTSQ_TIMEOUT;
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r <= 0)
			continue;
		uint8_t pkt[2048];
		ssize_t len = recv(s->fd, pkt, sizeof(pkt), 0);
		if (len < 0)
			return errno == ECONNREFUSED ? NTSQ_TIMEOUT : NTSQ_IO;
		struct mode6_header h;
		if (len < MODE6_HEADER_LEN)
			continue;
		mode6_header_decode(pkt, &h);
		if (h.mode != 6 || !(h.flags & MODE6_FLAG_RESPONSE) || h.sequence != s->seq ||
		    h.opcode != opcode)
			continue; /* not ours */
		uint16_t off = h.offset, count = h.count;
		if (h.flags & MODE6_FLAG_ERROR) {
			a->errcode = (uint8_t)(h.status >> 8);
			return NTSQ_SERVER_ERROR;
		}
		if ((size_t)len < MODE6_HEADER_LEN + (size_t)count || (size_t)off + count > sizeof(a->data))
			continue;
		if (s->key) {
			size_t pad = mode6_pad8(MODE6_HEADER_LEN + (size_t)count);
			if ((size_t)len < pad + 4 + 16 ||
			    !mac_verify(s->mac, s->key->alg, s->key->key, s->key->len, pkt, pad, pkt + pad + 4,
			                (size_t)len - pad - 4))
				return NTSQ_IO;
		}
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup = dup || got[i].off == off;
		if (dup || n == MAX_FRAGS)
			continue;
		memcpy(a->data + off, pkt + MODE6_HEADER_LEN, count);
		got[n++] = (struct range){ off, count };
		a->fragments++;
		if (!(h.flags & MODE6_FLAG_MORE)) {
			last_seen = true;
			end = (size_t)off + count;
			a->status = h.status;
		}
		if (!last_seen)
			continue;
		/* Complete when the ranges tile 0..end. */
		size_t covered = 0;
		bool progress = true;
		while (progress && covered < end) {
			progress = false;
			for (size_t i = 0; i < n; i++)
				if (got[i].off == covered && got[i].count) {
					covered += got[i].count;
					progress = true;
				}
		}
		if (covered >= end) {
			a->len = end;
			return NTSQ_OK;
		}
	}
}

enum ntsq_result ntsq_query(struct ntsq_session *s, uint8_t opcode, uint16_t associd,
                            const char *data, size_t dlen, struct ntsq_answer *a)
{
	enum ntsq_result r = NTSQ_TIMEOUT;

	if (dlen > 468)
		return NTSQ_IO;
	for (int attempt = 0; attempt < 2 && r == NTSQ_TIMEOUT; attempt++) {
		s->seq++;
		if (!send_request(s, opcode, associd, data, dlen))
			return NTSQ_IO;
		r = collect(s, opcode, a);
	}
	return r;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void add_var(struct ntsq_vars *out, const char *item, size_t len)
{
	while (len && is_space(*item)) {
		item++;
		len--;
	}
	while (len && is_space(item[len - 1]))
		len--;
	if (!len || out->n == NTSQ_MAX_VARS)
		return;
	struct ntsq_var *v = &out->v[out->n];
	const char *eq = memchr(item, '=', len);
	size_t nl = eq ? (size_t)(eq - item) : len;
	while (nl && is_space(item[nl - 1]))
		nl--;
	snprintf(v->name, sizeof(v->name), "%.*s", (int)nl, item);
	v->value[0] = '\0';
	v->quoted = false;
	if (eq) {
		const char *val = eq + 1;
		size_t vl = len - (size_t)(val - item);
		while (vl && is_space(*val)) {
			val++;
			vl--;
		}
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val++;
			vl -= 2;
			v->quoted = true;
		}
		snprintf(v->value, sizeof(v->value), "%.*s", (int)vl, val);
	}
	out->n++;
}

void ntsq_parse_vars(const uint8_t *data, size_t len, struct ntsq_vars *out)
{
	char buf[NTSQ_MAX_RESPONSE];
	size_t n = 0, start = 0;
	bool quote = false;

	out->n = 0;
	/* Printable text only, as NTPsec's ntpq does: ntpd pads with NULs. */
	for (size_t i = 0; i < len && n < sizeof(buf); i++)
		if ((data[i] >= 32 && data[i] < 127) || data[i] == '\r' || data[i] == '\n' || data[i] == '\t')
			buf[n++] = (char)data[i];
	for (size_t i = 0; i <= n; i++) {
		if (i < n && buf[i] == '"')
			quote = !quote;
		if (i == n || (!quote && buf[i] == ',')) {
			add_var(out, buf + start, i - start);
			start = i + 1;
		}
	}
}

const char *ntsq_var(const struct ntsq_vars *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i].name, name))
			return v->v[i].value;
	return NULL;
}

double ntsq_var_num(const struct ntsq_vars *v, const char *name, double def)
{
	const char *s = ntsq_var(v, name);
	char *end;

	if (!s || !*s)
		return def;
	errno = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		unsigned long x = strtoul(s, &end, 16);
		return *end || errno ? def : (double)x;
	}
	double d = strtod(s, &end);
	return *end || errno || !isfinite(d) ? def : d;
}

double ntsq_var_time(const struct ntsq_vars *v, const char *name)
{
	const char *s = ntsq_var(v, name);
	char *end;

	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return 0;
	unsigned long sec = strtoul(s + 2, &end, 16);
	if (*end != '.' || sec == 0)
		return 0;
	unsigned long frac = strtoul(end + 1, &end, 16);
	/* NTP era 0 (1900) to Unix; era 1 starts in 2036. */
	double t = (double)sec + (double)frac / 4294967296.0 - 2208988800.0;
	return t < 0 ? t + 4294967296.0 : t;
}
