/* tls: NTS-KE TLS through the public API, backend-neutral (runs in the
 * OpenSSL and the GnuTLS build). Certificates are made at start with the
 * openssl command line tool in a temporary directory. Sessions run over
 * non-blocking socketpairs in one thread; the cases that need a client our
 * API cannot be (TLS 1.2 only, other or no ALPN) use `openssl s_client`
 * against a listener on 127.0.0.1. */
#include "config.h"

#include "keyexchange/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

static char dir[64];
static char path_buf[16][192];
static int path_n;

/* dir/name, valid until 16 more calls. */
static const char *P(const char *name)
{
	char *p = path_buf[path_n++ % 16];

	snprintf(p, sizeof(path_buf[0]), "%s/%s", dir, name);
	return p;
}

__attribute__((format(printf, 1, 2))) static bool sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return false;
	r = system(cmd);
	if (r != 0)
		tap_diag("command failed (%d): %s", r, cmd);
	return r == 0;
}

#define KEYGEN "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
#define LEAF_SAN "-addext subjectAltName=DNS:localhost,IP:127.0.0.1"
#define CA_EXT                                                                                 \
	"-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"

/* 2020-01-01T00:00:00Z and a day later, the dates of the expired leaf. */
#define EXPIRED_NB ((time_t)1577836800)
#define EXPIRED_NA ((time_t)1577923200)

static bool make_certs(void)
{
	FILE *f = fopen(P("ca.cnf"), "w");
	const char *log = P("openssl.log");

	if (!f)
		return false;
	fprintf(f, "[ca]\ndefault_ca = c\n[c]\ndatabase = %s/index.txt\nnew_certs_dir = %s\n"
	           "serial = %s/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n"
	           "copy_extensions = copy\n[p]\ncommonName = supplied\n",
	        dir, dir, dir);
	fclose(f);
	return sh("echo 01 > %s/serial && : > %s/index.txt", dir, dir) &&
	       sh("openssl req -x509 " KEYGEN " -days 2 -subj '/CN=ntsd test CA' " CA_EXT
	          " -keyout %s -out %s 2>>%s",
	          P("ca.key"), P("ca.pem"), log) &&
	       sh("openssl req -x509 " KEYGEN " -days 2 -subj '/CN=other CA' " CA_EXT
	          " -keyout %s -out %s 2>>%s",
	          P("ca2.key"), P("ca2.pem"), log) &&
	       sh("openssl req -x509 " KEYGEN " -days 2 -subj /CN=localhost " LEAF_SAN
	          " -keyout %s -out %s 2>>%s",
	          P("self.key"), P("self.pem"), log) &&
	       sh("openssl req " KEYGEN " -subj /CN=localhost " LEAF_SAN
	          " -keyout %s -out %s 2>>%s",
	          P("good.key"), P("good.csr"), log) &&
	       sh("openssl ca -batch -notext -config %s -cert %s -keyfile %s -in %s -out %s"
	          " -days 2 >>%s 2>&1",
	          P("ca.cnf"), P("ca.pem"), P("ca.key"), P("good.csr"), P("good.pem"), log) &&
	       sh("openssl req " KEYGEN " -subj /CN=localhost " LEAF_SAN
	          " -keyout %s -out %s 2>>%s",
	          P("old.key"), P("old.csr"), log) &&
	       sh("openssl ca -batch -notext -config %s -cert %s -keyfile %s -in %s -out %s"
	          " -startdate 20200101000000Z -enddate 20200102000000Z >>%s 2>&1",
	          P("ca.cnf"), P("ca.pem"), P("ca.key"), P("old.csr"), P("old.pem"), log) &&
	       sh("cat %s %s > %s", P("good.pem"), P("ca.pem"), P("chain.pem")) &&
	       sh("cat %s %s > %s", P("old.pem"), P("ca.pem"), P("oldchain.pem"));
}

static bool again(enum tls_status st)
{
	return st == TLS_AGAIN_READ || st == TLS_AGAIN_WRITE;
}

static const char *st_name(enum tls_status st)
{
	static const char *const n[] = {"OK", "AGAIN_READ", "AGAIN_WRITE", "CLOSED", "FAILED"};

	return (unsigned)st < 5 ? n[st] : "?";
}

/* A client and a server session over a non-blocking socketpair. */
struct pair {
	int fd[2]; /* client, server */
	struct tls_session *c, *s;
	enum tls_status cst, sst;
};

static bool pair_new(struct pair *p, struct tls_cred *ccred, struct tls_cred *scred,
                     const char *host)
{
	memset(p, 0, sizeof(*p));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd) != 0)
		return false;
	p->c = tls_session_new_client(ccred, p->fd[0], host);
	p->s = tls_session_new_server(scred, p->fd[1]);
	return p->c && p->s;
}

static void pair_free(struct pair *p)
{
	tls_session_free(p->c);
	tls_session_free(p->s);
	close(p->fd[0]);
	close(p->fd[1]);
}

/* Alternates the two handshakes until both have an outcome. A side that
 * gives up stops writing, so that the other sees EOF if no alert came. */
static void drive(struct pair *p)
{
	p->cst = p->sst = TLS_AGAIN_READ;
	for (int i = 0; i < 200 && (again(p->cst) || again(p->sst)); i++) {
		if (again(p->cst) && !again(p->cst = tls_handshake(p->c)) && p->cst != TLS_OK)
			shutdown(p->fd[0], SHUT_WR);
		if (again(p->sst) && !again(p->sst = tls_handshake(p->s)) && p->sst != TLS_OK)
			shutdown(p->fd[1], SHUT_WR);
	}
}

/* Handshake with the given creds; true if both sides report TLS_OK. */
static bool handshake_ok(struct tls_cred *ccred, struct tls_cred *scred, const char *host,
                         struct pair *p)
{
	if (!pair_new(p, ccred, scred, host))
		return false;
	drive(p);
	if (p->cst != TLS_OK || p->sst != TLS_OK)
		tap_diag("client %s (%s), server %s (%s)", st_name(p->cst),
		         tls_session_error(p->c), st_name(p->sst), tls_session_error(p->s));
	return p->cst == TLS_OK && p->sst == TLS_OK;
}

/* The client must fail and the server must not succeed; err gets the
 * client's reason. */
static bool handshake_fails(struct tls_cred *ccred, struct tls_cred *scred, const char *host,
                            char *err, size_t errlen)
{
	struct pair p;
	bool ok = false;

	err[0] = '\0';
	if (pair_new(&p, ccred, scred, host)) {
		drive(&p);
		snprintf(err, errlen, "%s", tls_session_error(p.c));
		tap_diag("client %s (%s), server %s (%s)", st_name(p.cst), tls_session_error(p.c),
		         st_name(p.sst), tls_session_error(p.s));
		ok = p.cst == TLS_FAILED && p.sst != TLS_OK && !again(p.sst);
	}
	pair_free(&p);
	return ok;
}

static enum tls_status write_all(struct tls_session *s, const void *buf, size_t len)
{
	enum tls_status st;
	size_t put = 0;

	for (int i = 0; i < 100; i++)
		if (!again(st = tls_write(s, buf, len, &put)))
			return st == TLS_OK && put != len ? TLS_FAILED : st;
	return TLS_FAILED;
}

/* One write of len bytes on one side arrives in one read on the other. */
static void check_one_record(struct tls_session *from, struct tls_session *to, size_t len,
                             const char *dirname)
{
	static unsigned char out[16384], in[16384 + 64];
	enum tls_status st;
	size_t got = 0;

	for (size_t i = 0; i < len; i++)
		out[i] = (unsigned char)(i * 7 + len);
	tap_ok(write_all(from, out, len) == TLS_OK, "%s: write of %zu bytes", dirname, len);
	st = tls_read(to, in, len < 1500 ? 2048 : sizeof(in), &got);
	tap_ok(st == TLS_OK && got == len && memcmp(in, out, len) == 0,
	       "%s: %zu bytes arrive in one read (status %s, got %zu)", dirname, len, st_name(st),
	       got);
	tap_ok(tls_read(to, in, sizeof(in), &got) == TLS_AGAIN_READ && got == 0,
	       "%s: nothing more to read after %zu bytes", dirname, len);
}

static void test_good_session(struct tls_cred *ccred, struct tls_cred *scred)
{
	/* RFC 8915 §5.1 exporter contexts: protocol 0 (NTPv4), AEAD 15, C2S/S2C. */
	static const uint8_t c2s[5] = {0x00, 0x00, 0x00, 0x0f, 0x00};
	static const uint8_t s2c[5] = {0x00, 0x00, 0x00, 0x0f, 0x01};
	uint8_t kc[32], ks[32], kc2[32], zero[32] = {0};
	char info[512];
	struct pair p;
	size_t got;

	if (!tap_ok(pair_new(&p, ccred, scred, "localhost"), "sessions created")) {
		pair_free(&p);
		return;
	}
	tap_ok(!tls_export(p.c, c2s, sizeof(c2s), kc, sizeof(kc)) && !tls_session_alpn(p.c),
	       "no exporter and no ALPN before the handshake");
	drive(&p);
	if (!tap_ok(p.cst == TLS_OK && p.sst == TLS_OK, "handshake: client %s, server %s",
	            st_name(p.cst), st_name(p.sst))) {
		tap_diag("client: %s; server: %s", tls_session_error(p.c), tls_session_error(p.s));
		pair_free(&p);
		return;
	}
	tap_ok(tls_session_alpn(p.c) && strcmp(tls_session_alpn(p.c), "ntske/1") == 0,
	       "client negotiated ALPN ntske/1");
	tap_ok(tls_session_alpn(p.s) && strcmp(tls_session_alpn(p.s), "ntske/1") == 0,
	       "server negotiated ALPN ntske/1");
	tap_ok(tls_handshake(p.c) == TLS_OK, "tls_handshake again after completion is TLS_OK");

	tap_ok(tls_export(p.c, c2s, sizeof(c2s), kc, sizeof(kc)) &&
	           tls_export(p.s, c2s, sizeof(c2s), ks, sizeof(ks)) &&
	           memcmp(kc, ks, sizeof(kc)) == 0 && memcmp(kc, zero, sizeof(kc)) != 0,
	       "C2S exporter output is equal on both sides");
	tap_ok(tls_export(p.c, s2c, sizeof(s2c), kc2, sizeof(kc2)) &&
	           tls_export(p.s, s2c, sizeof(s2c), ks, sizeof(ks)) &&
	           memcmp(kc2, ks, sizeof(ks)) == 0,
	       "S2C exporter output is equal on both sides");
	tap_ok(memcmp(kc, kc2, sizeof(kc)) != 0, "C2S and S2C keys differ");
	tap_ok(tls_export(p.c, c2s, sizeof(c2s), kc2, 16) && memcmp(kc2, zero, 16) != 0 &&
	           tls_export(p.s, c2s, sizeof(c2s), ks, 16) && memcmp(kc2, ks, 16) == 0,
	       "16-byte exporter output (AES-SIV-CMAC-256 half key) agrees");
	tap_ok(!tls_export(p.c, c2s, sizeof(c2s), kc, 0), "exporter refuses an empty output");

	tap_ok(tls_session_peer_info(p.c, info, sizeof(info)) && strstr(info, "localhost") &&
	           strstr(info, "ntsd test CA") && strstr(info, "verify: ok"),
	       "client peer info: %s", info);
	tap_ok(!tls_session_peer_info(p.s, info, sizeof(info)) && info[0] == '\0',
	       "server has no peer certificate");

	/* NTPsec reads a KE message with one read into a 2 KiB buffer. */
	check_one_record(p.s, p.c, 1500, "server to client");
	check_one_record(p.c, p.s, 1500, "client to server");
	check_one_record(p.s, p.c, 1, "server to client");
	check_one_record(p.s, p.c, 16384, "server to client");
	tap_ok(tls_read(p.c, kc, 0, &got) == TLS_OK && got == 0, "a zero-length read is a no-op");

	tap_ok(tls_shutdown(p.s) == TLS_OK, "server sends close_notify");
	tap_ok(tls_read(p.c, kc, sizeof(kc), &got) == TLS_CLOSED && got == 0,
	       "client reads TLS_CLOSED after close_notify (%s)", tls_session_error(p.c));
	pair_free(&p);
}

static void test_load_errors(void)
{
	char err[512];
	struct tls_cred *c;
	const char *missing = P("no-such-file.pem");

	c = tls_cred_load_server(missing, P("good.key"), err, sizeof(err));
	tap_ok(!c && strstr(err, missing) && strstr(err, strerror(ENOENT)),
	       "missing certificate file: %s", err);
	c = tls_cred_load_server(P("good.pem"), missing, err, sizeof(err));
	tap_ok(!c && strstr(err, missing) && strstr(err, strerror(ENOENT)),
	       "missing key file: %s", err);
	c = tls_cred_load_server(P("self.pem"), P("good.key"), err, sizeof(err));
	tap_ok(!c && strstr(err, "does not match") && strstr(err, P("good.key")),
	       "key does not match certificate: %s", err);
	c = tls_cred_load_server(P("good.key"), P("good.key"), err, sizeof(err));
	tap_ok(!c && strstr(err, P("good.key")), "a key file as certificate: %s", err);
	c = tls_cred_load_server(P("good.pem"), P("good.pem"), err, sizeof(err));
	tap_ok(!c && strstr(err, P("good.pem")), "a certificate as key file: %s", err);
	c = tls_cred_load_server(P("ca.cnf"), P("good.key"), err, sizeof(err));
	tap_ok(!c && strstr(err, P("ca.cnf")), "a non-PEM certificate file: %s", err);
	c = tls_cred_new_client(missing, false, err, sizeof(err));
	tap_ok(!c && strstr(err, missing) && strstr(err, strerror(ENOENT)),
	       "missing CA file: %s", err);
	c = tls_cred_new_client(P("ca.cnf"), false, err, sizeof(err));
	tap_ok(!c && strstr(err, P("ca.cnf")), "CA file without certificates: %s", err);
	tap_ok(!tls_cred_load_server(missing, P("good.key"), NULL, 0),
	       "a NULL error buffer is allowed on failure");
	c = tls_cred_load_server(P("good.pem"), P("good.key"), NULL, 0);
	tap_ok(c != NULL, "a leaf without its chain loads, NULL error buffer");
	tls_cred_free(c);
}

static void test_cert_info(void)
{
	struct tls_cert_info ci;
	char err[512];
	time_t now = time(NULL);
	bool ok;

	ok = tls_cert_info(P("good.pem"), &ci, err, sizeof(err));
	tap_ok(ok, "cert info of the good leaf (%s)", ok ? "" : err);
	tap_ok(ok && strcmp(ci.subject_cn, "localhost") == 0, "subject CN '%s'", ci.subject_cn);
	tap_ok(ok && ci.n_dns == 1 && strcmp(ci.dns[0], "localhost") == 0 && ci.n_ip == 1 &&
	           strcmp(ci.ip[0], "127.0.0.1") == 0 && !ci.names_truncated,
	       "SAN: %zu DNS (%s), %zu IP (%s)", ci.n_dns, ci.n_dns ? ci.dns[0] : "",
	       ci.n_ip, ci.n_ip ? ci.ip[0] : "");
	tap_ok(ok && ci.not_before <= now + 5 && ci.not_before > now - 600 &&
	           ci.not_after - ci.not_before == 2 * 86400,
	       "validity: now to now + 2 days (%lld..%lld, now %lld)", (long long)ci.not_before,
	       (long long)ci.not_after, (long long)now);

	ok = tls_cert_info(P("oldchain.pem"), &ci, err, sizeof(err));
	tap_ok(ok && ci.not_before == EXPIRED_NB && ci.not_after == EXPIRED_NA,
	       "expired leaf: first certificate of the chain, 2020-01-01 to 2020-01-02");
	ok = tls_cert_info(P("ca.pem"), &ci, err, sizeof(err));
	tap_ok(ok && strcmp(ci.subject_cn, "ntsd test CA") == 0 && ci.n_dns == 0 && ci.n_ip == 0,
	       "CA: CN '%s', no SAN", ci.subject_cn);
	ok = tls_cert_info(P("no-such.pem"), &ci, err, sizeof(err));
	tap_ok(!ok && strstr(err, P("no-such.pem")) && strstr(err, strerror(ENOENT)),
	       "missing file: %s", err);
	ok = tls_cert_info(P("good.key"), &ci, err, sizeof(err));
	tap_ok(!ok && strstr(err, P("good.key")), "not a certificate: %s", err);
}

static void test_verification(struct tls_cred *scred, struct tls_cred *ccred)
{
	struct tls_cred *wrong_ca, *skip, *skip_wrong, *old, *self_s, *self_c;
	char err[512], info[512];
	struct pair p;

	wrong_ca = tls_cred_new_client(P("ca2.pem"), false, err, sizeof(err));
	skip = tls_cred_new_client(P("ca.pem"), true, err, sizeof(err));
	skip_wrong = tls_cred_new_client(P("ca2.pem"), true, err, sizeof(err));
	old = tls_cred_load_server(P("oldchain.pem"), P("old.key"), err, sizeof(err));
	self_s = tls_cred_load_server(P("self.pem"), P("self.key"), err, sizeof(err));
	self_c = tls_cred_new_client(P("self.pem"), false, err, sizeof(err));
	if (!tap_ok(wrong_ca && skip && skip_wrong && old && self_s && self_c,
	            "verification creds loaded"))
		goto out;

	tap_ok(handshake_ok(ccred, scred, "127.0.0.1", &p), "IP literal matches the IP SAN");
	pair_free(&p);
	tap_ok(handshake_fails(ccred, scred, "example.org", err, sizeof(err)),
	       "hostname mismatch fails: %s", err);
	tap_ok(handshake_fails(ccred, scred, "127.0.0.2", err, sizeof(err)),
	       "IP mismatch fails: %s", err);
	tap_ok(handshake_fails(wrong_ca, scred, "localhost", err, sizeof(err)),
	       "wrong CA fails: %s", err);
	tap_ok(handshake_fails(ccred, old, "localhost", err, sizeof(err)) &&
	           strcasestr(err, "expired"),
	       "expired certificate fails: %s", err);
	tap_ok(handshake_ok(skip, old, "localhost", &p), "expired certificate with skip_time_check");
	pair_free(&p);
	tap_ok(handshake_fails(skip, old, "example.org", err, sizeof(err)),
	       "skip_time_check still checks the hostname: %s", err);
	tap_ok(handshake_fails(skip_wrong, old, "localhost", err, sizeof(err)),
	       "skip_time_check still checks the CA: %s", err);
	tap_ok(handshake_ok(self_c, self_s, "localhost", &p), "self-signed certificate as CA");
	pair_free(&p);

	/* The peer's certificate is still described after a failure. */
	if (pair_new(&p, ccred, scred, "example.org")) {
		drive(&p);
		tap_ok(p.cst == TLS_FAILED && tls_session_peer_info(p.c, info, sizeof(info)) &&
		           strstr(info, "localhost") && !strstr(info, "verify: ok"),
		       "peer info after a failed verification: %s", info);
	}
	pair_free(&p);
out:
	tls_cred_free(wrong_ca);
	tls_cred_free(skip);
	tls_cred_free(skip_wrong);
	tls_cred_free(old);
	tls_cred_free(self_s);
	tls_cred_free(self_c);
}

static void test_api_misuse(struct tls_cred *scred, struct tls_cred *ccred)
{
	int sv[2];
	struct tls_session *s;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		return;
	tap_ok(!tls_session_new_server(ccred, sv[1]), "server session with a client cred: NULL");
	tap_ok(!tls_session_new_client(scred, sv[0], "localhost"),
	       "client session with a server cred: NULL");
	tap_ok(!tls_session_new_client(ccred, sv[0], NULL) &&
	           !tls_session_new_client(ccred, sv[0], ""),
	       "client session without a hostname: NULL");
	s = tls_session_new_server(scred, sv[1]);
	close(sv[0]);
	tap_ok(s && tls_handshake(s) == TLS_CLOSED, "peer gone before the handshake: TLS_CLOSED (%s)",
	       s ? tls_session_error(s) : "");
	tls_session_free(s);
	close(sv[1]);
	tls_session_free(NULL);
	tls_cred_free(NULL);
}

/* The cred stays alive while a session holds it (reload swaps creds). */
static void test_cred_lifetime(struct tls_cred *ccred)
{
	char err[512];
	struct tls_cred *sc = tls_cred_load_server(P("chain.pem"), P("good.key"), err, sizeof(err));
	struct pair p;

	if (!tap_ok(sc != NULL, "second server cred (%s)", sc ? "" : err))
		return;
	if (pair_new(&p, ccred, sc, "localhost")) {
		tls_cred_free(sc); /* the caller's reference: the session keeps its own */
		drive(&p);
		tap_ok(p.cst == TLS_OK && p.sst == TLS_OK,
		       "handshake after the caller freed the server cred");
	} else {
		tls_cred_free(sc);
	}
	pair_free(&p);
}

/* ---- openssl s_client against a server session on 127.0.0.1 ---- */

static int listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void reap(pid_t pid)
{
	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Runs `openssl s_client ARGS` against a server session on scred; *st is
 * the server's handshake outcome, out the client's output. */
static bool s_client(struct tls_cred *scred, const char *args, enum tls_status *st,
                     char *alpn, size_t alpnlen, char *out, size_t outlen)
{
	char cmd[512];
	const char *log = P("s_client.out");
	struct tls_session *s = NULL;
	struct pollfd pfd;
	int port = 0, lfd = listener(&port), fd = -1, devnull;
	pid_t pid;
	FILE *f;
	size_t n = 0;

	*st = TLS_FAILED;
	alpn[0] = out[0] = '\0';
	if (lfd < 0)
		return false;
	snprintf(cmd, sizeof(cmd), "exec openssl s_client -connect 127.0.0.1:%d %s >%s 2>&1",
	         port, args, log);
	if ((pid = fork()) == 0) {
		devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		close(lfd);
		return false;
	}
	pfd = (struct pollfd){.fd = lfd, .events = POLLIN};
	if (poll(&pfd, 1, 5000) == 1 && (fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0 &&
	    (s = tls_session_new_server(scred, fd))) {
		*st = TLS_AGAIN_READ;
		for (int i = 0; i < 100 && again(*st); i++) {
			if (again(*st = tls_handshake(s))) {
				pfd = (struct pollfd){
				    .fd = fd, .events = *st == TLS_AGAIN_READ ? POLLIN : POLLOUT};
				poll(&pfd, 1, 100);
			}
		}
		snprintf(alpn, alpnlen, "%s", tls_session_alpn(s) ? tls_session_alpn(s) : "");
		tap_diag("server: %s %s", st_name(*st), tls_session_error(s));
	}
	tls_session_free(s);
	if (fd >= 0)
		close(fd);
	close(lfd);
	reap(pid);
	if ((f = fopen(log, "r"))) {
		n = fread(out, 1, outlen - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	return fd >= 0;
}

static void test_s_client(struct tls_cred *scred)
{
	static char out[16384];
	enum tls_status st;
	char alpn[64];
	bool ran;

	/* Control: the harness works, and SNI is not required (NTPsec sends none). */
	ran = s_client(scred, "-tls1_3 -alpn ntske/1 -noservername", &st, alpn, sizeof(alpn), out,
	               sizeof(out));
	tap_ok(ran && st == TLS_OK && strcmp(alpn, "ntske/1") == 0,
	       "s_client TLS 1.3, ALPN ntske/1, no SNI: accepted");
	tap_ok(strstr(out, "ALPN protocol: ntske/1") != NULL, "s_client saw ALPN ntske/1");

	ran = s_client(scred, "-tls1_2 -alpn ntske/1", &st, alpn, sizeof(alpn), out, sizeof(out));
	tap_ok(ran && st == TLS_FAILED, "s_client TLS 1.2 only: refused (%s)", st_name(st));
	tap_ok(strstr(out, "protocol version") != NULL, "s_client got a protocol_version alert");

	ran = s_client(scred, "-tls1_2", &st, alpn, sizeof(alpn), out, sizeof(out));
	tap_ok(ran && st == TLS_FAILED && strstr(out, "protocol version") != NULL,
	       "s_client TLS 1.2 only, no ALPN: refused with protocol_version (%s)", st_name(st));

	ran = s_client(scred, "-tls1_3 -alpn http/1.1", &st, alpn, sizeof(alpn), out, sizeof(out));
	tap_ok(ran && st == TLS_FAILED, "s_client ALPN http/1.1 only: refused (%s)", st_name(st));
	tap_ok(strstr(out, "no application protocol") != NULL,
	       "s_client got a no_application_protocol alert");

	ran = s_client(scred, "-tls1_3", &st, alpn, sizeof(alpn), out, sizeof(out));
	tap_ok(ran && st == TLS_FAILED, "s_client without ALPN: refused (%s)", st_name(st));
	tap_ok(strstr(out, "no application protocol") != NULL,
	       "s_client got a no_application_protocol alert");

	ran = s_client(scred, "-tls1_3 -alpn http/1.1,ntske/1", &st, alpn, sizeof(alpn), out,
	               sizeof(out));
	tap_ok(ran && st == TLS_OK && strcmp(alpn, "ntske/1") == 0,
	       "s_client offering http/1.1 and ntske/1: ntske/1 selected");
}

/* ---- our client against `openssl s_server` ---- */

static int free_port(void)
{
	int port = 0, fd = listener(&port);

	if (fd >= 0)
		close(fd);
	return fd >= 0 ? port : -1;
}

static int connect_retry(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	for (int i = 0; i < 300; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			return fd;
		}
		close(fd);
		usleep(10000);
	}
	return -1;
}

/* Runs `openssl s_server ARGS` for one connection; our client's handshake
 * outcome in *st, its error text in err. */
static bool s_server(struct tls_cred *ccred, const char *args, enum tls_status *st, char *err,
                     size_t errlen)
{
	char cmd[1024];
	struct tls_session *c = NULL;
	struct pollfd pfd;
	int port = free_port(), fd = -1, in[2];
	pid_t pid;

	*st = TLS_FAILED;
	err[0] = '\0';
	if (port < 0)
		return false;
	snprintf(cmd, sizeof(cmd),
	         "exec openssl s_server -accept 127.0.0.1:%d -naccept 1 -cert %s -key %s %s"
	         " >>%s 2>&1",
	         port, P("good.pem"), P("good.key"), args, P("s_server.out"));
	/* s_server quits at EOF on stdin: hold a pipe open until we are done. */
	if (pipe(in) != 0)
		return false;
	if ((pid = fork()) == 0) {
		dup2(in[0], 0);
		close(in[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	if (pid < 0) {
		close(in[1]);
		return false;
	}
	if ((fd = connect_retry(port)) >= 0 && (c = tls_session_new_client(ccred, fd, "localhost"))) {
		*st = TLS_AGAIN_READ;
		for (int i = 0; i < 100 && again(*st); i++) {
			if (again(*st = tls_handshake(c))) {
				pfd = (struct pollfd){
				    .fd = fd, .events = *st == TLS_AGAIN_READ ? POLLIN : POLLOUT};
				poll(&pfd, 1, 100);
			}
		}
		snprintf(err, errlen, "%s", tls_session_error(c));
		tap_diag("client: %s %s", st_name(*st), err);
	}
	tls_session_free(c);
	if (fd >= 0)
		close(fd);
	close(in[1]);
	reap(pid);
	return fd >= 0;
}

static void test_s_server(struct tls_cred *ccred)
{
	enum tls_status st;
	char err[512];
	bool ran;

	ran = s_server(ccred, "-tls1_3 -alpn ntske/1", &st, err, sizeof(err));
	tap_ok(ran && st == TLS_OK, "client against s_server TLS 1.3 with ALPN ntske/1: OK");
	ran = s_server(ccred, "-tls1_3", &st, err, sizeof(err));
	tap_ok(ran && st == TLS_FAILED && strstr(err, "ALPN"),
	       "client refuses a server that selects no ALPN: %s", err);
	ran = s_server(ccred, "-tls1_2 -alpn ntske/1", &st, err, sizeof(err));
	tap_ok(ran && st == TLS_FAILED, "client refuses a TLS 1.2 server: %s", err);
}

int main(void)
{
	struct tls_cred *scred = NULL, *ccred = NULL;
	char err[512] = "";

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/ntsd-test-tls-XXXXXX");
	if (!mkdtemp(dir)) {
		tap_ok(false, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	tap_ok(strcmp(tls_backend_name(), NTSD_TLS_BACKEND) == 0, "backend name %s",
	       tls_backend_name());
	if (!tap_ok(make_certs(), "test certificates made with the openssl CLI"))
		goto out;

	scred = tls_cred_load_server(P("chain.pem"), P("good.key"), err, sizeof(err));
	tap_ok(scred != NULL, "server cred loaded (%s)", scred ? "" : err);
	ccred = tls_cred_new_client(P("ca.pem"), false, err, sizeof(err));
	tap_ok(ccred != NULL, "client cred loaded (%s)", ccred ? "" : err);
	if (!scred || !ccred)
		goto out;

	test_good_session(ccred, scred);
	test_load_errors();
	test_cert_info();
	test_verification(scred, ccred);
	test_api_misuse(scred, ccred);
	test_cred_lifetime(ccred);
	test_s_client(scred);
	test_s_server(ccred);
out:
	tls_cred_free(scred);
	tls_cred_free(ccred);
	if (!getenv("KEEP"))
		sh("rm -rf %s", dir);
	else
		tap_diag("kept %s", dir);
	return tap_done();
}
