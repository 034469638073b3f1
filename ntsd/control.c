#include "config.h"
#include "ntsd/control.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/buf.h"
#include "protocol/netaddr.h"

/* Text answers are built whole, then cut into fragments: at most this
 * much data, two octets of it kept for the final CRLF. */
#define TEXT_MAX (CONTROL_MAX_FRAGS * MODE6_MAX_DATA)
/* ntpd starts a new line before an item that would pass column 72. */
#define LINE_MAX_COLS 72
#define VARNAME_MAX 32

/* ---- text building ---- */

struct text {
	char buf[TEXT_MAX];
	size_t len, col;
	bool full;
};

/* Appends one "name=value" item; once an item does not fit, no later one
 * goes in either, so the answer is a prefix of the full one. */
static void put_item(struct text *t, const char *item)
{
	size_t n = strlen(item), sep = 0;

	if (t->full)
		return;
	if (t->len)
		sep = t->col + n + 2 > LINE_MAX_COLS ? 3 : 2;
	if (t->len + sep + n + 2 > TEXT_MAX) {
		t->full = true;
		return;
	}
	if (sep == 3) {
		memcpy(t->buf + t->len, ",\r\n", 3);
		t->col = 0;
	} else if (sep == 2) {
		memcpy(t->buf + t->len, ", ", 2);
		t->col += 2;
	}
	t->len += sep;
	memcpy(t->buf + t->len, item, n);
	t->len += n;
	t->col += n;
}

__attribute__((format(printf, 2, 3))) static void put_fmt(struct text *t, const char *fmt, ...)
{
	char item[160];
	va_list ap;

	va_start(ap, fmt);
	int r = vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(item)) {
		t->full = true;
		return;
	}
	put_item(t, item);
}

static void put_ts(struct text *t, const char *name, uint64_t ts)
{
	put_fmt(t, "%s=0x%08x.%08x", name, (unsigned)(ts >> 32), (unsigned)(ts & 0xffffffffu));
}

/* Quoted strings lose the characters that would end them. */
static void put_str(struct text *t, const char *name, const char *v)
{
	char clean[80];
	size_t n = 0;

	for (; *v && n + 1 < sizeof(clean); v++)
		clean[n++] = (*v == '"' || (unsigned char)*v < 32 || (unsigned char)*v > 126) ? '?' : *v;
	clean[n] = '\0';
	put_fmt(t, "%s=\"%s\"", name, clean);
}

/* ntpd prints an unknown address as 0.0.0.0 (port 0). */
static const char *addr_text(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6) {
		snprintf(out, outlen, "0.0.0.0");
		return out;
	}
	return netaddr_host(ss, out, outlen);
}

/* ---- variables ---- */

#define SYS_VARS(X) \
	X(VERSION, "version") X(PROCESSOR, "processor") X(SYSTEM, "system") X(LEAP, "leap") \
	X(STRATUM, "stratum") X(PRECISION, "precision") X(ROOTDELAY, "rootdelay") \
	X(ROOTDISP, "rootdisp") X(REFID, "refid") X(REFTIME, "reftime") X(CLOCK, "clock") \
	X(PEER, "peer") X(TC, "tc") X(MINTC, "mintc") X(OFFSET, "offset") \
	X(FREQUENCY, "frequency") X(SYS_JITTER, "sys_jitter") X(CLK_JITTER, "clk_jitter") \
	X(CLK_WANDER, "clk_wander")

#define PEER_VARS(X) \
	X(SRCADR, "srcadr") X(SRCPORT, "srcport") X(SRCHOST, "srchost") X(DSTADR, "dstadr") \
	X(DSTPORT, "dstport") X(LEAP, "leap") X(STRATUM, "stratum") X(PRECISION, "precision") \
	X(ROOTDELAY, "rootdelay") X(ROOTDISP, "rootdisp") X(REFID, "refid") X(REACH, "reach") \
	X(HMODE, "hmode") X(PMODE, "pmode") X(HPOLL, "hpoll") X(PPOLL, "ppoll") \
	X(FLASH, "flash") X(KEYID, "keyid") X(OFFSET, "offset") X(DELAY, "delay") \
	X(DISPERSION, "dispersion") X(JITTER, "jitter") X(REC, "rec") X(REFTIME, "reftime") \
	X(AUTHKIND, "authkind") X(NTSCOOKIES, "ntscookies") X(LASTKE, "lastke")

enum sys_var {
#define SV_ENUM(id, name) SV_##id,
	SYS_VARS(SV_ENUM)
#undef SV_ENUM
	SV_COUNT
};
static const char *const sys_names[] = {
#define SV_NAME(id, name) name,
	SYS_VARS(SV_NAME)
#undef SV_NAME
};

enum peer_var {
#define PV_ENUM(id, name) PV_##id,
	PEER_VARS(PV_ENUM)
#undef PV_ENUM
	PV_COUNT
};
static const char *const peer_names[] = {
#define PV_NAME(id, name) name,
	PEER_VARS(PV_NAME)
#undef PV_NAME
};

static void put_sys(struct text *t, enum sys_var v, const struct control_sys *s, uint64_t now)
{
	char ref[16];

	switch (v) {
	case SV_VERSION: put_str(t, "version", s->version); break;
	case SV_PROCESSOR: put_str(t, "processor", s->processor); break;
	case SV_SYSTEM: put_str(t, "system", s->system); break;
	case SV_LEAP: put_fmt(t, "leap=%u", s->leap); break;
	case SV_STRATUM: put_fmt(t, "stratum=%u", s->stratum); break;
	case SV_PRECISION: put_fmt(t, "precision=%d", s->precision); break;
	case SV_ROOTDELAY: put_fmt(t, "rootdelay=%.6f", s->rootdelay); break;
	case SV_ROOTDISP: put_fmt(t, "rootdisp=%.6f", s->rootdisp); break;
	case SV_REFID:
		mode6_refid_text(s->refid, s->refid_ascii, ref, sizeof(ref));
		put_fmt(t, "refid=%s", ref);
		break;
	case SV_REFTIME: put_ts(t, "reftime", s->reftime); break;
	case SV_CLOCK: put_ts(t, "clock", now); break;
	case SV_PEER: put_fmt(t, "peer=%u", s->peer); break;
	case SV_TC: put_fmt(t, "tc=%d", s->tc); break;
	case SV_MINTC: put_fmt(t, "mintc=%d", s->mintc); break;
	case SV_OFFSET: put_fmt(t, "offset=%.6f", s->offset); break;
	case SV_FREQUENCY: put_fmt(t, "frequency=%.6f", s->frequency); break;
	case SV_SYS_JITTER: put_fmt(t, "sys_jitter=%.6f", s->sys_jitter); break;
	case SV_CLK_JITTER: put_fmt(t, "clk_jitter=%.6f", s->clk_jitter); break;
	case SV_CLK_WANDER: put_fmt(t, "clk_wander=%.6f", s->clk_wander); break;
	case SV_COUNT: break;
	}
}

static void put_peer(struct text *t, enum peer_var v, const struct control_peer *p)
{
	char a[64];

	switch (v) {
	case PV_SRCADR: put_fmt(t, "srcadr=%s", addr_text(&p->srcadr, a, sizeof(a))); break;
	case PV_SRCPORT: put_fmt(t, "srcport=%u", (unsigned)netaddr_port(&p->srcadr)); break;
	case PV_SRCHOST:
		if (p->name[0])
			put_str(t, "srchost", p->name);
		break;
	case PV_DSTADR: put_fmt(t, "dstadr=%s", addr_text(&p->dstadr, a, sizeof(a))); break;
	case PV_DSTPORT: put_fmt(t, "dstport=%u", (unsigned)netaddr_port(&p->dstadr)); break;
	case PV_LEAP: put_fmt(t, "leap=%u", p->leap); break;
	case PV_STRATUM: put_fmt(t, "stratum=%u", p->stratum); break;
	case PV_PRECISION: put_fmt(t, "precision=%d", p->precision); break;
	case PV_ROOTDELAY: put_fmt(t, "rootdelay=%.6f", p->rootdelay); break;
	case PV_ROOTDISP: put_fmt(t, "rootdisp=%.6f", p->rootdisp); break;
	case PV_REFID:
		/* RFC 5905 §7.3: below stratum 2 the refid is a code. */
		mode6_refid_text(p->refid, p->stratum <= 1 || p->stratum >= 16, a, sizeof(a));
		put_fmt(t, "refid=%s", a);
		break;
	case PV_REACH: put_fmt(t, "reach=0x%02x", p->reach); break;
	case PV_HMODE: put_fmt(t, "hmode=%u", p->hmode); break;
	case PV_PMODE: put_fmt(t, "pmode=%u", p->pmode); break;
	case PV_HPOLL: put_fmt(t, "hpoll=%d", p->hpoll); break;
	case PV_PPOLL: put_fmt(t, "ppoll=%d", p->ppoll); break;
	case PV_FLASH: put_fmt(t, "flash=0x%x", p->flash); break;
	case PV_KEYID: put_fmt(t, "keyid=%u", p->keyid); break;
	case PV_OFFSET: put_fmt(t, "offset=%.6f", p->offset); break;
	case PV_DELAY: put_fmt(t, "delay=%.6f", p->delay); break;
	case PV_DISPERSION: put_fmt(t, "dispersion=%.6f", p->dispersion); break;
	case PV_JITTER: put_fmt(t, "jitter=%.6f", p->jitter); break;
	case PV_REC: put_ts(t, "rec", p->rec); break;
	case PV_REFTIME: put_ts(t, "reftime", p->reftime); break;
	case PV_AUTHKIND:
		if (p->auth == CONTROL_AUTH_NTS)
			put_str(t, "authkind", "nts");
		else if (p->auth == CONTROL_AUTH_KEY)
			put_fmt(t, "authkind=\"key %u\"", p->keyid);
		else
			put_str(t, "authkind", "none");
		break;
	case PV_NTSCOOKIES:
		if (p->auth == CONTROL_AUTH_NTS)
			put_fmt(t, "ntscookies=%d", p->ntscookies);
		break;
	case PV_LASTKE:
		if (p->auth == CONTROL_AUTH_NTS)
			put_ts(t, "lastke", p->last_ke);
		break;
	case PV_COUNT: break;
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Walks the comma-separated variable list of a request: each call yields
 * the next name (without "=value") in name. Returns false at the end;
 * *bad is set for a name that is too long or has odd characters. */
static bool next_name(const uint8_t *d, size_t n, size_t *pos, char name[VARNAME_MAX + 1], bool *bad)
{
	while (*pos < n) {
		size_t start = *pos, end;
		while (*pos < n && d[*pos] != ',')
			(*pos)++;
		end = *pos;
		if (*pos < n)
			(*pos)++;
		/* Value after '=' is ignored on reads (ntpd's ctl_getitem). */
		for (size_t i = start; i < end; i++)
			if (d[i] == '=') {
				end = i;
				break;
			}
		while (start < end && is_space((char)d[start]))
			start++;
		while (end > start && is_space((char)d[end - 1]))
			end--;
		if (start == end)
			continue;
		if (end - start > VARNAME_MAX) {
			*bad = true;
			return false;
		}
		for (size_t i = start; i < end; i++) {
			if (d[i] < 33 || d[i] > 126) {
				*bad = true;
				return false;
			}
			name[i - start] = (char)d[i];
		}
		name[end - start] = '\0';
		return true;
	}
	return false;
}

static int lookup(const char *const *names, int count, const char *name)
{
	for (int i = 0; i < count; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

/* ---- fragments ---- */

static uint16_t sys_status(const struct control_sys *s)
{
	return (uint16_t)((s->leap & 3) << 14 | (s->clock_source & 0x3f) << 8 | (s->events & 0xf) << 4 |
	                  (s->last_event & 0xf));
}

static void header(uint8_t *f, const struct mode6_request *rq, uint8_t leap, uint8_t flags,
                   uint16_t status, uint16_t offset, uint16_t count)
{
	struct mode6_header h = {
		.leap = leap, .version = rq->version, .mode = 6,
		.flags = (uint8_t)(MODE6_FLAG_RESPONSE | flags), .opcode = rq->opcode,
		.sequence = rq->sequence, .status = status, .associd = rq->associd,
		.offset = offset, .count = count,
	};
	mode6_header_encode(&h, f);
}

static void error_reply(const struct mode6_request *rq, uint8_t leap, enum mode6_err e,
                        struct control_reply *out)
{
	out->n = 1;
	out->error = true;
	out->errcode = (uint8_t)e;
	header(out->frag[0], rq, leap, MODE6_FLAG_ERROR, (uint16_t)(e << 8), 0, 0);
	out->len[0] = MODE6_HEADER_LEN;
}

/* Cuts data into fragments of MODE6_MAX_DATA octets (RFC 9327 §2:
 * every one but the last has the more bit), each padded to 4. */
static void fragment(const struct mode6_request *rq, uint8_t leap, uint16_t status,
                     const uint8_t *data, size_t n, struct control_reply *out)
{
	size_t off = 0;

	out->n = 0;
	do {
		size_t chunk = n - off > MODE6_MAX_DATA ? MODE6_MAX_DATA : n - off;
		bool more = off + chunk < n;
		uint8_t *f = out->frag[out->n];
		header(f, rq, leap, more ? MODE6_FLAG_MORE : 0, status, (uint16_t)off, (uint16_t)chunk);
		memcpy(f + MODE6_HEADER_LEN, data + off, chunk);
		size_t len = MODE6_HEADER_LEN + chunk;
		while (len & 3)
			f[len++] = 0;
		out->len[out->n++] = len;
		off += chunk;
	} while (off < n && out->n < CONTROL_MAX_FRAGS);
}

static void finish_text(struct text *t, const struct mode6_request *rq, uint8_t leap,
                        uint16_t status, struct control_reply *out)
{
	if (t->len) {
		memcpy(t->buf + t->len, "\r\n", 2);
		t->len += 2;
	}
	out->truncated = t->full;
	fragment(rq, leap, status, (const uint8_t *)t->buf, t->len, out);
}

static const struct control_peer *find_peer(const struct control_peer *p, size_t n, uint16_t id)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].associd == id)
			return &p[i];
	return NULL;
}

static void read_status_list(const struct mode6_request *rq, const struct control_sys *sys,
                             const struct control_peer *peers, size_t n, struct control_reply *out)
{
	uint8_t list[CONTROL_MAX_PEERS * 4];
	size_t len = 0;

	for (size_t i = 0; i < n && i < CONTROL_MAX_PEERS; i++) {
		store_be16(list + len, peers[i].associd);
		store_be16(list + len + 2, peers[i].status);
		len += 4;
	}
	fragment(rq, sys->leap, sys_status(sys), list, len, out);
}

/* READVAR / READSTAT on one association or the system. */
static void read_vars(const struct mode6_request *rq, const struct control_sys *sys,
                      const struct control_peer *peer, uint64_t now, struct control_reply *out)
{
	struct text t = { .len = 0 };
	char name[VARNAME_MAX + 1];
	size_t pos = 0;
	bool bad = false, listed = false;
	int v;

	/* READSTAT on a peer ignores the list: everything, as ntpd does. */
	size_t dlen = rq->opcode == MODE6_OP_READVAR ? rq->count : 0;
	while (next_name(rq->data, dlen, &pos, name, &bad)) {
		listed = true;
		v = peer ? lookup(peer_names, PV_COUNT, name) : lookup(sys_names, SV_COUNT, name);
		if (v < 0) {
			error_reply(rq, sys->leap, MODE6_ERR_UNKNOWNVAR, out);
			return;
		}
		if (peer)
			put_peer(&t, (enum peer_var)v, peer);
		else
			put_sys(&t, (enum sys_var)v, sys, now);
	}
	if (bad) {
		error_reply(rq, sys->leap, MODE6_ERR_UNKNOWNVAR, out);
		return;
	}
	if (!listed) {
		if (peer)
			for (v = 0; v < PV_COUNT; v++)
				put_peer(&t, (enum peer_var)v, peer);
		else
			for (v = 0; v < SV_COUNT; v++)
				put_sys(&t, (enum sys_var)v, sys, now);
	}
	finish_text(&t, rq, sys->leap, peer ? peer->status : sys_status(sys), out);
}

static bool modifies(uint8_t op)
{
	return op == MODE6_OP_WRITEVAR || op == MODE6_OP_WRITECLOCK || op == MODE6_OP_SETTRAP ||
	       op == MODE6_OP_UNSETTRAP || op == MODE6_OP_CONFIGURE || op == MODE6_OP_SAVECONFIG;
}

/* An authorised WRITEVAR still changes nothing: every variable is read
 * only (ntpd answers CERR_PERMISSION for those), unknown ones are
 * CERR_UNKNOWNVAR. */
static enum mode6_err write_vars(const struct mode6_request *rq, bool sys)
{
	char name[VARNAME_MAX + 1];
	size_t pos = 0;
	bool bad = false, any = false;

	while (next_name(rq->data, rq->count, &pos, name, &bad)) {
		any = true;
		if (lookup(sys ? sys_names : peer_names, sys ? SV_COUNT : PV_COUNT, name) < 0)
			return MODE6_ERR_UNKNOWNVAR;
	}
	if (bad)
		return MODE6_ERR_UNKNOWNVAR;
	return any ? MODE6_ERR_PERMISSION : MODE6_ERR_BADFMT;
}

void control_answer(const struct mode6_request *rq, const struct control_sys *sys,
                    const struct control_peer *peers, size_t n, uint64_t now,
                    const struct control_access *acc, struct control_reply *out)
{
	const struct control_peer *peer = NULL;

	out->n = 0;
	out->error = out->truncated = out->denied = false;
	out->errcode = 0;
	if (n > CONTROL_MAX_PEERS)
		n = CONTROL_MAX_PEERS;

	if (modifies(rq->opcode)) {
		if (!acc->authenticated || acc->nomodify) {
			out->denied = true;
			error_reply(rq, sys->leap, MODE6_ERR_PERMISSION, out);
			return;
		}
		if (rq->opcode != MODE6_OP_WRITEVAR) {
			error_reply(rq, sys->leap, MODE6_ERR_BADOP, out);
			return;
		}
		if (rq->associd && !find_peer(peers, n, rq->associd)) {
			error_reply(rq, sys->leap, MODE6_ERR_BADASSOC, out);
			return;
		}
		error_reply(rq, sys->leap, write_vars(rq, rq->associd == 0), out);
		return;
	}
	switch (rq->opcode) {
	case MODE6_OP_READSTAT:
	case MODE6_OP_READVAR:
		if (rq->associd == 0) {
			if (rq->opcode == MODE6_OP_READSTAT)
				read_status_list(rq, sys, peers, n, out);
			else
				read_vars(rq, sys, NULL, now, out);
			return;
		}
		peer = find_peer(peers, n, rq->associd);
		if (!peer) {
			error_reply(rq, sys->leap, MODE6_ERR_BADASSOC, out);
			return;
		}
		read_vars(rq, sys, peer, now, out);
		return;
	case MODE6_OP_READCLOCK:
		/* No reference clocks in ntsd. */
		error_reply(rq, sys->leap, MODE6_ERR_BADASSOC, out);
		return;
	default:
		/* ASYNCMSG, the MRU list and its nonce, and unknown opcodes. */
		error_reply(rq, sys->leap, MODE6_ERR_BADOP, out);
		return;
	}
}

size_t control_pad8(struct control_reply *r, size_t i)
{
	while (r->len[i] & 7)
		r->frag[i][r->len[i]++] = 0;
	return r->len[i];
}
