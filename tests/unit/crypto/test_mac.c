/* mac: known answers (FIPS 180 / RFC 1321 digests, RFC 4493 AES-CMAC),
 * real NTPsec packets, and tamper/length checks. Runs unchanged against
 * mac_openssl.c and mac_gnutls.c. */
#include "crypto/mac.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"
#include "tap.h"

static struct mac_ctx *ctx;

static size_t unhex(const char *hex, uint8_t *out, size_t room)
{
	size_t n = strlen(hex) / 2;

	if (n > room)
		abort(); /* test-data bug */
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			abort();
		out[i] = (uint8_t)v;
	}
	return n;
}

static bool same_hex(const uint8_t *b, size_t n, const char *hex)
{
	uint8_t want[MAC_MAX_DIGEST + 1];

	return strlen(hex) == 2 * n && unhex(hex, want, sizeof(want)) == n &&
	       memcmp(b, want, n) == 0;
}

static const enum mac_alg all_algs[] = { MAC_MD5,    MAC_SHA1,   MAC_SHA224,    MAC_SHA256,
	                                 MAC_SHA384, MAC_SHA512, MAC_AES128CMAC };
#define N_ALGS (sizeof(all_algs) / sizeof(all_algs[0]))

static void test_names(void)
{
	static const struct {
		const char *name;
		enum mac_alg alg;
	} good[] = {
		{ "MD5", MAC_MD5 },
		{ "md5", MAC_MD5 },
		{ "M", MAC_MD5 },
		{ "m", MAC_MD5 },
		{ "SHA1", MAC_SHA1 },
		{ "sha-1", MAC_SHA1 },
		{ "SHA224", MAC_SHA224 },
		{ "SHA-224", MAC_SHA224 },
		{ "sha256", MAC_SHA256 },
		{ "SHA-256", MAC_SHA256 },
		{ "SHA384", MAC_SHA384 },
		{ "Sha-384", MAC_SHA384 },
		{ "SHA512", MAC_SHA512 },
		{ "SHA-512", MAC_SHA512 },
		{ "AES128CMAC", MAC_AES128CMAC },
		{ "aes128cmac", MAC_AES128CMAC },
		{ "AES-128-CMAC", MAC_AES128CMAC },
		{ "AES-128", MAC_AES128CMAC },
		{ "AES", MAC_AES128CMAC },
	};
	static const char *const bad[] = { "",      "SHA",      "MD4",     "MX",          "MD5 ",
		                           "SHA-3", "SHA2-256", "AES-256", "AES-128-CBC", "AES128",
		                           "CMAC",  "NONE" };
	static const size_t dlen[] = { 16, 20, 28, 32, 48, 64, 16 };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		tap_ok(mac_alg_from_name(good[i].name) == good[i].alg, "name '%s' -> %s",
		       good[i].name, mac_alg_name(good[i].alg));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		tap_ok(mac_alg_from_name(bad[i]) == MAC_NONE, "name '%s' is unknown", bad[i]);
	tap_ok(mac_alg_from_name(NULL) == MAC_NONE, "NULL name is unknown");
	for (size_t i = 0; i < N_ALGS; i++) {
		enum mac_alg a = all_algs[i];
		tap_ok(mac_alg_from_name(mac_alg_name(a)) == a, "canonical name %s round-trips",
		       mac_alg_name(a));
		tap_ok(mac_digest_len(a) == dlen[i], "%s digest is %zu bytes", mac_alg_name(a),
		       dlen[i]);
		tap_ok(mac_key_len(a) == (a == MAC_AES128CMAC ? 16u : 0u), "%s key length rule",
		       mac_alg_name(a));
	}
	tap_ok(strcmp(mac_alg_name(MAC_AES128CMAC), "AES128CMAC") == 0, "CMAC canonical name");
	tap_ok(mac_digest_len(MAC_NONE) == 0 && mac_digest_len((enum mac_alg)99) == 0,
	       "no digest length for MAC_NONE or out-of-range");
	tap_ok(strcmp(mac_alg_name(MAC_NONE), "NONE") == 0 &&
	               strcmp(mac_alg_name((enum mac_alg)99), "NONE") == 0,
	       "MAC_NONE and out-of-range are named NONE");
}

/* FIPS 180-2 / RFC 1321 digests of "abc": with H(key || msg), any split
 * of "abc" into key and message gives the same digest. */
static void test_fips(void)
{
	static const char *const abc[] = {
		[MAC_MD5] = "900150983cd24fb0d6963f7d28e17f72",
		[MAC_SHA1] = "a9993e364706816aba3e25717850c26c9cd0d89d",
		[MAC_SHA224] = "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
		[MAC_SHA256] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		[MAC_SHA384] = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
		               "8086072ba1e7cc2358baeca134c825a7",
		[MAC_SHA512] = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		               "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	};
	const uint8_t *s = (const uint8_t *)"abc";
	uint8_t out[MAC_MAX_DIGEST];

	for (int a = MAC_MD5; a <= MAC_SHA512; a++) {
		for (size_t k = 0; k <= 3; k++) {
			size_t n = mac_compute(ctx, a, k ? s : NULL, k, k < 3 ? s + k : NULL, 3 - k,
			                       out);
			tap_ok(n == mac_digest_len(a) && same_hex(out, n, abc[a]),
			       "%s(key=\"%.*s\" || msg=\"%s\") = FIPS digest of \"abc\"",
			       mac_alg_name(a), (int)k, "abc", (const char *)s + k);
		}
	}
	tap_ok(mac_compute(ctx, MAC_MD5, NULL, 0, NULL, 0, out) == 16 &&
	               same_hex(out, 16, "d41d8cd98f00b204e9800998ecf8427e"),
	       "MD5 of empty key and empty message");
}

/* RFC 4493 §4 examples 1-4. */
static void test_rfc4493(void)
{
	static const char *const key = "2b7e151628aed2a6abf7158809cf4f3c";
	static const char *const m64 =
	        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
	static const struct {
		size_t len;
		const char *mac;
	} v[] = {
		{ 0, "bb1d6929e95937287fa37d129b756746" },
		{ 16, "070a16b46b4d4144f79bdd9dd04a287c" },
		{ 40, "dfa66747de9ae63030ca32611497c827" },
		{ 64, "51f0bebf7e3b9d92fc49741779363cfe" },
	};
	uint8_t k[16], m[64], out[MAC_MAX_DIGEST], want[16];

	unhex(key, k, sizeof(k));
	unhex(m64, m, sizeof(m));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n =
		        mac_compute(ctx, MAC_AES128CMAC, k, 16, v[i].len ? m : NULL, v[i].len, out);
		tap_ok(n == 16 && same_hex(out, n, v[i].mac), "RFC 4493 AES-CMAC, %zu-byte message",
		       v[i].len);
		unhex(v[i].mac, want, sizeof(want));
		tap_ok(mac_verify(ctx, MAC_AES128CMAC, k, 16, m, v[i].len, want, 16),
		       "RFC 4493 AES-CMAC verifies, %zu-byte message", v[i].len);
	}
}

/* Captured from NTPsec 1.2.2 (ntpdig requests, ntpd responses), see
 * /work/shared/vectors/symkey-vectors.json: 48-byte header, 4-byte key
 * id, digest. */
static void test_real_packets(void)
{
	static const struct {
		const char *from;
		uint32_t keyid;
		enum mac_alg alg;
		const char *key, *pkt;
	} v[] = {
		{ "ntpdig request", 1, MAC_MD5, "6162636465666768696a",
		  "e3000000000000000000000000000000000000000000000000000000000000000000000000000000"
		  "eeb0de0f995ad800000000014af9969b4b25827b3d2839049e0ce3cb" },
		{ "ntpd response", 1, MAC_MD5, "6162636465666768696a",
		  "240a00e800000000000000007f0000010000000000000000eeb0de0f995ad800eeb0de0f99712806"
		  "eeb0de0f9982af16000000011ad5bf13fd03d7ed564dc2ba9c77f77a" },
		{ "ntpdig request", 2, MAC_SHA1, "0123456789abcdef0123456789abcdef01234567",
		  "e3000000000000000000000000000000000000000000000000000000000000000000000000000000"
		  "eeb0de0fb5f4f0000000000298cb1cda58aa6ee8875a9aa67ebb89aa435e16e2" },
		{ "ntpd response", 2, MAC_SHA1, "0123456789abcdef0123456789abcdef01234567",
		  "240a00e800000000000000007f0000010000000000000000eeb0de0fb5f4f000eeb0de0fb60ed949"
		  "eeb0de0fb61698ab0000000208e50e333510611ba0675f85e9a398083edbe47a" },
		{ "ntpdig request", 3, MAC_AES128CMAC, "000102030405060708090a0b0c0d0e0f",
		  "e3000000000000000000000000000000000000000000000000000000000000000000000000000000"
		  "eeb0de0fd47df000000000032a143da6314ccbbea8147b65ce043932" },
		{ "ntpd response", 3, MAC_AES128CMAC, "000102030405060708090a0b0c0d0e0f",
		  "240a00e800000000000000007f0000010000000000000000eeb0de0fd47df000eeb0de0fd4b2071f"
		  "eeb0de0fd4b9a8e6000000039eaee5bc928e04c89c0f83486834c0d9" },
	};
	uint8_t key[MAC_MAX_KEY], pkt[128], out[MAC_MAX_DIGEST];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t kl = unhex(v[i].key, key, sizeof(key));
		size_t pl = unhex(v[i].pkt, pkt, sizeof(pkt));
		const char *an = mac_alg_name(v[i].alg);
		size_t dl = pl - 52;
		uint32_t id = (uint32_t)pkt[48] << 24 | (uint32_t)pkt[49] << 16 |
		              (uint32_t)pkt[50] << 8 | pkt[51];

		tap_ok(id == v[i].keyid && dl == mac_digest_len(v[i].alg),
		       "NTPsec %s %s: key id %" PRIu32 ", %zu-byte digest", an, v[i].from, id, dl);
		tap_ok(mac_compute(ctx, v[i].alg, key, kl, pkt, 48, out) == dl &&
		               memcmp(out, pkt + 52, dl) == 0,
		       "NTPsec %s %s: computed MAC matches the packet", an, v[i].from);
		tap_ok(mac_verify(ctx, v[i].alg, key, kl, pkt, 48, pkt + 52, dl),
		       "NTPsec %s %s: mac_verify accepts", an, v[i].from);
		pkt[47] ^= 1;
		tap_ok(!mac_verify(ctx, v[i].alg, key, kl, pkt, 48, pkt + 52, dl),
		       "NTPsec %s %s: altered header rejected", an, v[i].from);
		pkt[47] ^= 1;
		key[0] ^= 0x20;
		tap_ok(!mac_verify(ctx, v[i].alg, key, kl, pkt, 48, pkt + 52, dl),
		       "NTPsec %s %s: other key rejected", an, v[i].from);
	}
	tap_ok(!mac_verify(ctx, MAC_MD5, key, 10, pkt, 48, NULL, 16), "NULL digest rejected");
}

static void fill(uint8_t *p, size_t n, uint64_t *st)
{
	for (size_t i = 0; i < n; i++) {
		/* xorshift64: reproducible from the printed seed. */
		*st ^= *st << 13;
		*st ^= *st >> 7;
		*st ^= *st << 17;
		p[i] = (uint8_t)*st;
	}
}

/* Every single-bit flip of the message, digest or key fails; lengths
 * other than the full digest (and 20 for SHA-2) fail. */
static void test_tamper(uint64_t *st)
{
	uint8_t key[MAC_MAX_KEY], msg[68], d[MAC_MAX_DIGEST + 8];

	for (size_t i = 0; i < N_ALGS; i++) {
		enum mac_alg a = all_algs[i];
		const char *an = mac_alg_name(a);
		size_t kl = a == MAC_AES128CMAC ? 16 : 20, full = mac_digest_len(a);
		bool msg_ok = true, dig_ok = true, key_ok = true, len_ok = true;
		static const size_t bad_fixed[] = { 0, 1, 15, 17, 19, 21 };

		fill(key, kl, st);
		fill(msg, sizeof(msg), st);
		fill(d, sizeof(d), st);
		if (!tap_ok(mac_compute(ctx, a, key, kl, msg, sizeof(msg), d) == full,
		            "%s: compute over random key and message", an))
			continue;
		tap_ok(mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, full), "%s: verify full",
		       an);
		for (size_t b = 0; b < sizeof(msg) * 8; b++) {
			msg[b / 8] ^= (uint8_t)(1u << (b % 8));
			msg_ok = msg_ok && !mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, full);
			msg[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		tap_ok(msg_ok, "%s: all %zu message bit flips rejected", an, sizeof(msg) * 8);
		for (size_t b = 0; b < full * 8; b++) {
			d[b / 8] ^= (uint8_t)(1u << (b % 8));
			dig_ok = dig_ok && !mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, full);
			d[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		tap_ok(dig_ok, "%s: all %zu digest bit flips rejected", an, full * 8);
		for (size_t b = 0; b < kl * 8; b++) {
			key[b / 8] ^= (uint8_t)(1u << (b % 8));
			key_ok = key_ok && !mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, full);
			key[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		tap_ok(key_ok, "%s: all %zu key bit flips rejected", an, kl * 8);
		for (size_t j = 0; j < sizeof(bad_fixed) / sizeof(bad_fixed[0]); j++) {
			size_t l = bad_fixed[j];
			if (l == full || (l == 20 && a >= MAC_SHA224 && a <= MAC_SHA512))
				continue;
			len_ok = len_ok && !mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, l);
		}
		len_ok = len_ok && !mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, full - 1) &&
		         !mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, full + 1) &&
		         !mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, SIZE_MAX);
		tap_ok(len_ok, "%s: digest lengths 0,1,15,17,19,21,full-1,full+1 rejected", an);
		/* Sweep every length up to MAC_MAX_DIGEST + 1. */
		size_t accepted = 0, wrong = 0;
		for (size_t l = 0; l <= MAC_MAX_DIGEST + 1; l++) {
			if (mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, l)) {
				accepted++;
				if (l != full && !(l == 20 && a >= MAC_SHA224 && a <= MAC_SHA512))
					wrong++;
			}
		}
		bool sha2 = a >= MAC_SHA224 && a <= MAC_SHA512;
		tap_ok(wrong == 0 && accepted == (sha2 ? 2u : 1u),
		       "%s: length sweep 0..%d accepts only %s", an, MAC_MAX_DIGEST + 1,
		       sha2 ? "full and 20" : "full");
		if (sha2) {
			bool t = true;
			tap_ok(mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, 20),
			       "%s: truncated to 20 bytes passes", an);
			tap_ok(!mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, 16),
			       "%s: truncated to 16 bytes fails", an);
			for (size_t b = 0; b < 160; b++) {
				d[b / 8] ^= (uint8_t)(1u << (b % 8));
				t = t && !mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, 20);
				d[b / 8] ^= (uint8_t)(1u << (b % 8));
			}
			tap_ok(t, "%s: every bit flip in a 20-byte truncation rejected", an);
		} else {
			tap_ok(full == 20 || !mac_verify(ctx, a, key, kl, msg, sizeof(msg), d, 20),
			       "%s: 20-byte truncation not accepted for non-SHA-2", an);
		}
	}
}

/* Hash keys may have any length and are simply prepended: H(k || m) for
 * every split equals the digest of the concatenation. CMAC needs 16. */
static void test_key_lengths(uint64_t *st)
{
	uint8_t buf[MAC_MAX_KEY + 200], out[MAC_MAX_DIGEST], ref[MAC_MAX_DIGEST];
	uint8_t key[MAC_MAX_KEY + 2];

	fill(buf, sizeof(buf), st);
	for (int a = MAC_MD5; a <= MAC_SHA512; a++) {
		bool ok = mac_compute(ctx, a, NULL, 0, buf, sizeof(buf), ref) == mac_digest_len(a);
		for (size_t kl = 1; kl <= MAC_MAX_KEY + 1 && ok; kl++)
			ok = mac_compute(ctx, a, buf, kl, buf + kl, sizeof(buf) - kl, out) ==
			             mac_digest_len(a) &&
			     memcmp(out, ref, mac_digest_len(a)) == 0;
		tap_ok(ok, "%s: H(key || msg) equals H of the concatenation, key 1..%d bytes",
		       mac_alg_name(a), MAC_MAX_KEY + 1);
	}
	fill(key, sizeof(key), st);
	size_t good = 0, bad = 0;
	for (size_t kl = 0; kl <= MAC_MAX_KEY + 1; kl++) {
		size_t n = mac_compute(ctx, MAC_AES128CMAC, key, kl, buf, 48, out);
		if (kl == 16)
			good += n == 16;
		else
			bad += n != 0;
		if (kl != 16 && mac_verify(ctx, MAC_AES128CMAC, key, kl, buf, 48, out, 16))
			bad++;
	}
	tap_ok(good == 1 && bad == 0, "AES128CMAC: only 16-byte keys accepted (0..%d swept)",
	       MAC_MAX_KEY + 1);
}

/* One context switching between AES128CMAC keys (the OpenSSL backend
 * keeps the last key and rekeys only for another): every answer equals a
 * fresh context's, keys one bit apart included. */
static void test_key_switching(uint64_t *st)
{
	uint8_t keys[3][16], msg[100], out[MAC_MAX_DIGEST], ref[3][MAC_MAX_DIGEST];
	struct mac_ctx *fresh;
	bool ok = true, distinct;

	fill(keys[0], sizeof(keys[0]), st);
	fill(keys[1], sizeof(keys[1]), st);
	memcpy(keys[2], keys[0], 16);
	keys[2][15] ^= 1;
	fill(msg, sizeof(msg), st);
	for (int k = 0; k < 3; k++) {
		fresh = mac_ctx_new();
		ok = ok && fresh && mac_compute(fresh, MAC_AES128CMAC, keys[k], 16, msg, sizeof(msg),
		                                ref[k]) == 16;
		mac_ctx_free(fresh);
	}
	distinct = ok && memcmp(ref[0], ref[1], 16) && memcmp(ref[0], ref[2], 16) &&
	           memcmp(ref[1], ref[2], 16);
	static const int order[] = { 0, 0, 1, 0, 2, 2, 1, 2, 0 };
	for (size_t i = 0; ok && i < sizeof(order) / sizeof(order[0]); i++) {
		int k = order[i];
		ok = mac_compute(ctx, MAC_AES128CMAC, keys[k], 16, msg, sizeof(msg), out) == 16 &&
		     memcmp(out, ref[k], 16) == 0 &&
		     mac_verify(ctx, MAC_AES128CMAC, keys[k], 16, msg, sizeof(msg), ref[k], 16) &&
		     !mac_verify(ctx, MAC_AES128CMAC, keys[k], 16, msg, sizeof(msg), ref[(k + 1) % 3],
		                 16);
	}
	tap_ok(ok && distinct,
	       "AES128CMAC: one context switching keys A A B A A' A' B A' A (A' one bit off) "
	       "matches fresh contexts");
}

static void test_bad_args(void)
{
	uint8_t k[16] = { 0 }, m[8] = { 0 }, out[MAC_MAX_DIGEST];

	tap_ok(mac_compute(ctx, MAC_NONE, k, 16, m, 8, out) == 0, "MAC_NONE: compute fails");
	tap_ok(mac_compute(ctx, (enum mac_alg)99, k, 16, m, 8, out) == 0,
	       "out-of-range alg: compute fails");
	tap_ok(!mac_verify(ctx, MAC_NONE, k, 16, m, 8, out, 0), "MAC_NONE: verify fails");
	tap_ok(mac_compute(NULL, MAC_SHA1, k, 16, m, 8, out) == 0, "NULL ctx: compute fails");
	tap_ok(mac_compute(ctx, MAC_SHA1, NULL, 16, m, 8, out) == 0, "NULL key with length fails");
	tap_ok(mac_compute(ctx, MAC_SHA1, k, 16, NULL, 8, out) == 0, "NULL msg with length fails");
	mac_ctx_free(NULL);
	tap_ok(true, "mac_ctx_free(NULL) is a no-op");
}

/* Random round trips on two contexts with interleaved algorithms; each
 * then gets one random corruption that must be rejected. */
static void test_random(uint64_t *st)
{
	struct mac_ctx *c2 = mac_ctx_new();
	uint8_t key[MAC_MAX_KEY], msg[300], d[MAC_MAX_DIGEST], d2[MAC_MAX_DIGEST], r[4];
	unsigned fails = 0, n = 2000;

	if (!tap_ok(c2 != NULL, "second context"))
		return;
	for (unsigned i = 0; i < n; i++) {
		fill(r, sizeof(r), st);
		enum mac_alg a = all_algs[r[0] % N_ALGS];
		size_t kl = a == MAC_AES128CMAC ? 16 : (size_t)(r[1] % (MAC_MAX_KEY + 1));
		size_t ml = (size_t)(r[2] + r[3]) % sizeof(msg) + 1;
		size_t full = mac_digest_len(a);

		fill(key, kl, st);
		fill(msg, ml, st);
		if (mac_compute(ctx, a, key, kl, msg, ml, d) != full ||
		    mac_compute(c2, a, key, kl, msg, ml, d2) != full || memcmp(d, d2, full) != 0 ||
		    !mac_verify(c2, a, key, kl, msg, ml, d, full)) {
			fails++;
			continue;
		}
		fill(r, sizeof(r), st);
		switch (r[0] % 4) {
		case 0:
			msg[r[1] % ml] ^= (uint8_t)(1u << (r[2] % 8));
			break;
		case 1:
			d[r[1] % full] ^= (uint8_t)(1u << (r[2] % 8));
			break;
		case 2:
			if (kl)
				key[r[1] % kl] ^= (uint8_t)(1u << (r[2] % 8));
			else
				ml--; /* nothing to flip in an empty key */
			break;
		default:
			ml--; /* truncated message */
			break;
		}
		if (mac_verify(ctx, a, key, kl, msg, ml, d, full))
			fails++;
	}
	tap_ok(fails == 0,
	       "%u random round trips on two contexts, then one corruption each: %u failures", n,
	       fails);
	mac_ctx_free(c2);
}

int main(void)
{
	uint64_t seed = 0, st;
	const char *env = getenv("TEST_SEED");

	if (!tap_ok(secret_init(), "secret_init"))
		return tap_done();
	if (env)
		seed = strtoull(env, NULL, 0);
	while (seed == 0)
		secret_random(&seed, sizeof(seed));
	tap_diag("seed %" PRIu64 " (set TEST_SEED to repeat)", seed);
	st = seed;
	ctx = mac_ctx_new();
	if (!tap_ok(ctx != NULL, "mac_ctx_new"))
		return tap_done();
	test_names();
	test_fips();
	test_rfc4493();
	test_real_packets();
	test_tamper(&st);
	test_key_lengths(&st);
	test_key_switching(&st);
	test_bad_args();
	test_random(&st);
	mac_ctx_free(ctx);
	return tap_done();
}
