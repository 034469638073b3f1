/* libFuzzer harness for the NTS-KE record parsers (keyexchange/ke_record.c).
 * Not built by meson:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I<builddir> -I. \
 *     tests/fuzz/fuzz_ke_record.c keyexchange/ke_record.c -o fuzz_ke_record
 * Both parsers see every input. Besides memory safety it checks the API's
 * promises: one of the three results; OK consumes the whole input; an error
 * has a code we may send and a text; the kept lists and cookies stay within
 * their limits and inside the input; a parsed request re-built by
 * ke_request_build parses again to the same values. Crashing inputs become
 * cases in tests/unit/keyexchange/test_ke_record.c. */
#include "keyexchange/ke_record.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const uint8_t *msg, size_t size)
{
	struct ke_request rq, again;
	uint8_t out[KE_MAX_MESSAGE];
	size_t n;

	switch (ke_request_parse(msg, size, &rq)) {
	case KE_PARSE_INCOMPLETE:
		return;
	case KE_PARSE_ERROR:
		if (rq.error > KE_ERR_BAD_REQUEST || !rq.error_detail[0] ||
		    strnlen(rq.error_detail, KE_DETAIL_LEN) == KE_DETAIL_LEN)
			abort();
		return;
	case KE_PARSE_OK:
		break;
	default:
		abort();
	}
	if (rq.consumed != size || rq.n_aeads > KE_MAX_AEADS || rq.n_protos > KE_MAX_PROTOS ||
	    strnlen(rq.server, sizeof(rq.server)) > KE_MAX_HOST)
		abort();
	/* Round trip the parts ke_request_build can express. */
	bool ntpv4 = false;
	for (size_t i = 0; i < rq.n_protos; i++)
		ntpv4 = ntpv4 || rq.protos[i] == KE_PROTO_NTPV4;
	if (!ntpv4 || rq.n_aeads == 0)
		return;
	n = ke_request_build(out, sizeof(out), rq.aeads, rq.n_aeads, rq.has_server ? rq.server : NULL,
	                     rq.has_port ? rq.port : -1);
	if (n == 0 || ke_request_parse(out, n, &again) != KE_PARSE_OK || again.n_aeads != rq.n_aeads ||
	    memcmp(again.aeads, rq.aeads, rq.n_aeads * sizeof(rq.aeads[0])) ||
	    again.has_server != rq.has_server || strcmp(again.server, rq.server) ||
	    again.has_port != rq.has_port || again.port != rq.port)
		abort();
}

static void check_response(const uint8_t *msg, size_t size)
{
	struct ke_response_parsed r;

	switch (ke_response_parse(msg, size, &r)) {
	case KE_PARSE_INCOMPLETE:
		return;
	case KE_PARSE_ERROR:
		if (!r.error_detail[0] || strnlen(r.error_detail, KE_DETAIL_LEN) == KE_DETAIL_LEN)
			abort();
		return;
	case KE_PARSE_OK:
		break;
	default:
		abort();
	}
	if (r.consumed != size || r.n_cookies > KE_MAX_COOKIES || r.n_protos > KE_MAX_PROTOS ||
	    strnlen(r.server, sizeof(r.server)) > KE_MAX_HOST || (r.has_aead && !r.has_aead_record))
		abort();
	for (size_t i = 0; i < r.n_cookies; i++) {
		if (r.cookie_len[i] == 0 || r.cookie_len[i] > KE_MAX_COOKIE_LEN || r.cookies[i] < msg ||
		    r.cookies[i] + r.cookie_len[i] > msg + size)
			abort();
		if (i && (r.cookie_len[i] != r.cookie_len[0]) && !r.cookies_unequal)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy so reads past size are caught. */
	uint8_t *msg = malloc(size ? size : 1);

	if (!msg)
		return 0;
	if (size)
		memcpy(msg, data, size);
	check_request(msg, size);
	check_response(msg, size);
	free(msg);
	return 0;
}
