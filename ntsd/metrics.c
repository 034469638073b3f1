#include "config.h"
#include "ntsd/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* libmicrohttpd 0.9.71 changed the handler's return type. */
#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

struct metrics {
	struct MHD_Daemon *mhd;
	pthread_mutex_t lock; /* page, counts */
	char *page;
	size_t len;
	uint64_t served, refused;
};

static mhd_result reply(struct MHD_Connection *c, unsigned code, const char *type,
                        const char *body, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd_result ok = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ok;
}

static void count(struct metrics *m, bool ok)
{
	pthread_mutex_lock(&m->lock);
	if (ok)
		m->served++;
	else
		m->refused++;
	pthread_mutex_unlock(&m->lock);
}

static mhd_result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                         const char *version, const char *upload, size_t *upload_len, void **state)
{
	static const char text[] = "text/plain; charset=utf-8";
	struct metrics *m = cls;

	(void)version;
	(void)upload;
	/* A request body is never wanted: refuse it on the first call rather
	 * than accumulate it. */
	if (*upload_len) {
		count(m, false);
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET only\n", 9);
	}
	*state = NULL;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		count(m, false);
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET only\n", 9);
	}
	if (strcmp(url, "/metrics") != 0) {
		count(m, false);
		return reply(c, MHD_HTTP_NOT_FOUND, text, "ntsd serves /metrics\n", 21);
	}
	pthread_mutex_lock(&m->lock);
	m->served++;
	mhd_result r = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
	                     m->page ? m->page : "", m->page ? m->len : 0);
	pthread_mutex_unlock(&m->lock);
	return r;
}

static bool address(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return true;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return true;
	}
	return false;
}

struct metrics *metrics_start(const char *addr, uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct metrics *m;

	if (!address(addr, port, &ss)) {
		snprintf(err, errlen, "metrics: %s is not a numeric address", addr);
		return NULL;
	}
	if (!(m = calloc(1, sizeof(*m)))) {
		snprintf(err, errlen, "metrics: out of memory");
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	m->mhd = MHD_start_daemon(flags, port, NULL, NULL, handle, m,
	                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
	                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_MAX_PER_CLIENT,
	                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
	                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
	                          MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(err, errlen, "metrics: cannot listen on %s%s%s port %u%s%s", ss.ss_family == AF_INET6 ? "[" : "",
		         addr, ss.ss_family == AF_INET6 ? "]" : "", (unsigned)port, errno ? ": " : "",
		         errno ? strerror(errno) : "");
		metrics_stop(m);
		return NULL;
	}
	return m;
}

bool metrics_publish(struct metrics *m, const char *page, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		return false;
	memcpy(copy, page, len);
	pthread_mutex_lock(&m->lock);
	char *old = m->page;
	m->page = copy;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
	free(old);
	return true;
}

void metrics_counts(struct metrics *m, uint64_t *served, uint64_t *refused)
{
	pthread_mutex_lock(&m->lock);
	*served = m->served;
	*refused = m->refused;
	pthread_mutex_unlock(&m->lock);
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	pthread_mutex_destroy(&m->lock);
	free(m->page);
	free(m);
}
