/* ntpbench: NTPv4 mode 3 load generator for one server on loopback.
 *
 * One thread drives N non-blocking UDP sockets, sending requests with
 * sendmmsg() and collecting responses with recvmmsg() in batches. Requests
 * are built (and MACed or NTS-sealed) before the clock starts, SLOTS per
 * socket, so the generator's per-packet cost is the same in every mode and
 * the server, not the generator, is what is measured. Each request's
 * transmit timestamp is a token (run id, socket, slot) that the server
 * echoes as origin (RFC 5905 §8); the slot's send time gives the round trip.
 * A slot is reused after SLOTS more sends on its socket (4x the largest
 * window), by which time its answer has come or is counted lost. The run stops at the
 * request count or the wall-clock limit, whichever comes first; both are
 * always bounded.
 *
 * Load is closed-loop (at most W requests outstanding per socket) unless a
 * rate is given (open loop, requests/s over all sockets). Modes: plain,
 * keyed (RFC 5905 legacy MAC / RFC 8573 CMAC via crypto/mac.h) and NTS
 * (RFC 8915; one NTS-KE at start, then the cookie jar is restored before
 * every request, so cookies are reused: the server's per-request work, cookie
 * open + authenticator check + response seal, is the same as with fresh
 * cookies; responses are counted by origin and must carry extension
 * fields, but are not verified). Keyed responses must carry a MAC; every
 * 64th is verified. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/keyfile.h"
#include "crypto/mac.h"
#include "crypto/secret.h"
#include "keyexchange/ke_client.h"
#include "protocol/nts_client.h"

#define MAX_SOCKS 64
#define MAX_BATCH 256
#define PKT_MAX 1280
#define SLOTS 4096         /* pre-built requests per socket */
#define SLOT_BYTES 512     /* room for one request (NTS: header, uid, cookie, auth) */
#define HIST_US 200000        /* latency histogram: 1 us buckets up to 200 ms */
#define LOST_NS 50000000u /* a request unanswered for 50 ms is lost: frees its window slot */

enum { SLOT_WAIT, SLOT_DONE, SLOT_LOST };

enum bmode { MODE_PLAIN, MODE_KEYED, MODE_NTS };

struct opts {
	const char *target, *keyfile, *nts_host, *ca;
	uint16_t port, nts_port;
	unsigned socks, batch, window;
	uint64_t count, rate;
	double seconds;
	uint32_t keyid;
	bool json;
	enum bmode mode;
};

struct sock {
	int fd;
	uint64_t sent, recvd, outstanding, expired;
	uint64_t tail;       /* oldest request (sequence number) not yet answered or expired */
	uint8_t *pool;       /* SLOTS requests of SLOT_BYTES, built before the run */
	uint16_t *len;       /* their lengths */
	uint64_t *sent_ns;   /* when each slot was last sent */
	uint8_t *state;      /* per slot: SLOT_WAIT, SLOT_DONE or SLOT_LOST */
};

static uint32_t hist[HIST_US + 1]; /* last bucket: >= 200 ms */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: ntpbench [options]\n"
	        "  -t, --target ADDR    server address (loopback only; default 127.0.0.1)\n"
	        "  -p, --port N         server UDP port (default 123)\n"
	        "  -s, --sockets N      sender sockets (default 4, max %d)\n"
	        "  -n, --count N        stop after N requests (default 2000000)\n"
	        "  -d, --seconds S      stop after S seconds (default 10, max 600)\n"
	        "  -r, --rate R         open loop: R requests/s over all sockets\n"
	        "  -W, --window N       closed loop: N outstanding per socket (default 64, max %d)\n"
	        "  -b, --batch N        packets per sendmmsg/recvmmsg (default 32, max %d)\n"
	        "  -k, --keyfile FILE   keyed mode: ntpd key file\n"
	        "  -a, --keyid ID       keyed mode: key id\n"
	        "      --nts HOST[:PORT] NTS mode: NTS-KE server (default port 4460)\n"
	        "      --ca FILE        NTS mode: trusted certificate\n"
	        "      --json           one JSON object instead of a text line\n",
	        MAX_SOCKS, SLOTS / 4, MAX_BATCH);
}

static bool num(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool loopback(const struct opts *o)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, o->target, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, o->target, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_NTS = 256, O_CA, O_JSON };
	static const struct option lo[] = {
		{ "target", required_argument, NULL, 't' }, { "port", required_argument, NULL, 'p' },
		{ "sockets", required_argument, NULL, 's' }, { "count", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 'd' }, { "rate", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'W' }, { "batch", required_argument, NULL, 'b' },
		{ "keyfile", required_argument, NULL, 'k' }, { "keyid", required_argument, NULL, 'a' },
		{ "nts", required_argument, NULL, O_NTS }, { "ca", required_argument, NULL, O_CA },
		{ "json", no_argument, NULL, O_JSON }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;
	char *colon;
	while ((c = getopt_long(argc, argv, "t:p:s:n:d:r:W:b:k:a:h", lo, NULL)) != -1) {
		switch (c) {
		case 't': o->target = optarg; break;
		case 'p':
			if (!num(optarg, 1, 65535, &v))
				goto bad;
			o->port = (uint16_t)v;
			break;
		case 's':
			if (!num(optarg, 1, MAX_SOCKS, &v))
				goto bad;
			o->socks = (unsigned)v;
			break;
		case 'n':
			if (!num(optarg, 1, 1000000000, &o->count))
				goto bad;
			break;
		case 'd':
			o->seconds = strtod(optarg, &colon);
			if (*colon || !(o->seconds > 0 && o->seconds <= 600))
				goto bad;
			break;
		case 'r':
			if (!num(optarg, 1, 100000000, &o->rate))
				goto bad;
			break;
		case 'W':
			if (!num(optarg, 1, SLOTS / 4, &v))
				goto bad;
			o->window = (unsigned)v;
			break;
		case 'b':
			if (!num(optarg, 1, MAX_BATCH, &v))
				goto bad;
			o->batch = (unsigned)v;
			break;
		case 'k': o->keyfile = optarg; o->mode = MODE_KEYED; break;
		case 'a':
			if (!num(optarg, 1, 65535, &v))
				goto bad;
			o->keyid = (uint32_t)v;
			break;
		case O_NTS:
			o->nts_host = optarg;
			o->mode = MODE_NTS;
			colon = strrchr(optarg, ':');
			if (colon && !strchr(colon + 1, ']') && strchr(optarg, ':') == colon) {
				if (!num(colon + 1, 1, 65535, &v))
					goto bad;
				o->nts_port = (uint16_t)v;
				*colon = '\0';
			}
			break;
		case O_CA: o->ca = optarg; break;
		case O_JSON: o->json = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		continue;
bad:
		fprintf(stderr, "ntpbench: bad value '%s' for -%c\n", optarg, c < 256 ? c : '-');
		return -1;
	}
	if (optind != argc || (o->keyfile && !o->keyid) || (o->keyid && !o->keyfile) ||
	    (o->keyfile && o->nts_host)) {
		usage(stderr);
		return -1;
	}
	if (!loopback(o)) {
		fprintf(stderr, "ntpbench: target %s is not a loopback address\n", o->target);
		return -1;
	}
	return 0;
}

struct sender {
	enum bmode mode;
	struct mac_ctx *mac;
	const struct symkey *key;
	struct nts_client nts, nts_saved;
};

/* Builds one request with transmit timestamp token into pkt; returns its
 * length, 0 on failure. */
static size_t build(struct sender *s, uint8_t *pkt, uint64_t token)
{
	uint8_t dig[MAC_MAX_DIGEST];
	size_t n, dl;
	memset(pkt, 0, 48);
	pkt[0] = 0 << 6 | 4 << 3 | 3; /* LI 0, VN 4, mode 3 */
	put_u64(pkt + 40, token);
	switch (s->mode) {
	case MODE_PLAIN: return 48;
	case MODE_KEYED:
		dl = mac_compute(s->mac, s->key->alg, s->key->key, s->key->len, pkt, 48, dig);
		if (!dl)
			return 0;
		if (dl > 20)
			dl = 20; /* NTPsec truncates SHA-2; SHA1/CMAC fit anyway */
		pkt[48] = (uint8_t)(s->key->id >> 24);
		pkt[49] = (uint8_t)(s->key->id >> 16);
		pkt[50] = (uint8_t)(s->key->id >> 8);
		pkt[51] = (uint8_t)s->key->id;
		memcpy(pkt + 52, dig, dl);
		return 52 + dl;
	case MODE_NTS:
		/* Restore the full jar so that every request carries a cookie. */
		memcpy(s->nts.cookies, s->nts_saved.cookies, sizeof s->nts.cookies);
		memcpy(s->nts.cookie_len, s->nts_saved.cookie_len, sizeof s->nts.cookie_len);
		s->nts.head = s->nts_saved.head;
		s->nts.n = s->nts_saved.n;
		n = nts_client_request(&s->nts, pkt, 48, PKT_MAX);
		return n;
	}
	return 0;
}

static int open_socks(const struct opts *o, struct sock *sk)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, o->target, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(o->port);
		sl = sizeof *a4;
	} else {
		inet_pton(AF_INET6, o->target, &a6->sin6_addr);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(o->port);
		sl = sizeof *a6;
	}
	for (unsigned i = 0; i < o->socks; i++) {
		int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int big = 4 << 20;
		if (fd < 0) {
			perror("ntpbench: socket");
			return -1;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
		/* connect(): the kernel drops datagrams from any other address. */
		if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
			perror("ntpbench: connect");
			close(fd);
			return -1;
		}
		sk[i].fd = fd;
	}
	return 0;
}

static uint64_t pct(uint64_t total, double p)
{
	uint64_t want = (uint64_t)(p * (double)total + 0.5), acc = 0;
	if (!total)
		return 0;
	if (want < 1)
		want = 1;
	for (uint64_t i = 0; i <= HIST_US; i++) {
		acc += hist[i];
		if (acc >= want)
			return i;
	}
	return HIST_US;
}

int main(int argc, char **argv)
{
	struct opts o = { .target = "127.0.0.1", .port = 123, .socks = 4, .batch = 32,
	                  .window = 64, .count = 2000000, .seconds = 10, .mode = MODE_PLAIN };
	static struct sock sk[MAX_SOCKS];
	static uint8_t rxbuf[MAX_BATCH][PKT_MAX];
	static struct mmsghdr txm[MAX_BATCH], rxm[MAX_BATCH];
	static struct iovec txv[MAX_BATCH], rxv[MAX_BATCH];
	static struct sender s;
	struct keyfile *kf = NULL;
	uint64_t sent = 0, recvd = 0, bad = 0, send_err = 0;
	uint32_t runid;
	uint64_t authed = 0, checked = 0, check_fail = 0;
	int rc = 1;

	signal(SIGPIPE, SIG_IGN);
	if (parse(argc, argv, &o) < 0)
		return 2;
	s.mode = o.mode;
	if (!secret_init()) {
		fprintf(stderr, "ntpbench: cannot initialise libsodium\n");
		return 1;
	}
	if (o.mode == MODE_KEYED) {
		struct keyfile_errors errs = { 0 };
		kf = keyfile_load(o.keyfile, &errs);
		if (!kf) {
			fprintf(stderr, "ntpbench: %s:%u: %s\n", o.keyfile, errs.n ? errs.v[0].line : 0,
			        errs.n ? errs.v[0].msg : "cannot load");
			return 1;
		}
		s.key = keyfile_get(kf, o.keyid);
		s.mac = mac_ctx_new();
		if (!s.key || !s.mac) {
			fprintf(stderr, "ntpbench: key %" PRIu32 " not in %s\n", o.keyid, o.keyfile);
			goto out;
		}
	} else if (o.mode == MODE_NTS) {
		struct ke_client_opts ko = { .host = o.nts_host, .port = o.nts_port, .ca_file = o.ca,
		                             .timeout_ms = 5000 };
		struct ke_client_result kr;
		char err[256] = "";
		enum ke_client_status st = ke_client_run(&ko, &kr, err, sizeof err);
		if (st != KE_CLIENT_OK) {
			fprintf(stderr, "ntpbench: NTS-KE with %s: %s: %s\n", o.nts_host,
			        ke_client_status_name(st), err);
			return 1;
		}
		bool okinit = nts_client_init(&s.nts, &kr);
		ke_client_result_wipe(&kr);
		if (!okinit) {
			fprintf(stderr, "ntpbench: NTS: unsupported AEAD\n");
			return 1;
		}
		s.nts_saved = s.nts;
	}
	if (open_socks(&o, sk) < 0)
		goto out;
	secret_random(&runid, sizeof runid);
	for (unsigned i = 0; i < o.socks; i++) {
		sk[i].pool = malloc((size_t)SLOTS * SLOT_BYTES);
		sk[i].len = calloc(SLOTS, sizeof *sk[i].len);
		sk[i].sent_ns = calloc(SLOTS, sizeof *sk[i].sent_ns);
		sk[i].state = calloc(SLOTS, sizeof *sk[i].state);
		if (!sk[i].pool || !sk[i].len || !sk[i].sent_ns || !sk[i].state) {
			fprintf(stderr, "ntpbench: out of memory\n");
			goto out;
		}
		for (unsigned j = 0; j < SLOTS; j++) {
			uint64_t token = (uint64_t)runid << 32 | i << 16 | j;
			uint8_t pkt[PKT_MAX];
			size_t len = build(&s, pkt, token);
			if (!len || len > SLOT_BYTES) {
				fprintf(stderr, "ntpbench: cannot build a request (%zu bytes)\n", len);
				goto out;
			}
			memcpy(sk[i].pool + (size_t)j * SLOT_BYTES, pkt, len);
			sk[i].len[j] = (uint16_t)len;
		}
	}
	for (unsigned i = 0; i < MAX_BATCH; i++) {
		rxv[i].iov_base = rxbuf[i];
		rxv[i].iov_len = PKT_MAX;
		rxm[i].msg_hdr.msg_iov = &rxv[i];
		rxm[i].msg_hdr.msg_iovlen = 1;
		txm[i].msg_hdr.msg_iov = &txv[i];
		txm[i].msg_hdr.msg_iovlen = 1;
	}

	struct rusage ru0, ru;
	if (getrusage(RUSAGE_SELF, &ru0) != 0)
		memset(&ru0, 0, sizeof ru0);
	const uint64_t t0 = now_ns();
	const uint64_t limit_ns = (uint64_t)(o.seconds * 1e9);
	uint64_t tend = t0 + limit_ns, now = t0, last_tx = t0;
	bool sending = true;
	/* Bounded: every pass either ends by time (tend, then a 1 s drain) or
	 * stops sending at o.count. */
	for (;;) {
		bool progress = false;
		now = now_ns();
		if (sending && (sent >= o.count || now >= tend)) {
			sending = false;
			last_tx = now;
		}
		if (!sending) {
			bool all = true;
			for (unsigned i = 0; i < o.socks; i++)
				if (sk[i].outstanding)
					all = false;
			if (all || now >= last_tx + 1000000000u)
				break;
		}
		for (unsigned i = 0; i < o.socks; i++) {
			struct sock *k = &sk[i];
			uint64_t want = 0;
			/* Bounded by SLOTS: the tail never trails sent by more. */
			while (k->tail < k->sent) {
				unsigned ts = (unsigned)(k->tail % SLOTS);
				if (k->state[ts] == SLOT_WAIT) {
					if (now - k->sent_ns[ts] < LOST_NS)
						break;
					k->state[ts] = SLOT_LOST;
					k->expired++;
					if (k->outstanding)
						k->outstanding--;
				}
				k->tail++;
			}
			if (sending) {
				if (o.rate) {
					uint64_t due = (uint64_t)((double)(now - t0) * 1e-9 * (double)o.rate);
					uint64_t per = due / o.socks + (i < due % o.socks);
					want = per > k->sent ? per - k->sent : 0;
				} else {
					want = o.window > k->outstanding ? o.window - k->outstanding : 0;
				}
				if (want > o.batch)
					want = o.batch;
				if (want > o.count - sent)
					want = o.count - sent;
				if (k->sent + want > k->tail + SLOTS)
					want = k->tail + SLOTS - k->sent; /* never reuse a waiting slot */
			}
			if (want) {
				unsigned n = (unsigned)want;
				uint64_t tb = now_ns();
				for (unsigned j = 0; j < n; j++) {
					unsigned slot = (unsigned)((k->sent + j) % SLOTS);
					txv[j].iov_base = k->pool + (size_t)slot * SLOT_BYTES;
					txv[j].iov_len = k->len[slot];
					k->sent_ns[slot] = tb;
					k->state[slot] = SLOT_WAIT;
				}
				int r = sendmmsg(k->fd, txm, n, 0);
				if (r > 0) {
					k->sent += (unsigned)r;
					sent += (unsigned)r;
					k->outstanding += (unsigned)r;
					progress = true;
				} else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
					send_err++;
				}
			}
			int r = recvmmsg(k->fd, rxm, o.batch, MSG_DONTWAIT, NULL);
			if (r > 0) {
				uint64_t t = now_ns();
				progress = true;
				for (int j = 0; j < r; j++) {
					const uint8_t *p = rxbuf[j];
					uint64_t org = rxm[j].msg_len >= 48 ? get_u64(p + 24) : 0;
					unsigned slot = (unsigned)(org & 0xffff);
					if ((p[0] & 7) != 4 || org >> 32 != runid || ((org >> 16) & 0xffff) != i ||
					    slot >= SLOTS || !k->sent_ns[slot]) {
						bad++;
						continue;
					}
					uint64_t us = (t - k->sent_ns[slot]) / 1000;
					hist[us > HIST_US ? HIST_US : us]++;
					k->recvd++;
					recvd++;
					if (k->state[slot] == SLOT_WAIT && k->outstanding)
						k->outstanding--;
					if (k->state[slot] == SLOT_LOST)
						k->expired--; /* late, not lost */
					k->state[slot] = SLOT_DONE;
					if (o.mode != MODE_PLAIN && rxm[j].msg_len > 52)
						authed++;
					if (o.mode == MODE_KEYED && (recvd & 63) == 0) {
						/* Sampled: verifying every MAC would load the generator. */
						bool good = rxm[j].msg_len > 52 &&
						            mac_verify(s.mac, s.key->alg, s.key->key, s.key->len, p, 48,
						                       p + 52, rxm[j].msg_len - 52);
						checked++;
						check_fail += !good;
					}
				}
			}
		}
		if (!progress) {
			/* Nothing to send or read: wait for a response briefly. */
			struct pollfd pf[MAX_SOCKS];
			for (unsigned i = 0; i < o.socks; i++) {
				pf[i].fd = sk[i].fd;
				pf[i].events = POLLIN;
			}
			poll(pf, o.socks, o.rate ? 0 : 1);
		}
	}
	double secs = (double)(last_tx - t0) * 1e-9;
	double rps = secs > 0 ? (double)recvd / secs : 0;
	double loss = sent ? 100.0 * (double)(sent - (recvd < sent ? recvd : sent)) / (double)sent : 0;
	uint64_t p50 = pct(recvd, 0.50), p99 = pct(recvd, 0.99);
	double cpu = 0;
	/* CPU time of the run itself (after the pools were built), over the
	 * sending period: the drain makes this a slight overestimate. */
	if (getrusage(RUSAGE_SELF, &ru) == 0 && secs > 0)
		cpu = ((double)(ru.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		       (double)(ru.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		       ((double)(ru.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
		        (double)(ru.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) * 1e-6) / secs;
	static const char *mname[] = { "plain", "keyed", "nts" };
	if (o.json)
		printf("{\"mode\":\"%s\",\"sockets\":%u,\"window\":%u,\"rate\":%" PRIu64
		       ",\"seconds\":%.3f,\"sent\":%" PRIu64 ",\"received\":%" PRIu64
		       ",\"bad\":%" PRIu64 ",\"send_errors\":%" PRIu64 ",\"authenticated\":%" PRIu64
		       ",\"mac_checked\":%" PRIu64 ",\"mac_failed\":%" PRIu64
		       ",\"responses_per_s\":%.0f,\"loss_pct\":%.3f,\"p50_us\":%" PRIu64
		       ",\"p99_us\":%" PRIu64 ",\"generator_cpus\":%.3f}\n",
		       mname[o.mode], o.socks, o.rate ? 0 : o.window, o.rate, secs, sent, recvd, bad,
		       send_err, authed, checked, check_fail, rps, loss, p50, p99, cpu);
	else
		printf("mode=%s sockets=%u %s=%" PRIu64 " seconds=%.3f sent=%" PRIu64
		       " received=%" PRIu64 " bad=%" PRIu64 " send_errors=%" PRIu64
		       " authenticated=%" PRIu64 " mac_checked=%" PRIu64 " mac_failed=%" PRIu64
		       " responses/s=%.0f loss=%.3f%% p50=%" PRIu64 "us p99=%" PRIu64
		       "us generator_cpus=%.3f\n",
		       mname[o.mode], o.socks, o.rate ? "rate" : "window",
		       o.rate ? o.rate : (uint64_t)o.window, secs, sent, recvd, bad, send_err, authed,
		       checked, check_fail, rps, loss, p50, p99, cpu);
	/* Failure when nothing came back, or when keyed/NTS answers were not
	 * authenticated (the server answered, but not the way we measure). */
	rc = recvd && check_fail == 0 && (o.mode == MODE_PLAIN || authed == recvd) ? 0 : 1;
out:
	for (unsigned i = 0; i < o.socks; i++) {
		if (sk[i].fd > 0)
			close(sk[i].fd);
		free(sk[i].pool);
		free(sk[i].len);
		free(sk[i].sent_ns);
		free(sk[i].state);
	}
	if (o.mode == MODE_NTS) {
		nts_client_wipe(&s.nts);
		memset(&s.nts_saved, 0, sizeof s.nts_saved);
	}
	mac_ctx_free(s.mac);
	keyfile_free(kf);
	return rc;
}
