/* libFuzzer harness for the ntp.conf parser (STYLE §9: one per parser).
 * Not built by meson. Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I<builddir> \
 *     conf/conf.c conf/conf_directives.c tests/fuzz/fuzz_conf.c -o fuzz_conf
 *   ./fuzz_conf -max_total_time=60 -max_len=4096
 * includefile lines may open files named by the input; run it in an empty
 * directory. Every crash becomes a case in tests/unit/conf/test_conf.c. */
#include "conf/conf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct conf c;
	struct conf_diags d = {0};
	char out[CONF_PATH_MAX + CONF_DIAG_MAX + 64];
	size_t i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* conf_parse_string stops at the first NUL */
	conf_init(&c);
	conf_parse_string("fuzz.conf", text, &c, &d);
	for (i = 0; i < d.n; i++)
		conf_diag_format(&d.v[i], out, sizeof out);
	(void)conf_key_trusted(&c, (uint32_t)size);
	conf_free(&c);
	conf_diags_free(&d);
	free(text);
	return 0;
}
