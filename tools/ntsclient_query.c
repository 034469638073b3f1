/* One server: optional NTS-KE, then N NTP exchanges, combined by the
 * estimator (protocol/estimate.h): the mean of the samples on symmetric
 * jitter, the minimum-delay sample (RFC 5905 §10) on one-way queueing. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/mac.h"
#include "crypto/secret.h"
#include "keyexchange/ke_client.h"
#include "protocol/clock.h"
#include "protocol/estimate.h"
#include "protocol/ntp_packet.h"
#include "protocol/nts_client.h"
#include "tools/ntsclient.h"

#define MAX_KE 3 /* key exchanges per server: first, after NTSN, when out of cookies */

void ntsc_trace(const struct ntsc_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->debug)
		return;
	va_start(ap, fmt);
	fputs("ntsclient: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void ke_trace(void *arg, const char *line)
{
	ntsc_trace(arg, "%s", line);
}

static void fail(struct ntsc_server *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct ntsc_server *s, int code, const char *fmt, ...)
{
	va_list ap;

	s->exit_code = code;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

static const char *ts_str(uint64_t ntp, char *buf, size_t n)
{
	double u = clock_ntp_to_unix(ntp);
	time_t sec = (time_t)floor(u);
	struct tm tm;
	char day[32];

	gmtime_r(&sec, &tm);
	strftime(day, sizeof(day), "%H:%M:%S", &tm);
	if (snprintf(buf, n, "%s.%06ld", day, (long)((u - floor(u)) * 1e6)) < 0)
		buf[0] = '\0';
	return buf;
}

static int ke_exit(enum ke_client_status st)
{
	switch (st) {
	case KE_CLIENT_RESOLVE:
	case KE_CLIENT_CONNECT:
	case KE_CLIENT_TIMEOUT:
		return NTSC_EXIT_UNREACHABLE;
	case KE_CLIENT_TLS_VERIFY:
		return NTSC_EXIT_TLS_VERIFY;
	default:
		return NTSC_EXIT_KE;
	}
}

/* NTS-KE into nts; false with s failed. */
static bool do_ke(const struct ntsc_opts *o, struct ntsc_server *s, struct nts_client *nts,
                  char *ntp_host, size_t hostlen, uint16_t *ntp_port)
{
	struct ke_client_opts ko = {
		.host = s->host,
		.port = o->ke_port,
		.ca_file = o->ca_file,
		.skip_time_check = o->skip_time_check,
		.timeout_ms = (int)(o->timeout * 1000),
		.family = o->family,
		.trace = ke_trace,
		.trace_arg = (void *)(uintptr_t)o,
	};
	struct ke_client_result r;
	char err[512];

	enum ke_client_status st = ke_client_run(&ko, &r, err, sizeof(err));
	if (st != KE_CLIENT_OK) {
		fail(s, ke_exit(st), "%s", err);
		return false;
	}
	nts_client_wipe(nts);
	bool ok = nts_client_init(nts, &r);
	s->aead = r.aead;
	snprintf(ntp_host, hostlen, "%s", r.ntp_server);
	*ntp_port = s->port ? s->port : r.ntp_port;
	ntsc_trace(o, "NTS-KE: %zu cookies received, AEAD %u", r.n_cookies, r.aead);
	ke_client_result_wipe(&r);
	if (!ok)
		fail(s, NTSC_EXIT_KE, "%s: cannot use the keys from NTS-KE (AEAD %u)", s->host,
		     s->aead);
	return ok;
}

static int udp_connect(const struct ntsc_opts *o, struct ntsc_server *s, const char *host,
                       uint16_t port)
{
	struct addrinfo hints = { .ai_family = o->family, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res = NULL;
	char ps[8], h[NI_MAXHOST];
	int fd = -1, rc;

	snprintf(ps, sizeof(ps), "%u", port);
	rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0) {
		fail(s, NTSC_EXIT_UNREACHABLE, "%s: name lookup failed: %s", host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		/* Best effort: without it, recv_stamped() reads the clock. */
		(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
			continue;
		}
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof(h), NULL, 0,
		                NI_NUMERICHOST) != 0)
			snprintf(h, sizeof(h), "?");
		int w = snprintf(s->addr, sizeof(s->addr), ai->ai_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		                 h, port);
		if (w < 0 || (size_t)w >= sizeof(s->addr))
			s->addr[sizeof(s->addr) - 1] = '\0';
	}
	freeaddrinfo(res);
	if (fd < 0)
		fail(s, NTSC_EXIT_UNREACHABLE, "%s port %u: cannot open a socket: %s", host, port,
		     strerror(errno));
	return fd;
}

/* recv() with the kernel's receive time (SO_TIMESTAMPNS) in *rx, else the
 * time now: the wake-up after poll() would add up to milliseconds on a
 * busy machine to the return half of the delay. */
static ssize_t recv_stamped(int fd, uint8_t *buf, size_t len, uint64_t *rx)
{
	char ctrl[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl,
		             .msg_controllen = sizeof(ctrl) };
	ssize_t r = recvmsg(fd, &mh, 0);

	*rx = clock_ntp_now();
	for (struct cmsghdr *c = r >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			*rx = clock_ntp_from_timespec(&ts);
		}
	return r;
}

/* One exchange: 0 no answer (timeout or ICMP), 1 a checked result in *res. */
static int exchange(const struct ntsc_opts *o, int fd, struct ntp_client_state *st,
                    const struct ntp_client_auth *a, struct ntp_sample *smp,
                    enum ntp_client_result *res, int *sock_err, bool *no_cookie)
{
	uint8_t req[NTP_MAX_PACKET], rsp[NTP_MAX_PACKET + 1];
	char b1[32], b2[32], b3[32], b4[32];
	uint64_t now = clock_ntp_now();
	uint64_t t0 = clock_mono_ns(), rx;
	size_t len = ntp_client_request(st, a, now, req, sizeof(req));
	bool got_bad = false;

	*no_cookie = false;
	if (!len) {
		*no_cookie = a->kind == NTP_AUTH_NTS;
		return 0;
	}
	ntsc_trace(o, "NTP: -> request of %zu bytes, t1 %s (transmit timestamp sent: random)",
	           len, ts_str(now, b1, sizeof(b1)));
	/* t1 as late as user space can take it: the request (a MAC or NTS
	 * AEAD, the trace) is built, and what it carries is random anyway. */
	st->t1 = clock_ntp_now();
	if (send(fd, req, len, 0) < 0) {
		*sock_err = errno;
		return 0;
	}
	for (;;) {
		uint64_t el = (clock_mono_ns() - t0) / 1000000;
		long left = (long)(o->timeout * 1000) - (long)el;
		if (left <= 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ssize_t r = recv_stamped(fd, rsp, sizeof(rsp), &rx);
		if (r < 0) {
			*sock_err = errno;
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
				return 0;
			continue;
		}
		if ((size_t)r > NTP_MAX_PACKET)
			continue;
		*res = ntp_client_response(st, a, rsp, (size_t)r, rx, smp);
		if (*res == NTP_CLIENT_BOGUS || (*res == NTP_CLIENT_AUTH_FAIL && st->pending)) {
			ntsc_trace(o, "NTP: <- %zd bytes ignored: %s", r, ntp_client_result_str(*res));
			got_bad = *res == NTP_CLIENT_AUTH_FAIL || got_bad;
			continue;
		}
		if (*res == NTP_CLIENT_OK)
			ntsc_trace(o,
			           "NTP: <- %zd bytes, stratum %d, t2 %s t3 %s t4 %s, offset %+.6f s "
			           "delay %.6f s%s",
			           r, smp->stratum, ts_str(smp->t2, b2, sizeof(b2)),
			           ts_str(smp->t3, b3, sizeof(b3)), ts_str(smp->t4, b4, sizeof(b4)),
			           smp->offset, smp->delay,
			           smp->authenticated ? ", authenticated" : "");
		else
			ntsc_trace(o, "NTP: <- %zd bytes: %s", r, ntp_client_result_str(*res));
		return 1;
	}
	if (got_bad) {
		*res = NTP_CLIENT_AUTH_FAIL;
		return 1;
	}
	ntsc_trace(o, "NTP: no answer within %.1f s", o->timeout);
	return 0;
}

static int result_exit(enum ntp_client_result r)
{
	switch (r) {
	case NTP_CLIENT_OK:
		return NTSC_EXIT_OK;
	case NTP_CLIENT_AUTH_FAIL:
		return NTSC_EXIT_AUTH;
	case NTP_CLIENT_UNSYNC:
		return NTSC_EXIT_UNSYNC;
	case NTP_CLIENT_BOGUS:
		return NTSC_EXIT_UNREACHABLE;
	default:
		return NTSC_EXIT_KOD;
	}
}

static double root_distance(const struct ntp_sample *x)
{
	/* RFC 5905 §11.2.1 (root distance at the moment of the sample). */
	return x->root_delay / 2 + x->root_disp + x->delay / 2 + x->dispersion;
}

/* The server's offset from all its good samples; best stays the
 * minimum-delay sample for delay, dispersion and root distance (the
 * estimate lies within that sample's offset +- (delay/2 + dispersion)). */
static void combine(const struct ntsc_opts *o, struct ntsc_server *s,
                    const struct estimate_sample *samples)
{
	struct estimate e;

	if (!estimate_offset(samples, (size_t)s->good, &e))
		return; /* not finite: keep the minimum-delay sample */
	ntsc_trace(o,
	           "estimate: offset %+.6f s from %d outbound and %d return halves of %d samples "
	           "(min-delay sample %+.6f s; jitter %.6f s, windows %.6f/%.6f s, error %.6f s, "
	           "bound %.6f s)",
	           e.offset, e.n_out, e.n_back, s->good, s->best.offset, e.jitter, e.window_out,
	           e.window_back, e.error, e.bound);
	s->best.offset = e.offset;
}

void ntsc_query(const struct ntsc_opts *o, struct ntsc_server *s)
{
	struct nts_client nts;
	struct mac_ctx *mac = NULL;
	struct ntp_client_state st = { .poll = 6 };
	struct ntp_client_auth a = { .kind = NTP_AUTH_NONE };
	char ntp_host[KE_MAX_HOST + 1];
	uint16_t ntp_port = s->port ? s->port : 123;
	int fd = -1, kes = 0, sock_err = 0, answered = 0;
	enum ntp_client_result last = NTP_CLIENT_OK;
	bool have_last = false;
	struct ntp_sample last_smp;
	struct estimate_sample samples[NTSC_MAX_SAMPLES];

	memset(&nts, 0, sizeof(nts));
	memset(&last_smp, 0, sizeof(last_smp));
	s->exit_code = NTSC_EXIT_OK;
	s->auth = "none";
	snprintf(ntp_host, sizeof(ntp_host), "%s", s->host);
	if (o->nts) {
		s->auth = "nts";
		a.kind = NTP_AUTH_NTS;
		a.nts = &nts;
		kes++;
		if (!do_ke(o, s, &nts, ntp_host, sizeof(ntp_host), &ntp_port))
			goto out;
	} else if (o->key) {
		s->auth = "key";
		a.kind = NTP_AUTH_KEY;
		a.key = o->key;
		a.mac = mac = mac_ctx_new();
		if (!mac) {
			fail(s, NTSC_EXIT_USAGE, "out of memory");
			goto out;
		}
	}
	fd = udp_connect(o, s, ntp_host, ntp_port);
	if (fd < 0)
		goto out;
	ntsc_trace(o, "NTP: querying %s (%s) with %d samples, auth %s", ntp_host, s->addr,
	           o->samples, s->auth);
	for (int i = 0; i < o->samples; i++) {
		struct ntp_sample smp;
		enum ntp_client_result r = NTP_CLIENT_OK;
		bool no_cookie = false;

		if (!exchange(o, fd, &st, &a, &smp, &r, &sock_err, &no_cookie)) {
			if (no_cookie && kes < MAX_KE) {
				ntsc_trace(o, "NTS: out of cookies, new key exchange");
				kes++;
				if (!do_ke(o, s, &nts, ntp_host, sizeof(ntp_host), &ntp_port))
					goto out;
				i--;
			}
			continue;
		}
		answered++;
		last = r;
		last_smp = smp;
		have_last = true;
		if (r == NTP_CLIENT_KOD_NTSN && kes < MAX_KE) {
			ntsc_trace(o, "NTS: NTSN kiss, new key exchange");
			kes++;
			if (!do_ke(o, s, &nts, ntp_host, sizeof(ntp_host), &ntp_port))
				goto out;
			continue;
		}
		if (r != NTP_CLIENT_OK) {
			/* RATE: back off, i.e. stop polling this server now;
			 * DENY/RSTR: stop; UNSYNC and AUTH: further samples
			 * would say the same. */
			break;
		}
		double d = root_distance(&smp);
		if (s->good == 0 || smp.delay < s->best.delay) {
			s->best = smp;
			s->rootdist = d;
		}
		samples[s->good++] = (struct estimate_sample){ .offset = smp.offset,
			                                       .delay = smp.delay,
			                                       .dispersion = smp.dispersion };
		have_last = false;
	}
	if (s->good > 0) {
		s->exit_code = NTSC_EXIT_OK;
		combine(o, s, samples);
		if (s->rootdist > 1.5)
			fail(s, NTSC_EXIT_DISPERSION,
			     "%s: dispersion too large: root distance %.3f s exceeds 1.5 s", s->host,
			     s->rootdist);
		goto out;
	}
	if (have_last) {
		char extra[64] = "";
		if (last == NTP_CLIENT_KOD_OTHER) {
			char code[5];
			for (int k = 0; k < 4; k++) {
				char ch = (char)(last_smp.refid >> (24 - 8 * k));
				code[k] = ch >= 32 && ch < 127 ? ch : '?';
			}
			code[4] = '\0';
			snprintf(extra, sizeof(extra), " (%s)", code);
		}
		if (last >= NTP_CLIENT_KOD_RATE && last <= NTP_CLIENT_KOD_OTHER &&
		    a.kind != NTP_AUTH_NONE && !last_smp.authenticated)
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			         " [unauthenticated]");
		fail(s, result_exit(last), "%s: %s%s", s->host, ntp_client_result_str(last), extra);
	} else if (answered == 0) {
		if (sock_err)
			fail(s, NTSC_EXIT_UNREACHABLE, "%s (%s): server unreachable: %s", s->host,
			     s->addr, strerror(sock_err));
		else if (s->exit_code == NTSC_EXIT_OK)
			fail(s, NTSC_EXIT_UNREACHABLE,
			     "%s (%s): server unreachable: no answer to %d requests within %.1f s each",
			     s->host, s->addr, o->samples, o->timeout);
	}
out:
	s->cookies = nts_client_cookies(&nts);
	if (o->nts)
		nts_client_wipe(&nts);
	mac_ctx_free(mac);
	if (fd >= 0)
		close(fd);
}
