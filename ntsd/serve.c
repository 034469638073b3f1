#include "config.h"
#include "ntsd/serve.h"

#include <netinet/in.h>
#include <string.h>

#include "crypto/buf.h"
#include "crypto/keyfile.h"
#include "crypto/mac.h"
#include "protocol/clock.h"
#include "protocol/netaddr.h"
#include "protocol/ntp_packet.h"
#include "ntsd/ratelimit.h"
#include "ntsd/restrict.h"

static const char *const stat_names[] = {
#define SERVE_STAT_NAME(id, name, kind, text) name,
	SERVE_STATS(SERVE_STAT_NAME)
#undef SERVE_STAT_NAME
};

static const char *const stat_texts[] = {
#define SERVE_STAT_TEXT(id, name, kind, text) text,
	SERVE_STATS(SERVE_STAT_TEXT)
#undef SERVE_STAT_TEXT
};

static const char stat_kinds[] = {
#define SERVE_STAT_KIND(id, name, kind, text) kind,
	SERVE_STATS(SERVE_STAT_KIND)
#undef SERVE_STAT_KIND
};

char serve_stat_kind(enum serve_stat s)
{
	return s < SERVE_STAT_COUNT ? stat_kinds[s] : '?';
}

const char *serve_stat_name(enum serve_stat s)
{
	return s < SERVE_STAT_COUNT ? stat_names[s] : "?";
}

const char *serve_stat_text(enum serve_stat s)
{
	return s < SERVE_STAT_COUNT ? stat_texts[s] : "?";
}

bool serve_worker_init(struct serve_worker *w, size_t rl_entries, const struct serve_config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->ntp_now = clock_ntp_now;
	w->mono_ns = clock_mono_ns;
	w->mac = mac_ctx_new();
	w->rl = ratelimit_new(rl_entries, cfg->discard_average, cfg->discard_minimum);
	if (!w->mac || !w->rl || !nts_worker_init(&w->nts, NULL)) {
		serve_worker_destroy(w);
		return false;
	}
	for (size_t i = 0; i < SERVE_STAT_COUNT; i++)
		atomic_init(&w->stats[i], 0);
	return true;
}

void serve_worker_destroy(struct serve_worker *w)
{
	if (w->mac)
		mac_ctx_free(w->mac);
	if (w->rl)
		ratelimit_free(w->rl);
	w->mac = NULL;
	w->rl = NULL;
	nts_worker_destroy(&w->nts);
}

void serve_worker_reconfigure(struct serve_worker *w, const struct serve_config *cfg)
{
	ratelimit_set(w->rl, cfg->discard_average, cfg->discard_minimum);
}

static bool key_trusted(const struct serve_config *cfg, uint32_t id)
{
	return id > 0 && id <= CONF_KEYID_MAX && (cfg->trusted[id / 8] >> (id % 8) & 1);
}

enum auth { AUTH_NONE, AUTH_OK, AUTH_FAIL };

/* RFC 5905 §7.3 legacy MAC check. Unknown and untrusted keys fail like a
 * bad digest: ntpd answers all three with a crypto-NAK. */
static enum auth check_mac(struct serve_worker *w, const struct serve_config *cfg,
                           const uint8_t *req, const struct ntp_tail *t,
                           const struct symkey **key)
{
	*key = NULL;
	if (!t->has_mac)
		return AUTH_NONE;
	if (!t->digest || !cfg->keys || !key_trusted(cfg, t->keyid))
		return AUTH_FAIL;
	const struct symkey *k = keyfile_get(cfg->keys, t->keyid);
	if (!k || !mac_verify(w->mac, k->alg, k->key, k->len, req, t->mac_offset, t->digest,
	                      t->digest_len))
		return AUTH_FAIL;
	*key = k;
	return AUTH_OK;
}

/* Kiss-o'-death (RFC 5905 §7.4): echoes the client's own timestamps so the
 * packet carries no time, leap 3, stratum 0, kiss code in the refid. */
static size_t build_kod(const struct ntp_header *rq, uint8_t mode, uint32_t code, uint8_t *out)
{
	struct ntp_header h = {
		.leap = NTP_LEAP_UNSYNC,
		.version = rq->version,
		.mode = mode,
		.stratum = 0,
		.poll = rq->poll,
		.precision = rq->precision,
		.refid = code,
		.org = rq->xmt,
		.rec = rq->xmt,
		.xmt = rq->xmt,
	};
	ntp_header_encode(&h, out);
	return NTP_HEADER_LEN;
}

/* The checks every datagram goes through first (NTP and mode 6 alike):
 * counts it, drops (and counts) oversize, empty, port 0 and `restrict
 * ignore`. Returns false to drop; else *res holds the restrict flags. */
static bool serve_admit(struct serve_worker *w, const struct serve_config *cfg, size_t len,
                        const struct sockaddr *from, uint32_t *res)
{
	serve_count(w, SERVE_STAT_RECEIVED);
	if (len > NTP_MAX_PACKET) {
		serve_count(w, SERVE_STAT_OVERSIZE);
		return false;
	}
	if (len == 0) {
		serve_count(w, SERVE_STAT_SHORT);
		return false;
	}
	if (netaddr_port((const struct sockaddr_storage *)(const void *)from) == 0) {
		serve_count(w, SERVE_STAT_BAD_PORT);
		return false;
	}
	*res = restrict_match(cfg->restrict_table, from);
	if (*res & CONF_RES_IGNORE) {
		serve_count(w, SERVE_STAT_IGNORED);
		return false;
	}
	return true;
}

size_t serve_packet(struct serve_worker *w, const struct serve_config *cfg,
                    const struct serve_sys *sys, const uint8_t *req, size_t len,
                    const struct sockaddr *from, uint64_t rx, uint8_t *out, size_t outmax)
{
	struct ntp_header rq;
	struct ntp_tail tail;
	const struct symkey *key;

	uint32_t res;
	if (!serve_admit(w, cfg, len, from, &res))
		return 0;

	uint8_t mode = req[0] & 7, version = (req[0] >> 3) & 7;
	if (mode == NTP_MODE_PRIVATE || mode == NTP_MODE_CONTROL) {
		/* Mode 7 is never answered (monlist amplification); mode 6 is
		 * answered by serve_control, which can send several fragments.
		 * noquery drops both silently either way. */
		serve_count(w, (res & CONF_RES_NOQUERY) ? SERVE_STAT_NOQUERY
		               : mode == NTP_MODE_PRIVATE ? SERVE_STAT_MODE7 : SERVE_STAT_CONTROL_BAD);
		return 0;
	}
	if (len < NTP_HEADER_LEN) {
		serve_count(w, SERVE_STAT_SHORT);
		return 0;
	}
	if (version == 0 || version > 4) {
		serve_count(w, SERVE_STAT_BAD_VERSION);
		return 0;
	}
	if (mode != NTP_MODE_CLIENT && mode != NTP_MODE_ACTIVE) {
		serve_count(w, SERVE_STAT_BAD_MODE);
		return 0;
	}
	if (res & CONF_RES_NOSERVE) {
		serve_count(w, SERVE_STAT_NOSERVE);
		return 0;
	}
	if (mode == NTP_MODE_ACTIVE && (res & CONF_RES_NOPEER)) {
		serve_count(w, SERVE_STAT_NOPEER);
		return 0;
	}
	if ((res & CONF_RES_VERSION) && version != 4) {
		serve_count(w, SERVE_STAT_VERSION_RES);
		return 0;
	}
	if (ntp_packet_parse(req, len, &rq, &tail) != NTP_PARSE_OK) {
		serve_count(w, SERVE_STAT_MALFORMED);
		return 0;
	}

	uint8_t rmode = mode == NTP_MODE_CLIENT ? NTP_MODE_SERVER : NTP_MODE_PASSIVE;
	/* Rate limiting comes before the (costlier) MAC check, as in ntpd. */
	if (res & CONF_RES_LIMITED) {
		enum ratelimit_verdict v =
		    ratelimit_check(w->rl, from, w->mono_ns(), (res & CONF_RES_KOD) != 0);
		if (v == RATELIMIT_DROP) {
			serve_count(w, SERVE_STAT_LIMITED);
			return 0;
		}
		if (v == RATELIMIT_KOD) {
			serve_count(w, SERVE_STAT_KOD);
			serve_count(w, SERVE_STAT_REPLIED);
			return build_kod(&rq, rmode, NTP_KISS_RATE, out);
		}
	}

	/* NTS (RFC 8915 §5) when the request carries its fields. */
	struct nts_request nr;
	enum nts_verdict nv = tail.n_ef ? nts_check_request(&w->nts, req, len, &tail, &nr) : NTS_NONE;
	switch (nv) {
	case NTS_MALFORMED:
		serve_count(w, SERVE_STAT_NTS_MALFORMED);
		return 0;
	case NTS_BAD_COOKIE:
	case NTS_BAD_AUTH:
		serve_count(w, nv == NTS_BAD_COOKIE ? SERVE_STAT_NTS_BAD_COOKIE : SERVE_STAT_NTS_BAD_AUTH);
		serve_count(w, SERVE_STAT_REPLIED);
		build_kod(&rq, rmode, NTP_KISS_NTSN, out);
		return nts_finish_nak(nr.uid, out, outmax);
	case NTS_VALID:
	case NTS_NONE:
		break;
	}

	enum auth auth = nv == NTS_VALID ? AUTH_NONE : check_mac(w, cfg, req, &tail, &key);
	if ((res & CONF_RES_NOTRUST) && auth == AUTH_NONE && nv != NTS_VALID) {
		serve_count(w, SERVE_STAT_NOTRUST);
		return 0;
	}

	struct ntp_header h = {
		.leap = sys->leap,
		.version = version,
		.mode = rmode,
		.stratum = sys->stratum,
		.poll = rq.poll,
		.precision = sys->precision,
		.root_delay = sys->root_delay,
		.root_disp = sys->root_disp,
		.refid = sys->refid,
		.reftime = sys->reftime,
		.org = rq.xmt,
		.rec = rx,
	};
	struct buf b = buf_writer(out, outmax);
	uint8_t *hdr = buf_reserve(&b, NTP_HEADER_LEN);

	/* The transmit timestamp is taken as late as possible: after all the
	 * checks, just before the MAC that covers it. */
	h.xmt = w->ntp_now();
	ntp_header_encode(&h, hdr);

	if (nv == NTS_VALID) {
		size_t total = nts_finish_response(&w->nts, &nr, out, outmax, len);
		nts_request_done(&nr);
		if (total == 0) {
			serve_count(w, SERVE_STAT_NTS_FAILED);
			return 0;
		}
		serve_count(w, SERVE_STAT_NTS_OK);
		serve_count(w, SERVE_STAT_REPLIED);
		return total;
	}
	if (auth == AUTH_OK) {
		uint8_t digest[MAC_MAX_DIGEST];
		size_t dlen = mac_compute(w->mac, key->alg, key->key, key->len, out, NTP_HEADER_LEN, digest);
		/* Answer in the digest length the client used (NTPsec
		 * truncates SHA-2 to 20 bytes, chrony does not). */
		if (dlen < tail.digest_len || !buf_put_u32(&b, tail.keyid) ||
		    !buf_put(&b, digest, tail.digest_len)) {
			serve_count(w, SERVE_STAT_AUTH_FAIL);
			return 0;
		}
		serve_count(w, SERVE_STAT_AUTH_OK);
	} else if (auth == AUTH_FAIL) {
		buf_put_u32(&b, 0);
		serve_count(w, SERVE_STAT_AUTH_FAIL);
	}
	if (!buf_ok(&b))
		return 0;
	serve_count(w, SERVE_STAT_REPLIED);
	return b.pos;
}

/* A mode 6 MAC (RFC 9327 §4, ntpd's ctl_proc): any trusted key makes the
 * answer signed; only the controlkey allows writes. */
static const struct symkey *control_key(struct serve_worker *w, const struct serve_config *cfg,
                                        const uint8_t *req, const struct mode6_request *rq)
{
	if (!rq->has_mac || !cfg->keys || !key_trusted(cfg, rq->keyid))
		return NULL;
	const struct symkey *k = keyfile_get(cfg->keys, rq->keyid);
	if (!k || mac_digest_len(k->alg) < rq->mac_len ||
	    !mac_verify(w->mac, k->alg, k->key, k->len, req, rq->mac_offset, rq->mac, rq->mac_len))
		return NULL;
	return k;
}

/* Signs each fragment of an answer to an authenticated request, in the
 * digest length the client used. False if one does not fit. */
static bool control_sign(struct serve_worker *w, const struct symkey *k, uint32_t keyid,
                         size_t digest_len, struct control_reply *out)
{
	uint8_t digest[MAC_MAX_DIGEST];

	for (size_t i = 0; i < out->n; i++) {
		size_t len = control_pad8(out, i);
		if (len + 4 + digest_len > CONTROL_FRAG_MAX ||
		    mac_compute(w->mac, k->alg, k->key, k->len, out->frag[i], len, digest) < digest_len)
			return false;
		uint8_t *p = out->frag[i] + len;
		p[0] = (uint8_t)(keyid >> 24);
		p[1] = (uint8_t)(keyid >> 16);
		p[2] = (uint8_t)(keyid >> 8);
		p[3] = (uint8_t)keyid;
		memcpy(p + 4, digest, digest_len);
		out->len[i] = len + 4 + digest_len;
	}
	return true;
}

size_t serve_control(struct serve_worker *w, const struct serve_config *cfg,
                     const struct control_sys *sys, const struct control_peer *peers, size_t n,
                     const uint8_t *req, size_t len, const struct sockaddr *from,
                     struct control_reply *out)
{
	struct mode6_request rq;

	out->n = 0;
	uint32_t res;
	if (!serve_admit(w, cfg, len, from, &res))
		return 0;
	if (res & CONF_RES_NOQUERY) {
		serve_count(w, SERVE_STAT_NOQUERY);
		return 0;
	}
	if (mode6_parse_request(req, len, &rq) != MODE6_PARSE_OK) {
		serve_count(w, SERVE_STAT_CONTROL_BAD);
		return 0;
	}
	/* An answer can be several fragments: `limited` bounds how often a
	 * (possibly spoofed) address gets one. Never a KoD in mode 6. */
	if ((res & CONF_RES_LIMITED) &&
	    ratelimit_check(w->rl, from, w->mono_ns(), false) != RATELIMIT_PASS) {
		serve_count(w, SERVE_STAT_LIMITED);
		return 0;
	}
	const struct symkey *k = control_key(w, cfg, req, &rq);
	struct control_access acc = { .authenticated = k && cfg->controlkey && rq.keyid == cfg->controlkey,
		                      .nomodify = (res & CONF_RES_NOMODIFY) != 0 };
	control_answer(&rq, sys, peers, n, w->ntp_now(), &acc, out);
	if (k) {
		serve_count(w, SERVE_STAT_CONTROL_AUTH);
		if (!control_sign(w, k, rq.keyid, rq.mac_len, out)) {
			serve_count(w, SERVE_STAT_CONTROL_BAD);
			out->n = 0;
			return 0;
		}
	}
	for (size_t i = 0; i < out->n; i++)
		serve_count(w, SERVE_STAT_CONTROL_FRAGS);
	if (out->truncated)
		serve_count(w, SERVE_STAT_CONTROL_TRUNCATED);
	if (out->denied) {
		serve_count(w, SERVE_STAT_CONTROL_DENIED);
		return out->n;
	}
	if (out->error)
		serve_count(w, SERVE_STAT_CONTROL_ERROR);
	serve_count(w, SERVE_STAT_CONTROL);
	return out->n;
}
