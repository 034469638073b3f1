/* NTS-KE client (RFC 8915 §4) against our KE server and a scripted fake
 * server on 127.0.0.1: keys and cookies that open with the server's master
 * keys, AEAD preference, Server/Port negotiation, the request in one TLS
 * record, each failure class (unknown CA, expired, name mismatch, refused,
 * timeout, error record, malformed, no cookies) with its reason. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "crypto/aead.h"
#include "crypto/cookie.h"
#include "crypto/masterkey.h"
#include "crypto/secret.h"
#include "keyexchange/ke_client.h"
#include "keyexchange/ke_record.h"
#include "keyexchange/ke_server.h"
#include "keyexchange/tls.h"
#include "tap.h"

static char dir[64];
static char path_buf[16][192];
static int path_n;

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
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return false;
	int r = system(cmd);
	if (r != 0)
		tap_diag("command failed (%d): %s", r, cmd);
	return r == 0;
}

#define KEYGEN "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
#define CA_EXT "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"

static bool leaf(const char *name, const char *san, const char *dates)
{
	return sh("openssl req " KEYGEN " -subj /CN=leaf -addext subjectAltName=%s -keyout %s/%s.key "
	          "-out %s/%s.csr 2>>%s/log",
	          san, dir, name, dir, name, dir) &&
	       sh("openssl ca -batch -notext -config %s/ca.cnf -cert %s/ca.pem -keyfile %s/ca.key "
	          "-in %s/%s.csr -out %s/%s.pem %s >>%s/log 2>&1",
	          dir, dir, dir, dir, name, dir, name, dates, dir);
}

static bool make_certs(void)
{
	FILE *f = fopen(P("ca.cnf"), "w");
	if (!f)
		return false;
	fprintf(f, "[ca]\ndefault_ca = c\n[c]\ndatabase = %s/index.txt\nnew_certs_dir = %s\n"
	           "serial = %s/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n"
	           "copy_extensions = copy\n[p]\ncommonName = supplied\n",
	        dir, dir, dir);
	fclose(f);
	return sh("echo 01 > %s/serial && : > %s/index.txt", dir, dir) &&
	       sh("openssl req -x509 " KEYGEN " -days 2 -subj '/CN=test CA' " CA_EXT
	          " -keyout %s/ca.key -out %s/ca.pem 2>>%s/log",
	          dir, dir, dir) &&
	       sh("openssl req -x509 " KEYGEN " -days 2 -subj '/CN=other CA' " CA_EXT
	          " -keyout %s/ca2.key -out %s/ca2.pem 2>>%s/log",
	          dir, dir, dir) &&
	       leaf("good", "DNS:localhost,IP:127.0.0.1", "-days 2") &&
	       leaf("old", "DNS:localhost,IP:127.0.0.1",
	            "-startdate 20200101000000Z -enddate 20200102000000Z") &&
	       leaf("other", "DNS:other.example", "-days 2");
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

static int listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0)
		return -1;
	return fd;
}

/* The scripted server: one connection, TLS, reads once, answers canned. */
struct fake {
	int lfd;
	struct tls_cred *cred;
	const uint8_t *answer;
	size_t answer_len;
	bool silent;       /* accept, never speak TLS */
	size_t first_read; /* bytes of the request in the first read */
	bool request_ok;   /* the first read held a complete request */
};

static bool again(enum tls_status s)
{
	return s == TLS_AGAIN_READ || s == TLS_AGAIN_WRITE;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	if (f->silent) {
		/* Swallow the ClientHello and wait for the client to give up. */
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char sink[4096];
		for (int i = 0; i < 60 && poll(&p, 1, 50) >= 0; i++)
			if ((p.revents & POLLIN) && recv(fd, sink, sizeof(sink), 0) == 0)
				break;
		close(fd);
		return NULL;
	}
	struct tls_session *s = tls_session_new_server(f->cred, fd);
	enum tls_status st;
	uint8_t buf[KE_MAX_MESSAGE];
	size_t got = 0, put = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (int i = 0; i < 200 && again(st = tls_handshake(s)); i++)
		poll(&p, 1, 50);
	if (st == TLS_OK) {
		for (int i = 0; i < 200 && again(st = tls_read(s, buf, sizeof(buf), &got)); i++)
			poll(&p, 1, 50);
		struct ke_request rq;
		f->first_read = got;
		f->request_ok = st == TLS_OK && ke_request_parse(buf, got, &rq) == KE_PARSE_OK;
		for (int i = 0; i < 200 && again(st = tls_write(s, f->answer, f->answer_len, &put)); i++)
			poll(&p, 1, 50);
		tls_shutdown(s);
	}
	tls_session_free(s);
	close(fd);
	return NULL;
}

static enum ke_client_status run_fake(struct fake *f, struct ke_client_opts *o,
                                      struct ke_client_result *r, char *err, size_t errlen)
{
	pthread_t t;
	f->lfd = listener();
	o->port = port_of(f->lfd);
	pthread_create(&t, NULL, fake_main, f);
	enum ke_client_status st = ke_client_run(o, r, err, errlen);
	pthread_join(t, NULL);
	close(f->lfd);
	return st;
}

static int n_trace;
static void count_trace(void *arg, const char *line)
{
	(void)arg;
	(void)line;
	n_trace++;
}

int main(void)
{
	struct ke_client_result r;
	char err[512];
	uint8_t msg[4096];
	enum ke_client_status st;

	secret_init();
	snprintf(dir, sizeof(dir), "/tmp/test_ke_client.XXXXXX");
	if (!mkdtemp(dir) || !make_certs()) {
		tap_ok(false, "test certificates made with openssl");
		return tap_done();
	}

	/* Our KE server with the good chain. */
	struct masterkey_set *set = masterkey_set_new();
	masterkey_generate(set, 1000);
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct ke_server *srv = NULL;
	uint16_t port = 0;
	for (int i = 0; i < 50 && !srv; i++) {
		port = (uint16_t)(20000 + secret_random_uniform(30000));
		srv = ke_server_new(&(struct ke_server_opts){ .addrs = &ss, .n_addrs = 1, .port = port,
		                                               .ntp_port = -1 },
		                    err, sizeof(err));
	}
	sh("cat %s/good.pem %s/ca.pem > %s/chain.pem", dir, dir, dir);
	sh("cat %s/old.pem %s/ca.pem > %s/oldchain.pem", dir, dir, dir);
	struct tls_cred *scred = tls_cred_load_server(P("chain.pem"), P("good.key"), err, sizeof(err));
	if (!srv || !scred || !ke_server_start(srv, scred, set, err, sizeof(err))) {
		tap_ok(false, "KE server starts: %s", err);
		return tap_done();
	}

	struct ke_client_opts o = { .host = "127.0.0.1", .port = port, .ca_file = P("ca.pem"),
		                    .timeout_ms = 3000, .family = AF_INET, .trace = count_trace };
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_OK, "key exchange with our server: %s %s", ke_client_status_name(st), err);
	tap_ok(r.aead == AEAD_AES_SIV_CMAC_256 && r.key_len == 32 && r.n_cookies == 8,
	       "AEAD 15 (our first choice), 32-byte keys, 8 cookies");
	tap_ok(!strcmp(r.ntp_server, "127.0.0.1") && r.ntp_port == 123,
	       "no Server/Port records: NTP at the KE host, port 123");
	tap_ok(strstr(r.peer_cert, "CN=leaf") != NULL, "peer certificate described: %s", r.peer_cert);
	tap_ok(n_trace >= 6, "the trace callback saw each step (%d lines)", n_trace);
	struct cookie_ctx *cc = cookie_ctx_new(set);
	bool open_ok = true;
	for (size_t i = 0; i < r.n_cookies; i++) {
		struct cookie_keys k;
		if (cookie_open(cc, r.cookies[i], r.cookie_len[i], &k) != COOKIE_OK ||
		    k.aead != r.aead || !secret_equal(k.c2s, r.c2s, 32) ||
		    !secret_equal(k.s2c, r.s2c, 32) || secret_equal(r.c2s, r.s2c, 32))
			open_ok = false;
	}
	tap_ok(open_ok, "every cookie opens with the server's master key to our exported C2S/S2C keys");
	ke_client_result_wipe(&r);
	static const uint8_t zero[sizeof(r)];
	tap_ok(!memcmp(&r, zero, sizeof(r)), "ke_client_result_wipe clears everything");

	uint16_t pref[] = { AEAD_AES_SIV_CMAC_512 };
	o.aeads = pref;
	o.n_aeads = 1;
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_OK && r.aead == AEAD_AES_SIV_CMAC_512 && r.key_len == 64,
	       "asking for AEAD 17 only gets AEAD 17 with 64-byte keys");
	o.aeads = NULL;
	o.n_aeads = 0;

	o.host = "localhost";
	o.family = AF_INET;
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_OK && !strcmp(r.ntp_server, "localhost"), "by DNS name: %s",
	       ke_client_status_name(st));
	o.host = "127.0.0.1";

	/* Verification failures, each named. */
	o.ca_file = P("ca2.pem");
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_TLS_VERIFY && strstr(err, "unknown CA"), "another CA: %s", err);
	tap_ok(r.n_cookies == 0 && r.key_len == 0, "a failed run leaves no keys or cookies");
	o.ca_file = P("ca.pem");
	ke_server_set_cred(srv, tls_cred_load_server(P("oldchain.pem"), P("old.key"), err, sizeof(err)));
	usleep(300000); /* the server thread picks the new cred up on its next wake */
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_TLS_VERIFY && strstr(err, "verification failed: certificate expired"),
	       "expired certificate: %s", err);
	o.skip_time_check = true;
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_OK, "expired certificate with skip_time_check: %s %s",
	       ke_client_status_name(st), err);
	o.skip_time_check = false;
	ke_server_set_cred(srv, tls_cred_load_server(P("other.pem"), P("other.key"), err, sizeof(err)));
	usleep(300000);
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_TLS_VERIFY && strstr(err, "name mismatch"), "name mismatch: %s", err);
	o.skip_time_check = true;
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_TLS_VERIFY, "skip_time_check does not skip the name check");
	o.skip_time_check = false;
	/* noval: a certificate whose name does not match, with no CA file at
	 * all, is accepted only when verification is explicitly off. */
	o.no_verify = true;
	o.ca_file = NULL;
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_OK && r.n_cookies > 0, "no_verify (noval) skips verification: %s %s",
	       ke_client_status_name(st), err);
	ke_client_result_wipe(&r);
	o.no_verify = false;
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_TLS_VERIFY, "the same server without noval and without the CA: %s", err);
	o.ca_file = P("ca.pem");
	ke_server_free(srv);

	/* Connection failures. */
	int lfd = listener();
	o.port = port_of(lfd);
	close(lfd);
	st = ke_client_run(&o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_CONNECT && strstr(err, "refused"), "closed port: %s", err);

	struct tls_cred *fcred = tls_cred_load_server(P("good.pem"), P("good.key"), err, sizeof(err));
	struct fake f = { .cred = fcred, .silent = true };
	o.timeout_ms = 300;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	st = run_fake(&f, &o, &r, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &b);
	double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	tap_ok(st == KE_CLIENT_TIMEOUT && took < 1.5, "a server that never answers: %s after %.2f s (%s)",
	       ke_client_status_name(st), took, err);
	o.timeout_ms = 3000;

	/* Scripted responses. */
	size_t len = ke_error_build(msg, sizeof(msg), KE_ERR_BAD_REQUEST);
	f = (struct fake){ .cred = fcred, .answer = msg, .answer_len = len };
	st = run_fake(&f, &o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_KE_ERROR && r.ke_error == 1 && strstr(err, "Bad Request"),
	       "an Error record: %s", err);
	tap_ok(f.request_ok, "the request arrived complete in one read (%zu bytes)", f.first_read);

	static const uint8_t ck[3][100] = { { 1 }, { 2 }, { 3 } };
	struct ke_response resp = { .choice = KE_CHOICE_OK, .aead = AEAD_AES_SIV_CMAC_256,
		                    .cookies = { ck[0], ck[1], ck[2] }, .cookie_len = { 100, 100, 100 },
		                    .n_cookies = 3, .server = "127.0.0.2", .port = 1234 };
	len = ke_response_build(msg, sizeof(msg), &resp);
	f = (struct fake){ .cred = fcred, .answer = msg, .answer_len = len };
	st = run_fake(&f, &o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_OK && r.n_cookies == 3 && !strcmp(r.ntp_server, "127.0.0.2") &&
	               r.ntp_port == 1234 && r.cookie_len[2] == 100 && r.cookies[2][0] == 3,
	       "Server and Port records honoured, 3 cookies kept: %s %s:%u", err, r.ntp_server,
	       r.ntp_port);

	resp.server = NULL;
	resp.port = -1;
	resp.aead = AEAD_AES_SIV_CMAC_384;
	uint16_t only15[] = { AEAD_AES_SIV_CMAC_256 };
	o.aeads = only15;
	o.n_aeads = 1;
	len = ke_response_build(msg, sizeof(msg), &resp);
	f = (struct fake){ .cred = fcred, .answer = msg, .answer_len = len };
	st = run_fake(&f, &o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_BAD_RESPONSE && strstr(err, "did not offer"), "an AEAD we did not offer: %s",
	       err);
	o.aeads = NULL;
	o.n_aeads = 0;

	resp.aead = AEAD_AES_SIV_CMAC_256;
	resp.choice = KE_CHOICE_NO_AEAD;
	len = ke_response_build(msg, sizeof(msg), &resp);
	f = (struct fake){ .cred = fcred, .answer = msg, .answer_len = len };
	st = run_fake(&f, &o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_BAD_RESPONSE && strstr(err, "AEAD"), "no common AEAD: %s", err);

	/* No cookies: Next Protocol, AEAD, End. */
	static const uint8_t nocookie[] = { 0x80, 1, 0, 2, 0, 0, 0, 4, 0, 2, 0, 15, 0x80, 0, 0, 0 };
	f = (struct fake){ .cred = fcred, .answer = nocookie, .answer_len = sizeof(nocookie) };
	st = run_fake(&f, &o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_BAD_RESPONSE && strstr(err, "no cookies"), "no cookies: %s", err);

	static const uint8_t critical[] = { 0x80, 1, 0, 2, 0, 0, 0xc0, 0x99, 0, 0, 0x80, 0, 0, 0 };
	f = (struct fake){ .cred = fcred, .answer = critical, .answer_len = sizeof(critical) };
	st = run_fake(&f, &o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_BAD_RESPONSE, "an unknown critical record: %s", err);

	static const uint8_t cut[] = { 0x80, 1, 0, 2, 0, 0, 0, 4 };
	f = (struct fake){ .cred = fcred, .answer = cut, .answer_len = sizeof(cut) };
	st = run_fake(&f, &o, &r, err, sizeof(err));
	tap_ok(st == KE_CLIENT_BAD_RESPONSE && strstr(err, "before a complete response"),
	       "a response cut short by close: %s", err);

	tls_cred_free(fcred);
	cookie_ctx_free(cc);
	masterkey_set_free(set);
	sh("rm -rf %s", dir);
	return tap_done();
}
