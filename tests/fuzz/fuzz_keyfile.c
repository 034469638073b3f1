/* libFuzzer harness for the ntpd key file parser. Not built by meson:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I<builddir> -I. \
 *     tests/fuzz/fuzz_keyfile.c crypto/keyfile.c crypto/secret.c \
 *     crypto/mac_openssl.c crypto/cmac_openssl.c -lsodium -lcrypto -o fuzz_keyfile
 * Besides memory safety it checks the API's promises: a result comes
 * back exactly when no error was reported, keys are sorted by id and
 * within the length rules, and every key is found by keyfile_get.
 * Crashing inputs become cases in tests/unit/crypto/test_keyfile.c. */
#include "crypto/keyfile.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/mac.h"
#include "crypto/secret.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!secret_init())
		abort();
	return 0;
}

static void check(const struct keyfile *kf)
{
	for (size_t i = 0; i < keyfile_count(kf); i++) {
		const struct symkey *k = keyfile_at(kf, i);
		if (!k || k->id < 1 || k->id > 65535 || k->len < 1 || k->len > MAC_MAX_KEY ||
		    mac_digest_len(k->alg) == 0 ||
		    (mac_key_len(k->alg) && k->len != mac_key_len(k->alg)))
			abort();
		if (i && keyfile_at(kf, i - 1)->id >= k->id)
			abort();
		if (keyfile_get(kf, k->id) != k)
			abort();
		/* Touch every key byte so ASan sees the whole range. */
		volatile uint8_t x = 0;
		for (size_t j = 0; j < k->len; j++)
			x ^= k->key[j];
		(void)x;
	}
	if (keyfile_at(kf, keyfile_count(kf)) != NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyfile_errors e;
	/* An exact-size copy so reads past size are caught. */
	char *text = malloc(size ? size : 1);
	struct keyfile *kf;

	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	kf = keyfile_parse(text, size, &e);
	if ((kf != NULL) != (e.n == 0))
		abort();
	for (size_t i = 0; i < e.n && i < sizeof(e.v) / sizeof(e.v[0]); i++)
		if (strnlen(e.v[i].msg, sizeof(e.v[i].msg)) == sizeof(e.v[i].msg) || !e.v[i].msg[0])
			abort();
	if (kf)
		check(kf);
	keyfile_free(kf);
	free(text);
	return 0;
}
