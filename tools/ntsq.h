/* ntsq: a mode 6 (RFC 9327) client. ntsq_proto.c holds the session (one
 * UDP socket, requests, fragment reassembly, controlkey MACs) and the
 * parsing of "name=value" answers; ntsq.c the commands and output. */
#ifndef NTSD_TOOLS_NTSQ_H
#define NTSD_TOOLS_NTSQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NTSQ_MAX_RESPONSE 8192 /* reassembled data, octets */
#define NTSQ_MAX_VARS 128

struct ntsq_session;

struct ntsq_target {
	const char *host;  /* name, address, host:port or [v6]:port */
	uint16_t port;     /* 0: from host or 123 */
	int family;        /* AF_UNSPEC, AF_INET, AF_INET6 */
	double timeout;    /* s per request (one retry) */
	const char *keyfile;
	uint32_t keyid;    /* 0: unauthenticated */
};

/* Resolves and connects. On failure returns NULL with a message in err. */
struct ntsq_session *ntsq_open(const struct ntsq_target *t, char *err, size_t errlen);
void ntsq_close(struct ntsq_session *s);
/* "host:port" as resolved, for messages. */
const char *ntsq_peername(const struct ntsq_session *s);

enum ntsq_result {
	NTSQ_OK,
	NTSQ_TIMEOUT,      /* no (complete) answer, after one retry */
	NTSQ_SERVER_ERROR, /* the server answered with the error bit */
	NTSQ_IO,           /* socket or MAC failure */
};

struct ntsq_answer {
	uint8_t data[NTSQ_MAX_RESPONSE];
	size_t len;
	uint16_t status;    /* of the last fragment */
	uint8_t errcode;    /* NTSQ_SERVER_ERROR */
	unsigned fragments;
};

/* Sends opcode on associd with the request data (dlen bytes, may be 0)
 * and collects the answer. */
enum ntsq_result ntsq_query(struct ntsq_session *s, uint8_t opcode, uint16_t associd,
                            const char *data, size_t dlen, struct ntsq_answer *a);

struct ntsq_var {
	char name[48];
	char value[208]; /* without the quotes of a quoted string */
	bool quoted;
};
struct ntsq_vars {
	size_t n;
	struct ntsq_var v[NTSQ_MAX_VARS];
};

/* Splits a READVAR answer ("a=1, b=\"x, y\",\r\nc=2"). */
void ntsq_parse_vars(const uint8_t *data, size_t len, struct ntsq_vars *out);
/* The value of name, or NULL. */
const char *ntsq_var(const struct ntsq_vars *v, const char *name);
/* name as a number (decimal, 0x hex, float); def when absent or bad. */
double ntsq_var_num(const struct ntsq_vars *v, const char *name, double def);
/* An l_fp "0xSSSSSSSS.FFFFFFFF" as Unix seconds; 0 when absent or 0. */
double ntsq_var_time(const struct ntsq_vars *v, const char *name);

#endif
