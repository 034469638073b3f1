/* NTS cookies: round trips, equal lengths, fresh nonces, and every tamper
 * case (flipped bytes, truncation, extension, unknown or rotated-out key,
 * another server's keys). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/cookie.h"
#include "crypto/masterkey.h"
#include "crypto/secret.h"
#include "tap.h"

static void random_keys(struct cookie_keys *k, uint16_t aead)
{
	k->aead = aead;
	k->key_len = aead_key_len(aead);
	secret_random(k->c2s, k->key_len);
	secret_random(k->s2c, k->key_len);
}

static bool same_keys(const struct cookie_keys *a, const struct cookie_keys *b)
{
	return a->aead == b->aead && a->key_len == b->key_len && !memcmp(a->c2s, b->c2s, a->key_len) &&
	       !memcmp(a->s2c, b->s2c, a->key_len);
}

int main(void)
{
	unsigned seed = (unsigned)time(NULL);
	struct masterkey_set *set = masterkey_set_new(), *other = masterkey_set_new();
	struct cookie_keys k, got;
	uint8_t c[COOKIE_MAX_LEN + 8], prev[COOKIE_MAX_LEN];
	static const uint16_t ids[] = { AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_384, AEAD_AES_SIV_CMAC_512 };

	secret_init();
	tap_diag("random seed %u", seed);
	srand(seed);
	masterkey_generate(set, 1000);
	masterkey_generate(other, 1000);
	struct cookie_ctx *ctx = cookie_ctx_new(set), *octx = cookie_ctx_new(other);
	tap_ok(ctx && octx, "cookie contexts build from master key sets");
	tap_ok(cookie_ctx_new(NULL) == NULL, "no context without master keys");
	tap_ok(cookie_size(AEAD_AES_SIV_CMAC_256) == 104, "AEAD 15 cookies are 104 bytes");
	tap_ok(cookie_size(AEAD_AES_SIV_CMAC_256) % 4 == 0 && cookie_size(AEAD_AES_SIV_CMAC_384) % 4 == 0 &&
	       cookie_size(AEAD_AES_SIV_CMAC_512) % 4 == 0,
	       "cookie lengths are multiples of 4 (chrony's client drops others)");

	for (size_t a = 0; a < 3; a++) {
		if (!aead_key_len(ids[a]))
			continue;
		bool ok = true, lengths = true, fresh = true;
		size_t size = cookie_size(ids[a]);
		memset(prev, 0, sizeof(prev));
		for (int i = 0; i < 10000 && ok; i++) {
			random_keys(&k, ids[a]);
			size_t n = cookie_seal(ctx, &k, c, sizeof(c));
			lengths = lengths && n == size;
			ok = n && cookie_open(ctx, c, n, &got) == COOKIE_OK && same_keys(&k, &got);
			fresh = fresh && memcmp(prev, c, n) != 0;
			memcpy(prev, c, n);
		}
		tap_ok(ok, "AEAD %u: 10000 seal/open round trips", ids[a]);
		tap_ok(lengths, "AEAD %u: every cookie is %zu bytes", ids[a], size);
		tap_ok(fresh, "AEAD %u: no two consecutive cookies are equal", ids[a]);
	}

	random_keys(&k, AEAD_AES_SIV_CMAC_256);
	size_t n = cookie_seal(ctx, &k, c, sizeof(c));
	bool flips = true;
	for (size_t i = 0; i < n; i++)
		for (int bit = 0; bit < 8; bit++) {
			c[i] ^= (uint8_t)(1 << bit);
			enum cookie_status st = cookie_open(ctx, c, n, &got);
			if (st == COOKIE_OK)
				flips = false;
			c[i] ^= (uint8_t)(1 << bit);
		}
	tap_ok(flips, "every single-bit flip of a cookie fails to open");
	bool trunc = true;
	for (size_t l = 0; l < n; l++)
		if (cookie_open(ctx, c, l, &got) == COOKIE_OK)
			trunc = false;
	tap_ok(trunc, "every truncation fails");
	c[n] = 0;
	tap_ok(cookie_open(ctx, c, n + 1, &got) != COOKIE_OK, "a cookie extended by one byte is refused");
	tap_ok(cookie_open(octx, c, n, &got) == COOKIE_UNKNOWN_KEY,
	       "another server's master keys do not know the key id");
	memcpy(c, &(uint32_t){ 0 }, 4);
	tap_ok(cookie_open(ctx, c, n, &got) != COOKIE_OK, "an unknown key id fails");

	/* Rotation: cookies under kept keys open; past `keep` they do not. */
	n = cookie_seal(ctx, &k, c, sizeof(c));
	bool changed;
	masterkey_rotate(set, 1000 + 86400, 86400, 3, &changed);
	struct cookie_ctx *ctx2 = cookie_ctx_new(set);
	tap_ok(changed && set->n == 2 && ctx2 && cookie_open(ctx2, c, n, &got) == COOKIE_OK,
	       "after one rotation, a cookie under the previous key still opens");
	size_t n2 = cookie_seal(ctx2, &k, prev, sizeof(prev));
	tap_ok(n2 && memcmp(prev, c, 4) != 0, "new cookies use the new current key");
	masterkey_rotate(set, 1000 + 3 * 86400, 86400, 3, &changed);
	struct cookie_ctx *ctx3 = cookie_ctx_new(set);
	tap_ok(ctx3 && cookie_open(ctx3, c, n, &got) == COOKIE_UNKNOWN_KEY &&
	       cookie_open(ctx3, prev, n2, &got) == COOKIE_OK,
	       "after `keep` intervals the oldest key is gone, newer cookies still open");

	cookie_ctx_free(ctx);
	cookie_ctx_free(ctx2);
	cookie_ctx_free(ctx3);
	cookie_ctx_free(octx);
	masterkey_set_free(set);
	masterkey_set_free(other);
	return tap_done();
}
