/* ntskey symmetric keys: ntpd key files (ntp.keys(5), what ntp-keygen -M
 * and ntsd read) and chrony's ("ID [TYPE] KEY", KEY ASCII or HEX:...).
 * Key bytes only ever live in secret memory and never appear in a
 * diagnostic; files are written through ntskey_write_file. Editing
 * commands work line by line so that the operator's comments stay. */
#include "config.h"

#include "tools/ntskey.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/buf.h"
#include "crypto/keyfile.h"
#include "crypto/mac.h"
#include "crypto/secret.h"

#define KEYID_MAX 65535u
#define FILE_MAX (1024 * 1024)
#define DEFAULT_COUNT 10
#define ASCII_KEY_MAX 20 /* ntpd: longer keys are hex */
#define NTPSEC_KEY_MAX 32 /* NTPsec reads at most 32 key bytes */

/* --- growable text in secret memory --- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static bool sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return false;
	if (b->cap - b->len < n + 1) {
		size_t ncap = b->cap ? b->cap : 4096;
		while (ncap - b->len < n + 1)
			ncap *= 2;
		char *np = secret_alloc(ncap);
		if (!np) {
			b->oom = true;
			return false;
		}
		if (b->len)
			memcpy(np, b->p, b->len);
		secret_free(b->p);
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

static bool sb_str(struct sbuf *b, const char *s)
{
	return sb_put(b, s, strlen(s));
}

static bool sb_hex(struct sbuf *b, const uint8_t *k, size_t n, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		char h[2] = { digits[k[i] >> 4], digits[k[i] & 15] };
		if (!sb_put(b, h, 2))
			return false;
	}
	return true;
}

static void sb_free(struct sbuf *b)
{
	secret_free(b->p);
	*b = (struct sbuf){ 0 };
}

/* --- reading input files --- */

/* The whole file in secret memory (NUL-terminated), or NULL after a
 * message naming the path. */
static char *read_secret_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		ntskey_err("%s: error: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	const char *why = fstat(fd, &st) != 0 ? strerror(errno) :
	                  !S_ISREG(st.st_mode)  ? "not a regular file" :
	                  st.st_size > FILE_MAX ? "larger than 1 MiB, the most ntsd reads" :
	                                          NULL;
	if (why) {
		ntskey_err("%s: error: %s", path, why);
		close(fd);
		return NULL;
	}
	if (!(buf = secret_alloc((size_t)st.st_size + 1))) {
		ntskey_err("%s: error: out of memory", path);
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ntskey_err("%s: error: cannot read: %s", path,
			           r < 0 ? strerror(errno) : "file shrank");
			secret_free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

static void print_keyfile_errors(const char *path, const struct keyfile_errors *e)
{
	size_t shown = e->n < 32 ? e->n : 32;

	for (size_t i = 0; i < shown; i++) {
		if (e->v[i].line)
			ntskey_err("%s:%u: error: %s", path, e->v[i].line, e->v[i].msg);
		else
			ntskey_err("%s: error: %s", path, e->v[i].msg);
	}
	if (e->n > shown)
		ntskey_err("%s: %zu more errors", path, e->n - shown);
}

/* An ntp key file, parsed; its text too when text is not NULL. */
static struct keyfile *load_ntp(const char *path, char **text, size_t *len)
{
	struct keyfile_errors errs;
	struct keyfile *kf;
	size_t n;
	char *t = read_secret_file(path, &n);

	if (!t)
		return NULL;
	kf = keyfile_parse(t, n, &errs);
	if (!kf)
		print_keyfile_errors(path, &errs);
	if (kf && text) {
		*text = t;
		*len = n;
	} else {
		secret_free(t);
	}
	return kf;
}

static void warn_readable(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 077))
		ntskey_err("%s: warning: mode %04o lets group or others read these keys; chmod 600 it",
		           path, (unsigned)(st.st_mode & 07777));
}

/* --- key types and key text --- */

static enum mac_alg type_from_name(const char *name)
{
	/* chrony's name for RFC 8573 AES-CMAC */
	if (strcasecmp(name, "AES128") == 0)
		return MAC_AES128CMAC;
	return mac_alg_from_name(name);
}

/* Bytes of a new random key: the digest's block of security, capped at 32
 * bytes because NTPsec reads no more; always more than 10 bytes so that it
 * is written in hex. */
static size_t new_key_len(enum mac_alg alg)
{
	size_t n = mac_key_len(alg) ? mac_key_len(alg) : mac_digest_len(alg);
	return n > NTPSEC_KEY_MAX ? NTPSEC_KEY_MAX : n;
}

static bool parse_types(const char *arg, enum mac_alg *types, size_t *n, size_t max)
{
	char buf[256], *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return false;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		enum mac_alg a = type_from_name(t);
		if (a == MAC_NONE || *n == max)
			return false;
		types[(*n)++] = a;
	}
	return true;
}

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

/* "ID TYPE KEY\n" as ntpd reads it: a key of up to 10 bytes must be the
 * ASCII form (10 bytes of hex would be taken as ASCII), longer keys are
 * hex. False if a short key is not printable. */
static bool put_ntp_line(struct sbuf *b, const struct symkey *k)
{
	char head[48];

	snprintf(head, sizeof(head), "%u %s ", (unsigned)k->id, mac_alg_name(k->alg));
	if (k->len * 2 <= ASCII_KEY_MAX) {
		for (size_t i = 0; i < k->len; i++)
			if (k->key[i] < 0x21 || k->key[i] > 0x7e || k->key[i] == '#')
				return false;
		return sb_str(b, head) && sb_put(b, (const char *)k->key, k->len) && sb_str(b, "\n");
	}
	return sb_str(b, head) && sb_hex(b, k->key, k->len, false) && sb_str(b, "\n");
}

static const char *chrony_type(enum mac_alg a)
{
	switch (a) {
	case MAC_MD5: return "MD5";
	case MAC_SHA1: return "SHA1";
	case MAC_SHA256: return "SHA256";
	case MAC_SHA384: return "SHA384";
	case MAC_SHA512: return "SHA512";
	case MAC_AES128CMAC: return "AES128";
	default: return NULL; /* chrony has no SHA224 */
	}
}

static bool put_chrony_line(struct sbuf *b, const struct symkey *k)
{
	char head[48];

	snprintf(head, sizeof(head), "%u %s HEX:", (unsigned)k->id, chrony_type(k->alg));
	return sb_str(b, head) && sb_hex(b, k->key, k->len, true) && sb_str(b, "\n");
}

enum fmt { FMT_NTP, FMT_CHRONY };

static bool parse_fmt(const char *s, enum fmt *f)
{
	if (strcasecmp(s, "ntp") == 0 || strcasecmp(s, "ntpd") == 0 || strcasecmp(s, "ntpsec") == 0)
		*f = FMT_NTP;
	else if (strcasecmp(s, "chrony") == 0)
		*f = FMT_CHRONY;
	else
		return false;
	return true;
}

/* Keys in the target format; every key that cannot be written there is
 * reported and nothing is produced. */
static bool format_keys(const char *src, const struct symkey *const *keys, size_t n, enum fmt f,
                        struct sbuf *out)
{
	char now[64];
	time_t t = time(NULL);
	bool ok = true;

	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	sb_str(out, f == FMT_CHRONY ? "# chrony key file (keyfile directive) from " :
	                              "# ntpd key file (keys directive) from ");
	sb_str(out, src);
	sb_str(out, " by ntskey on ");
	sb_str(out, now);
	sb_str(out, "\n");
	for (size_t i = 0; i < n; i++) {
		const struct symkey *k = keys[i];
		if (f == FMT_CHRONY && !chrony_type(k->alg)) {
			ntskey_err("%s: error: key %u: chrony has no %s keys; chrony takes MD5, SHA1, "
			           "SHA256, SHA384, SHA512, AES128",
			           src, (unsigned)k->id, mac_alg_name(k->alg));
			ok = false;
		} else if (f == FMT_CHRONY ? !put_chrony_line(out, k) : !put_ntp_line(out, k)) {
			if (out->oom)
				ntskey_err("out of memory");
			else
				ntskey_err("%s: error: key %u: a key of 10 bytes or less must be printable "
				           "ASCII (no '#') in an ntp key file",
				           src, (unsigned)k->id);
			ok = false;
		}
	}
	return ok && !out->oom;
}

/* Writes text to OUT (atomic, 0600) or stdout. A regular file that the
 * shell opened for "> client.keys" gets mode 0600 too: it holds keys. */
static int emit(const struct sbuf *b, const char *out, bool force)
{
	struct stat st;

	if (out) {
		if (!ntskey_write_file(out, b->p, b->len, force)) {
			ntskey_err("%s: error: cannot write: %s%s", out, strerror(errno),
			           errno == EEXIST ? " (use --force to replace it)" : "");
			return NTSKEY_EXIT_FAIL;
		}
		return NTSKEY_EXIT_OK;
	}
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
		fchmod(STDOUT_FILENO, 0600);
	if (fwrite(b->p, 1, b->len, stdout) != b->len || fflush(stdout) != 0) {
		ntskey_err("error: cannot write to standard output: %s", strerror(errno));
		return NTSKEY_EXIT_FAIL;
	}
	return NTSKEY_EXIT_OK;
}

/* --- chrony key files --- */

struct chrony_keys {
	struct symkey k[4096];
	size_t n;
	uint8_t *pool; /* secret memory */
	size_t used;
};

static bool chrony_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One line of chrony's key file: "ID [TYPE] KEY"; comment lines start
 * with one of !;#% (chrony's CPS_NormalizeLine). Returns false after a
 * message; never quotes the line. */
static bool chrony_line(struct chrony_keys *ck, const char *path, unsigned line, char *p,
                        unsigned *first_line)
{
	char *w[4];
	size_t nw = 0;
	uint32_t id;
	enum mac_alg alg = MAC_MD5;
	const char *key;
	size_t klen;
	uint8_t *dst = ck->pool + ck->used;

	while (*p && nw < 4) {
		while (chrony_blank(*p))
			*p++ = '\0';
		if (!*p)
			break;
		if (nw == 0 && strchr("!;#%", *p))
			return true;
		w[nw++] = p;
		while (*p && !chrony_blank(*p))
			p++;
	}
	if (nw == 0)
		return true;
	if (nw < 2 || nw > 3) {
		ntskey_err("%s:%u: error: expected 'ID [TYPE] KEY'", path, line);
		return false;
	}
	if (!parse_u32(w[0], 1, UINT32_MAX, &id)) {
		ntskey_err("%s:%u: error: bad key id; expected a decimal number", path, line);
		return false;
	}
	if (id > KEYID_MAX) {
		ntskey_err("%s:%u: error: key id %u out of range for an ntp key file; accepted: 1..%u",
		           path, line, (unsigned)id, KEYID_MAX);
		return false;
	}
	if (first_line[id]) {
		ntskey_err("%s:%u: error: duplicate key id %u (first defined on line %u)", path, line,
		           (unsigned)id, first_line[id]);
		return false;
	}
	first_line[id] = line;
	if (nw == 3 && (strcasecmp(w[1], "AES128CMAC") == 0 || !chrony_type(type_from_name(w[1])) ||
	                strcasecmp(w[1], "AES") == 0 || strchr(w[1], '-'))) {
		ntskey_err("%s:%u: error: unknown or unconvertible key type; an ntp key file takes "
		           "chrony's MD5, SHA1, SHA256, SHA384, SHA512, AES128",
		           path, line);
		return false;
	}
	if (nw == 3)
		alg = type_from_name(w[1]);
	key = w[nw - 1];
	if (strncmp(key, "HEX:", 4) == 0) {
		key += 4;
		klen = strlen(key);
		if (klen == 0 || klen % 2 || klen / 2 > MAC_MAX_KEY) {
			ntskey_err("%s:%u: error: bad hex key: an even number of hex digits, at most %d",
			           path, line, 2 * MAC_MAX_KEY);
			return false;
		}
		for (size_t i = 0; i < klen; i++) {
			if (hex_value(key[i]) < 0) {
				secret_wipe(dst, i / 2);
				ntskey_err("%s:%u: error: bad hex key: hex digits only after HEX:", path,
				           line);
				return false;
			}
			if (i % 2)
				dst[i / 2] = (uint8_t)(hex_value(key[i - 1]) << 4 | hex_value(key[i]));
		}
		klen /= 2;
	} else {
		if (strncmp(key, "ASCII:", 6) == 0)
			key += 6;
		klen = strlen(key);
		if (klen == 0 || klen > MAC_MAX_KEY) {
			ntskey_err("%s:%u: error: key must be 1 to %d characters", path, line,
			           MAC_MAX_KEY);
			return false;
		}
		memcpy(dst, key, klen);
	}
	if (mac_key_len(alg) && klen != mac_key_len(alg)) {
		secret_wipe(dst, klen);
		ntskey_err("%s:%u: error: %s key must be %zu bytes, not %zu", path, line,
		           chrony_type(alg), mac_key_len(alg), klen);
		return false;
	}
	if (ck->n == sizeof(ck->k) / sizeof(ck->k[0])) {
		secret_wipe(dst, klen);
		ntskey_err("%s:%u: error: more than %zu keys", path, line,
		           sizeof(ck->k) / sizeof(ck->k[0]));
		return false;
	}
	ck->k[ck->n++] = (struct symkey){ .id = id, .alg = alg, .len = klen, .key = dst };
	ck->used += klen;
	return true;
}

static int cmp_symkey(const void *a, const void *b)
{
	uint32_t x = (*(const struct symkey *const *)a)->id;
	uint32_t y = (*(const struct symkey *const *)b)->id;
	return (x > y) - (x < y);
}

/* Parses a chrony key file into ck (every error reported); the text is
 * wiped as it goes. */
static bool load_chrony(const char *path, struct chrony_keys *ck)
{
	size_t len;
	char *text = read_secret_file(path, &len);
	unsigned *first = NULL, line = 0;
	bool ok = true;

	if (!text)
		return false;
	/* Each key takes fewer pool bytes than its text. */
	ck->pool = secret_alloc(len + 1);
	first = calloc(KEYID_MAX + 1, sizeof(*first));
	if (!ck->pool || !first) {
		ntskey_err("out of memory");
		ok = false;
		goto out;
	}
	for (char *p = text; p < text + len;) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		line++;
		if (nl)
			*nl = '\0';
		if (memchr(p, '\0', l)) {
			ntskey_err("%s:%u: error: NUL byte", path, line);
			ok = false;
		} else if (!chrony_line(ck, path, line, p, first)) {
			ok = false;
		}
		p = nl ? nl + 1 : text + len;
	}
out:
	free(first);
	secret_free(text);
	return ok;
}

/* --- subcommands: symmetric keys --- */

/* ntsd (keyfile_load) refuses key files over 1 MiB: never write one. */
static bool fits(const char *path, size_t len)
{
	if (len <= FILE_MAX)
		return true;
	ntskey_err("%s: error: the key file would be %zu bytes; ntsd reads at most %d (about "
	           "20000 keys)",
	           path, len, FILE_MAX);
	return false;
}

int ntskey_generate_main(int argc, char **argv)
{
	static const struct option lo[] = { { "type", required_argument, NULL, 't' },
		                            { "count", required_argument, NULL, 'n' },
		                            { "force", no_argument, NULL, 'f' },
		                            { NULL, 0, NULL, 0 } };
	enum mac_alg types[8];
	size_t ntypes = 0;
	uint32_t count = DEFAULT_COUNT;
	bool force = false;
	struct sbuf b = { 0 };
	uint8_t key[MAC_MAX_KEY];
	char line[64], now[64];
	time_t t = time(NULL);
	int c, rc = NTSKEY_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "t:n:f", lo, NULL)) != -1) {
		if (c == 't' && !parse_types(optarg, types, &ntypes, 8))
			return ntskey_usage_error("generate: unknown key type in '%s'; accepted: MD5, SHA1, "
			                   "SHA224, SHA256, SHA384, SHA512, AES128CMAC",
			                   optarg);
		if (c == 'n' && !parse_u32(optarg, 1, KEYID_MAX, &count))
			return ntskey_usage_error("generate: -n '%s': expected a count from 1 to 65535", optarg);
		if (c == 'f')
			force = true;
		if (c == '?')
			return ntskey_usage_error("generate: %s", "bad option");
	}
	if (optind != argc - 1)
		return ntskey_usage_error("generate: %s", "expected one FILE");
	if (ntypes == 0) {
		types[ntypes++] = MAC_AES128CMAC;
		types[ntypes++] = MAC_SHA1;
	}
	if ((uint64_t)count * ntypes > KEYID_MAX)
		return ntskey_usage_error("generate: %s: more than 65535 keys (ids are 1..65535)", "-n");
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	sb_str(&b, "# ntpd key file (ID TYPE KEY) generated by ntskey on ");
	sb_str(&b, now);
	sb_str(&b, "\n# give each client only its keys: ntskey export FILE ID... > client.keys\n");
	uint32_t id = 1;
	for (size_t ti = 0; ti < ntypes; ti++) {
		size_t klen = new_key_len(types[ti]);
		for (uint32_t i = 0; i < count; i++, id++) {
			snprintf(line, sizeof(line), "%u %s ", (unsigned)id, mac_alg_name(types[ti]));
			secret_random(key, klen);
			sb_str(&b, line);
			sb_hex(&b, key, klen, false);
			sb_str(&b, "\n");
		}
	}
	secret_wipe(key, sizeof(key));
	if (b.oom) {
		ntskey_err("out of memory");
		goto out;
	}
	if (!fits(argv[optind], b.len))
		goto out;
	if (!ntskey_write_file(argv[optind], b.p, b.len, force)) {
		ntskey_err("%s: error: cannot write: %s%s", argv[optind], strerror(errno),
		           errno == EEXIST ? " (use --force to replace it)" : "");
		goto out;
	}
	printf("%s: %u keys:", argv[optind], (unsigned)(id - 1));
	for (size_t ti = 0; ti < ntypes; ti++)
		printf(" %u-%u %s", (unsigned)(ti * count + 1), (unsigned)((ti + 1) * count),
		       mac_alg_name(types[ti]));
	printf("\n");
	rc = NTSKEY_EXIT_OK;
out:
	sb_free(&b);
	return rc;
}

/* The line of text where key id is defined (1-based), 0 if none. */
static unsigned line_of(const char *text, size_t len, uint32_t id)
{
	unsigned line = 0;

	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		const char *e = nl ? nl : text + len;
		line++;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		uint32_t v = 0;
		const char *d = p;
		while (d < e && *d >= '0' && *d <= '9' && v <= KEYID_MAX)
			v = v * 10 + (uint32_t)(*d++ - '0');
		if (d > p && v == id && (d == e || *d == ' ' || *d == '\t'))
			return line;
		p = nl ? nl + 1 : e;
	}
	return 0;
}

/* Editing in place: through a symlink (/etc/ntp.keys -> ...) the target
 * is rewritten, not replaced by a regular file. */
static const char *edit_target(const char *path, char *buf)
{
	return realpath(path, buf) ? buf : path;
}

int ntskey_add_main(int argc, char **argv)
{
	static const struct option lo[] = { { "type", required_argument, NULL, 't' },
		                            { "id", required_argument, NULL, 'i' },
		                            { NULL, 0, NULL, 0 } };
	enum mac_alg types[1] = { MAC_SHA1 };
	size_t ntypes = 0;
	uint32_t id = 0;
	char *text = NULL, real[PATH_MAX];
	size_t len = 0;
	struct keyfile *kf;
	struct sbuf b = { 0 };
	uint8_t key[MAC_MAX_KEY];
	char head[64];
	int c, rc = NTSKEY_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "t:", lo, NULL)) != -1) {
		if (c == 't' && !parse_types(optarg, types, &ntypes, 1))
			return ntskey_usage_error("add: unknown key type '%s'; accepted: MD5, SHA1, SHA224, "
			                   "SHA256, SHA384, SHA512, AES128CMAC",
			                   optarg);
		if (c == 'i' && !parse_u32(optarg, 1, KEYID_MAX, &id))
			return ntskey_usage_error("add: --id '%s': key ids are 1..65535", optarg);
		if (c == '?')
			return ntskey_usage_error("add: %s", "bad option");
	}
	if (optind != argc - 1)
		return ntskey_usage_error("add: %s", "expected one FILE");
	const char *path = argv[optind];
	if (!(kf = load_ntp(path, &text, &len)))
		return NTSKEY_EXIT_FAIL;
	if (id && keyfile_get(kf, id)) {
		ntskey_err("%s:%u: error: key id %u already exists; pick another --id or remove it "
		           "first",
		           path, line_of(text, len, id), (unsigned)id);
		goto out;
	}
	if (!id) {
		size_t n = keyfile_count(kf);
		id = n ? keyfile_at(kf, n - 1)->id + 1 : 1;
		if (id > KEYID_MAX)
			for (id = 1; id <= KEYID_MAX && keyfile_get(kf, id); id++)
				;
		if (id > KEYID_MAX) {
			ntskey_err("%s: error: all 65535 key ids are in use", path);
			goto out;
		}
	}
	size_t klen = new_key_len(types[0]);
	snprintf(head, sizeof(head), "%u %s ", (unsigned)id, mac_alg_name(types[0]));
	secret_random(key, klen);
	sb_put(&b, text, len);
	if (len && text[len - 1] != '\n')
		sb_str(&b, "\n");
	sb_str(&b, head);
	sb_hex(&b, key, klen, false);
	sb_str(&b, "\n");
	secret_wipe(key, sizeof(key));
	if (b.oom) {
		ntskey_err("out of memory");
		goto out;
	}
	const char *target = edit_target(path, real);
	if (!fits(path, b.len))
		goto out;
	if (!ntskey_write_file(target, b.p, b.len, true)) {
		ntskey_err("%s: error: cannot write: %s", target, strerror(errno));
		goto out;
	}
	printf("%s: added key %u (%s)\n", path, (unsigned)id, mac_alg_name(types[0]));
	rc = NTSKEY_EXIT_OK;
out:
	sb_free(&b);
	secret_free(text);
	keyfile_free(kf);
	return rc;
}

/* Ids from argv[from..argc); usage error text on a bad one. */
static bool parse_ids(int argc, char **argv, int from, uint32_t *ids, size_t *n)
{
	*n = 0;
	for (int i = from; i < argc; i++) {
		if (!parse_u32(argv[i], 1, KEYID_MAX, &ids[*n])) {
			ntskey_usage_error("key id '%s': expected a number from 1 to 65535", argv[i]);
			return false;
		}
		(*n)++;
	}
	return true;
}

int ntskey_remove_main(int argc, char **argv)
{
	char *text = NULL, real[PATH_MAX];
	size_t len = 0, nids;
	struct keyfile *kf;
	struct sbuf b = { 0 };
	uint32_t *ids;
	int rc = NTSKEY_EXIT_FAIL;
	bool missing = false;

	if (argc < 3)
		return ntskey_usage_error("remove: %s", "expected FILE ID...");
	if (!(ids = calloc((size_t)argc, sizeof(*ids))))
		return NTSKEY_EXIT_FAIL;
	if (!parse_ids(argc, argv, 2, ids, &nids)) {
		free(ids);
		return NTSKEY_EXIT_USAGE;
	}
	const char *path = argv[1];
	if (!(kf = load_ntp(path, &text, &len))) {
		free(ids);
		return NTSKEY_EXIT_FAIL;
	}
	for (size_t i = 0; i < nids; i++) {
		if (!keyfile_get(kf, ids[i])) {
			ntskey_err("%s: error: no key with id %u", path, (unsigned)ids[i]);
			missing = true;
		}
	}
	if (missing)
		goto out;
	/* Line by line, so that the operator's comments stay. */
	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		const char *e = nl ? nl + 1 : text + len;
		bool drop = false;
		for (size_t i = 0; i < nids && !drop; i++)
			drop = line_of(p, (size_t)(e - p), ids[i]) == 1;
		if (!drop)
			sb_put(&b, p, (size_t)(e - p));
		p = e;
	}
	if (b.oom || (!b.p && !sb_str(&b, ""))) {
		ntskey_err("out of memory");
		goto out;
	}
	const char *target = edit_target(path, real);
	if (!ntskey_write_file(target, b.p, b.len, true)) {
		ntskey_err("%s: error: cannot write: %s", target, strerror(errno));
		goto out;
	}
	printf("%s: removed key%s", path, nids > 1 ? "s" : "");
	for (size_t i = 0; i < nids; i++)
		printf(" %u", (unsigned)ids[i]);
	printf("\n");
	rc = NTSKEY_EXIT_OK;
out:
	free(ids);
	sb_free(&b);
	secret_free(text);
	keyfile_free(kf);
	return rc;
}

int ntskey_list_main(int argc, char **argv)
{
	static const struct option lo[] = { { "show-secrets", no_argument, NULL, 's' },
		                            { NULL, 0, NULL, 0 } };
	bool secrets = false;
	struct keyfile *kf;
	int c;

	while ((c = getopt_long(argc, argv, "s", lo, NULL)) != -1) {
		if (c == 's')
			secrets = true;
		else
			return ntskey_usage_error("list: %s", "bad option");
	}
	if (optind != argc - 1)
		return ntskey_usage_error("list: %s", "expected one FILE");
	if (!(kf = load_ntp(argv[optind], NULL, NULL)))
		return NTSKEY_EXIT_FAIL;
	warn_readable(argv[optind]);
	printf("%-6s %-11s %s\n", "ID", "TYPE", secrets ? "BITS  KEY" : "BITS");
	for (size_t i = 0; i < keyfile_count(kf); i++) {
		const struct symkey *k = keyfile_at(kf, i);
		if (!secrets) {
			printf("%-6u %-11s %zu\n", (unsigned)k->id, mac_alg_name(k->alg), k->len * 8);
			continue;
		}
		struct sbuf b = { 0 };
		if (put_ntp_line(&b, k)) /* the KEY field of the line, with its newline */
			printf("%-6u %-11s %-4zu  %s", (unsigned)k->id, mac_alg_name(k->alg), k->len * 8,
			       strrchr(b.p, ' ') + 1);
		sb_free(&b);
	}
	printf("%zu keys\n", keyfile_count(kf));
	keyfile_free(kf);
	return NTSKEY_EXIT_OK;
}

/* export and convert. */
int ntskey_export_main(int argc, char **argv, bool convert)
{
	static const struct option lo[] = { { "to", required_argument, NULL, 't' },
		                            { "output", required_argument, NULL, 'o' },
		                            { "force", no_argument, NULL, 'f' },
		                            { NULL, 0, NULL, 0 } };
	enum fmt f = FMT_NTP;
	bool have_fmt = false, force = false;
	const char *out = NULL;
	const struct symkey **sel = NULL;
	struct keyfile *kf = NULL;
	struct chrony_keys *ck = NULL;
	struct sbuf b = { 0 };
	size_t nsel = 0;
	int c, rc = NTSKEY_EXIT_FAIL;
	const char *cmd = convert ? "convert" : "export";

	while ((c = getopt_long(argc, argv, "t:o:f", lo, NULL)) != -1) {
		if (c == 't' && !parse_fmt(optarg, &f))
			return ntskey_usage_error("--to '%s': expected ntp or chrony", optarg);
		if (c == 't')
			have_fmt = true;
		if (c == 'o')
			out = optarg;
		if (c == 'f')
			force = true;
		if (c == '?')
			return ntskey_usage_error("%s: bad option", cmd);
	}
	if (convert && (!have_fmt || optind != argc - 1))
		return ntskey_usage_error("%s", "convert: expected --to chrony|ntp FILE");
	if (!convert && optind > argc - 2)
		return ntskey_usage_error("%s", "export: expected FILE ID...");
	const char *path = argv[optind];
	if (convert && f == FMT_NTP) {
		/* chrony -> ntp */
		if (!(ck = calloc(1, sizeof(*ck)))) {
			ntskey_err("out of memory");
			goto out;
		}
		if (!load_chrony(path, ck))
			goto out;
		if (!(sel = calloc(ck->n + 1, sizeof(*sel))))
			goto out;
		for (size_t i = 0; i < ck->n; i++)
			sel[nsel++] = &ck->k[i];
		qsort(sel, nsel, sizeof(*sel), cmp_symkey);
	} else {
		size_t nids = 0;
		uint32_t *ids = calloc((size_t)argc + 1, sizeof(*ids));
		if (!ids)
			goto out;
		if (!convert && !parse_ids(argc, argv, optind + 1, ids, &nids)) {
			free(ids);
			rc = NTSKEY_EXIT_USAGE;
			goto out;
		}
		if (!(kf = load_ntp(path, NULL, NULL))) {
			free(ids);
			goto out;
		}
		size_t cap = convert ? keyfile_count(kf) : nids;
		if (!(sel = calloc(cap + 1, sizeof(*sel)))) {
			free(ids);
			goto out;
		}
		bool missing = false;
		for (size_t i = 0; i < cap; i++) {
			const struct symkey *k = convert ? keyfile_at(kf, i) : keyfile_get(kf, ids[i]);
			if (!k) {
				ntskey_err("%s: error: no key with id %u", path, (unsigned)ids[i]);
				missing = true;
			} else {
				bool dup = false; /* "export F 3 3" must not repeat id 3 */
				for (size_t j = 0; j < nsel && !dup; j++)
					dup = sel[j] == k;
				if (!dup)
					sel[nsel++] = k;
			}
		}
		free(ids);
		if (missing)
			goto out;
	}
	if (!format_keys(path, sel, nsel, f, &b))
		goto out;
	rc = emit(&b, out, force);
out:
	sb_free(&b);
	free(sel);
	keyfile_free(kf);
	if (ck) {
		secret_free(ck->pool);
		free(ck);
	}
	return rc;
}
