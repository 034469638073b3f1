#include "config.h"
#include "keyexchange/ke_client.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/aead.h"
#include "crypto/secret.h"
#include "keyexchange/tls.h"

static const uint16_t default_aeads[] = { AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_512,
	                                  AEAD_AES_SIV_CMAC_384 };

struct run {
	const struct ke_client_opts *o;
	struct timespec deadline;
	char *err;
	size_t errlen;
};

static void trace(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(const struct run *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!r->o->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->o->trace(r->o->trace_arg, line);
}

static void seterr(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(const struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
}

static int ms_left(const struct run *r)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(r->deadline.tv_sec - now.tv_sec) * 1000 +
	               (r->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 1000000 ? 1000000 : (int)ms;
}

/* Waits for fd to become readable or writable; false at the deadline. */
static bool wait_fd(const struct run *r, int fd, bool write)
{
	struct pollfd p = { .fd = fd, .events = write ? POLLOUT : POLLIN };
	for (;;) {
		int left = ms_left(r);
		if (left == 0)
			return false;
		int n = poll(&p, 1, left);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

static const char *ipstr(const struct sockaddr *sa, socklen_t len, char *buf, size_t n)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, n, "?");
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, n, "[%s]:%s", host, serv);
	else
		snprintf(buf, n, "%s:%s", host, serv);
	return buf;
}

/* Connects to the first address that answers before the deadline. */
static enum ke_client_status connect_host(struct run *r, int *fdp)
{
	struct addrinfo hints = { .ai_family = r->o->family, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char port[8], where[NI_MAXHOST + NI_MAXSERV + 8];
	int rc, last_err = 0;
	bool timed_out = false;

	snprintf(port, sizeof(port), "%u", r->o->port ? r->o->port : KE_DEFAULT_PORT);
	rc = getaddrinfo(r->o->host, port, &hints, &res);
	if (rc != 0) {
		seterr(r, "%s: name lookup failed: %s", r->o->host, gai_strerror(rc));
		return KE_CLIENT_RESOLVE;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		if (fd < 0) {
			last_err = errno;
			continue;
		}
		ipstr(ai->ai_addr, ai->ai_addrlen, where, sizeof(where));
		trace(r, "NTS-KE: connecting to %s (%s)", where, r->o->host);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			last_err = errno;
			close(fd);
			continue;
		}
		if (!wait_fd(r, fd, true)) {
			timed_out = true;
			last_err = ETIMEDOUT;
			close(fd);
			break;
		}
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			last_err = soerr;
			trace(r, "NTS-KE: %s: %s", where, strerror(soerr));
			close(fd);
			continue;
		}
		trace(r, "NTS-KE: TCP connected to %s", where);
		freeaddrinfo(res);
		*fdp = fd;
		return KE_CLIENT_OK;
	}
	freeaddrinfo(res);
	seterr(r, "%s port %s: NTS-KE server unreachable: %s", r->o->host, port,
	       timed_out ? "connection timed out" : last_err ? strerror(last_err) : "no address");
	return KE_CLIENT_CONNECT;
}

/* Names the verification failure in plain words; the backend text follows. */
static const char *verify_reason(const char *e)
{
	static const struct {
		const char *needle, *why;
	} map[] = {
		{ "expired", "certificate expired" },
		{ "not yet valid", "certificate not yet valid" },
		{ "not activated", "certificate not yet valid" },
		{ "hostname mismatch", "name mismatch" },
		{ "does not match", "name mismatch" },
		{ "address mismatch", "name mismatch" },
		{ "unexpected owner", "name mismatch" },
		{ "local issuer", "unknown CA" },
		{ "signer not found", "unknown CA" },
		{ "not trusted", "unknown CA" },
		{ "self-signed", "unknown CA" },
		{ "self signed", "unknown CA" },
		{ "unable to get issuer", "unknown CA" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasestr(e, map[i].needle))
			return map[i].why;
	return NULL;
}

static bool is_verify_error(const char *e)
{
	return strstr(e, "certificate verification") || strstr(e, "verification error") ||
	       strstr(e, "certificate verify failed") || verify_reason(e) != NULL;
}

static enum ke_client_status handshake(struct run *r, struct tls_session *s, int fd,
                                       struct ke_client_result *res)
{
	for (;;) {
		enum tls_status st = tls_handshake(s);
		if (st == TLS_OK)
			break;
		if (st == TLS_AGAIN_READ || st == TLS_AGAIN_WRITE) {
			if (!wait_fd(r, fd, st == TLS_AGAIN_WRITE)) {
				seterr(r, "%s: NTS-KE timed out during the TLS handshake", r->o->host);
				return KE_CLIENT_TIMEOUT;
			}
			continue;
		}
		const char *e = tls_session_error(s);
		tls_session_peer_info(s, res->peer_cert, sizeof(res->peer_cert));
		if (res->peer_cert[0])
			trace(r, "TLS: peer certificate: %s", res->peer_cert);
		trace(r, "TLS: handshake failed: %s", e);
		if (is_verify_error(e)) {
			const char *why = verify_reason(e);
			seterr(r, "%s: TLS certificate verification failed: %s (%s)", r->o->host,
			       why ? why : "rejected", e);
			return KE_CLIENT_TLS_VERIFY;
		}
		seterr(r, "%s: TLS handshake failed: %s", r->o->host, e[0] ? e : "unknown error");
		return KE_CLIENT_TLS;
	}
	tls_session_peer_info(s, res->peer_cert, sizeof(res->peer_cert));
	trace(r, "TLS: handshake done, ALPN %s", tls_session_alpn(s) ? tls_session_alpn(s) : "-");
	trace(r, "TLS: peer certificate: %s", res->peer_cert);
	return KE_CLIENT_OK;
}

static enum ke_client_status send_all(struct run *r, struct tls_session *s, int fd,
                                      const uint8_t *msg, size_t len)
{
	for (;;) {
		size_t put = 0;
		enum tls_status st = tls_write(s, msg, len, &put);
		if (st == TLS_OK)
			return KE_CLIENT_OK;
		if ((st == TLS_AGAIN_READ || st == TLS_AGAIN_WRITE) &&
		    wait_fd(r, fd, st == TLS_AGAIN_WRITE))
			continue;
		if (st == TLS_AGAIN_READ || st == TLS_AGAIN_WRITE) {
			seterr(r, "%s: NTS-KE timed out sending the request", r->o->host);
			return KE_CLIENT_TIMEOUT;
		}
		seterr(r, "%s: NTS-KE: sending the request failed: %s", r->o->host,
		       tls_session_error(s));
		return KE_CLIENT_TLS;
	}
}

/* Reads until the response parses completely (or fails). */
static enum ke_client_status recv_response(struct run *r, struct tls_session *s, int fd,
                                           uint8_t *msg, size_t *len,
                                           struct ke_response_parsed *p)
{
	*len = 0;
	for (;;) {
		size_t got = 0;
		if (*len >= KE_MAX_MESSAGE) {
			seterr(r, "%s: NTS-KE response longer than %d bytes", r->o->host,
			       KE_MAX_MESSAGE);
			return KE_CLIENT_BAD_RESPONSE;
		}
		enum tls_status st = tls_read(s, msg + *len, KE_MAX_MESSAGE - *len, &got);
		if (st == TLS_OK) {
			*len += got;
			enum ke_parse pr = ke_response_parse(msg, *len, p);
			if (pr == KE_PARSE_OK)
				return KE_CLIENT_OK;
			if (pr == KE_PARSE_ERROR) {
				seterr(r, "%s: malformed NTS-KE response: %s", r->o->host,
				       p->error_detail);
				return KE_CLIENT_BAD_RESPONSE;
			}
			continue;
		}
		if (st == TLS_AGAIN_READ || st == TLS_AGAIN_WRITE) {
			if (!wait_fd(r, fd, st == TLS_AGAIN_WRITE)) {
				seterr(r, "%s: NTS-KE timed out waiting for the response",
				       r->o->host);
				return KE_CLIENT_TIMEOUT;
			}
			continue;
		}
		seterr(r, "%s: NTS-KE connection closed before a complete response (%zu bytes): %s",
		       r->o->host, *len, tls_session_error(s));
		return KE_CLIENT_BAD_RESPONSE;
	}
}

static const char *error_code_name(uint16_t code)
{
	switch (code) {
	case KE_ERR_UNRECOGNIZED_CRITICAL:
		return "Unrecognized Critical Record";
	case KE_ERR_BAD_REQUEST:
		return "Bad Request";
	case KE_ERR_INTERNAL:
		return "Internal Server Error";
	default:
		return "unknown error code";
	}
}

/* Checks the parsed response and fills res (keys excluded). */
static enum ke_client_status take_response(struct run *r, const struct ke_response_parsed *p,
                                           const uint16_t *aeads, size_t n_aeads,
                                           struct ke_client_result *res)
{
	if (p->has_error) {
		res->ke_error = p->error;
		seterr(r, "%s: NTS-KE server sent error record %u (%s)", r->o->host, p->error,
		       error_code_name(p->error));
		return KE_CLIENT_KE_ERROR;
	}
	if (p->has_warning) {
		seterr(r, "%s: NTS-KE server sent unknown warning %u", r->o->host, p->warning);
		return KE_CLIENT_BAD_RESPONSE;
	}
	if (!p->ntpv4) {
		seterr(r, "%s: NTS-KE server refused NTPv4 (no next protocol)", r->o->host);
		return KE_CLIENT_BAD_RESPONSE;
	}
	if (!p->has_aead) {
		seterr(r, "%s: NTS-KE server has no AEAD algorithm in common with us", r->o->host);
		return KE_CLIENT_BAD_RESPONSE;
	}
	bool offered = false;
	for (size_t i = 0; i < n_aeads; i++)
		offered = offered || aeads[i] == p->aead;
	if (!offered || !aead_key_len(p->aead)) {
		seterr(r, "%s: NTS-KE server chose AEAD %u, which we did not offer", r->o->host,
		       p->aead);
		return KE_CLIENT_BAD_RESPONSE;
	}
	if (p->n_cookies == 0) {
		seterr(r, "%s: NTS-KE response holds no cookies", r->o->host);
		return KE_CLIENT_BAD_RESPONSE;
	}
	res->aead = p->aead;
	res->key_len = aead_key_len(p->aead);
	for (size_t i = 0; i < p->n_cookies; i++) {
		if (p->cookie_len[i] > KE_CLIENT_COOKIE_MAX) {
			trace(r, "NTS-KE: cookie %zu of %zu bytes ignored (longer than %d)", i + 1,
			      p->cookie_len[i], KE_CLIENT_COOKIE_MAX);
			continue;
		}
		memcpy(res->cookies[res->n_cookies], p->cookies[i], p->cookie_len[i]);
		res->cookie_len[res->n_cookies++] = p->cookie_len[i];
	}
	if (res->n_cookies == 0) {
		seterr(r, "%s: NTS-KE cookies too long", r->o->host);
		return KE_CLIENT_BAD_RESPONSE;
	}
	snprintf(res->ntp_server, sizeof(res->ntp_server), "%s",
	         p->has_server ? p->server : r->o->host);
	res->ntp_port = p->has_port ? p->port : 123;
	trace(r, "NTS-KE: response: next protocol NTPv4, AEAD %u, %zu cookies of %zu bytes%s%s%s",
	      p->aead, p->n_cookies, p->cookie_len[0], p->has_server ? ", server " : "",
	      p->has_server ? p->server : "", p->has_port ? ", port record" : "");
	trace(r, "NTS-KE: NTP server %s port %u", res->ntp_server, res->ntp_port);
	return KE_CLIENT_OK;
}

enum ke_client_status ke_client_run(const struct ke_client_opts *o, struct ke_client_result *res,
                                    char *err, size_t errlen)
{
	struct run r = { .o = o, .err = err, .errlen = errlen };
	const uint16_t *aeads = o->aeads ? o->aeads : default_aeads;
	size_t n_aeads = o->aeads ? o->n_aeads : sizeof(default_aeads) / sizeof(default_aeads[0]);
	uint16_t offer[KE_MAX_AEADS];
	size_t n_offer = 0;
	struct tls_cred *cred = NULL;
	struct tls_session *s = NULL;
	uint8_t *msg = NULL;
	size_t len = 0;
	int fd = -1;
	enum ke_client_status st;
	char cerr[256];
	struct ke_response_parsed *p = NULL;

	memset(res, 0, sizeof(*res));
	if (errlen)
		err[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &r.deadline);
	int to = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	r.deadline.tv_sec += to / 1000;
	r.deadline.tv_nsec += (long)(to % 1000) * 1000000;
	if (r.deadline.tv_nsec >= 1000000000) {
		r.deadline.tv_sec++;
		r.deadline.tv_nsec -= 1000000000;
	}
	for (size_t i = 0; i < n_aeads && n_offer < KE_MAX_AEADS; i++)
		if (aead_key_len(aeads[i]))
			offer[n_offer++] = aeads[i];
	if (!o->host || !o->host[0] || n_offer == 0) {
		seterr(&r, "NTS-KE: %s", n_offer ? "no host" : "no supported AEAD to offer");
		return KE_CLIENT_BAD_RESPONSE;
	}
	if (o->no_verify)
		cred = tls_cred_new_client_noverify(cerr, sizeof(cerr));
	else
		cred = tls_cred_new_client(o->ca_file, o->skip_time_check, cerr, sizeof(cerr));
	if (!cred) {
		seterr(&r, "%s: TLS setup failed: %s", o->host, cerr);
		return KE_CLIENT_TLS;
	}
	trace(&r, "TLS: %s backend, trust %s%s", tls_backend_name(),
	      o->ca_file ? o->ca_file : "system store",
	      o->skip_time_check ? ", certificate validity times NOT checked" : "");
	st = connect_host(&r, &fd);
	if (st != KE_CLIENT_OK)
		goto out;
	s = tls_session_new_client(cred, fd, o->host);
	msg = secret_alloc(KE_MAX_MESSAGE);
	p = secret_alloc(sizeof(*p));
	if (!s || !msg || !p) {
		seterr(&r, "%s: out of memory", o->host);
		st = KE_CLIENT_TLS;
		goto out;
	}
	st = handshake(&r, s, fd, res);
	if (st != KE_CLIENT_OK)
		goto out;
	/* RFC 8915 §4: Next Protocol, AEAD list, End of Message, sent in one
	 * TLS write (NTPsec's server reads the request with one read). */
	len = ke_request_build(msg, KE_MAX_MESSAGE, offer, n_offer, NULL, -1);
	if (!len) {
		seterr(&r, "%s: cannot build the NTS-KE request", o->host);
		st = KE_CLIENT_BAD_RESPONSE;
		goto out;
	}
	{
		char list[96] = "";
		size_t at = 0;
		for (size_t i = 0; i < n_offer && at < sizeof(list); i++) {
			int w = snprintf(list + at, sizeof(list) - at, "%s%u", i ? "," : "", offer[i]);
			if (w < 0)
				break;
			at += (size_t)w;
		}
		trace(&r, "NTS-KE: request (%zu bytes): next protocol NTPv4, AEAD %s, end", len, list);
	}
	st = send_all(&r, s, fd, msg, len);
	if (st != KE_CLIENT_OK)
		goto out;
	st = recv_response(&r, s, fd, msg, &len, p);
	if (st != KE_CLIENT_OK)
		goto out;
	trace(&r, "NTS-KE: response of %zu bytes", len);
	st = take_response(&r, p, offer, n_offer, res);
	if (st != KE_CLIENT_OK)
		goto out;
	uint8_t ctx[KE_EXPORTER_CONTEXT_LEN];
	ke_exporter_context(res->aead, false, ctx);
	bool ok = tls_export(s, ctx, sizeof(ctx), res->c2s, res->key_len);
	ke_exporter_context(res->aead, true, ctx);
	ok = ok && tls_export(s, ctx, sizeof(ctx), res->s2c, res->key_len);
	if (!ok) {
		seterr(&r, "%s: TLS key export failed", o->host);
		st = KE_CLIENT_TLS;
		goto out;
	}
	trace(&r, "NTS-KE: exported C2S and S2C keys (%zu bytes each)", res->key_len);
	tls_shutdown(s);
out:
	if (st != KE_CLIENT_OK) {
		char peer[sizeof(res->peer_cert)];
		uint16_t code = res->ke_error;
		memcpy(peer, res->peer_cert, sizeof(peer));
		ke_client_result_wipe(res);
		memcpy(res->peer_cert, peer, sizeof(peer));
		res->ke_error = code;
	}
	if (msg) {
		secret_wipe(msg, KE_MAX_MESSAGE);
		secret_free(msg);
	}
	if (p)
		secret_free(p);
	tls_session_free(s);
	if (fd >= 0)
		close(fd);
	tls_cred_free(cred);
	return st;
}

const char *ke_client_status_name(enum ke_client_status s)
{
	switch (s) {
	case KE_CLIENT_OK:
		return "ok";
	case KE_CLIENT_RESOLVE:
		return "resolve";
	case KE_CLIENT_CONNECT:
		return "connect";
	case KE_CLIENT_TLS_VERIFY:
		return "tls-verify";
	case KE_CLIENT_TLS:
		return "tls";
	case KE_CLIENT_KE_ERROR:
		return "ke-error";
	case KE_CLIENT_BAD_RESPONSE:
		return "bad-response";
	case KE_CLIENT_TIMEOUT:
		return "timeout";
	}
	return "?";
}

void ke_client_result_wipe(struct ke_client_result *r)
{
	secret_wipe(r, sizeof(*r));
}
