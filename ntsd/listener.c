#include "config.h"
#include "ntsd/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ntsd/log.h"
#include "ntsd/sandbox.h"
#include "protocol/clock.h"
#include "protocol/netaddr.h"
#include "protocol/ntp_packet.h"

#define MAX_ADDRS 16
#define MAX_WORKERS 16
#define BATCH 32
#define CMSG_SPACE_RX 256
#define CMSG_SPACE_TX 64
#define POLL_MS 200
#define DEFAULT_RL_ENTRIES 65536

/* System variables behind a sequence lock: one writer (main thread),
 * lock-free readers. Fields are relaxed atomics so concurrent reads are
 * well defined; the sequence number makes the set consistent. */
struct sys_pub {
	_Atomic unsigned seq;
	_Atomic uint64_t w[4];
};

struct worker {
	struct listener *srv;
	pthread_t thread;
	bool started;
	int fds[MAX_ADDRS];
	struct serve_worker sw;
	_Atomic unsigned seen_gen;
	unsigned gen;
	_Atomic unsigned mk_seen;
	/* The control view this worker is reading, NULL when none: the
	 * publisher frees a view only once no worker holds it. */
	_Atomic(struct control_view *) ctl_hazard;
	struct control_sys ctl_sys;
	struct control_reply ctl_out;
	/* Batch buffers: fixed, allocated with the worker. */
	struct mmsghdr rx[BATCH], tx[BATCH];
	struct iovec rxiov[BATCH], txiov[BATCH];
	struct sockaddr_storage from[BATCH];
	uint8_t rxbuf[BATCH][NTP_MAX_PACKET + 1];
	uint8_t txbuf[BATCH][NTP_MAX_PACKET];
	uint8_t rxctl[BATCH][CMSG_SPACE_RX];
	uint8_t txctl[BATCH][CMSG_SPACE_TX];
};

struct listener {
	struct sockaddr_storage addrs[MAX_ADDRS];
	size_t n_addrs;
	unsigned n_workers;
	size_t rl_entries;
	struct worker *workers[MAX_WORKERS];
	char notes[256];
	_Atomic(struct serve_config *) cfg;
	_Atomic(const struct masterkey_set *) mk;
	_Atomic unsigned mk_gen;
	struct sys_pub sys;
	atomic_bool stop;
	/* Mode 6: the latest published view (immutable once published) and
	 * the fields ntsd knows by itself. */
	_Atomic(struct control_view *) ctl;
	struct control_sys ctl_base;
};

static void sys_store(struct sys_pub *p, const struct serve_sys *s)
{
	unsigned seq = atomic_load_explicit(&p->seq, memory_order_relaxed);
	atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&p->w[0],
	                      (uint64_t)s->leap << 16 | (uint64_t)s->stratum << 8 | (uint8_t)s->precision,
	                      memory_order_relaxed);
	atomic_store_explicit(&p->w[1], (uint64_t)s->root_delay << 32 | s->root_disp, memory_order_relaxed);
	atomic_store_explicit(&p->w[2], s->refid, memory_order_relaxed);
	atomic_store_explicit(&p->w[3], s->reftime, memory_order_relaxed);
	atomic_store_explicit(&p->seq, seq + 2, memory_order_release);
}

static void sys_load(struct sys_pub *p, struct serve_sys *s)
{
	uint64_t w[4];
	unsigned a, b;

	do {
		a = atomic_load_explicit(&p->seq, memory_order_acquire);
		for (int i = 0; i < 4; i++)
			w[i] = atomic_load_explicit(&p->w[i], memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		b = atomic_load_explicit(&p->seq, memory_order_relaxed);
	} while (a != b || (a & 1));
	s->leap = (uint8_t)(w[0] >> 16);
	s->stratum = (uint8_t)(w[0] >> 8);
	s->precision = (int8_t)(uint8_t)w[0];
	s->root_delay = (uint32_t)(w[1] >> 32);
	s->root_disp = (uint32_t)w[1];
	s->refid = (uint32_t)w[2];
	s->reftime = w[3];
}

/* version, processor and system as ntpd reports them. */
static void control_base(struct control_sys *b)
{
	struct utsname u;

	memset(b, 0, sizeof(*b));
	snprintf(b->version, sizeof(b->version), "ntsd %s", NTSD_VERSION);
	if (uname(&u) == 0) {
		/* Cut to fit: these are informational. */
		snprintf(b->processor, sizeof(b->processor), "%.31s", u.machine);
		snprintf(b->system, sizeof(b->system), "%.20s/%.40s", u.sysname, u.release);
	}
}

static bool add_addr(struct listener *s, const struct sockaddr *sa, uint16_t port)
{
	if (s->n_addrs == MAX_ADDRS)
		return false;
	struct sockaddr_storage *ss = &s->addrs[s->n_addrs];
	memset(ss, 0, sizeof(*ss));
	if (sa->sa_family == AF_INET)
		memcpy(ss, sa, sizeof(struct sockaddr_in));
	else if (sa->sa_family == AF_INET6)
		memcpy(ss, sa, sizeof(struct sockaddr_in6));
	else
		return false;
	netaddr_set_port(ss, port);
	for (size_t i = 0; i < s->n_addrs; i++)
		if (!memcmp(&s->addrs[i], ss, sizeof(*ss)))
			return true;
	s->n_addrs++;
	return true;
}

/* A listen entry is a numeric address or an interface name (all of its
 * addresses). */
static bool resolve_listen(struct listener *s, const char *what, uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, what, &s4.sin_addr) == 1)
		return add_addr(s, (struct sockaddr *)&s4, port);
	if (inet_pton(AF_INET6, what, &s6.sin6_addr) == 1)
		return add_addr(s, (struct sockaddr *)&s6, port);

	struct ifaddrs *ifa, *i;
	bool found = false;
	if (getifaddrs(&ifa) != 0) {
		snprintf(err, errlen, "interface %s: %s", what, strerror(errno));
		return false;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, what) != 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6)
			found = add_addr(s, i->ifa_addr, port) || found;
	}
	freeifaddrs(ifa);
	if (!found)
		snprintf(err, errlen, "interface listen %s: no such address or interface with an address", what);
	return found;
}

static int open_socket(const struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char name[INET6_ADDRSTRLEN + 8];
	int one = 1, fd;
	int rcvbuf = 4 << 20;

	fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		goto fail;
	/* A bigger receive buffer absorbs bursts; the kernel may cap it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (ss->ss_family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
			goto fail;
	} else {
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)ss, netaddr_len(ss)) < 0)
		goto fail;
	return fd;
fail:
	netaddr_format(ss, name, sizeof(name));
	snprintf(err, errlen, "Cannot listen on %s: %s", name, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static void worker_free(struct worker *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < MAX_ADDRS; i++)
		if (w->fds[i] >= 0)
			close(w->fds[i]);
	serve_worker_destroy(&w->sw);
	free(w);
}

static struct worker *worker_new(struct listener *s, char *err, size_t errlen)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w) {
		snprintf(err, errlen, "Out of memory");
		return NULL;
	}
	w->srv = s;
	atomic_init(&w->ctl_hazard, NULL);
	for (size_t i = 0; i < MAX_ADDRS; i++)
		w->fds[i] = -1;
	for (size_t i = 0; i < s->n_addrs; i++) {
		w->fds[i] = open_socket(&s->addrs[i], err, errlen);
		if (w->fds[i] < 0) {
			worker_free(w);
			return NULL;
		}
	}
	for (size_t i = 0; i < BATCH; i++) {
		w->rxiov[i] = (struct iovec){ w->rxbuf[i], sizeof(w->rxbuf[i]) };
		w->txiov[i] = (struct iovec){ w->txbuf[i], 0 };
	}
	return w;
}

/* An IPv6 address the system cannot bind (IPv6 disabled, ::1 missing) is
 * dropped with a note rather than stopping an IPv4 service. */
static void drop_unavailable_v6(struct listener *s)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->n_addrs; i++) {
		const struct sockaddr_storage *ss = &s->addrs[i];
		bool keep = true;
		if (ss->ss_family == AF_INET6) {
			int one = 1;
			int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fd >= 0) {
				setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			}
			if (fd < 0 || (bind(fd, (const struct sockaddr *)ss, netaddr_len(ss)) != 0 &&
			               (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT))) {
				char name[INET6_ADDRSTRLEN + 8];
				size_t used = strlen(s->notes);
				netaddr_format(ss, name, sizeof(name));
				snprintf(s->notes + used, sizeof(s->notes) - used, "%s%s unavailable",
				         used ? "; " : "", name);
				keep = false;
			}
			if (fd >= 0)
				close(fd);
		}
		if (keep)
			s->addrs[kept++] = *ss;
	}
	s->n_addrs = kept;
}

const char *listener_notes(const struct listener *s)
{
	return s->notes;
}

struct listener *listener_new(const struct listener_opts *o, char *err, size_t errlen)
{
	struct listener *s = calloc(1, sizeof(*s));
	long ncpu;

	if (!s) {
		snprintf(err, errlen, "Out of memory");
		return NULL;
	}
	if (o->n_listen == 0) {
		struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
		add_addr(s, (struct sockaddr *)&s4, o->port);
		/* IPv6 only where the system has it. */
		int probe = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (probe >= 0) {
			close(probe);
			add_addr(s, (struct sockaddr *)&s6, o->port);
		}
	}
	for (size_t i = 0; i < o->n_listen; i++) {
		if (!resolve_listen(s, o->listen[i].addr, o->port, err, errlen)) {
			if (s->n_addrs == MAX_ADDRS)
				snprintf(err, errlen, "More than %d listen addresses", MAX_ADDRS);
			free(s);
			return NULL;
		}
	}
	drop_unavailable_v6(s);
	if (s->n_addrs == 0) {
		snprintf(err, errlen, "No address to listen on (%s)", s->notes);
		free(s);
		return NULL;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->n_workers = o->workers ? o->workers : (unsigned)(ncpu > 0 ? ncpu : 1);
	if (s->n_workers > MAX_WORKERS)
		s->n_workers = MAX_WORKERS;
	s->rl_entries = o->ratelimit_entries ? o->ratelimit_entries : DEFAULT_RL_ENTRIES;
	for (unsigned i = 0; i < s->n_workers; i++) {
		s->workers[i] = worker_new(s, err, errlen);
		if (!s->workers[i]) {
			listener_free(s);
			return NULL;
		}
	}
	atomic_init(&s->stop, false);
	atomic_init(&s->ctl, NULL);
	control_base(&s->ctl_base);
	return s;
}

/* Receive timestamp and the local address the request was sent to. */
static uint64_t parse_rx_cmsg(struct msghdr *mh, struct in_pktinfo *pi4, struct in6_pktinfo *pi6,
                              int *which)
{
	uint64_t rx = 0;
	*which = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			rx = clock_ntp_from_timespec(&ts);
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(pi4, CMSG_DATA(c), sizeof(*pi4));
			*which = 4;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			memcpy(pi6, CMSG_DATA(c), sizeof(*pi6));
			*which = 6;
		}
	}
	return rx ? rx : clock_ntp_now();
}

/* Reply from the address the request came to (matters on multi-homed
 * hosts and with several loopback addresses). */
static size_t build_tx_cmsg(uint8_t *ctl, int which, const struct in_pktinfo *pi4,
                            const struct in6_pktinfo *pi6)
{
	struct msghdr mh = { .msg_control = ctl, .msg_controllen = CMSG_SPACE_TX };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(ctl, 0, CMSG_SPACE_TX);
	if (which == 4) {
		struct in_pktinfo pi = { .ipi_spec_dst = pi4->ipi_addr };
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	if (which == 6) {
		struct in6_pktinfo pi = { .ipi6_addr = pi6->ipi6_addr, .ipi6_ifindex = pi6->ipi6_ifindex };
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	return 0;
}

/* The system variables of a mode 6 answer: what the workers serve to
 * clients (leap, stratum, refid...) always comes from the published
 * serve_sys, the rest from the control view when there is one. */
static void control_sys_of(const struct listener *s, const struct control_view *v,
                           const struct serve_sys *ss, struct control_sys *cs)
{
	*cs = v ? v->sys : s->ctl_base;
	if (!v)
		cs->clock_source = ss->leap != NTP_LEAP_UNSYNC ? MODE6_SRC_LOCAL : MODE6_SRC_UNSPEC;
	cs->leap = ss->leap;
	cs->stratum = ss->stratum;
	cs->precision = ss->precision;
	cs->rootdelay = clock_short_to_double(ss->root_delay) * 1e3;
	cs->rootdisp = clock_short_to_double(ss->root_disp) * 1e3;
	cs->refid = ss->refid;
	cs->reftime = ss->reftime;
	cs->refid_ascii = (v && v->sys.refid_ascii) || ss->stratum <= 1 || ss->stratum >= NTP_STRATUM_UNSYNC ||
	                  ss->refid == NTP_REFID('L', 'O', 'C', 'L');
}

/* Mode 6: answered on its own, outside the batch, since one request may
 * take several fragments; rare and rate-limited, so not worth batching. */
static void answer_control(struct worker *w, int fd, const struct serve_config *cfg,
                           const struct serve_sys *ss, int i, size_t len, uint8_t *ctl,
                           size_t ctllen)
{
	struct listener *s = w->srv;
	struct control_view *v;

	/* Hazard pointer: announce, then check the view is still current. */
	do {
		v = atomic_load(&s->ctl);
		atomic_store(&w->ctl_hazard, v);
	} while (atomic_load(&s->ctl) != v);
	control_sys_of(s, v, ss, &w->ctl_sys);
	size_t nf = serve_control(&w->sw, cfg, &w->ctl_sys, v ? v->peers : NULL, v ? v->n_peers : 0,
	                          w->rxbuf[i], len, (const struct sockaddr *)&w->from[i], &w->ctl_out);
	atomic_store(&w->ctl_hazard, NULL);
	for (size_t f = 0; f < nf; f++) {
		struct iovec iov = { w->ctl_out.frag[f], w->ctl_out.len[f] };
		struct msghdr mh = {
			.msg_name = &w->from[i],
			.msg_namelen = w->rx[i].msg_hdr.msg_namelen,
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctllen ? ctl : NULL,
			.msg_controllen = ctllen,
		};
		if (sendmsg(fd, &mh, 0) < 0)
			serve_count(&w->sw, SERVE_STAT_SEND_FAIL);
	}
}

static void serve_batch(struct worker *w, int fd, const struct serve_config *cfg)
{
	struct serve_sys sys;
	int n, m = 0;

	for (int i = 0; i < BATCH; i++) {
		w->rx[i].msg_hdr = (struct msghdr){
			.msg_name = &w->from[i],
			.msg_namelen = sizeof(w->from[i]),
			.msg_iov = &w->rxiov[i],
			.msg_iovlen = 1,
			.msg_control = w->rxctl[i],
			.msg_controllen = CMSG_SPACE_RX,
		};
	}
	n = recvmmsg(fd, w->rx, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	sys_load(&w->srv->sys, &sys);
	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &w->rx[i].msg_hdr;
		struct in_pktinfo pi4;
		struct in6_pktinfo pi6;
		int which;
		uint64_t rx = parse_rx_cmsg(mh, &pi4, &pi6, &which);
		size_t len = w->rx[i].msg_len;

		if (mh->msg_flags & MSG_TRUNC)
			len = NTP_MAX_PACKET + 1;
		if (serve_is_control(w->rxbuf[i], len)) {
			uint8_t ctl[CMSG_SPACE_TX];
			size_t ctllen = build_tx_cmsg(ctl, which, &pi4, &pi6);
			answer_control(w, fd, cfg, &sys, i, len, ctl, ctllen);
			continue;
		}
		size_t rlen = serve_packet(&w->sw, cfg, &sys, w->rxbuf[i], len,
		                           (const struct sockaddr *)&w->from[i], rx, w->txbuf[m],
		                           sizeof(w->txbuf[m]));
		if (rlen == 0)
			continue;
		w->txiov[m].iov_len = rlen;
		w->tx[m].msg_hdr = (struct msghdr){
			.msg_name = &w->from[i],
			.msg_namelen = mh->msg_namelen,
			.msg_iov = &w->txiov[m],
			.msg_iovlen = 1,
			.msg_control = w->txctl[m],
		};
		w->tx[m].msg_hdr.msg_controllen = build_tx_cmsg(w->txctl[m], which, &pi4, &pi6);
		if (w->tx[m].msg_hdr.msg_controllen == 0)
			w->tx[m].msg_hdr.msg_control = NULL;
		m++;
	}
	for (int sent = 0; sent < m;) {
		int r = sendmmsg(fd, w->tx + sent, (unsigned)(m - sent), 0);
		if (r <= 0) {
			/* Count the one that failed and go on with the rest. */
			serve_count(&w->sw, SERVE_STAT_SEND_FAIL);
			sent++;
			continue;
		}
		sent += r;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct listener *s = w->srv;
	struct pollfd pfd[MAX_ADDRS];

	/* Workers parse untrusted datagrams: no capabilities, a narrow
	 * filter, before the first one is read. */
	if (!sandbox_thread(SANDBOX_NTP))
		log_fatal("Cannot confine NTP worker thread: %s", strerror(errno));
	for (size_t i = 0; i < s->n_addrs; i++)
		pfd[i] = (struct pollfd){ .fd = w->fds[i], .events = POLLIN };
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		const struct serve_config *cfg = atomic_load_explicit(&s->cfg, memory_order_acquire);
		if (cfg->generation != w->gen) {
			serve_worker_reconfigure(&w->sw, cfg);
			w->gen = cfg->generation;
		}
		atomic_store_explicit(&w->seen_gen, cfg->generation, memory_order_release);
		unsigned mg = atomic_load_explicit(&s->mk_gen, memory_order_acquire);
		if (mg != atomic_load_explicit(&w->mk_seen, memory_order_relaxed)) {
			/* Built outside the packet path, once per rotation. */
			nts_worker_set_keys(&w->sw.nts, atomic_load(&s->mk));
			atomic_store_explicit(&w->mk_seen, mg, memory_order_release);
		}
		if (poll(pfd, s->n_addrs, POLL_MS) <= 0)
			continue;
		for (size_t i = 0; i < s->n_addrs; i++)
			if (pfd[i].revents & POLLIN)
				serve_batch(w, w->fds[i], cfg);
	}
	return NULL;
}

bool listener_start(struct listener *s, struct serve_config *cfg, const struct serve_sys *sys,
                  char *err, size_t errlen)
{
	atomic_store(&s->cfg, cfg);
	sys_store(&s->sys, sys);
	for (unsigned i = 0; i < s->n_workers; i++) {
		struct worker *w = s->workers[i];
		if (!serve_worker_init(&w->sw, s->rl_entries, cfg)) {
			snprintf(err, errlen, "Out of memory for worker %u", i);
			return false;
		}
		w->gen = cfg->generation;
		atomic_init(&w->seen_gen, cfg->generation);
		int e = pthread_create(&w->thread, NULL, worker_main, w);
		if (e != 0) {
			snprintf(err, errlen, "Cannot start worker %u: %s", i, strerror(e));
			return false;
		}
		w->started = true;
	}
	return true;
}

void listener_publish_sys(struct listener *s, const struct serve_sys *sys)
{
	sys_store(&s->sys, sys);
}

bool listener_publish_control(struct listener *s, const struct control_view *v)
{
	struct control_view *nv = malloc(sizeof(*nv));

	if (!nv)
		return false;
	*nv = *v;
	if (nv->n_peers > CONTROL_MAX_PEERS)
		nv->n_peers = CONTROL_MAX_PEERS;
	if (!nv->sys.version[0])
		memcpy(nv->sys.version, s->ctl_base.version, sizeof(nv->sys.version));
	if (!nv->sys.processor[0])
		memcpy(nv->sys.processor, s->ctl_base.processor, sizeof(nv->sys.processor));
	if (!nv->sys.system[0])
		memcpy(nv->sys.system, s->ctl_base.system, sizeof(nv->sys.system));
	struct control_view *old = atomic_exchange(&s->ctl, nv);
	if (!old)
		return true;
	/* A worker that still holds old is answering one request: that
	 * takes microseconds. */
	for (unsigned i = 0; i < s->n_workers; i++) {
		while (atomic_load(&s->workers[i]->ctl_hazard) == old) {
			struct timespec ts = { 0, 100 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	free(old);
	return true;
}

struct serve_config *listener_swap_config(struct listener *s, struct serve_config *cfg)
{
	struct serve_config *old = atomic_exchange(&s->cfg, cfg);

	/* Wait until every worker has started an iteration with the new
	 * configuration: none can hold the old one after that. */
	for (unsigned i = 0; i < s->n_workers; i++) {
		struct worker *w = s->workers[i];
		while (w->started &&
		       atomic_load_explicit(&w->seen_gen, memory_order_acquire) != cfg->generation) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	return old;
}

void listener_publish_masterkeys(struct listener *s, const struct masterkey_set *set)
{
	atomic_store(&s->mk, set);
	unsigned gen = atomic_fetch_add(&s->mk_gen, 1) + 1;
	for (unsigned i = 0; i < s->n_workers; i++) {
		struct worker *w = s->workers[i];
		while (w->started && atomic_load_explicit(&w->mk_seen, memory_order_acquire) != gen) {
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	atomic_store(&s->mk, NULL);
}

const struct sockaddr_storage *listener_addrs(const struct listener *s, size_t *n)
{
	*n = s->n_addrs;
	return s->addrs;
}

void listener_stats(struct listener *s, uint64_t out[SERVE_STAT_COUNT])
{
	memset(out, 0, sizeof(uint64_t) * SERVE_STAT_COUNT);
	for (unsigned i = 0; i < s->n_workers; i++)
		for (size_t k = 0; k < SERVE_STAT_COUNT; k++)
			out[k] += atomic_load_explicit(&s->workers[i]->sw.stats[k], memory_order_relaxed);
}

unsigned listener_workers(const struct listener *s)
{
	return s->n_workers;
}

void listener_describe(const struct listener *s, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->n_addrs && used < outlen; i++) {
		char a[INET6_ADDRSTRLEN + 8];
		netaddr_format(&s->addrs[i], a, sizeof(a));
		int r = snprintf(out + used, outlen - used, "%s%s", i ? " " : "", a);
		if (r < 0)
			break;
		used += (size_t)r;
	}
}

void listener_free(struct listener *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, true);
	for (unsigned i = 0; i < s->n_workers; i++) {
		if (s->workers[i] && s->workers[i]->started)
			pthread_join(s->workers[i]->thread, NULL);
		worker_free(s->workers[i]);
	}
	free(atomic_load(&s->ctl));
	free(s);
}
