/* TLS for NTS-KE (RFC 8915 §3, §4): TLS 1.3 only, ALPN "ntske/1", keys
 * from the TLS exporter. Backends: tls_openssl.c and tls_gnutls.c, chosen
 * at build time; no backend type appears here. Nothing in this module
 * logs: failures come back as a status plus a short text for the caller.
 *
 * I/O is non-blocking over a connected stream socket that the caller owns
 * (it is never closed here). Writes to a socket whose peer has gone away
 * may raise SIGPIPE with the OpenSSL backend: the process must ignore
 * SIGPIPE. Session tickets and resumption are disabled in both directions
 * (NTS-KE does not need them, and it rules out 0-RTT). */
#ifndef NTSD_KEYEXCHANGE_TLS_H
#define NTSD_KEYEXCHANGE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* RFC 8915 §4 (ALPN protocol id) and §5.1 (exporter label). */
#define TLS_ALPN_NTSKE "ntske/1"
#define TLS_EXPORTER_LABEL "EXPORTER-network-time-security"

/* Outcome of a non-blocking operation, after chrony's TLS_Status. On
 * TLS_AGAIN_READ / TLS_AGAIN_WRITE, wait until the socket is readable /
 * writable and call the same function again (for tls_write: with the same
 * buffer and length). TLS_CLOSED: the peer closed the connection (with or
 * without close_notify: tls_session_error() says which). TLS_FAILED: the
 * session is dead; tls_session_error() says why. */
enum tls_status {
	TLS_OK,
	TLS_AGAIN_READ,
	TLS_AGAIN_WRITE,
	TLS_CLOSED,
	TLS_FAILED,
};

/* "openssl" or "gnutls". */
const char *tls_backend_name(void);

/* Credentials, shared read-only by any number of sessions and threads.
 * Reference counted: each session holds a reference, so a reload loads a
 * new cred, swaps it in and calls tls_cred_free on the old one, while
 * sessions still in flight keep using the old one until they are freed. */
struct tls_cred;

/* Server credentials from a PEM certificate chain (leaf first) and a PEM
 * private key (unencrypted). Checks that the key matches the leaf. On
 * failure returns NULL and writes "PATH: what" into err (a missing or
 * unreadable file names the path and strerror). */
struct tls_cred *tls_cred_load_server(const char *cert_chain_pem, const char *key_pem, char *err,
                                      size_t errlen);
/* Client credentials: the server chain is verified against the PEM CA file
 * ca_file, or the system trust store if ca_file is NULL, and the leaf
 * against the name given to tls_session_new_client. skip_time_check
 * ignores the validity periods of the certificates (for a clock that is
 * known to be wrong, like chrony's nocerttimecheck) and nothing else.
 * NULL plus err on failure. */
struct tls_cred *tls_cred_new_client(const char *ca_file, bool skip_time_check, char *err,
                                     size_t errlen);
/* Client credentials that do NOT verify the server's certificate (NTPsec's
 * `noval`): anyone on the path can impersonate the server. For tests and
 * explicit operator choice only; callers must say so in their logs. */
struct tls_cred *tls_cred_new_client_noverify(char *err, size_t errlen);
/* Drops the caller's reference; NULL is ignored. */
void tls_cred_free(struct tls_cred *cred);

/* One TLS connection over fd (connected, non-blocking, owned by the
 * caller). A session is used by one thread at a time. */
struct tls_session;

/* Server side: a client without TLS 1.3 gets a protocol_version alert; the
 * client must offer ALPN "ntske/1", else no_application_protocol, also when
 * it offers no ALPN at all (RFC 8915 §4 makes ALPN mandatory; chrony's
 * server refuses such clients too). SNI is not required (NTPsec's client
 * sends none). NULL on allocation failure or a client cred. */
struct tls_session *tls_session_new_server(struct tls_cred *cred, int fd);
/* Client side: offers ALPN "ntske/1", sends SNI for a DNS hostname (not
 * for an IP literal), and verifies the server certificate against hostname
 * (a DNS name or an IP address literal). NULL on allocation failure, a
 * server cred or an empty hostname. */
struct tls_session *tls_session_new_client(struct tls_cred *cred, int fd, const char *hostname);
/* Frees the session without sending anything and drops its cred
 * reference; does not close fd. NULL is ignored. */
void tls_session_free(struct tls_session *s);

/* Drives the handshake. TLS_OK once it is complete and "ntske/1" was
 * negotiated (a client fails the handshake if the server selected no ALPN
 * or another protocol). A failure sends the appropriate alert if it can. */
enum tls_status tls_handshake(struct tls_session *s);
/* Reads up to len bytes of application data; TLS_OK with *got > 0. Data
 * may already be buffered inside TLS: after TLS_OK keep reading until
 * TLS_AGAIN_READ before waiting on the socket. One read returns at most
 * one TLS record. */
enum tls_status tls_read(struct tls_session *s, void *buf, size_t len, size_t *got);
/* Writes buf; TLS_OK with *put == len. A buffer of up to 16384 bytes goes
 * out as a single TLS record (NTPsec's client reads a whole NTS-KE message
 * with one read), unless the peer negotiated a smaller record size. After
 * TLS_AGAIN_*, call again with the same buf and len; *put is 0 then. */
enum tls_status tls_write(struct tls_session *s, const void *buf, size_t len, size_t *put);
/* Sends close_notify (does not wait for the peer's). TLS_OK once sent. */
enum tls_status tls_shutdown(struct tls_session *s);

/* Why the last operation failed or closed (alert, verification result),
 * for debug logs; "" if nothing is known. Owned by the session. */
const char *tls_session_error(const struct tls_session *s);
/* The negotiated ALPN protocol after a successful handshake, else NULL.
 * Owned by the session. */
const char *tls_session_alpn(const struct tls_session *s);
/* RFC 8915 §5.1: outlen bytes of keying material from the TLS exporter
 * (RFC 8446 §7.5) with label TLS_EXPORTER_LABEL and context ctx (may be
 * NULL if ctxlen is 0). False before the handshake has completed. The
 * caller wipes out when done. */
bool tls_export(struct tls_session *s, const uint8_t *ctx, size_t ctxlen, uint8_t *out,
                size_t outlen);
/* One-line description of the peer's certificate for a trace: subject,
 * issuer, validity and the verification result. Also works after a failed
 * verification. False (buf "") if the peer sent no certificate. */
bool tls_session_peer_info(const struct tls_session *s, char *buf, size_t buflen);

/* Facts about a certificate file, for ntsd --check and ntskey. */
#define TLS_CERT_NAME_MAX 256
#define TLS_CERT_IP_MAX 46 /* INET6_ADDRSTRLEN */
#define TLS_CERT_MAX_NAMES 4

struct tls_cert_info {
	time_t not_before, not_after;
	char subject_cn[TLS_CERT_NAME_MAX]; /* "" if there is no CN */
	size_t n_dns;                       /* SAN dNSNames kept, <= TLS_CERT_MAX_NAMES */
	char dns[TLS_CERT_MAX_NAMES][TLS_CERT_NAME_MAX];
	size_t n_ip; /* SAN iPAddresses kept, printed */
	char ip[TLS_CERT_MAX_NAMES][TLS_CERT_IP_MAX];
	bool names_truncated; /* the SAN held more names than kept */
};

/* Reads the first certificate in the PEM file path (the leaf of a chain).
 * False plus err ("PATH: what") if it cannot be read or parsed. */
bool tls_cert_info(const char *path, struct tls_cert_info *out, char *err, size_t errlen);

#endif
