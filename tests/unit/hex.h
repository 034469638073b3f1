/* Hex decoding for test data. */
#ifndef NTSD_TESTS_HEX_H
#define NTSD_TESTS_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decodes hex into out (at most max bytes); returns the length. */
static inline size_t hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;
	for (; hex[0] && hex[1] && n < max; hex += 2) {
		unsigned v;
		if (sscanf(hex, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
	}
	return n;
}

#endif
