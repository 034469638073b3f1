/* ntskey internals shared by its source files (not a library API).
 * ntskey.c: command line; ntskey_io.c: messages and output files;
 * ntskey_sym.c: symmetric key files; ntskey_cert.c: certificate commands;
 * ntskey_cert_<backend>.c: private keys, certificates and CSRs with the
 * TLS library of the build; ntskey_cookie.c: NTS cookie master keys. */
#ifndef NTSD_TOOLS_NTSKEY_H
#define NTSD_TOOLS_NTSKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Exit statuses, documented in --help. */
#define NTSKEY_EXIT_OK 0
#define NTSKEY_EXIT_FAIL 1  /* a file problem or a refused operation */
#define NTSKEY_EXIT_USAGE 2 /* a bad command line */

/* Prints "ntskey: MESSAGE" to stderr. */
__attribute__((format(printf, 1, 2))) void ntskey_err(const char *fmt, ...);

/* Prints "ntskey: " + fmt (one %s for arg) and a pointer to --help to
 * stderr; returns NTSKEY_EXIT_USAGE. */
int ntskey_usage_error(const char *fmt, const char *arg);

/* secfile_write (crypto/secfile.h: atomic, 0600, O_TMPFILE, nothing left
 * behind by a kill) with the NTSKEY_TEST_WRITE_DELAY_MS test hook. */
bool ntskey_write_file(const char *path, const void *data, size_t len, bool overwrite);

/* Subcommands: argc/argv start at the subcommand name (getopt's optind
 * reset to 1). Each returns an exit status. */
int ntskey_generate_main(int argc, char **argv);
int ntskey_add_main(int argc, char **argv);
int ntskey_remove_main(int argc, char **argv);
int ntskey_list_main(int argc, char **argv);
/* export (convert false) or convert (true). */
int ntskey_export_main(int argc, char **argv, bool convert);
/* cert (csr false) or csr (true). */
int ntskey_cert_main(int argc, char **argv, bool csr);
int ntskey_cert_info_main(int argc, char **argv);
int ntskey_cookie_main(int argc, char **argv);

/* Certificates (backend file). */
enum ntskey_keytype { NTSKEY_KEY_EC, NTSKEY_KEY_ED25519 };

#define NTSKEY_MAX_NAMES 16

struct ntskey_cert_req {
	enum ntskey_keytype type;
	const char *dns[NTSKEY_MAX_NAMES];
	size_t n_dns;
	const char *ip[NTSKEY_MAX_NAMES]; /* validated literals */
	size_t n_ip;
	unsigned days;
	bool csr; /* a certificate signing request instead of a certificate */
};

/* A fresh private key (PKCS#8 PEM, in secret memory: free with
 * secret_free) and a self-signed certificate or a CSR for it (PEM, free
 * with free). The first name is the subject CN; every name goes into the
 * subjectAltName. False with a message in err. */
bool ntskey_cert_make(const struct ntskey_cert_req *req, char **key_pem, size_t *key_len,
                      char **out_pem, size_t *out_len, char *err, size_t errlen);

/* What ntskey cert-info shows beyond tls_cert_info: subject and issuer
 * DNs, public key algorithm, SHA-256 fingerprint of the DER certificate. */
struct ntskey_cert_extra {
	char subject[512], issuer[512], key_alg[64], sha256[96];
	bool self_signed;
};
bool ntskey_cert_extra(const char *path, struct ntskey_cert_extra *out, char *err, size_t errlen);

#endif
