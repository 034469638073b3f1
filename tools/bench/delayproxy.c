/* delayproxy: a UDP proxy that holds every datagram for a delay drawn
 * independently per direction from a seeded model (delaymodel.h), for the
 * estimator benchmark (tools/bench/estimator.sh). Clients send to --listen;
 * each client address gets its own socket towards --server, and answers go
 * back from the listening address. Not installed.
 *
 * Timing: a datagram is due at its kernel receive timestamp (SO_TIMESTAMPNS,
 * CLOCK_REALTIME, the clock NTP timestamps come from) plus its delay. The
 * queue is a binary heap on the due time; a CLOCK_REALTIME timerfd (timer
 * slack 1 ns) wakes the proxy --spin microseconds early and it spins on
 * clock_gettime to the due time, so wake-up latency does not add delay.
 * The error (send time - due time) of every datagram is measured and
 * summarised on exit; --log FILE writes one line per datagram:
 *   DIR INDEX DELAY_NS HELD_NS ERROR_NS OUTLIER BYTES
 * (DIR out: client to server, back: server to client; HELD: send - receive).
 *
 * usage: delayproxy --listen ADDR:PORT --server ADDR:PORT --out SPEC
 *        --back SPEC [--seed N] [--spin US] [--log FILE]
 * It says "delayproxy: ready" on stderr once it listens; SIGTERM or SIGINT
 * ends it (datagrams still queued are dropped). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench/delaymodel.h"

#define MAX_CLIENTS 16
#define MAX_QUEUE 1024
#define MAX_DGRAM 2048
#define MAX_LOG 200000

enum { DIR_OUT, DIR_BACK };

struct client {
	struct sockaddr_in addr; /* the client's address (0 port: unused slot) */
	int fd;                  /* connected to the server */
	uint64_t last_use;
};

struct pending {
	int64_t due, rx;  /* ns, CLOCK_REALTIME */
	int64_t delay;    /* ns, drawn */
	int dir, client;
	uint64_t index;
	bool outlier;
	size_t len;
	uint8_t data[MAX_DGRAM];
};

struct logrec {
	uint64_t index;
	int64_t delay, held, err;
	int dir;
	bool outlier;
	size_t len;
};

struct proxy {
	int lfd, tfd, sfd;
	struct sockaddr_in server;
	struct client cl[MAX_CLIENTS];
	uint64_t uses;
	struct dm_dist dist[2];
	struct dm_rng rng[2];
	uint64_t count[2];
	struct pending *q[MAX_QUEUE];
	struct pending *slots;
	struct pending *free_list[MAX_QUEUE];
	int nq, nfree;
	int64_t spin;
	struct logrec *log;
	size_t nlog;
	uint64_t dropped;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *c = strrchr(s, ':');
	char *end;

	if (!c || (size_t)(c - s) >= sizeof(host))
		return false;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = '\0';
	unsigned long port = strtoul(c + 1, &end, 10);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	return *end == '\0' && port > 0 && port < 65536 && inet_pton(AF_INET, host, &a->sin_addr) == 1;
}

static int udp_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;

	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Heap on due time. */
static void q_push(struct proxy *p, struct pending *e)
{
	int i = p->nq++;
	while (i > 0 && p->q[(i - 1) / 2]->due > e->due) {
		p->q[i] = p->q[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	p->q[i] = e;
}

static struct pending *q_pop(struct proxy *p)
{
	struct pending *top = p->q[0], *last = p->q[--p->nq];
	int i = 0;

	for (;;) {
		int c = 2 * i + 1;
		if (c >= p->nq)
			break;
		if (c + 1 < p->nq && p->q[c + 1]->due < p->q[c]->due)
			c++;
		if (p->q[c]->due >= last->due)
			break;
		p->q[i] = p->q[c];
		i = c;
	}
	if (p->nq > 0)
		p->q[i] = last;
	return top;
}

static int client_slot(struct proxy *p, const struct sockaddr_in *from)
{
	int lru = 0;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &p->cl[i];
		if (c->addr.sin_port == from->sin_port && c->addr.sin_addr.s_addr == from->sin_addr.s_addr)
			return i;
		if (c->last_use < p->cl[lru].last_use)
			lru = i;
	}
	struct client *c = &p->cl[lru];
	if (c->fd >= 0)
		close(c->fd);
	c->fd = udp_socket();
	if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)&p->server, sizeof(p->server)) < 0) {
		fprintf(stderr, "delayproxy: cannot open a socket to the server: %s\n", strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		c->addr.sin_port = 0;
		return -1;
	}
	c->addr = *from;
	return lru;
}

/* Reads one datagram from fd with its kernel receive time and queues it. */
static void receive(struct proxy *p, int fd, int dir, int client)
{
	struct pending *e;
	struct sockaddr_in from;
	char ctrl[CMSG_SPACE(sizeof(struct timespec))];
	uint8_t sink[1];

	if (p->nfree == 0) { /* full: drop, counted */
		if (recv(fd, sink, sizeof(sink), 0) >= 0)
			p->dropped++;
		return;
	}
	e = p->free_list[p->nfree - 1];
	struct iovec iov = { .iov_base = e->data, .iov_len = sizeof(e->data) };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
		             .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	ssize_t n = recvmsg(fd, &mh, 0);
	int64_t rx = now_ns();
	if (n < 0)
		return;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			rx = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	if (dir == DIR_OUT && (client = client_slot(p, &from)) < 0)
		return;
	p->cl[client].last_use = ++p->uses;
	p->nfree--;
	e->len = (size_t)n;
	e->dir = dir;
	e->client = client;
	e->rx = rx;
	e->index = p->count[dir]++;
	e->delay = (int64_t)(dm_draw(&p->dist[dir], &p->rng[dir], &e->outlier) * 1e9 + 0.5);
	e->due = rx + e->delay;
	q_push(p, e);
}

static void arm(struct proxy *p)
{
	struct itimerspec its = { 0 };

	if (p->nq > 0) {
		int64_t t = p->q[0]->due - p->spin;
		its.it_value.tv_sec = t / 1000000000;
		its.it_value.tv_nsec = t % 1000000000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(p->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Sends every datagram due within the spin interval, spinning to its time. */
static void send_due(struct proxy *p)
{
	while (p->nq > 0 && p->q[0]->due - p->spin <= now_ns()) {
		struct pending *e = q_pop(p);
		int64_t t;
		while ((t = now_ns()) < e->due)
			;
		struct client *c = &p->cl[e->client];
		ssize_t n = e->dir == DIR_OUT ? send(c->fd, e->data, e->len, 0)
		                              : sendto(p->lfd, e->data, e->len, 0,
		                                       (const struct sockaddr *)&c->addr, sizeof(c->addr));
		if (n < 0)
			p->dropped++;
		if (p->nlog < MAX_LOG)
			p->log[p->nlog++] = (struct logrec){ .index = e->index, .delay = e->delay,
				                             .held = t - e->rx, .err = t - e->due,
				                             .dir = e->dir, .outlier = e->outlier,
				                             .len = e->len };
		p->free_list[p->nfree++] = e;
	}
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void summary(const struct proxy *p, const char *path)
{
	int64_t *err = calloc(p->nlog + 1, sizeof(int64_t));
	double sum = 0;

	if (path) {
		FILE *f = fopen(path, "w");
		if (!f)
			fprintf(stderr, "delayproxy: %s: %s\n", path, strerror(errno));
		for (size_t i = 0; f && i < p->nlog; i++) {
			const struct logrec *l = &p->log[i];
			fprintf(f, "%s %llu %lld %lld %lld %d %zu\n", l->dir == DIR_OUT ? "out" : "back",
			        (unsigned long long)l->index, (long long)l->delay, (long long)l->held,
			        (long long)l->err, l->outlier, l->len);
		}
		if (f && fclose(f) != 0)
			fprintf(stderr, "delayproxy: %s: %s\n", path, strerror(errno));
	}
	if (!err)
		return;
	for (size_t i = 0; i < p->nlog; i++) {
		err[i] = p->log[i].err;
		sum += (double)err[i];
	}
	qsort(err, p->nlog, sizeof(int64_t), cmp64);
	if (p->nlog > 0)
		fprintf(stderr,
		        "delayproxy: %llu out, %llu back, %llu dropped; timing error (send - due): "
		        "mean %.1f us, median %.1f us, p99 %.1f us, max %.1f us\n",
		        (unsigned long long)p->count[DIR_OUT], (unsigned long long)p->count[DIR_BACK],
		        (unsigned long long)p->dropped, sum / (double)p->nlog / 1e3,
		        (double)err[p->nlog / 2] / 1e3, (double)err[p->nlog * 99 / 100] / 1e3,
		        (double)err[p->nlog - 1] / 1e3);
	else
		fprintf(stderr, "delayproxy: no datagrams\n");
	free(err);
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: delayproxy --listen ADDR:PORT --server ADDR:PORT --out SPEC --back SPEC\n"
	        "                  [--seed N] [--spin US] [--log FILE]\n"
	        "SPEC (ms): fixed,D | gauss,MEAN,SD | exp,BASE,MEAN | gexp,MEAN,SD,EXPMEAN,\n"
	        "then optionally ,outlier=P:MS\n");
}

/* Options into p; the listening address in *listen, log path in *log. */
static bool parse_args(int argc, char **argv, struct proxy *p, struct sockaddr_in *listen_addr,
                       const char **log_path, uint64_t *seed)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' }, { "server", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },    { "back", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 'S' },   { "spin", required_argument, NULL, 'p' },
		{ "log", required_argument, NULL, 'L' },    { NULL, 0, NULL, 0 },
	};
	bool have_l = false, have_s = false, have_d[2] = { false, false };
	char err[256], *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'l':
		case 's':
			if (!parse_addr(optarg, opt == 'l' ? listen_addr : &p->server)) {
				fprintf(stderr, "delayproxy: %s: expected IPV4:PORT\n", optarg);
				return false;
			}
			*(opt == 'l' ? &have_l : &have_s) = true;
			break;
		case 'o':
		case 'b':
			if (!dm_parse(optarg, &p->dist[opt == 'b'], err, sizeof(err))) {
				fprintf(stderr, "delayproxy: %s\n", err);
				return false;
			}
			have_d[opt == 'b'] = true;
			break;
		case 'S':
			*seed = strtoull(optarg, &end, 10);
			if (!*optarg || *end) {
				fprintf(stderr, "delayproxy: --seed %s: expected a number\n", optarg);
				return false;
			}
			break;
		case 'p': {
			unsigned long us = strtoul(optarg, &end, 10);
			if (!*optarg || *end || us > 100000) {
				fprintf(stderr, "delayproxy: --spin %s: expected 0..100000 us\n", optarg);
				return false;
			}
			p->spin = (int64_t)us * 1000;
			break;
		}
		case 'L':
			*log_path = optarg;
			break;
		default:
			usage();
			return false;
		}
	}
	if (!have_l || !have_s || !have_d[0] || !have_d[1] || optind != argc) {
		usage();
		return false;
	}
	return true;
}

static bool setup(struct proxy *p, const struct sockaddr_in *listen_addr)
{
	sigset_t ss;

	p->slots = calloc(MAX_QUEUE, sizeof(struct pending));
	p->log = calloc(MAX_LOG, sizeof(struct logrec));
	if (!p->slots || !p->log) {
		fprintf(stderr, "delayproxy: out of memory\n");
		return false;
	}
	for (int i = 0; i < MAX_QUEUE; i++)
		p->free_list[p->nfree++] = &p->slots[i];
	for (int i = 0; i < MAX_CLIENTS; i++)
		p->cl[i].fd = -1;
	/* Default slack is 50 us: the timer would fire late by that much. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	p->sfd = signalfd(-1, &ss, SFD_CLOEXEC);
	p->tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	p->lfd = udp_socket();
	if (p->sfd < 0 || p->tfd < 0 || p->lfd < 0 ||
	    bind(p->lfd, (const struct sockaddr *)listen_addr, sizeof(*listen_addr)) < 0) {
		fprintf(stderr, "delayproxy: cannot set up (listen socket, timerfd, signalfd): %s\n",
		        strerror(errno));
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static struct proxy p = { .spin = 200000 };
	struct sockaddr_in listen_addr;
	const char *log_path = NULL;
	uint64_t seed = 1;

	if (!parse_args(argc, argv, &p, &listen_addr, &log_path, &seed) || !setup(&p, &listen_addr))
		return 1;
	dm_seed(&p.rng[DIR_OUT], seed, 0);
	dm_seed(&p.rng[DIR_BACK], seed, 1);
	fprintf(stderr, "delayproxy: ready, seed %llu\n", (unsigned long long)seed);
	for (;;) {
		struct pollfd pf[3 + MAX_CLIENTS];
		int map[3 + MAX_CLIENTS], n = 3;

		pf[0] = (struct pollfd){ .fd = p.lfd, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = p.tfd, .events = POLLIN };
		pf[2] = (struct pollfd){ .fd = p.sfd, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (p.cl[i].fd >= 0) {
				map[n] = i;
				pf[n++] = (struct pollfd){ .fd = p.cl[i].fd, .events = POLLIN };
			}
		arm(&p);
		if (poll(pf, (nfds_t)n, -1) < 0 && errno != EINTR) {
			fprintf(stderr, "delayproxy: poll: %s\n", strerror(errno));
			break;
		}
		if (pf[2].revents)
			break;
		if (pf[1].revents) {
			uint64_t exp;
			if (read(p.tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
				break;
		}
		if (pf[0].revents & POLLIN)
			receive(&p, p.lfd, DIR_OUT, -1);
		for (int i = 3; i < n; i++)
			if (pf[i].revents & POLLIN)
				receive(&p, pf[i].fd, DIR_BACK, map[i]);
		send_due(&p);
	}
	summary(&p, log_path);
	return 0;
}
