/* AES-SIV-CMAC (RFC 5297) in whichever backend this build uses: the RFC's
 * vectors, empty plaintexts (every NTS client request), every tamper case,
 * and real NTS packets from chrony and NTPsec. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/aead.h"
#include "crypto/secret.h"
#include "hex.h"
#include "nts_vectors.h"
#include "tap.h"

static void test_rfc5297(void)
{
	uint8_t key[32], ad[64], ad2[16], nonce[16], pt[64], want[80], out[80], back[64];
	size_t kl, al, a2l, nl, pl, wl, ol, bl;
	struct aead_ctx *c;

	/* A.1 deterministic */
	kl = hex_decode("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", key, sizeof(key));
	al = hex_decode("101112131415161718191a1b1c1d1e1f2021222324252627", ad, sizeof(ad));
	pl = hex_decode("112233445566778899aabbccddee", pt, sizeof(pt));
	wl = hex_decode("85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c", want, sizeof(want));
	c = aead_ctx_new(AEAD_AES_SIV_CMAC_256, key, kl);
	tap_ok(c != NULL, "AES-SIV-CMAC-256 context (id 15 is mandatory)");
	if (!c)
		return;
	struct aead_ad a1[] = { { ad, al } };
	tap_ok(aead_seal(c, a1, 1, NULL, 0, pt, pl, out, sizeof(out), &ol) && ol == wl &&
	       !memcmp(out, want, wl), "RFC 5297 A.1 (deterministic) output");
	tap_ok(aead_open(c, a1, 1, NULL, 0, out, ol, back, sizeof(back), &bl) && bl == pl &&
	       !memcmp(back, pt, pl), "RFC 5297 A.1 opens");
	aead_ctx_free(c);

	/* A.2 nonce-based, two AD items plus the nonce */
	kl = hex_decode("7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f", key, sizeof(key));
	al = hex_decode("00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100", ad, sizeof(ad));
	a2l = hex_decode("102030405060708090a0", ad2, sizeof(ad2));
	nl = hex_decode("09f911029d74e35bd84156c5635688c0", nonce, sizeof(nonce));
	pl = hex_decode("7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074207573696e67205349562d414553", pt, sizeof(pt));
	wl = hex_decode("7bdb6e3b432667eb06f4d14bff2fbd0fcb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3f748ba8af829ea64ad544a272e9c485b62a3fd5c0d", want, sizeof(want));
	c = aead_ctx_new(AEAD_AES_SIV_CMAC_256, key, kl);
	struct aead_ad a2[] = { { ad, al }, { ad2, a2l } };
	tap_ok(c && aead_seal(c, a2, 2, nonce, nl, pt, pl, out, sizeof(out), &ol) && ol == wl &&
	       !memcmp(out, want, wl), "RFC 5297 A.2 (two AD items and a nonce) output");
	tap_ok(c && aead_open(c, a2, 2, nonce, nl, out, ol, back, sizeof(back), &bl) && bl == pl &&
	       !memcmp(back, pt, pl), "RFC 5297 A.2 opens");
	aead_ctx_free(c);
}

static void test_empty_plaintext(void)
{
	/* Independent value (Python's AESSIV): key 0^32, AD "ad", empty pt. */
	uint8_t key[32] = { 0 }, want[16], out[16], back[1];
	size_t ol, bl;
	hex_decode("0dd690165bc1a9a0a791cadef6edfa1a", want, sizeof(want));
	struct aead_ctx *c = aead_ctx_new(AEAD_AES_SIV_CMAC_256, key, sizeof(key));
	struct aead_ad ad[] = { { (const uint8_t *)"ad", 2 } };
	tap_ok(c && aead_seal(c, ad, 1, NULL, 0, NULL, 0, out, sizeof(out), &ol) && ol == 16 &&
	       !memcmp(out, want, 16), "empty plaintext gives the right 16-byte tag");
	tap_ok(c && aead_open(c, ad, 1, NULL, 0, out, 16, back, sizeof(back), &bl) && bl == 0,
	       "empty plaintext opens");
	out[3] ^= 4;
	tap_ok(c && !aead_open(c, ad, 1, NULL, 0, out, 16, back, sizeof(back), &bl),
	       "a tampered tag over an empty plaintext fails");
	aead_ctx_free(c);
}

static void test_roundtrips(unsigned seed)
{
	static const uint16_t ids[] = { AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_384, AEAD_AES_SIV_CMAC_512 };
	uint8_t key[AEAD_MAX_KEY], nonce[16], ad[4][40], pt[101], out[140], back[140];

	srand(seed);
	for (size_t i = 0; i < 3; i++) {
		size_t kl = aead_key_len(ids[i]);
		if (kl == 0) {
			tap_ok(ids[i] == AEAD_AES_SIV_CMAC_384, "backend lacks only id 16 (has %u)", ids[i]);
			continue;
		}
		secret_random(key, kl);
		struct aead_ctx *c = aead_ctx_new(ids[i], key, kl);
		bool ok = c != NULL, tamper_ok = true, untouched = true;
		for (size_t ptl = 0; ptl <= 100 && ok; ptl++) {
			size_t n_ad = ptl % 5, ol, bl;
			struct aead_ad a[4];
			secret_random(pt, ptl);
			secret_random(nonce, sizeof(nonce));
			for (size_t k = 0; k < n_ad; k++) {
				secret_random(ad[k], sizeof(ad[k]));
				a[k] = (struct aead_ad){ ad[k], (size_t)rand() % sizeof(ad[k]) };
			}
			ok = aead_seal(c, a, n_ad, nonce, sizeof(nonce), pt, ptl, out, sizeof(out), &ol) &&
			     ol == ptl + 16 &&
			     aead_open(c, a, n_ad, nonce, sizeof(nonce), out, ol, back, sizeof(back), &bl) &&
			     bl == ptl && !memcmp(back, pt, ptl);
			/* one flipped bit anywhere: output, nonce, an AD item */
			size_t bit = (size_t)rand() % (ol * 8);
			out[bit / 8] ^= (uint8_t)(1 << bit % 8);
			memset(back, 0xee, sizeof(back));
			if (aead_open(c, a, n_ad, nonce, sizeof(nonce), out, ol, back, sizeof(back), &bl))
				tamper_ok = false;
			for (size_t k = 0; k < ptl; k++)
				if (back[k] != 0xee && back[k] != 0)
					untouched = false;
			out[bit / 8] ^= (uint8_t)(1 << bit % 8);
			nonce[ptl % 16] ^= 1;
			if (aead_open(c, a, n_ad, nonce, sizeof(nonce), out, ol, back, sizeof(back), &bl))
				tamper_ok = false;
			nonce[ptl % 16] ^= 1;
			if (n_ad && a[0].len) {
				ad[0][0] ^= 0x80;
				if (aead_open(c, a, n_ad, nonce, sizeof(nonce), out, ol, back, sizeof(back), &bl))
					tamper_ok = false;
				ad[0][0] ^= 0x80;
			}
			if (aead_seal(c, a, n_ad, nonce, sizeof(nonce), pt, ptl, out, ptl + 15, &ol))
				tamper_ok = false;
			if (ol >= 16 && aead_open(c, a, n_ad, nonce, sizeof(nonce), out, 15, back, sizeof(back), &bl))
				tamper_ok = false;
		}
		tap_ok(ok, "id %u: round trips for plaintexts of 0..100 bytes with 0..4 AD items", ids[i]);
		tap_ok(tamper_ok, "id %u: flipped bits in output, nonce or AD, short buffers all fail", ids[i]);
		tap_ok(untouched, "id %u: a failed open leaves no plaintext behind", ids[i]);
		aead_ctx_free(c);
	}
}

static void test_params(void)
{
	static const uint16_t bad_ids[] = { 0, 14, 18, 30, 31, 0xffff };
	uint8_t key[AEAD_MAX_KEY + 1] = { 0 };
	bool ok = true;
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++)
		ok = ok && aead_key_len(bad_ids[i]) == 0 && !aead_ctx_new(bad_ids[i], key, 32);
	tap_ok(ok, "unknown AEAD ids have no key length and no context");
	tap_ok(aead_key_len(AEAD_AES_SIV_CMAC_256) == 32 && aead_key_len(AEAD_AES_SIV_CMAC_512) == 64,
	       "key lengths 32 (id 15) and 64 (id 17)");
	ok = true;
	for (size_t l = 0; l <= AEAD_MAX_KEY + 1; l++) {
		struct aead_ctx *c = aead_ctx_new(AEAD_AES_SIV_CMAC_256, key, l);
		if ((c != NULL) != (l == 32))
			ok = false;
		aead_ctx_free(c);
	}
	tap_ok(ok, "a context needs exactly the key length (0..65 tried)");
	struct aead_ctx *c = aead_ctx_new(AEAD_AES_SIV_CMAC_256, key, 32);
	tap_ok(c && aead_ctx_rekey(c, AEAD_AES_SIV_CMAC_512, key, 64) &&
	       !aead_ctx_rekey(c, AEAD_AES_SIV_CMAC_256, key, 31) && !aead_ctx_rekey(c, 99, key, 32),
	       "rekey accepts a valid key and refuses bad ones");
	aead_ctx_free(c);
}

/* Locate the authenticator of a real packet and check it. */
static void test_real(const struct nts_vector *v)
{
	uint8_t c2s[32], s2c[32], pkt[1200], pt[1200];
	size_t plen, ptl;
	bool found;

	hex_decode(v->c2s, c2s, sizeof(c2s));
	hex_decode(v->s2c, s2c, sizeof(s2c));
	for (int dir = 0; dir < 2; dir++) {
		plen = hex_decode(dir ? v->response : v->request, pkt, sizeof(pkt));
		found = false;
		for (size_t off = 48; off + 4 <= plen;) {
			size_t type = (size_t)pkt[off] << 8 | pkt[off + 1], len = (size_t)pkt[off + 2] << 8 | pkt[off + 3];
			if (len < 16 || off + len > plen)
				break;
			if (type == 0x0404) {
				size_t nl = (size_t)pkt[off + 4] << 8 | pkt[off + 5];
				size_t cl = (size_t)pkt[off + 6] << 8 | pkt[off + 7];
				const uint8_t *nonce = pkt + off + 8, *ct = nonce + ((nl + 3) & ~(size_t)3);
				struct aead_ctx *c = aead_ctx_new(15, dir ? s2c : c2s, 32);
				struct aead_ad ad = { pkt, off };
				found = c && aead_open(c, &ad, 1, nonce, nl, ct, cl, pt, sizeof(pt), &ptl);
				if (found && dir) {
					int cookies = 0;
					for (size_t p = 0; p + 4 <= ptl;) {
						size_t t = (size_t)pt[p] << 8 | pt[p + 1], l = (size_t)pt[p + 2] << 8 | pt[p + 3];
						if (l < 4)
							break;
						cookies += t == 0x0204;
						p += l;
					}
					found = cookies == v->new_cookies;
				}
				if (found) { /* and a flipped AD byte must fail */
					pkt[20] ^= 1;
					found = !aead_open(c, &ad, 1, nonce, nl, ct, cl, pt, sizeof(pt), &ptl);
				}
				aead_ctx_free(c);
				break;
			}
			off += len;
		}
		tap_ok(found, "%s %s: authenticator verifies with the %s key%s", v->name,
		       dir ? "response" : "request", dir ? "S2C" : "C2S",
		       dir ? " and holds the new cookies" : "");
	}
}

int main(void)
{
	unsigned seed = (unsigned)time(NULL);

	secret_init();
	tap_diag("random seed %u", seed);
	test_rfc5297();
	test_empty_plaintext();
	test_roundtrips(seed);
	test_params();
	for (size_t i = 0; i < sizeof(nts_vectors) / sizeof(nts_vectors[0]); i++)
		test_real(&nts_vectors[i]);
	return tap_done();
}
