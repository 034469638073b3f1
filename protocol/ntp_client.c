#include "config.h"
#include "protocol/ntp_client.h"

#include <math.h>
#include <string.h>

#include "crypto/buf.h"
#include "crypto/mac.h"
#include "crypto/secret.h"
#include "protocol/clock.h"
#include "protocol/ntp_packet.h"
#include "protocol/nts_client.h"

size_t ntp_client_request(struct ntp_client_state *st, const struct ntp_client_auth *a,
                          uint64_t now, uint8_t *buf, size_t max)
{
	struct ntp_header h = {
		.leap = NTP_LEAP_UNSYNC,
		.version = st->version ? st->version : 4,
		.mode = NTP_MODE_CLIENT,
		.poll = st->poll,
	};
	size_t len = NTP_HEADER_LEN;

	st->pending = false;
	if (max < NTP_HEADER_LEN)
		return 0;
	/* A random transmit timestamp (as chrony does): our clock is not
	 * revealed and an off-path attacker cannot guess the origin that
	 * a valid answer must echo (RFC 5905 §8, draft-ietf-ntp-data-min). */
	secret_random(&h.xmt, sizeof(h.xmt));
	ntp_header_encode(&h, buf);
	if (a->kind == NTP_AUTH_KEY) {
		uint8_t d[MAC_MAX_DIGEST];
		if (!a->key || !a->mac)
			return 0;
		size_t dl = mac_digest_len(a->key->alg);
		/* ntpd and NTPsec send MD5/SHA1/CMAC in full and truncate
		 * longer digests to 20 bytes. */
		size_t send = dl > 20 ? 20 : dl;
		if (len + 4 + send > max ||
		    mac_compute(a->mac, a->key->alg, a->key->key, a->key->len, buf, len, d) != dl)
			return 0;
		store_be32(buf + len, a->key->id);
		memcpy(buf + len + 4, d, send);
		secret_wipe(d, sizeof(d));
		len += 4 + send;
	} else if (a->kind == NTP_AUTH_NTS) {
		if (!a->nts || !(len = nts_client_request(a->nts, buf, NTP_HEADER_LEN, max)))
			return 0;
	}
	st->xmt = h.xmt;
	st->t1 = now;
	st->pending = true;
	return len;
}

static enum ntp_client_result check_auth(const struct ntp_client_auth *a, const uint8_t *pkt,
                                         size_t len, const struct ntp_tail *t, bool *ntsn)
{
	*ntsn = false;
	switch (a->kind) {
	case NTP_AUTH_NONE:
		return NTP_CLIENT_OK;
	case NTP_AUTH_KEY:
		if (!t->has_mac || !t->digest || t->keyid != a->key->id)
			return NTP_CLIENT_AUTH_FAIL;
		if (!mac_verify(a->mac, a->key->alg, a->key->key, a->key->len, pkt, t->mac_offset,
		                t->digest, t->digest_len))
			return NTP_CLIENT_AUTH_FAIL;
		return NTP_CLIENT_OK;
	case NTP_AUTH_NTS:
		switch (nts_client_response(a->nts, pkt, len)) {
		case NTS_CLIENT_OK:
			return NTP_CLIENT_OK;
		case NTS_CLIENT_NTSN:
			*ntsn = true;
			return NTP_CLIENT_KOD_NTSN;
		case NTS_CLIENT_BAD:
			break;
		}
		return NTP_CLIENT_AUTH_FAIL;
	}
	return NTP_CLIENT_AUTH_FAIL;
}

static double precision_s(int p)
{
	return ldexp(1.0, p);
}

enum ntp_client_result ntp_client_response(struct ntp_client_state *st,
                                           const struct ntp_client_auth *a, const uint8_t *pkt,
                                           size_t len, uint64_t rx_time, struct ntp_sample *out)
{
	struct ntp_header h;
	struct ntp_tail t;
	bool ntsn;

	memset(out, 0, sizeof(*out));
	if (!st->pending || ntp_packet_parse(pkt, len, &h, &t) != NTP_PARSE_OK)
		return NTP_CLIENT_BOGUS;
	/* RFC 5905 §8: the origin must be our transmit timestamp, else it is
	 * a duplicate, a replay or a spoof and is ignored (st stays pending). */
	if (h.mode != NTP_MODE_SERVER || h.org != st->xmt || h.version < 1 || h.version > 4)
		return NTP_CLIENT_BOGUS;
	/* A time answer (no kiss, synchronized) without receive or transmit
	 * timestamp is no answer either; ignored before the authentication
	 * check, so that it ends nothing (st stays pending, an NTS client
	 * keeps its state) and the genuine answer may follow. */
	bool kiss_or_unsync =
	    h.stratum == 0 || h.leap == NTP_LEAP_UNSYNC || h.stratum >= NTP_STRATUM_UNSYNC;
	if (!kiss_or_unsync && (h.xmt == 0 || h.rec == 0))
		return NTP_CLIENT_BOGUS;
	out->stratum = h.stratum;
	out->leap = h.leap;
	out->refid = h.refid;
	out->poll = h.poll;
	out->precision = h.precision;
	enum ntp_client_result ar = check_auth(a, pkt, len, &t, &ntsn);
	if (ntsn) {
		st->pending = false;
		return NTP_CLIENT_KOD_NTSN;
	}
	/* A kiss that echoes our random origin but is not authenticated
	 * (servers often send KoDs without MAC) is reported with
	 * authenticated = false; the caller must not act on its DENY/RSTR
	 * beyond this exchange (RFC 8915 §5.7, chrony does the same). */
	out->authenticated = ar == NTP_CLIENT_OK && a->kind != NTP_AUTH_NONE;
	if (ar != NTP_CLIENT_OK &&
	    !(h.stratum == 0 && h.refid != 0 && h.refid != NTP_REFID('I', 'N', 'I', 'T') &&
	      h.refid != NTP_REFID('S', 'T', 'E', 'P')))
		return ar; /* st stays pending: the genuine answer may follow */
	st->pending = false;
	/* RFC 5905 §7.4: stratum 0 with an ASCII refid is a kiss-o'-death.
	 * Unauthenticated kisses only count when no auth was asked. */
	if (h.stratum == 0) {
		switch (h.refid) {
		case NTP_KISS_RATE:
			return NTP_CLIENT_KOD_RATE;
		case NTP_KISS_DENY:
			return NTP_CLIENT_KOD_DENY;
		case NTP_KISS_RSTR:
			return NTP_CLIENT_KOD_RSTR;
		case NTP_KISS_NTSN:
			return NTP_CLIENT_KOD_NTSN;
		case 0:
		case NTP_REFID('I', 'N', 'I', 'T'):
		case NTP_REFID('S', 'T', 'E', 'P'):
			/* Not kisses: ntpd sends stratum 16 as 0 with refid
			 * INIT (never synchronized) or STEP (just stepped);
			 * chrony sends refid 0. */
			return NTP_CLIENT_UNSYNC;
		default:
			return NTP_CLIENT_KOD_OTHER;
		}
	}
	if (h.leap == NTP_LEAP_UNSYNC || h.stratum >= NTP_STRATUM_UNSYNC)
		return NTP_CLIENT_UNSYNC;

	out->t1 = st->t1;
	out->t2 = h.rec;
	out->t3 = h.xmt;
	out->t4 = rx_time;
	out->reftime = h.reftime;
	out->root_delay = clock_short_to_double(h.root_delay);
	out->root_disp = clock_short_to_double(h.root_disp);
	/* RFC 5905 §8: offset and delay from the four timestamps. */
	double t21 = clock_ntp_diff(out->t2, out->t1);
	double t34 = clock_ntp_diff(out->t3, out->t4);
	out->offset = (t21 + t34) / 2;
	out->delay = clock_ntp_diff(out->t4, out->t1) - clock_ntp_diff(out->t3, out->t2);
	if (out->delay < 0)
		out->delay = 0;
	/* RFC 5905 §8 (A.5.1.1): epsilon = 2^precision(server) + 2^precision
	 * (ours, assumed -20) + PHI * delay. */
	out->dispersion = precision_s(h.precision) + precision_s(-20) + NTP_CLIENT_PHI * out->delay;
	return NTP_CLIENT_OK;
}

const char *ntp_client_result_name(enum ntp_client_result r)
{
	switch (r) {
	case NTP_CLIENT_OK:
		return "ok";
	case NTP_CLIENT_BOGUS:
		return "bogus";
	case NTP_CLIENT_AUTH_FAIL:
		return "auth";
	case NTP_CLIENT_KOD_RATE:
		return "RATE";
	case NTP_CLIENT_KOD_DENY:
		return "DENY";
	case NTP_CLIENT_KOD_RSTR:
		return "RSTR";
	case NTP_CLIENT_KOD_NTSN:
		return "NTSN";
	case NTP_CLIENT_KOD_OTHER:
		return "KoD";
	case NTP_CLIENT_UNSYNC:
		return "unsync";
	}
	return "?";
}

const char *ntp_client_result_str(enum ntp_client_result r)
{
	switch (r) {
	case NTP_CLIENT_OK:
		return "ok";
	case NTP_CLIENT_BOGUS:
		return "answer not matching our request (ignored)";
	case NTP_CLIENT_AUTH_FAIL:
		return "authentication failed: the answer was unauthenticated, a crypto-NAK, or its "
		       "MAC/authenticator did not verify (wrong key?)";
	case NTP_CLIENT_KOD_RATE:
		return "kiss-o'-death RATE: the server asks us to poll less often";
	case NTP_CLIENT_KOD_DENY:
		return "kiss-o'-death DENY: the server refuses access";
	case NTP_CLIENT_KOD_RSTR:
		return "kiss-o'-death RSTR: the server restricts access";
	case NTP_CLIENT_KOD_NTSN:
		return "kiss-o'-death NTSN: the server refused our NTS cookie; a new key exchange "
		       "is needed";
	case NTP_CLIENT_KOD_OTHER:
		return "kiss-o'-death: the server sent an unknown kiss code";
	case NTP_CLIENT_UNSYNC:
		return "server unsynchronized (LI=3 or stratum 16): the server has not finished "
		       "synchronizing yet; check with ntsq -p";
	}
	return "?";
}
