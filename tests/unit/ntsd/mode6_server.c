/* Test helper for tests/integration/t_mode6.sh: the real serving path
 * (listener_new/listener_start) on ADDRESS:PORT with a synthetic control
 * view of three sources, republished every 50 ms (exercising the view
 * swap), so that NTPsec's ntpq -p and ntsq -p can be checked against
 * peers before the daemon has upstream sources. Runs until SIGTERM. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "crypto/secret.h"
#include "protocol/clock.h"
#include "protocol/ntp_packet.h"
#include "ntsd/control.h"
#include "ntsd/restrict.h"
#include "ntsd/listener.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void v4(struct sockaddr_storage *ss, const char *a, uint16_t port)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	inet_pton(AF_INET, a, &s->sin_addr);
}

static void fill(struct control_view *v, unsigned round)
{
	uint64_t now = clock_ntp_now();

	memset(v, 0, sizeof(*v));
	v->sys.clock_source = MODE6_SRC_NTP;
	v->sys.peer = 101;
	v->sys.tc = 6;
	v->sys.mintc = 3;
	v->sys.offset = 0.042;
	v->n_peers = 3;
	for (size_t i = 0; i < 3; i++) {
		struct control_peer *p = &v->peers[i];
		p->associd = (uint16_t)(101 + i);
		p->hmode = 3;
		p->pmode = 4;
		p->ppoll = p->hpoll = 6;
		p->stratum = (uint8_t)(1 + i);
		p->reach = 0377;
		p->delay = 0.25 + (double)i;
		p->offset = -0.5 + (double)i;
		p->jitter = 0.031;
		p->rec = now - ((uint64_t)(10 + i) << 32);
		p->reftime = p->rec;
		p->ntscookies = -1;
		v4(&p->dstadr, "127.0.0.1", 123);
	}
	v4(&v->peers[0].srcadr, "192.0.2.11", 123);
	/* A long name and an IPv6 local address: this answer takes two
	 * fragments. */
	snprintf(v->peers[0].name, sizeof(v->peers[0].name), "nts1.a-long-pool-of-time-servers.example.net");
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&v->peers[0].dstadr;
	memset(d6, 0, sizeof(*d6));
	d6->sin6_family = AF_INET6;
	d6->sin6_port = htons(123);
	inet_pton(AF_INET6, "2001:db8:ffff:ffff:ffff:ffff:ffff:1", &d6->sin6_addr);
	v->peers[0].refid = NTP_REFID('G', 'P', 'S', 0);
	v->peers[0].status = mode6_peer_status(MODE6_PST_CONFIG | MODE6_PST_AUTHENABLE | MODE6_PST_AUTHENTIC |
	                                             MODE6_PST_REACH, MODE6_SEL_SYSPEER, 1, 10);
	v->peers[0].auth = CONTROL_AUTH_NTS;
	v->peers[0].ntscookies = (int)(8 - round % 2);
	v->peers[0].last_ke = now - (300ull << 32);
	v4(&v->peers[1].srcadr, "192.0.2.12", 123);
	v->peers[1].refid = 0xc0000201;
	v->peers[1].status = mode6_peer_status(MODE6_PST_CONFIG | MODE6_PST_REACH, MODE6_SEL_CANDIDATE, 0, 0);
	v->peers[1].auth = CONTROL_AUTH_KEY;
	v->peers[1].keyid = 5;
	v4(&v->peers[2].srcadr, "192.0.2.13", 123);
	v->peers[2].refid = 0xc0000202;
	v->peers[2].reach = 0;
	v->peers[2].status = mode6_peer_status(MODE6_PST_CONFIG, MODE6_SEL_REJECT, 0, 0);
}

int main(int argc, char **argv)
{
	char err[256];
	static struct control_view view;
	struct conf_listen l = { 0 };

	if (argc != 3) {
		fprintf(stderr, "usage: mode6_server ADDRESS PORT\n");
		return 2;
	}
	secret_init();
	snprintf(l.addr, sizeof(l.addr), "%s", argv[1]);
	struct listener_opts o = { .port = (uint16_t)strtoul(argv[2], NULL, 10), .listen = &l, .n_listen = 1,
		                 .workers = 2 };
	struct listener *s = listener_new(&o, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "mode6_server: %s\n", err);
		return 1;
	}
	static struct serve_config cfg;
	cfg.restrict_table = restrict_table_new(NULL, 0);
	struct serve_sys sys = { .leap = 0, .stratum = 2, .precision = -20, .refid = 0xc000020b,
		                 .reftime = clock_ntp_now(), .root_delay = 0x10, .root_disp = 0x20 };
	if (!cfg.restrict_table || !listener_start(s, &cfg, &sys, err, sizeof(err))) {
		fprintf(stderr, "mode6_server: %s\n", err);
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("ready\n");
	fflush(stdout);
	for (unsigned round = 0; !stop && round < 20 * 600; round++) {
		fill(&view, round);
		if (!listener_publish_control(s, &view))
			fprintf(stderr, "mode6_server: out of memory\n");
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	uint64_t st[SERVE_STAT_COUNT];
	listener_stats(s, st);
	printf("control %llu\n", (unsigned long long)st[SERVE_STAT_CONTROL]);
	listener_free(s);
	restrict_table_free(cfg.restrict_table);
	return 0;
}
