/* NTP symmetric-key MACs with GnuTLS: legacy H(key || msg) digests
 * (RFC 5905 §7.3, ntpd's MD5/SHA keys) and AES-128-CMAC (RFC 8573). */
#include "config.h"

#include "crypto/mac.h"

#include <stdlib.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "crypto/mac_internal.h"

/* Hash handles are created on first use of each digest and then reused:
 * gnutls_hash_output finishes and resets the state, so later calls on the
 * same digest allocate nothing. */
struct mac_ctx {
	gnutls_hash_hd_t h[MAC_SHA512 + 1];
};

static const gnutls_digest_algorithm_t dig[MAC_SHA512 + 1] = {
	[MAC_MD5] = GNUTLS_DIG_MD5,       [MAC_SHA1] = GNUTLS_DIG_SHA1,
	[MAC_SHA224] = GNUTLS_DIG_SHA224, [MAC_SHA256] = GNUTLS_DIG_SHA256,
	[MAC_SHA384] = GNUTLS_DIG_SHA384, [MAC_SHA512] = GNUTLS_DIG_SHA512,
};

struct mac_ctx *mac_ctx_new(void)
{
	return calloc(1, sizeof(struct mac_ctx));
}

void mac_ctx_free(struct mac_ctx *ctx)
{
	if (!ctx)
		return;
	/* Every handle is left reset by gnutls_hash_output, so no keyed
	 * state survives a call; gnutls_hash_deinit frees it. */
	for (int a = MAC_MD5; a <= MAC_SHA512; a++)
		if (ctx->h[a])
			gnutls_hash_deinit(ctx->h[a], NULL);
	free(ctx);
}

static size_t digest(struct mac_ctx *ctx, enum mac_alg alg, const uint8_t *key, size_t keylen,
                     const uint8_t *msg, size_t msglen, uint8_t *out)
{
	gnutls_hash_hd_t h = ctx->h[alg];
	size_t n = gnutls_hash_get_len(dig[alg]);

	/* Allocates once per digest and context; GnuTLS has no way to
	 * create a hash handle in caller-provided memory. */
	if (!h && gnutls_hash_init(&ctx->h[alg], dig[alg]) < 0) {
		ctx->h[alg] = NULL;
		return 0;
	}
	h = ctx->h[alg];
	if ((keylen && gnutls_hash(h, key, keylen) < 0) ||
	    (msglen && gnutls_hash(h, msg, msglen) < 0)) {
		/* Unknown partial state: drop it rather than reuse it. */
		gnutls_hash_deinit(h, NULL);
		ctx->h[alg] = NULL;
		return 0;
	}
	/* Finishes and resets the handle for the next call. */
	gnutls_hash_output(h, out);
	return n;
}

/* gnutls_hmac_fast keys a MAC state on the stack of the crypto backend
 * (nettle) and allocates nothing; the handle API (gnutls_hmac_init) has
 * no re-key call, so it would allocate per key. */
static size_t cmac(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t msglen,
                   uint8_t *out)
{
	static const uint8_t empty[1];

	if (gnutls_hmac_fast(GNUTLS_MAC_AES_CMAC_128, key, keylen, msglen ? msg : empty, msglen,
	                     out) < 0)
		return 0;
	return gnutls_hmac_get_len(GNUTLS_MAC_AES_CMAC_128);
}

size_t mac_compute(struct mac_ctx *ctx, enum mac_alg alg, const uint8_t *key, size_t keylen,
                   const uint8_t *msg, size_t msglen, uint8_t out[MAC_MAX_DIGEST])
{
	size_t n;

	if (!ctx || !out || !alg_valid(alg) || (keylen && !key) || (msglen && !msg))
		return 0;
	if (mac_key_len(alg) && keylen != mac_key_len(alg))
		return 0;
	n = alg == MAC_AES128CMAC ? cmac(key, keylen, msg, msglen, out)
	                          : digest(ctx, alg, key, keylen, msg, msglen, out);
	if (n != mac_digest_len(alg)) {
		secret_wipe(out, MAC_MAX_DIGEST);
		return 0;
	}
	return n;
}
