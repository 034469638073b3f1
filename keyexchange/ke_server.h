/* The NTS-KE server (RFC 8915 §4): TLS 1.3 on TCP (default port 4460) in
 * its own thread with a non-blocking event loop, so a slow or hostile KE
 * client never delays an NTP response. Caps on connections per client
 * address and in total, a deadline per connection, and one TLS record per
 * response (NTPsec's client reads it with a single 2 KB read). */
#ifndef NTSD_KEYEXCHANGE_KE_SERVER_H
#define NTSD_KEYEXCHANGE_KE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct tls_cred;
struct masterkey_set;
struct ke_server;

#define KE_DEFAULT_PORT 4460

struct ke_server_opts {
	const struct sockaddr_storage *addrs; /* where to listen (port set by ke_server) */
	size_t n_addrs;
	uint16_t port;
	unsigned max_conns;      /* 0: 1024 */
	unsigned max_per_client; /* 0: 8 */
	unsigned timeout_ms;     /* 0: 5000, for the whole exchange */
	const char *ntp_server;  /* NULL: no Server Negotiation record */
	int ntp_port;            /* -1: no Port Negotiation record */
	const uint16_t *aeads;   /* supported, in our order; NULL: all the backend has */
	size_t n_aeads;
	/* Called first in each KE thread (the daemon's per-thread sandbox);
	 * false stops the thread before it reads a byte. NULL: none. */
	bool (*thread_init)(void);
};

struct ke_stats {
	uint64_t accepted, refused_cap, handshake_failed, timeouts, bad_requests, responses;
};

/* Binds the listening sockets. NULL with a message in err on failure. */
struct ke_server *ke_server_new(const struct ke_server_opts *o, char *err, size_t errlen);
/* Starts the thread with cred (ownership passes) and master keys (copied). */
bool ke_server_start(struct ke_server *s, struct tls_cred *cred, const struct masterkey_set *set,
                     char *err, size_t errlen);
/* Replaces the credentials (ownership passes); sessions in flight keep the
 * old ones. Thread-safe. */
void ke_server_set_cred(struct ke_server *s, struct tls_cred *cred);
/* Replaces the master keys (copied). Thread-safe. */
bool ke_server_set_masterkeys(struct ke_server *s, const struct masterkey_set *set);
void ke_server_stats(struct ke_server *s, struct ke_stats *out);
/* Stops the thread, closes everything, frees s. NULL is ignored. */
void ke_server_free(struct ke_server *s);

#endif
