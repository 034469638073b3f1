/* NTS-KE client (RFC 8915 §4): connects to a KE server over TLS 1.3,
 * verifies its certificate, sends the request in one TLS write, parses the
 * response and exports the C2S/S2C keys. Blocking with an overall deadline
 * (poll on a non-blocking socket); meant for a tool or a helper thread.
 * Nothing here logs: a status, a one-line reason in err, and an optional
 * trace callback for a step-by-step debug view. Never logs keys/cookies. */
#ifndef NTSD_KEYEXCHANGE_KE_CLIENT_H
#define NTSD_KEYEXCHANGE_KE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyexchange/ke_record.h"

#ifndef KE_DEFAULT_PORT
#define KE_DEFAULT_PORT 4460 /* RFC 8915 §6 */
#endif
#define KE_CLIENT_COOKIE_MAX 256
#define KE_CLIENT_KEY_MAX 64

struct ke_client_opts {
	const char *host;      /* DNS name or IP literal; also the name checked */
	uint16_t port;         /* 0: KE_DEFAULT_PORT */
	const char *ca_file;   /* NULL: system trust store */
	bool skip_time_check;  /* ignore certificate validity (nocerttimecheck) */
	bool no_verify;        /* NTPsec "noval": no certificate verification */
	const uint16_t *aeads; /* preference order; NULL: all supported */
	size_t n_aeads;
	int timeout_ms;        /* whole exchange; <= 0: 5000 */
	int family;            /* AF_UNSPEC, AF_INET or AF_INET6 */
	/* Optional trace, one line per step (never secrets). */
	void (*trace)(void *arg, const char *line);
	void *trace_arg;
};

struct ke_client_result {
	uint16_t aead;
	uint8_t c2s[KE_CLIENT_KEY_MAX], s2c[KE_CLIENT_KEY_MAX];
	size_t key_len;
	uint8_t cookies[KE_MAX_COOKIES][KE_CLIENT_COOKIE_MAX];
	size_t cookie_len[KE_MAX_COOKIES];
	size_t n_cookies;
	char ntp_server[KE_MAX_HOST + 1]; /* Server record, else the KE host */
	uint16_t ntp_port;                /* Port record, else 123 */
	char peer_cert[256];              /* one-line peer certificate summary */
	uint16_t ke_error;                /* KE_CLIENT_KE_ERROR: the Error code */
};

enum ke_client_status {
	KE_CLIENT_OK,
	KE_CLIENT_RESOLVE,      /* name lookup failed */
	KE_CLIENT_CONNECT,      /* refused / unreachable / connect timeout */
	KE_CLIENT_TLS_VERIFY,   /* certificate verification failed; err says why */
	KE_CLIENT_TLS,          /* other handshake failure (ALPN, version, ...) */
	KE_CLIENT_KE_ERROR,     /* server sent an Error record (r->ke_error) */
	KE_CLIENT_BAD_RESPONSE, /* malformed, no NTPv4, no AEAD, no cookies */
	KE_CLIENT_TIMEOUT,      /* the deadline passed during TLS or the exchange */
};

/* Runs one key exchange. On KE_CLIENT_OK r holds keys and cookies (wipe
 * with ke_client_result_wipe); otherwise err holds a one-line reason and r
 * holds no secrets. SIGPIPE must be ignored by the process. */
enum ke_client_status ke_client_run(const struct ke_client_opts *o, struct ke_client_result *r,
                                    char *err, size_t errlen);

/* Short name of a status ("ok", "resolve", "connect", ...). */
const char *ke_client_status_name(enum ke_client_status s);

/* Wipes keys and cookies. */
void ke_client_result_wipe(struct ke_client_result *r);

#endif
