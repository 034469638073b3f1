#include "config.h"
#include "keyexchange/ke_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "crypto/aead.h"
#include "crypto/cookie.h"
#include "crypto/masterkey.h"
#include "crypto/secret.h"
#include "keyexchange/ke_record.h"
#include "keyexchange/tls.h"

#define MAX_LISTEN 16
#define RESPONSE_MAX 4096

enum conn_state { ST_HANDSHAKE, ST_READ, ST_WRITE };

struct conn {
	int fd;
	struct tls_session *tls;
	enum conn_state state;
	uint64_t deadline_ms;
	struct sockaddr_storage peer;
	size_t len, outlen;
	uint8_t in[KE_MAX_MESSAGE];
	uint8_t out[RESPONSE_MAX];
};

struct ke_server {
	struct ke_server_opts o;
	char *ntp_server;
	uint16_t aeads[8];
	size_t n_aeads;
	int lfd[MAX_LISTEN];
	size_t n_lfd;
	int epfd, wakefd;
	pthread_t thread;
	bool started;
	struct conn **conns;
	size_t n_conns;
	/* Owned by the KE thread. */
	struct tls_cred *cred;
	struct cookie_ctx *cookies;
	/* Handed over from the main thread under lock. */
	pthread_mutex_t lock;
	struct tls_cred *new_cred;
	struct masterkey_set *new_keys;
	bool stop;
	struct ke_stats stats;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void close_conn(struct ke_server *s, size_t i)
{
	struct conn *c = s->conns[i];
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	tls_session_free(c->tls);
	close(c->fd);
	secret_wipe(c->out, sizeof(c->out));
	free(c);
	s->conns[i] = s->conns[--s->n_conns];
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
	               &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr, 16);
}

/* The response to a complete request (RFC 8915 §4.1): keys from the TLS
 * exporter (§5.1), eight cookies, all in one buffer written at once. */
static void respond(struct ke_server *s, struct conn *c)
{
	struct ke_request rq;
	enum ke_parse p = ke_request_parse(c->in, c->len, &rq);

	if (p == KE_PARSE_INCOMPLETE)
		return;
	c->state = ST_WRITE;
	if (p == KE_PARSE_ERROR || !s->cookies) {
		s->stats.bad_requests++;
		c->outlen = ke_error_build(c->out, sizeof(c->out), p == KE_PARSE_ERROR ? rq.error : KE_ERR_INTERNAL);
		return;
	}
	struct ke_response r = { .port = s->o.ntp_port, .server = s->ntp_server };
	struct cookie_keys k = { 0 };
	uint8_t cookies[KE_MAX_COOKIES][COOKIE_MAX_LEN];
	r.choice = ke_request_choose(&rq, s->aeads, s->n_aeads, &r.aead);
	if (r.choice == KE_CHOICE_OK) {
		uint8_t ctx[KE_EXPORTER_CONTEXT_LEN];
		k.aead = r.aead;
		k.key_len = aead_key_len(r.aead);
		ke_exporter_context(r.aead, false, ctx);
		bool ok = tls_export(c->tls, ctx, sizeof(ctx), k.c2s, k.key_len);
		ke_exporter_context(r.aead, true, ctx);
		ok = ok && tls_export(c->tls, ctx, sizeof(ctx), k.s2c, k.key_len);
		for (size_t i = 0; ok && i < KE_MAX_COOKIES; i++) {
			r.cookie_len[i] = cookie_seal(s->cookies, &k, cookies[i], sizeof(cookies[i]));
			r.cookies[i] = cookies[i];
			ok = r.cookie_len[i] != 0;
		}
		secret_wipe(&k, sizeof(k));
		if (!ok) {
			c->outlen = ke_error_build(c->out, sizeof(c->out), KE_ERR_INTERNAL);
			return;
		}
		r.n_cookies = KE_MAX_COOKIES;
	} else {
		s->stats.bad_requests++;
	}
	c->outlen = ke_response_build(c->out, sizeof(c->out), &r);
	if (c->outlen == 0)
		c->outlen = ke_error_build(c->out, sizeof(c->out), KE_ERR_INTERNAL);
}

static void want(struct ke_server *s, struct conn *c, enum tls_status st)
{
	struct epoll_event ev = { .events = st == TLS_AGAIN_WRITE ? EPOLLOUT : EPOLLIN, .data.ptr = c };
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Advances one connection as far as it can go; false when it is done. */
static bool drive(struct ke_server *s, struct conn *c)
{
	enum tls_status st;

	if (c->state == ST_HANDSHAKE) {
		st = tls_handshake(c->tls);
		if (st == TLS_AGAIN_READ || st == TLS_AGAIN_WRITE) {
			want(s, c, st);
			return true;
		}
		if (st != TLS_OK) {
			s->stats.handshake_failed++;
			return false;
		}
		c->state = ST_READ;
	}
	while (c->state == ST_READ) {
		size_t got = 0;
		if (c->len == sizeof(c->in)) {
			s->stats.bad_requests++;
			return false;
		}
		st = tls_read(c->tls, c->in + c->len, sizeof(c->in) - c->len, &got);
		if (st == TLS_AGAIN_READ || st == TLS_AGAIN_WRITE) {
			want(s, c, st);
			return true;
		}
		if (st != TLS_OK)
			return false;
		c->len += got;
		respond(s, c);
	}
	if (c->state == ST_WRITE) {
		size_t put = 0;
		st = tls_write(c->tls, c->out, c->outlen, &put);
		if (st == TLS_AGAIN_READ || st == TLS_AGAIN_WRITE) {
			want(s, c, st);
			return true;
		}
		if (st == TLS_OK) {
			s->stats.responses++;
			tls_shutdown(c->tls);
		}
	}
	return false;
}

static void accept_all(struct ke_server *s, int lfd)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		unsigned same = 0;
		for (size_t i = 0; i < s->n_conns; i++)
			same += same_addr(&s->conns[i]->peer, &peer);
		struct conn *c = NULL;
		if (s->n_conns >= s->o.max_conns || same >= s->o.max_per_client ||
		    !(c = calloc(1, sizeof(*c)))) {
			s->stats.refused_cap++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer = peer;
		c->deadline_ms = now_ms() + s->o.timeout_ms;
		c->tls = tls_session_new_server(s->cred, fd);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (!c->tls || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			tls_session_free(c->tls);
			close(fd);
			free(c);
			continue;
		}
		s->stats.accepted++;
		s->conns[s->n_conns++] = c;
		if (!drive(s, c))
			close_conn(s, s->n_conns - 1);
	}
}

/* Credentials and master keys handed over by the main thread. */
static bool take_updates(struct ke_server *s)
{
	struct tls_cred *cred;
	struct masterkey_set *keys;
	bool stop;

	pthread_mutex_lock(&s->lock);
	cred = s->new_cred;
	keys = s->new_keys;
	s->new_cred = NULL;
	s->new_keys = NULL;
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	if (cred) {
		tls_cred_free(s->cred); /* sessions hold their own references */
		s->cred = cred;
	}
	if (keys) {
		struct cookie_ctx *c = cookie_ctx_new(keys);
		if (c) {
			cookie_ctx_free(s->cookies);
			s->cookies = c;
		}
		masterkey_set_free(keys);
	}
	return !stop;
}

static void *ke_main(void *arg)
{
	struct ke_server *s = arg;
	struct epoll_event ev[64];

	if (s->o.thread_init && !s->o.thread_init())
		return NULL;
	while (take_updates(s)) {
		int n = epoll_wait(s->epfd, ev, 64, 200);
		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			if (p == &s->wakefd) {
				uint64_t v;
				if (read(s->wakefd, &v, sizeof(v)) < 0)
					continue;
				continue;
			}
			bool is_listen = false;
			for (size_t k = 0; k < s->n_lfd; k++)
				if (p == &s->lfd[k]) {
					accept_all(s, s->lfd[k]);
					is_listen = true;
				}
			if (is_listen)
				continue;
			for (size_t k = 0; k < s->n_conns; k++)
				if (s->conns[k] == p) {
					if (!drive(s, s->conns[k]))
						close_conn(s, k);
					break;
				}
		}
		uint64_t t = now_ms();
		for (size_t k = 0; k < s->n_conns;) {
			if (s->conns[k]->deadline_ms <= t) {
				s->stats.timeouts++;
				close_conn(s, k);
			} else {
				k++;
			}
		}
	}
	while (s->n_conns)
		close_conn(s, 0);
	return NULL;
}

struct ke_server *ke_server_new(const struct ke_server_opts *o, char *err, size_t errlen)
{
	struct ke_server *s = calloc(1, sizeof(*s));
	static const uint16_t all[] = { AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_512, AEAD_AES_SIV_CMAC_384 };

	if (!s) {
		snprintf(err, errlen, "Out of memory");
		return NULL;
	}
	s->o = *o;
	s->o.max_conns = o->max_conns ? o->max_conns : 1024;
	s->o.max_per_client = o->max_per_client ? o->max_per_client : 8;
	s->o.timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
	s->epfd = -1;
	s->wakefd = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (o->ntp_server)
		s->ntp_server = strdup(o->ntp_server);
	for (size_t i = 0; i < (o->aeads ? o->n_aeads : 3) && s->n_aeads < 8; i++) {
		uint16_t id = o->aeads ? o->aeads[i] : all[i];
		if (aead_key_len(id))
			s->aeads[s->n_aeads++] = id;
	}
	s->conns = calloc(s->o.max_conns, sizeof(*s->conns));
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!s->conns || s->epfd < 0 || s->wakefd < 0 || (o->ntp_server && !s->ntp_server)) {
		snprintf(err, errlen, "NTS-KE: %s", strerror(errno));
		ke_server_free(s);
		return NULL;
	}
	struct epoll_event wev = { .events = EPOLLIN, .data.ptr = &s->wakefd };
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wakefd, &wev);
	for (size_t i = 0; i < o->n_addrs && i < MAX_LISTEN; i++) {
		struct sockaddr_storage a = o->addrs[i];
		int one = 1, fd;
		socklen_t len = a.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		if (a.ss_family == AF_INET6)
			((struct sockaddr_in6 *)(void *)&a)->sin6_port = htons(o->port);
		else
			((struct sockaddr_in *)(void *)&a)->sin_port = htons(o->port);
		fd = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (a.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		}
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) != 0 || listen(fd, 128) != 0) {
			snprintf(err, errlen, "Cannot listen for NTS-KE on port %u: %s", o->port, strerror(errno));
			if (fd >= 0)
				close(fd);
			ke_server_free(s);
			return NULL;
		}
		s->lfd[s->n_lfd++] = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->lfd[s->n_lfd - 1] };
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
	return s;
}

bool ke_server_start(struct ke_server *s, struct tls_cred *cred, const struct masterkey_set *set,
                     char *err, size_t errlen)
{
	s->cred = cred;
	s->cookies = cookie_ctx_new(set);
	if (!s->cookies) {
		snprintf(err, errlen, "NTS-KE: no usable master key");
		return false;
	}
	int e = pthread_create(&s->thread, NULL, ke_main, s);
	if (e != 0) {
		snprintf(err, errlen, "Cannot start the NTS-KE thread: %s", strerror(e));
		return false;
	}
	s->started = true;
	return true;
}

static void wake(struct ke_server *s)
{
	uint64_t one = 1;
	if (write(s->wakefd, &one, sizeof(one)) < 0)
		return;
}

void ke_server_set_cred(struct ke_server *s, struct tls_cred *cred)
{
	pthread_mutex_lock(&s->lock);
	tls_cred_free(s->new_cred);
	s->new_cred = cred;
	pthread_mutex_unlock(&s->lock);
	wake(s);
}

bool ke_server_set_masterkeys(struct ke_server *s, const struct masterkey_set *set)
{
	struct masterkey_set *copy = masterkey_set_clone(set);
	if (!copy)
		return false;
	pthread_mutex_lock(&s->lock);
	masterkey_set_free(s->new_keys);
	s->new_keys = copy;
	pthread_mutex_unlock(&s->lock);
	wake(s);
	return true;
}

void ke_server_stats(struct ke_server *s, struct ke_stats *out)
{
	/* Counters are written by the KE thread only; a torn read of a
	 * 64-bit counter is not possible on the platforms we build for. */
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

void ke_server_free(struct ke_server *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_mutex_unlock(&s->lock);
		wake(s);
		pthread_join(s->thread, NULL);
	}
	for (size_t i = 0; i < s->n_lfd; i++)
		close(s->lfd[i]);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->wakefd >= 0)
		close(s->wakefd);
	tls_cred_free(s->cred);
	tls_cred_free(s->new_cred);
	masterkey_set_free(s->new_keys);
	cookie_ctx_free(s->cookies);
	pthread_mutex_destroy(&s->lock);
	free(s->conns);
	free(s->ntp_server);
	free(s);
}
