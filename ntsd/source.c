/* Upstream sources: one polling thread, one connected UDP socket per
 * source, NTS key exchanges in short-lived helper threads (a slow KE server
 * never delays the other sources), the synchronization engine fed from
 * here, and a snapshot for the main thread. */
#include "config.h"
#include "ntsd/source.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "crypto/keyfile.h"
#include "crypto/mac.h"
#include "keyexchange/ke_client.h"
#include "protocol/clock.h"
#include "protocol/netaddr.h"
#include "ntsd/clockctl.h"
#include "protocol/ntp_packet.h"
#include "ntsd/driftfile.h"
#include "ntsd/log.h"
#include "ntsd/sandbox.h"
#include "protocol/ntp_client.h"
#include "protocol/nts_client.h"
#include "ntsd/sync.h"

#define POOL_MAX 4          /* addresses taken from one pool line */
#define KE_TIMEOUT_MS 5000
#define KE_BACKOFF_MAX 1024 /* s between failed key exchanges, at most */
#define DRIFT_WRITE_S 3600
#define TICK_MS 250

enum ke_state { KE_IDLE, KE_RUNNING, KE_DONE };

struct src {
	struct sources *owner;
	struct conf_assoc a;
	char name[SYNC_NAME_MAX];
	int idx;                  /* in the sync engine */
	uint16_t associd;
	int fd;                   /* -1 until the NTP address is known */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct ntp_client_auth auth;
	struct ntp_client_state st;
	double next_poll;         /* monotonic s */
	bool waiting;             /* a request is outstanding */
	bool stopped;             /* DENY/RSTR: never poll again */
	double backoff_until;     /* RATE: no poll before this */
	int rate_exp;             /* RATE: current back-off, log2 s (0: none) */
	bool ntsn_seen;           /* an NTSN since the last valid answer */
	char last_error[160];
	char label[SYNC_NAME_MAX + 24]; /* name for logs: "host (key 5)", "host (nts)" */
	unsigned misses;          /* polls in a row without an answer */
	/* NTS */
	struct nts_client nts;
	bool nts_ready;
	pthread_t ke_thread;
	_Atomic int ke_state;
	struct ke_client_result ke_res;
	enum ke_client_status ke_status;
	char ke_err[200];
	struct sockaddr_storage ke_addr;
	socklen_t ke_addrlen;
	unsigned ke_failures;
	double ke_retry_at;
	uint64_t last_ke;
	/* A `pool` line is POOL_MAX sources; the first (the lead) looks the
	 * name up and hands one address to each. */
	struct src *pool_lead;    /* NULL: not from a pool resolved in the background */
	size_t pool_n;            /* lead only: members, itself included */
	struct sockaddr_storage pool_addr[POOL_MAX]; /* lead only: lookup result */
	socklen_t pool_len[POOL_MAX];
	size_t pool_got;
};

struct sources {
	bool no_clock;
	int precision;
	char driftfile[CONF_PATH_MAX];
	char nts_ca[CONF_PATH_MAX];
	struct keyfile *keys;
	struct mac_ctx *mac;
	struct clockctl_ops clk;
	struct clockctl_readonly ro;
	struct sync *sync;
	struct src *v;
	size_t n;
	int epfd, stopfd;
	pthread_t thread;
	bool started;            /* the thread was created */
	_Atomic bool running;    /* cleared to stop it */
	struct control_view work_view; /* built by the thread, copied under lock */
	double drift_written;
	/* Snapshot for the main thread. */
	pthread_mutex_t lock;
	bool have_snap;
	struct serve_sys snap_sys;
	struct control_view snap_view;
	char snap_why[160];
	bool was_synced;
	int last_peer;
};

static double mono_now(void)
{
	return (double)clock_mono_ns() / 1e9;
}

static uint32_t refid_wire(uint32_t host_value)
{
	return htonl(host_value);
}

/* What clients see as our refid when src is the system peer: the IPv4
 * address, or the first four octets of the MD5 of the IPv6 address
 * (RFC 5905 §7.3). Wire byte order, as the sync engine keeps it. */
static uint32_t source_refid(struct sources *s, const struct sockaddr_storage *ss)
{
	uint32_t r = 0;

	if (ss->ss_family == AF_INET) {
		memcpy(&r, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		uint8_t d[MAC_MAX_DIGEST];
		if (mac_compute(s->mac, MAC_MD5, (const uint8_t *)"", 0,
		                ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr, 16, d) >= 4)
			memcpy(&r, d, 4);
	}
	return r;
}

/* Resolves host:port into up to max addresses; with numeric_only, only
 * an address literal (never a DNS query, so it cannot block). */
static size_t resolve_ex(const char *host, uint16_t port, struct sockaddr_storage *out,
                         socklen_t *lens, size_t max, bool numeric_only, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_family = AF_UNSPEC,
		                  .ai_flags = numeric_only ? AI_NUMERICHOST : 0 };
	struct addrinfo *res = NULL;
	char portstr[8];
	size_t n = 0;

	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	int rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
		return 0;
	}
	for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out[0]))
			continue;
		memcpy(&out[n], ai->ai_addr, ai->ai_addrlen);
		lens[n] = (socklen_t)ai->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	if (!n)
		snprintf(err, errlen, "%s has no usable address", host);
	return n;
}

static size_t resolve(const char *host, uint16_t port, struct sockaddr_storage *out,
                      socklen_t *lens, size_t max, char *err, size_t errlen)
{
	return resolve_ex(host, port, out, lens, max, false, err, errlen);
}

/* Opens a socket connected to the source's NTP address, registered with
 * epoll. Closes any previous one. */
static bool open_socket(struct sources *s, struct src *x, char *err, size_t errlen)
{
	int one = 1;

	if (x->fd >= 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, x->fd, NULL);
		close(x->fd);
		x->fd = -1;
	}
	int fd = socket(x->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return false;
	}
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&x->addr, x->addrlen) != 0) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		close(fd);
		return false;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = x };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		close(fd);
		return false;
	}
	x->fd = fd;
	return true;
}

static void set_error(struct src *x, const char *fmt, const char *detail)
{
	char buf[sizeof(x->last_error)];

	snprintf(buf, sizeof(buf), fmt, detail);
	if (strcmp(buf, x->last_error) != 0) {
		memcpy(x->last_error, buf, sizeof(buf));
		if (buf[0])
			log_warn("Source %s: %s", x->label, buf);
	}
}

/* Seconds until the source's next poll. */
static double poll_interval(struct sources *s, struct src *x)
{
	if (sync_want_burst(s->sync, x->idx))
		return SYNC_BURST_INTERVAL;
	return ldexp(1.0, sync_poll_exponent(s->sync, x->idx));
}

/* ---- NTS key exchange, in a helper thread per source ---- */

/* The end of a helper thread (NTS-KE or name lookup): its result is in x;
 * the poller is woken to collect it. */
static void *helper_done(struct src *x)
{
	uint64_t one = 1;

	atomic_store(&x->ke_state, KE_DONE);
	ssize_t w = write(x->owner->stopfd, &one, sizeof(one));
	(void)w;
	return NULL;
}

static void *ke_main(void *arg)
{
	struct src *x = arg;
	struct sources *s = x->owner;

	/* The KE client parses what the network sends: no CAP_SYS_TIME. */
	if (!sandbox_thread(SANDBOX_HELPER))
		log_fatal("Cannot confine NTS-KE helper thread: %s", strerror(errno));
	struct ke_client_opts o = {
		.host = x->a.host,
		.port = x->a.port ? x->a.port : KE_DEFAULT_PORT,
		.ca_file = x->a.ca[0] ? x->a.ca : (s->nts_ca[0] ? s->nts_ca : NULL),
		.no_verify = (x->a.flags & CONF_ASSOC_NOVAL) != 0,
		.timeout_ms = KE_TIMEOUT_MS,
	};

	x->ke_status = ke_client_run(&o, &x->ke_res, x->ke_err, sizeof(x->ke_err));
	if (x->ke_status == KE_CLIENT_OK) {
		socklen_t len = 0;
		if (resolve(x->ke_res.ntp_server, x->ke_res.ntp_port, &x->ke_addr, &len, 1, x->ke_err,
		            sizeof(x->ke_err)) == 0) {
			x->ke_status = KE_CLIENT_RESOLVE;
			ke_client_result_wipe(&x->ke_res);
		}
		x->ke_addrlen = len;
	}
	return helper_done(x);
}

/* A `server` name that is not an address is looked up here, in a helper
 * thread as for NTS-KE: a resolver that hangs (a DNS server that is down
 * costs 10 s per lookup) delays neither the other sources nor, at start,
 * serving time. Results go through ke_addr/ke_status/ke_err. */
static void *dns_main(void *arg)
{
	struct src *x = arg;
	uint16_t port = x->a.port ? x->a.port : 123;
	socklen_t len = 0;

	if (!sandbox_thread(SANDBOX_HELPER))
		log_fatal("Cannot confine name lookup thread: %s", strerror(errno));
	if (x->pool_lead == x) {
		x->pool_got = resolve(x->a.host, port, x->pool_addr, x->pool_len, x->pool_n,
		                      x->ke_err, sizeof(x->ke_err));
		x->ke_status = x->pool_got ? KE_CLIENT_OK : KE_CLIENT_RESOLVE;
	} else {
		x->ke_status = resolve(x->a.host, port, &x->ke_addr, &len, 1, x->ke_err,
		                       sizeof(x->ke_err))
		                   ? KE_CLIENT_OK
		                   : KE_CLIENT_RESOLVE;
		x->ke_addrlen = len;
	}
	return helper_done(x);
}

/* Runs fn (ke_main or dns_main) for x in a helper thread. */
static void helper_start(struct src *x, double mono, void *(*fn)(void *))
{
	if (atomic_load(&x->ke_state) != KE_IDLE || mono < x->ke_retry_at)
		return;
	atomic_store(&x->ke_state, KE_RUNNING);
	if (pthread_create(&x->ke_thread, NULL, fn, x) != 0) {
		atomic_store(&x->ke_state, KE_IDLE);
		x->ke_retry_at = mono + 10;
		set_error(x, "cannot start a helper thread%s", "");
	}
}

/* x has an address now: its socket, refid, and a poll at once. */
static bool use_address(struct sources *s, struct src *x, const struct sockaddr_storage *ss,
                        socklen_t len, double mono)
{
	char err[200];

	x->addr = *ss;
	x->addrlen = len;
	sync_set_refid(s->sync, x->idx, source_refid(s, &x->addr));
	if (!open_socket(s, x, err, sizeof(err))) {
		set_error(x, "%s", err);
		x->ke_retry_at = mono + 60;
		x->next_poll = x->ke_retry_at;
		return false;
	}
	log_info("Source %s: resolved to %s", x->label, netaddr_host(&x->addr, err, sizeof(err)));
	set_error(x, "%s", "");
	x->next_poll = mono;
	return true;
}

/* A name lookup finished: use the address (a pool's lead gives one to
 * each member still without), or retry at the next poll. */
static void dns_finish(struct sources *s, struct src *x, double mono)
{
	if (x->ke_status != KE_CLIENT_OK) {
		set_error(x, "%s", x->ke_err);
		sync_poll_done(s->sync, x->idx, false);
		x->ke_retry_at = mono + poll_interval(s, x);
		x->next_poll = x->ke_retry_at;
		return;
	}
	if (x->pool_lead != x) {
		use_address(s, x, &x->ke_addr, x->ke_addrlen, mono);
		return;
	}
	/* members are x[0..pool_n); each free address to the next member
	 * without one */
	size_t k = 0;
	for (size_t m = 0; m < x->pool_n && k < x->pool_got; m++) {
		struct src *y = &x[m];
		if (y->fd >= 0)
			continue;
		use_address(s, y, &x->pool_addr[k], x->pool_len[k], mono);
		k++;
	}
	if (k < x->pool_n && x->fd >= 0)
		log_info("Source %s: the pool gave %zu addresses for %zu sources", x->label,
		         x->pool_got, x->pool_n);
}

static void ke_finish(struct sources *s, struct src *x, double mono)
{
	char err[200];

	pthread_join(x->ke_thread, NULL);
	atomic_store(&x->ke_state, KE_IDLE);
	if (!(x->a.flags & CONF_ASSOC_NTS)) {
		dns_finish(s, x, mono);
		return;
	}
	if (x->ke_status != KE_CLIENT_OK) {
		x->ke_failures++;
		double wait = pow(2.0, x->ke_failures < 10 ? x->ke_failures : 10);
		x->ke_retry_at = mono + (wait < KE_BACKOFF_MAX ? wait : KE_BACKOFF_MAX);
		snprintf(err, sizeof(err), "NTS-KE with %.40s failed (%s): %.120s", x->a.host,
		         ke_client_status_name(x->ke_status), x->ke_err);
		set_error(x, "%s", err);
		sync_poll_done(s->sync, x->idx, false);
		return;
	}
	nts_client_wipe(&x->nts);
	bool ok = nts_client_init(&x->nts, &x->ke_res);
	size_t ncookies = x->ke_res.n_cookies;
	uint16_t aead = x->ke_res.aead;
	ke_client_result_wipe(&x->ke_res);
	if (!ok) {
		x->ke_failures++;
		x->ke_retry_at = mono + 60;
		set_error(x, "NTS-KE with %s: unusable AEAD or out of memory", x->a.host);
		return;
	}
	memcpy(&x->addr, &x->ke_addr, sizeof(x->addr));
	x->addrlen = x->ke_addrlen;
	if (!open_socket(s, x, err, sizeof(err))) {
		set_error(x, "%s", err);
		x->ke_retry_at = mono + 60;
		return;
	}
	sync_set_refid(s->sync, x->idx, source_refid(s, &x->addr));
	x->ke_failures = 0;
	x->ntsn_seen = false;
	x->nts_ready = true;
	x->last_ke = clock_ntp_now();
	x->st.pending = false;
	x->waiting = false;
	x->next_poll = mono;
	log_info("Source %s: NTS-KE done (AEAD %u, %zu cookies, NTP at %s port %u)", x->name,
	         (unsigned)aead, ncookies, netaddr_host(&x->addr, err, sizeof(err)),
	         (unsigned)netaddr_port(&x->addr));
	if (x->a.flags & CONF_ASSOC_NOVAL)
		log_warn("Source %s: the server's certificate was NOT verified (`noval`): anyone on the "
		         "path can impersonate it",
		         x->label);
	set_error(x, "%s", "");
}

/* ---- polling ---- */

static void poll_source(struct sources *s, struct src *x, double mono)
{
	uint8_t buf[1280];

	if (x->waiting) {
		x->waiting = false;
		x->st.pending = false;
		sync_poll_done(s->sync, x->idx, false);
		if (++x->misses == 4 && !x->last_error[0])
			set_error(x, "no answer to the last 4 polls%s",
			          x->auth.kind == NTP_AUTH_KEY
			              ? " (does the server have this key, with the same secret?)"
			              : "");
	}
	if (x->stopped) {
		x->next_poll = mono + 86400;
		return;
	}
	if (x->a.flags & CONF_ASSOC_NTS) {
		if (atomic_load(&x->ke_state) != KE_IDLE) {
			x->next_poll = mono + 1;
			return;
		}
		if (!x->nts_ready || nts_client_cookies(&x->nts) == 0) {
			x->nts_ready = false;
			helper_start(x, mono, ke_main);
			x->next_poll = (x->ke_retry_at > mono ? x->ke_retry_at : mono + 1);
			return;
		}
	} else if (x->fd < 0) {
		/* a pool member waits for its lead's lookup */
		if ((!x->pool_lead || x->pool_lead == x) && atomic_load(&x->ke_state) == KE_IDLE)
			helper_start(x, mono, dns_main);
		x->next_poll = mono + 1; /* dns_finish schedules the first poll */
		return;
	}

	int pexp = sync_poll_exponent(s->sync, x->idx);
	x->st.poll = (int8_t)(x->rate_exp > pexp ? x->rate_exp : pexp);
	x->st.version = (uint8_t)(x->a.version ? x->a.version : 4);
	size_t len = ntp_client_request(&x->st, &x->auth, clock_ntp_now(), buf, sizeof(buf));
	if (len == 0) {
		if (x->a.flags & CONF_ASSOC_NTS) {
			x->nts_ready = false;
			x->next_poll = mono;
		} else {
			set_error(x, "cannot build a request%s", "");
			x->next_poll = mono + 60;
		}
		return;
	}
	if (send(x->fd, buf, len, 0) < 0) {
		set_error(x, "send: %s", strerror(errno));
		sync_poll_done(s->sync, x->idx, false);
	} else {
		x->waiting = true;
	}
	double next = mono + poll_interval(s, x);
	if (x->rate_exp && next < mono + ldexp(1.0, x->rate_exp))
		next = mono + ldexp(1.0, x->rate_exp); /* asked to slow down: stay slow */
	x->next_poll = next > x->backoff_until ? next : x->backoff_until;
}

static uint64_t rx_timestamp(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return clock_ntp_from_timespec(&ts);
		}
	}
	return clock_ntp_now();
}

static void receive(struct sources *s, struct src *x, double mono)
{
	uint8_t buf[1280];
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec)) + 64];
		struct cmsghdr align;
	} cbuf;

	for (int i = 0; i < 16; i++) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
		                     .msg_controllen = sizeof(cbuf.buf) };
		ssize_t n = recvmsg(x->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ECONNREFUSED)
				set_error(x, "no NTP server at that address (connection refused)%s", "");
			return;
		}
		uint64_t rx = rx_timestamp(&mh);
		if (!x->waiting)
			continue;
		struct ntp_sample smp;
		enum ntp_client_result r = ntp_client_response(&x->st, &x->auth, buf, (size_t)n, rx, &smp);
		bool trusted_kod = smp.authenticated || x->auth.kind == NTP_AUTH_NONE;
		switch (r) {
		case NTP_CLIENT_BOGUS:
			continue;
		case NTP_CLIENT_AUTH_FAIL:
			set_error(x, "%s", ntp_client_result_str(r));
			continue;
		case NTP_CLIENT_OK: {
			struct sync_sample ss = {
				.offset = smp.offset,
				.delay = smp.delay,
				.dispersion = smp.dispersion,
				.root_delay = smp.root_delay,
				.root_disp = smp.root_disp,
				.stratum = smp.stratum,
				.leap = smp.leap,
				.refid = refid_wire(smp.refid),
				.reftime = smp.reftime ? clock_ntp_to_unix(smp.reftime) : 0,
				.poll = x->st.poll,
			};
			sync_sample(s->sync, x->idx, &ss, s->clk.now(s->clk.arg));
			x->misses = 0;
			x->ntsn_seen = false;
			if (x->rate_exp > 0 && --x->rate_exp < 4)
				x->rate_exp = 0; /* RATE back-off relaxes one step per good answer */
			set_error(x, "%s", "");
			break;
		}
		case NTP_CLIENT_KOD_RATE: {
			/* Back off: each RATE doubles the interval, from above the
			 * current poll, up to maxpoll; a good answer resets it. */
			int e = x->rate_exp                        ? x->rate_exp + 1
			        : sync_want_burst(s->sync, x->idx) ? 2
			                                           : sync_poll_exponent(s->sync, x->idx) + 1;
			if (e < 4)
				e = 4;
			x->rate_exp = e < x->a.maxpoll ? e : x->a.maxpoll;
			x->backoff_until = mono + ldexp(1.0, x->rate_exp);
			x->next_poll = x->backoff_until;
			set_error(x, "%s", ntp_client_result_str(r));
			break;
		}
		case NTP_CLIENT_KOD_DENY:
		case NTP_CLIENT_KOD_RSTR:
			if (!trusted_kod)
				continue;
			x->stopped = true;
			set_error(x, "%s; not polled again", ntp_client_result_str(r));
			/* Drop it from selection now (RFC 5905: demobilize),
			 * not when its samples have aged out. */
			for (int k = 0; k < 8; k++)
				sync_poll_done(s->sync, x->idx, false);
			x->waiting = false;
			continue;
		case NTP_CLIENT_KOD_NTSN:
			/* RFC 8915 §5.7: an NTSN cannot be authenticated; re-key
			 * only when the next poll gets no valid answer either. */
			if (x->ntsn_seen)
				x->nts_ready = false;
			x->ntsn_seen = true;
			x->next_poll = mono + (x->nts_ready ? SYNC_BURST_INTERVAL : 0);
			set_error(x, "%s", ntp_client_result_str(r));
			break;
		case NTP_CLIENT_KOD_OTHER:
		case NTP_CLIENT_UNSYNC:
			set_error(x, "%s", ntp_client_result_str(r));
			break;
		}
		x->waiting = false;
		sync_poll_done(s->sync, x->idx, r == NTP_CLIENT_OK || r == NTP_CLIENT_UNSYNC);
	}
}

/* ---- snapshot ---- */

static void fill_snapshot(struct sources *s)
{
	double now = s->clk.now(s->clk.arg);
	struct sync_system sys;
	struct serve_sys out = { 0 };
	struct control_view *view = &s->work_view;
	char why[sizeof(s->snap_why)] = "";

	sync_system(s->sync, now, &sys);
	out.leap = (uint8_t)sys.leap;
	out.stratum = (uint8_t)(sys.stratum > 16 ? 16 : sys.stratum);
	out.precision = (int8_t)s->precision;
	out.refid = ntohl(sys.refid);
	out.root_delay = clock_short_from_double(sys.root_delay);
	out.root_disp = clock_short_from_double(sys.root_disp);
	out.reftime = sys.reftime > 0 ? clock_ntp_from_unix(sys.reftime) : 0;
	if (!sys.synchronized || out.stratum >= 16) {
		out.leap = NTP_LEAP_UNSYNC;
		out.stratum = NTP_STRATUM_UNSYNC;
		if (!sys.refid)
			out.refid = NTP_REFID('I', 'N', 'I', 'T');
	}
	if (sys.why_not)
		snprintf(why, sizeof(why), "%s", sys.why_not);

	memset(view, 0, sizeof(*view));
	view->sys.offset = sys.offset * 1e3;
	view->sys.frequency = sys.freq_ppm;
	view->sys.sys_jitter = sys.jitter * 1e3;
	view->sys.clk_jitter = sys.jitter * 1e3;
	view->sys.clk_wander = sys.wander;
	view->sys.tc = (int8_t)sys.poll;
	view->sys.mintc = 3;
	view->sys.clock_source = sys.sys_peer >= 0 ? MODE6_SRC_NTP : MODE6_SRC_LOCAL;
	for (size_t i = 0; i < s->n && view->n_peers < CONTROL_MAX_PEERS; i++) {
		struct src *x = &s->v[i];
		struct sync_source_status st;
		struct control_peer *p = &view->peers[view->n_peers++];
		sync_source_status(s->sync, x->idx, now, &st);
		p->associd = x->associd;
		p->status = st.ctl_status;
		if (x->idx == sys.sys_peer)
			view->sys.peer = x->associd;
		p->srcadr = x->addr;
		snprintf(p->name, sizeof(p->name), "%.*s", (int)sizeof(p->name) - 1, x->a.host);
		p->refid = ntohl(st.refid);
		p->leap = (uint8_t)st.leap;
		p->stratum = (uint8_t)(st.stratum > 16 ? 16 : st.stratum);
		p->hmode = x->a.kind == CONF_ASSOC_PEER ? 1 : 3;
		p->pmode = x->a.kind == CONF_ASSOC_PEER ? 1 : 4;
		p->reach = st.reach;
		p->ppoll = (int8_t)st.poll;
		p->hpoll = (int8_t)st.poll;
		p->precision = (int8_t)s->precision;
		p->rootdelay = st.root_delay * 1e3;
		p->rootdisp = st.root_disp * 1e3;
		p->delay = st.delay * 1e3;
		p->offset = st.offset * 1e3;
		p->jitter = st.jitter * 1e3;
		p->dispersion = st.disp * 1e3;
		p->rec = st.last_sample_age >= 0 ? clock_ntp_from_unix(now - st.last_sample_age) : 0;
		p->keyid = x->a.key;
		p->auth = (x->a.flags & CONF_ASSOC_NTS) ? CONTROL_AUTH_NTS
		          : x->a.key                    ? CONTROL_AUTH_KEY
		                                        : CONTROL_AUTH_NONE;
		p->ntscookies = (x->a.flags & CONF_ASSOC_NTS) ? (int)nts_client_cookies(&x->nts) : -1;
		p->last_ke = x->last_ke;
	}

	if (sys.synchronized != s->was_synced || sys.sys_peer != s->last_peer) {
		const char *peer = NULL;
		for (size_t i = 0; i < s->n; i++)
			if (s->v[i].idx == sys.sys_peer)
				peer = s->v[i].name;
		if (sys.synchronized && peer)
			log_info("Synchronized to %s, stratum %d", peer, out.stratum);
		else if (sys.synchronized)
			log_info("Serving the local clock at stratum %d", out.stratum);
		else if (s->last_peer == -2)
			log_info("Not synchronized yet: %s", why[0] ? why : "no usable source");
		else
			log_warn("Not synchronized: %s", why[0] ? why : "no usable source");
		s->was_synced = sys.synchronized;
		s->last_peer = sys.sys_peer;
	}

	pthread_mutex_lock(&s->lock);
	s->snap_sys = out;
	s->snap_view = *view;
	memcpy(s->snap_why, why, sizeof(why));
	s->have_snap = true;
	pthread_mutex_unlock(&s->lock);
}

static void write_drift(struct sources *s)
{
	char err[300];

	if (!s->driftfile[0] || s->no_clock)
		return;
	if (!driftfile_write(s->driftfile, s->clk.get_freq(s->clk.arg), err, sizeof(err)))
		log_err("%s", err);
}

static void *poller(void *arg)
{
	struct sources *s = arg;
	struct epoll_event ev[16];

	/* The one thread that keeps CAP_SYS_TIME. */
	if (!sandbox_thread(SANDBOX_SOURCES))
		log_fatal("Cannot confine the sources thread: %s", strerror(errno));
	for (;;) {
		double mono = mono_now();
		double next = mono + TICK_MS / 1000.0;
		for (size_t i = 0; i < s->n; i++) {
			struct src *x = &s->v[i];
			if (atomic_load(&x->ke_state) == KE_DONE)
				ke_finish(s, x, mono);
			if (mono >= x->next_poll)
				poll_source(s, x, mono);
			if (x->next_poll < next)
				next = x->next_poll;
		}
		sync_update(s->sync, s->clk.now(s->clk.arg));
		fill_snapshot(s);
		if (mono - s->drift_written >= DRIFT_WRITE_S) {
			write_drift(s);
			s->drift_written = mono;
		}

		int wait_ms = (int)((next - mono) * 1000.0);
		if (wait_ms < 0)
			wait_ms = 0;
		if (wait_ms > TICK_MS * 4)
			wait_ms = TICK_MS * 4;
		int n = epoll_wait(s->epfd, ev, 16, wait_ms);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == s) {
				uint64_t v;
				ssize_t r = read(s->stopfd, &v, sizeof(v));
				(void)r;
				if (!atomic_load(&s->running))
					return NULL;
				continue;
			}
			receive(s, ev[i].data.ptr, mono_now());
		}
		if (n > 0)
			sync_update(s->sync, s->clk.now(s->clk.arg));
	}
}

/* ---- setup ---- */

static bool add_source(struct sources *s, const struct conf_assoc *a, const struct sockaddr_storage *ss,
                       socklen_t len, char *err, size_t errlen)
{
	struct src *x = &s->v[s->n];
	unsigned flags = 0;

	memset(x, 0, sizeof(*x));
	x->owner = s;
	x->a = *a;
	x->fd = -1;
	atomic_init(&x->ke_state, KE_IDLE);
	if (ss) {
		x->addr = *ss;
		x->addrlen = len;
	}
	if (ss && a->kind == CONF_ASSOC_POOL) {
		char host[INET6_ADDRSTRLEN];
		snprintf(x->name, sizeof(x->name), "%s", netaddr_host(ss, host, sizeof(host)));
	} else {
		snprintf(x->name, sizeof(x->name), "%.*s", SYNC_NAME_MAX - 1, a->host);
	}
	if (a->flags & CONF_ASSOC_NTS)
		snprintf(x->label, sizeof(x->label), "%s (nts)", x->name);
	else if (a->key)
		snprintf(x->label, sizeof(x->label), "%s (key %u)", x->name, (unsigned)a->key);
	else
		snprintf(x->label, sizeof(x->label), "%s", x->name);
	if (a->flags & CONF_ASSOC_PREFER)
		flags |= SYNC_PREFER;
	if (a->flags & CONF_ASSOC_NOSELECT)
		flags |= SYNC_NOSELECT;
	if (a->flags & CONF_ASSOC_IBURST)
		flags |= SYNC_IBURST;
	if (a->key || (a->flags & CONF_ASSOC_NTS))
		flags |= SYNC_AUTH;
	if (a->flags & CONF_ASSOC_NTS) {
		x->auth.kind = NTP_AUTH_NTS;
		x->auth.nts = &x->nts;
	} else if (a->key) {
		const struct symkey *k = s->keys ? keyfile_get(s->keys, a->key) : NULL;
		if (!k) {
			snprintf(err, errlen, "%s:%u: server %s: key %u is not in the key file%s", a->file,
			         a->line, a->host, (unsigned)a->key, s->keys ? "" : " (no `keys` file)");
			return false;
		}
		x->auth.kind = NTP_AUTH_KEY;
		x->auth.key = k;
		x->auth.mac = s->mac;
	}
	x->idx = sync_add_source(s->sync, x->name, ss ? source_refid(s, ss) : 0, flags, a->minpoll,
	                         a->maxpoll);
	if (x->idx < 0) {
		snprintf(err, errlen, "%s:%u: too many sources (at most %d)", a->file, a->line,
		         SYNC_MAX_SOURCES);
		return false;
	}
	x->associd = (uint16_t)(s->n + 1);
	/* Spread the first polls a little; iburst sources start at once. */
	x->next_poll = mono_now() + ((a->flags & CONF_ASSOC_IBURST) ? 0 : 1.0 + 0.5 * (double)s->n);
	s->n++;
	return true;
}

struct sources *sources_new(const struct sources_opts *o, char *err, size_t errlen)
{
	const struct conf *c = o->conf;
	struct sources *s = calloc(1, sizeof(*s));
	size_t max = 0;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->epfd = s->stopfd = -1;
	s->last_peer = -2;
	pthread_mutex_init(&s->lock, NULL);
	s->no_clock = o->no_clock;
	s->precision = o->precision;
	snprintf(s->driftfile, sizeof(s->driftfile), "%s", c->driftfile);
	snprintf(s->nts_ca, sizeof(s->nts_ca), "%s", c->nts_ca);
	for (size_t i = 0; i < c->n_assocs; i++)
		max += c->assocs[i].kind == CONF_ASSOC_POOL ? POOL_MAX : 1;
	if (max > SYNC_MAX_SOURCES)
		max = SYNC_MAX_SOURCES;
	s->v = calloc(max ? max : 1, sizeof(*s->v));
	s->mac = mac_ctx_new();
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!s->v || !s->mac || s->epfd < 0 || s->stopfd < 0) {
		snprintf(err, errlen, "cannot set up the sources: %s", strerror(errno));
		sources_free(s);
		return NULL;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &ev);

	if (o->no_clock) {
		clockctl_readonly_init(&s->ro, &s->clk);
	} else {
		clockctl_real(&s->clk);
	}
	double freq = 0;
	if (s->driftfile[0]) {
		char derr[300];
		enum driftfile_status ds = driftfile_read(s->driftfile, &freq, derr, sizeof(derr));
		if (ds == DRIFTFILE_OK)
			log_info("Frequency %.3f ppm from %s", freq, s->driftfile);
		else if (ds != DRIFTFILE_MISSING)
			log_warn("%s; starting from 0 ppm", derr);
		if (ds != DRIFTFILE_OK)
			freq = 0;
	}
	if (c->keys[0]) {
		struct keyfile_errors ke = { 0 };
		s->keys = keyfile_load(c->keys, &ke); /* errors were reported by the daemon */
	}
	/* Every key checked before anything touches the clock. */
	for (size_t i = 0; i < c->n_assocs; i++) {
		const struct conf_assoc *a = &c->assocs[i];
		if (!a->key || (a->flags & CONF_ASSOC_NTS))
			continue;
		if (!s->keys || !keyfile_get(s->keys, a->key)) {
			snprintf(err, errlen, "%s:%u: server %s: key %u is not in the key file%s", a->file,
			         a->line, a->host, (unsigned)a->key, s->keys ? "" : " (no `keys` file)");
			sources_free(s);
			return NULL;
		}
		if (o->trusted && !(o->trusted[a->key / 8] & (1u << (a->key % 8)))) {
			snprintf(err, errlen, "%s:%u: server %s: key %u is not listed by trustedkey", a->file,
			         a->line, a->host, (unsigned)a->key);
			sources_free(s);
			return NULL;
		}
	}
	struct sync_opts so;
	sync_opts_default(&so);
	so.allow_first_step = o->allow_first_step;
	so.local_stratum = c->local_enabled ? c->local_stratum : 0;
	if (c->tos_minsane > 0)
		so.minsane = c->tos_minsane;
	if (c->tos_maxdist_set)
		so.maxdist = c->tos_maxdist;
	s->sync = sync_new(&so, &s->clk, freq);
	if (!s->sync) {
		snprintf(err, errlen, "out of memory");
		sources_free(s);
		return NULL;
	}
	for (size_t i = 0; i < c->n_assocs && s->n < max; i++) {
		const struct conf_assoc *a = &c->assocs[i];
		struct sockaddr_storage ss[POOL_MAX];
		socklen_t lens[POOL_MAX];
		char rerr[200];

		if (a->flags & CONF_ASSOC_NTS) {
			if (!add_source(s, a, NULL, 0, err, errlen))
				goto fail;
			continue;
		}
		size_t want = a->kind == CONF_ASSOC_POOL ? POOL_MAX : 1;
		size_t got = resolve_ex(a->host, a->port ? a->port : 123, ss, lens, want, true, rerr,
		                        sizeof(rerr));
		if (!got) {
			/* a name: looked up by the poller's helper, never here; a
			 * pool is POOL_MAX sources, the first one looking it up */
			log_info("%s:%u: resolving %s in the background", a->file, a->line, a->host);
			struct src *lead = &s->v[s->n];
			size_t members = 0;
			for (size_t k = 0; k < want && s->n < max; k++, members++) {
				if (!add_source(s, a, NULL, 0, err, errlen))
					goto fail;
				if (a->kind == CONF_ASSOC_POOL)
					s->v[s->n - 1].pool_lead = lead;
			}
			if (a->kind == CONF_ASSOC_POOL)
				lead->pool_n = members;
			continue;
		}
		for (size_t k = 0; k < got && s->n < max; k++)
			if (!add_source(s, a, &ss[k], lens[k], err, errlen))
				goto fail;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct src *x = &s->v[i];
		char oerr[200];
		if (x->addrlen && !(x->a.flags & CONF_ASSOC_NTS) && !open_socket(s, x, oerr, sizeof(oerr)))
			log_warn("Source %s: %s", x->name, oerr);
	}
	s->drift_written = mono_now();
	return s;
fail:
	sources_free(s);
	return NULL;
}

size_t sources_count(const struct sources *s)
{
	return s ? s->n : 0;
}

bool sources_start(struct sources *s, char *err, size_t errlen)
{
	atomic_store(&s->running, true);
	s->started = true;
	if (pthread_create(&s->thread, NULL, poller, s) != 0) {
		s->started = false;
		atomic_store(&s->running, false);
		snprintf(err, errlen, "cannot start the source thread: %s", strerror(errno));
		return false;
	}
	return true;
}

bool sources_snapshot(struct sources *s, struct serve_sys *sys, struct control_view *view,
                      char *why_not, size_t why_len)
{
	bool have;

	pthread_mutex_lock(&s->lock);
	have = s->have_snap;
	if (have) {
		*sys = s->snap_sys;
		if (view)
			*view = s->snap_view;
		if (why_not && why_len)
			snprintf(why_not, why_len, "%s", s->snap_why);
	}
	pthread_mutex_unlock(&s->lock);
	return have;
}

void sources_free(struct sources *s)
{
	if (!s)
		return;
	if (s->started) {
		uint64_t one = 1;
		atomic_store(&s->running, false);
		ssize_t w = write(s->stopfd, &one, sizeof(one));
		(void)w;
		pthread_join(s->thread, NULL);
	}
	for (size_t i = 0; s->v && i < s->n; i++) {
		struct src *x = &s->v[i];
		if (atomic_load(&x->ke_state) != KE_IDLE) {
			pthread_join(x->ke_thread, NULL);
			ke_client_result_wipe(&x->ke_res);
		}
		nts_client_wipe(&x->nts);
		if (x->fd >= 0)
			close(x->fd);
	}
	if (s->sync) {
		write_drift(s);
		sync_free(s->sync);
	}
	keyfile_free(s->keys);
	mac_ctx_free(s->mac);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->stopfd >= 0)
		close(s->stopfd);
	pthread_mutex_destroy(&s->lock);
	free(s->v);
	free(s);
}
