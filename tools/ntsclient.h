/* ntsclient: one-shot authenticated time query (and optional clock set),
 * like ntpdate/ntpdig. ntsclient.c: options, selection, output, clock;
 * ntsclient_query.c: one server (NTS-KE, NTP samples). */
#ifndef NTSD_TOOLS_NTSCLIENT_H
#define NTSD_TOOLS_NTSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keyfile.h"
#include "protocol/ntp_client.h"

/* Exit statuses, one per reason class (documented in --help, README). */
enum {
	NTSC_EXIT_OK = 0,
	NTSC_EXIT_USAGE = 1,       /* bad option, key file, lock busy */
	NTSC_EXIT_UNREACHABLE = 2, /* name lookup, connection, no answer */
	NTSC_EXIT_TLS_VERIFY = 3,  /* certificate verification failed */
	NTSC_EXIT_KE = 4,          /* NTS-KE error record, bad response, TLS failure */
	NTSC_EXIT_KOD = 5,         /* kiss-o'-death */
	NTSC_EXIT_AUTH = 6,        /* authentication failed */
	NTSC_EXIT_UNSYNC = 7,      /* server unsynchronized */
	NTSC_EXIT_DISPERSION = 8,  /* too large a dispersion / no majority */
	NTSC_EXIT_CLOCK = 9,       /* setting the clock failed */
};

#define NTSC_MAX_SAMPLES 8 /* the most -p accepts */

struct ntsc_opts {
	int samples;
	double timeout; /* s, per exchange */
	int family;
	bool nts, skip_time_check, debug, json, quiet;
	const char *ca_file;
	uint16_t ke_port;
	const struct symkey *key;
};

struct ntsc_server {
	const char *arg;      /* as given */
	char host[256];       /* without port or brackets */
	uint16_t port;        /* 0: default */
	char addr[80];        /* address actually queried, host:port */
	/* outcome */
	int exit_code;        /* NTSC_EXIT_* */
	char reason[512];     /* one line for a failure */
	const char *auth;     /* "nts", "key", "none" */
	uint16_t aead;
	size_t cookies;       /* NTS cookies held at the end */
	int good;             /* samples that passed */
	struct ntp_sample best; /* minimum-delay sample, offset from all samples */
	double rootdist;
	bool truechimer;
};

/* Queries one server: fills s (exit_code 0 and best on success). */
void ntsc_query(const struct ntsc_opts *o, struct ntsc_server *s);

/* Trace line on stderr when -d. */
void ntsc_trace(const struct ntsc_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
