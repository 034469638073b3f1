/* ntskey cert, csr and cert-info: command lines and checks; the key and
 * certificate are made by the backend file (ntskey_cert_openssl.c or
 * ntskey_cert_gnutls.c), and cert-info reads the certificate through
 * tls_cert_info and loads the pair through tls_cred_load_server, exactly
 * as ntsd does. */
#include "config.h"

#include "tools/ntskey.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "keyexchange/tls.h"

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool valid_dns(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return false;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		           (*s >= '0' && *s <= '9') || *s == '-') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

static int write_pair(const char *key_path, const char *key_pem, size_t key_len,
                      const char *out_path, const char *out_pem, size_t out_len, bool force)
{
	/* Both refused before either is written. */
	if (!force) {
		const char *p = access(key_path, F_OK) == 0 ? key_path :
		                access(out_path, F_OK) == 0 ? out_path : NULL;
		if (p) {
			ntskey_err("%s: error: exists; use --force to replace it", p);
			return NTSKEY_EXIT_FAIL;
		}
	}
	if (!ntskey_write_file(key_path, key_pem, key_len, force)) {
		ntskey_err("%s: error: cannot write: %s", key_path, strerror(errno));
		return NTSKEY_EXIT_FAIL;
	}
	if (!ntskey_write_file(out_path, out_pem, out_len, force)) {
		ntskey_err("%s: error: cannot write: %s", out_path, strerror(errno));
		if (!force)
			unlink(key_path); /* ours, just created: no key without its certificate */
		return NTSKEY_EXIT_FAIL;
	}
	return NTSKEY_EXIT_OK;
}

int ntskey_cert_main(int argc, char **argv, bool csr)
{
	static const struct option lo[] = { { "days", required_argument, NULL, 'd' },
		                            { "name", required_argument, NULL, 'N' },
		                            { "ip", required_argument, NULL, 'I' },
		                            { "key", required_argument, NULL, 'k' },
		                            { "cert", required_argument, NULL, 'c' },
		                            { "csr", required_argument, NULL, 'r' },
		                            { "ed25519", no_argument, NULL, 'e' },
		                            { "force", no_argument, NULL, 'f' },
		                            { NULL, 0, NULL, 0 } };
	struct ntskey_cert_req req = { .type = NTSKEY_KEY_EC, .days = 365, .csr = csr };
	const char *key_path = NULL, *out_path = NULL;
	char host[256], ipbuf[NTSKEY_MAX_NAMES][64], err[600];
	char *key_pem = NULL, *out_pem = NULL;
	size_t key_len = 0, out_len = 0;
	bool force = false;
	uint32_t days;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (csr || !parse_u32(optarg, 1, 36500, &days))
				return ntskey_usage_error("--days '%s': expected 1 to 36500 (cert only)", optarg);
			req.days = days;
			break;
		case 'N':
			if (!valid_dns(optarg) || req.n_dns == NTSKEY_MAX_NAMES)
				return ntskey_usage_error("--name '%s': expected a DNS name (letters, digits, '-', "
				                   "'.', optionally '*.' first), at most 16",
				                   optarg);
			req.dns[req.n_dns++] = optarg;
			break;
		case 'I': {
			unsigned char a[16];
			int af = strchr(optarg, ':') ? AF_INET6 : AF_INET;
			if (req.n_ip == NTSKEY_MAX_NAMES || inet_pton(af, optarg, a) != 1)
				return ntskey_usage_error("--ip '%s': expected an IPv4 or IPv6 address", optarg);
			inet_ntop(af, a, ipbuf[req.n_ip], sizeof(ipbuf[0]));
			req.ip[req.n_ip] = ipbuf[req.n_ip];
			req.n_ip++;
			break;
		}
		case 'k': key_path = optarg; break;
		case 'c':
			if (csr)
				return ntskey_usage_error("%s", "csr: use --csr FILE");
			out_path = optarg;
			break;
		case 'r':
			if (!csr)
				return ntskey_usage_error("%s", "cert: use --cert FILE");
			out_path = optarg;
			break;
		case 'e': req.type = NTSKEY_KEY_ED25519; break;
		case 'f': force = true; break;
		default: return ntskey_usage_error("%s: bad option", csr ? "csr" : "cert");
		}
	}
	if (!key_path || !out_path || optind != argc)
		return ntskey_usage_error("%s", csr ? "csr: expected --key KEYOUT --csr CSROUT" :
		                               "cert: expected --key KEYOUT --cert CERTOUT");
	if (strcmp(key_path, out_path) == 0)
		return ntskey_usage_error("%s: the key and the certificate need two files", key_path);
	if (req.n_dns == 0 && req.n_ip == 0) {
		if (gethostname(host, sizeof(host)) != 0 || !valid_dns(host)) {
			ntskey_err("error: this host's name is not a DNS name; give --name or --ip");
			return NTSKEY_EXIT_USAGE;
		}
		req.dns[req.n_dns++] = host;
	}
	if (!ntskey_cert_make(&req, &key_pem, &key_len, &out_pem, &out_len, err, sizeof(err))) {
		ntskey_err("error: %s", err);
		return NTSKEY_EXIT_FAIL;
	}
	rc = write_pair(key_path, key_pem, key_len, out_path, out_pem, out_len, force);
	if (rc == NTSKEY_EXIT_OK) {
		printf("%s: %s private key\n%s: %s for", key_path,
		       req.type == NTSKEY_KEY_EC ? "EC P-256" : "Ed25519", out_path,
		       csr ? "certificate signing request" : "self-signed certificate");
		for (size_t i = 0; i < req.n_dns; i++)
			printf(" DNS:%s", req.dns[i]);
		for (size_t i = 0; i < req.n_ip; i++)
			printf(" IP:%s", req.ip[i]);
		if (csr)
			printf("\n");
		else
			printf(", valid %u days\n", req.days);
	}
	secret_free(key_pem);
	free(out_pem);
	return rc;
}

static void fmt_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

int ntskey_cert_info_main(int argc, char **argv)
{
	static const struct option lo[] = { { "key", required_argument, NULL, 'k' },
		                            { NULL, 0, NULL, 0 } };
	struct tls_cert_info info;
	struct ntskey_cert_extra ex;
	const char *key = NULL;
	char err[600], nb[64], na[64];
	time_t now = time(NULL);
	int c, rc = NTSKEY_EXIT_OK;

	while ((c = getopt_long(argc, argv, "k:", lo, NULL)) != -1) {
		if (c == 'k')
			key = optarg;
		else
			return ntskey_usage_error("cert-info: %s", "bad option");
	}
	if (optind != argc - 1)
		return ntskey_usage_error("cert-info: %s", "expected CERT [--key KEY]");
	const char *path = argv[optind];
	if (!tls_cert_info(path, &info, err, sizeof(err))) {
		ntskey_err("error: %s", err);
		return NTSKEY_EXIT_FAIL;
	}
	if (!ntskey_cert_extra(path, &ex, err, sizeof(err))) {
		ntskey_err("error: %s", err);
		return NTSKEY_EXIT_FAIL;
	}
	fmt_utc(info.not_before, nb, sizeof(nb));
	fmt_utc(info.not_after, na, sizeof(na));
	printf("certificate: %s\n", path);
	printf("subject:     %s\n", ex.subject);
	printf("issuer:      %s%s\n", ex.issuer, ex.self_signed ? " (self-signed)" : "");
	printf("public key:  %s\n", ex.key_alg);
	printf("names:      ");
	for (size_t i = 0; i < info.n_dns; i++)
		printf(" DNS:%s", info.dns[i]);
	for (size_t i = 0; i < info.n_ip; i++)
		printf(" IP:%s", info.ip[i]);
	if (info.n_dns + info.n_ip == 0)
		printf(" none in subjectAltName (warning: the CN '%s' is a legacy fallback that "
		       "strict clients ignore)",
		       info.subject_cn);
	printf("%s\n", info.names_truncated ? " ..." : "");
	printf("valid:       %s to %s\n", nb, na);
	if (now > info.not_after) {
		printf("status:      EXPIRED %.0f days ago; ntsd --check refuses it\n",
		       difftime(now, info.not_after) / 86400);
		rc = NTSKEY_EXIT_FAIL;
	} else if (now < info.not_before) {
		printf("status:      NOT YET VALID (for %.0f hours); ntsd --check refuses it\n",
		       difftime(info.not_before, now) / 3600);
		rc = NTSKEY_EXIT_FAIL;
	} else if (info.not_after - now < 14 * 86400) {
		printf("status:      valid, but expires in %.0f days (ntsd --check warns)\n",
		       difftime(info.not_after, now) / 86400);
	} else {
		printf("status:      valid for %.0f more days\n", difftime(info.not_after, now) / 86400);
	}
	printf("sha256:      %s\n", ex.sha256);
	if (key) {
		struct tls_cred *cred = tls_cred_load_server(path, key, err, sizeof(err));
		if (cred) {
			printf("key:         %s matches; ntsd (%s) loads this pair\n", key,
			       tls_backend_name());
			tls_cred_free(cred);
		} else {
			printf("key:         DOES NOT LOAD: %s\n", err);
			rc = NTSKEY_EXIT_FAIL;
		}
	}
	return rc;
}
