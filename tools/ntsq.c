/* ntsq: query an NTP server's state over mode 6 (RFC 9327), like ntpq,
 * with one-line status and a wait-until-synchronized command. Works with
 * ntsd and with ntpd/NTPsec. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/ntsq.h"
#include "protocol/mode6.h"
#include "tools/jsonout.h"

#define MAX_PEERS 256

struct opts {
	struct ntsq_target t;
	bool json, nts;
	double wait_timeout;
};

struct assoc {
	uint16_t id, status;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: ntsq [options] [-p | -c COMMAND | status | wait] [host[:port]]\n"
	        "  -p                 peers table (like ntpq -p)\n"
	        "  -c rv [ASSOC] [VAR,...]  read system (0) or association variables\n"
	        "  -c as              associations and their status words\n"
	        "  -c peers           same as -p\n"
	        "  status             one line: synchronized or not, to what, why not\n"
	        "  wait [--timeout S] wait until synchronized (exit 0), else exit 1 (default 60 s)\n"
	        "  --nts              NTS columns in the peers table (auth, cookies, last KE)\n"
	        "  --json             machine-readable output\n"
	        "  -n                 addresses rather than configured names\n"
	        "  -P PORT            server port (default 123); host:port also works\n"
	        "  -t S               seconds per request (default 2, one retry)\n"
	        "  -4, -6             IPv4 or IPv6 only\n"
	        "  -k FILE -a ID      authenticate requests with key ID from FILE (controlkey)\n");
}

/* A value as JSON: numbers stay numbers, the rest are strings. */
static void json_value(const struct ntsq_var *v)
{
	char *end;
	if (!v->quoted && v->value[0]) {
		errno = 0;
		double d = strtod(v->value, &end);
		bool hex = v->value[0] == '0' && (v->value[1] == 'x' || v->value[1] == 'X');
		if (!*end && !errno && isfinite(d) && !hex) {
			fputs(v->value, stdout);
			return;
		}
	}
	json_str(v->value);
}

static int fail_query(struct ntsq_session *s, enum ntsq_result r, const struct ntsq_answer *a,
                      const char *what)
{
	if (r == NTSQ_TIMEOUT)
		fprintf(stderr, "ntsq: %s: no answer to %s (timeout; is mode 6 allowed, no 'noquery'?)\n",
		        ntsq_peername(s), what);
	else if (r == NTSQ_SERVER_ERROR)
		fprintf(stderr, "ntsq: %s: %s: server error %u (%s)\n", ntsq_peername(s), what, a->errcode,
		        mode6_errtext(a->errcode));
	else
		fprintf(stderr, "ntsq: %s: %s: %s\n", ntsq_peername(s), what,
		        errno ? strerror(errno) : "bad or unauthenticated response");
	return 2;
}

static enum ntsq_result read_assocs(struct ntsq_session *s, struct assoc *as, size_t *n,
                                    uint16_t *sys_status, struct ntsq_answer *a)
{
	enum ntsq_result r = ntsq_query(s, MODE6_OP_READSTAT, 0, "", 0, a);
	*n = 0;
	if (r != NTSQ_OK)
		return r;
	for (size_t i = 0; i + 4 <= a->len && *n < MAX_PEERS; i += 4) {
		as[*n].id = (uint16_t)(a->data[i] << 8 | a->data[i + 1]);
		as[*n].status = (uint16_t)(a->data[i + 2] << 8 | a->data[i + 3]);
		(*n)++;
	}
	if (sys_status)
		*sys_status = a->status;
	return NTSQ_OK;
}

static enum ntsq_result read_vars(struct ntsq_session *s, uint16_t assoc, const char *list,
                                  struct ntsq_vars *v, struct ntsq_answer *a)
{
	enum ntsq_result r = ntsq_query(s, MODE6_OP_READVAR, assoc, list, strlen(list), a);
	if (r == NTSQ_OK)
		ntsq_parse_vars(a->data, a->len, v);
	return r;
}

static const char *const conditions[] = { "reject", "falsetick", "excess", "outlier",
	                                  "candidate", "backup", "sys.peer", "pps.peer" };
static const char *const peer_events[] = { "", "mobilize", "demobilize", "unreachable",
	                                   "reachable", "restart", "no_reply", "rate_exceeded",
	                                   "access_denied", "leap_armed", "sys_peer", "clock_event",
	                                   "bad_auth", "popcorn", "interleave_mode", "interleave_error" };
static const char *const leap_names[] = { "leap_none", "leap_add_sec", "leap_del_sec", "leap_alarm" };
static const char *const sources[] = { "sync_unspec", "sync_pps", "sync_lf_radio", "sync_hf_radio",
	                               "sync_uhf_radio", "sync_local", "sync_ntp", "sync_other",
	                               "sync_wristwatch", "sync_telephone" };

/* ---- rv ---- */

static int cmd_rv(struct ntsq_session *s, const struct opts *o, uint16_t assoc, const char *list)
{
	struct ntsq_answer a;
	struct ntsq_vars v;
	enum ntsq_result r = read_vars(s, assoc, list, &v, &a);

	if (r != NTSQ_OK)
		return fail_query(s, r, &a, "readvar");
	if (o->json) {
		printf("{\"associd\": %u, \"status\": \"%04x\", \"variables\": {", assoc, a.status);
		for (size_t i = 0; i < v.n; i++) {
			printf("%s", i ? ", " : "");
			json_str(v.v[i].name);
			printf(": ");
			json_value(&v.v[i]);
		}
		printf("}}\n");
		return 0;
	}
	if (assoc == 0) {
		unsigned src = (a.status >> 8) & 0x3f;
		unsigned cnt = (a.status >> 4) & 0xf;
		printf("associd=0 status=%04x %s, %s, %u event%s,\n", a.status, leap_names[a.status >> 14],
		       src < 10 ? sources[src] : "sync_other", cnt, cnt == 1 ? "" : "s");
	} else {
		printf("associd=%u status=%04x %s,\n", assoc, a.status, conditions[(a.status >> 8) & 7]);
	}
	size_t col = 0;
	for (size_t i = 0; i < v.n; i++) {
		char item[300];
		snprintf(item, sizeof(item), v.v[i].quoted ? "%s=\"%s\"" : "%s=%s", v.v[i].name, v.v[i].value);
		size_t len = strlen(item);
		if (col && col + len + 2 > 72) {
			printf(",\n");
			col = 0;
		} else if (col) {
			printf(", ");
			col += 2;
		}
		printf("%s", item);
		col += len;
	}
	printf("\n");
	return 0;
}

/* ---- as ---- */

static int cmd_as(struct ntsq_session *s, const struct opts *o)
{
	struct assoc as[MAX_PEERS];
	struct ntsq_answer a;
	size_t n;
	enum ntsq_result r = read_assocs(s, as, &n, NULL, &a);

	if (r != NTSQ_OK)
		return fail_query(s, r, &a, "readstat");
	if (o->json) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s{\"associd\": %u, \"status\": \"%04x\", \"condition\": \"%s\", "
			       "\"tally\": \"%c\", \"reach\": %s}",
			       i ? ", " : "", as[i].id, as[i].status, conditions[(as[i].status >> 8) & 7],
			       mode6_tally(as[i].status), ((as[i].status >> 8) & MODE6_PST_REACH) ? "true" : "false");
		printf("]\n");
		return 0;
	}
	if (n == 0) {
		printf("No association IDs returned\n");
		return 0;
	}
	printf("\nind assid status  conf reach auth condition  last_event cnt\n");
	printf("===========================================================\n");
	for (size_t i = 0; i < n; i++) {
		uint16_t st = as[i].status;
		uint8_t bits = (uint8_t)(st >> 8);
		const char *auth = !(bits & MODE6_PST_AUTHENABLE) ? "none"
		                   : (bits & MODE6_PST_AUTHENTIC)  ? "ok"
		                                                   : "bad";
		printf("%3zu %5u  %04x   %3.3s  %4s  %4.4s %9.9s %11s %2u\n", i + 1, as[i].id, st,
		       (bits & MODE6_PST_CONFIG) ? "yes" : "no", (bits & MODE6_PST_REACH) ? "yes" : "no", auth,
		       conditions[(st >> 8) & 7], peer_events[st & 0xf], (st >> 4) & 0xf);
	}
	return 0;
}

/* ---- peers ---- */

static const char *peer_type(const struct ntsq_vars *v)
{
	const char *src = ntsq_var(v, "srcadr");
	int hmode = (int)ntsq_var_num(v, "hmode", 0);

	if (src && !strncmp(src, "127.127.", 8))
		return "l";
	switch (hmode) {
	case 1:
	case 2: return "s";
	case 3: {
		const char *ref = ntsq_var(v, "refid");
		return ref && !strcmp(ref, "POOL") ? "p" : "u";
	}
	case 5: return "B";
	case 6: return "b";
	default: return "?";
	}
}

/* ntpq's compact durations: 59, 12m, 5h, 3d. */
static void fmt_age(double s, char *out, size_t len)
{
	if (s < 0 || !isfinite(s))
		snprintf(out, len, "-");
	else if (s < 2048)
		snprintf(out, len, "%d", (int)s);
	else if (s < 2048 * 60)
		snprintf(out, len, "%dm", (int)(s / 60));
	else if (s < 96 * 3600)
		snprintf(out, len, "%dh", (int)(s / 3600));
	else
		snprintf(out, len, "%dd", (int)(s / 86400));
}

static void fmt_poll(int p, char *out, size_t len)
{
	if (p < 0 || p > 17)
		snprintf(out, len, "-");
	else
		fmt_age((double)(1 << p), out, len);
}

struct peer_row {
	uint16_t id, status;
	struct ntsq_vars v;
};

static bool numeric; /* -n: addresses, not configured names */

static void peer_remote(const struct ntsq_vars *v, char *out, size_t len)
{
	const char *host = numeric ? NULL : ntsq_var(v, "srchost");
	const char *adr = ntsq_var(v, "srcadr");
	snprintf(out, len, "%s", host && *host ? host : adr ? adr : "?");
}

static void print_peer_json(const struct peer_row *p, double now, bool first)
{
	char remote[64];
	const struct ntsq_vars *v = &p->v;
	double last = ntsq_var_time(v, "rec");

	if (last == 0)
		last = ntsq_var_time(v, "reftime");
	peer_remote(v, remote, sizeof(remote));
	printf("%s{\"associd\": %u, \"status\": \"%04x\", \"tally\": \"%c\", \"remote\": ", first ? "" : ", ",
	       p->id, p->status, mode6_tally(p->status));
	json_str(remote);
	printf(", \"refid\": ");
	json_str(ntsq_var(v, "refid") ? ntsq_var(v, "refid") : "");
	printf(", \"stratum\": %d, \"type\": \"%s\", \"when\": %.0f, \"poll\": %d, \"reach\": %d, "
	       "\"delay\": %.6f, \"offset\": %.6f, \"jitter\": %.6f",
	       (int)ntsq_var_num(v, "stratum", 16), peer_type(v), last ? now - last : -1.0,
	       1 << (int)fmin(fmax(fmin(ntsq_var_num(v, "ppoll", 6), ntsq_var_num(v, "hpoll", 6)), 0), 17),
	       (int)ntsq_var_num(v, "reach", 0), ntsq_var_num(v, "delay", 0), ntsq_var_num(v, "offset", 0),
	       ntsq_var_num(v, "jitter", 0));
	const char *auth = ntsq_var(v, "authkind");
	if (auth) {
		printf(", \"auth\": ");
		json_str(auth);
	}
	double cookies = ntsq_var_num(v, "ntscookies", -1);
	if (cookies >= 0)
		printf(", \"nts_cookies\": %d", (int)cookies);
	double ke = ntsq_var_time(v, "lastke");
	if (ntsq_var(v, "lastke"))
		printf(", \"nts_last_ke_ago\": %.0f", ke ? now - ke : -1.0);
	printf("}");
}

static int cmd_peers(struct ntsq_session *s, const struct opts *o)
{
	static struct peer_row rows[MAX_PEERS];
	struct assoc as[MAX_PEERS];
	struct ntsq_answer a;
	size_t n;
	enum ntsq_result r = read_assocs(s, as, &n, NULL, &a);
	struct timespec ts;
	double now;
	bool nts = o->nts;

	/* to the nanosecond: "when" and "lastKE" are truncated ages */
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;

	if (r != NTSQ_OK)
		return fail_query(s, r, &a, "readstat");
	for (size_t i = 0; i < n; i++) {
		rows[i].id = as[i].id;
		rows[i].status = as[i].status;
		r = read_vars(s, as[i].id, "", &rows[i].v, &a);
		if (r != NTSQ_OK)
			return fail_query(s, r, &a, "readvar");
		if (a.status)
			rows[i].status = a.status;
		const char *auth = ntsq_var(&rows[i].v, "authkind");
		nts = nts || (auth && !strcmp(auth, "nts"));
	}
	if (o->json) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			print_peer_json(&rows[i], now, i == 0);
		printf("]\n");
		return 0;
	}
	if (n == 0) {
		printf("No association IDs returned\n");
		return 0;
	}
	printf("     remote           refid      st t when poll reach   delay   offset  jitter%s\n",
	       nts ? "  auth    cookies lastKE" : "");
	printf("==============================================================================%s\n",
	       nts ? "========================" : "");
	for (size_t i = 0; i < n; i++) {
		const struct ntsq_vars *v = &rows[i].v;
		char remote[64], when[16], poll[16], ke[16];
		const char *ref = ntsq_var(v, "refid");
		double last = ntsq_var_time(v, "rec");
		if (last == 0)
			last = ntsq_var_time(v, "reftime");
		peer_remote(v, remote, sizeof(remote));
		fmt_age(last ? now - last : -1, when, sizeof(when));
		int pp = (int)ntsq_var_num(v, "ppoll", 6), hp = (int)ntsq_var_num(v, "hpoll", 6);
		fmt_poll(pp < hp ? pp : hp, poll, sizeof(poll));
		/* Codes (stratum 0/1, kiss codes) in dots, as ntpq shows them. */
		int st = (int)ntsq_var_num(v, "stratum", 16);
		char refid[24];
		bool code = st <= 1 || st >= 16 || !strcmp(peer_type(v), "l");
		snprintf(refid, sizeof(refid), code && ref && *ref ? ".%s." : "%s", ref ? ref : "");
		printf("%c%-15.15s %-15.15s %2d %s %4s %4s  %3o %7.3f %8.3f %7.3f",
		       mode6_tally(rows[i].status), remote, refid, st,
		       peer_type(v), when, poll, (unsigned)ntsq_var_num(v, "reach", 0) & 0xff,
		       ntsq_var_num(v, "delay", 0), ntsq_var_num(v, "offset", 0), ntsq_var_num(v, "jitter", 0));
		if (nts) {
			const char *auth = ntsq_var(v, "authkind");
			double c = ntsq_var_num(v, "ntscookies", -1), t = ntsq_var_time(v, "lastke");
			fmt_age(t ? now - t : -1, ke, sizeof(ke));
			char cookies[16] = "-";
			if (c >= 0)
				snprintf(cookies, sizeof(cookies), "%d", (int)c);
			printf("  %-7.7s %7s %6s", auth ? auth : "-", cookies, auth && !strcmp(auth, "nts") ? ke : "-");
		}
		printf("\n");
	}
	return 0;
}

/* ---- status and wait ---- */

struct sync_state {
	bool answered, synced;
	int leap, stratum;
	char refid[64], line[400];
};

/* One line about the server's synchronization, and why not. */
static enum ntsq_result sync_state(struct ntsq_session *s, struct sync_state *st,
                                   struct ntsq_answer *a)
{
	struct ntsq_vars v;
	enum ntsq_result r = read_vars(s, 0, "", &v, a);

	memset(st, 0, sizeof(*st));
	if (r != NTSQ_OK)
		return r;
	st->answered = true;
	st->leap = (int)ntsq_var_num(&v, "leap", 3);
	st->stratum = (int)ntsq_var_num(&v, "stratum", 16);
	snprintf(st->refid, sizeof(st->refid), "%s", ntsq_var(&v, "refid") ? ntsq_var(&v, "refid") : "?");
	st->synced = st->leap != 3 && st->stratum > 0 && st->stratum < 16;
	if (st->synced) {
		int peer = (int)ntsq_var_num(&v, "peer", 0);
		char to[160];
		snprintf(to, sizeof(to), "%s", st->refid);
		if (peer > 0) {
			struct ntsq_vars pv;
			if (read_vars(s, (uint16_t)peer, "", &pv, a) == NTSQ_OK) {
				char remote[64];
				peer_remote(&pv, remote, sizeof(remote));
				snprintf(to, sizeof(to), "%s (refid %s)", remote, st->refid);
			}
		} else if (!strcmp(st->refid, "LOCL")) {
			snprintf(to, sizeof(to), "the local clock (LOCL)");
		}
		snprintf(st->line, sizeof(st->line), "synchronized to %s at stratum %d", to, st->stratum);
		return NTSQ_OK;
	}

	struct assoc as[MAX_PEERS];
	size_t n = 0, reach = 0, cand = 0;
	if (read_assocs(s, as, &n, NULL, a) != NTSQ_OK)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		reach += ((as[i].status >> 8) & MODE6_PST_REACH) != 0;
		cand += ((as[i].status >> 8) & 7) >= 4;
	}
	char why[200];
	if (n == 0)
		snprintf(why, sizeof(why), "no sources (the server reports no associations)");
	else if (reach == 0)
		snprintf(why, sizeof(why), "no source reachable yet (reach 0 on all %zu source%s)", n,
		         n == 1 ? "" : "s");
	else if (cand == 0)
		snprintf(why, sizeof(why), "%zu of %zu sources reachable, none selectable (falsetickers or too few)",
		         reach, n);
	else
		snprintf(why, sizeof(why), "%zu of %zu sources reachable, %zu candidate%s, clock not yet set",
		         reach, n, cand, cand == 1 ? "" : "s");
	snprintf(st->line, sizeof(st->line), "not synchronized: %s; leap %d, stratum %d, refid %s", why,
	         st->leap, st->stratum, st->refid);
	return NTSQ_OK;
}

static void print_state_json(const struct sync_state *st, const char *server)
{
	printf("{\"server\": ");
	json_str(server);
	printf(", \"answered\": %s, \"synchronized\": %s", st->answered ? "true" : "false",
	       st->synced ? "true" : "false");
	if (st->answered) {
		printf(", \"leap\": %d, \"stratum\": %d, \"refid\": ", st->leap, st->stratum);
		json_str(st->refid);
	}
	printf(", \"message\": ");
	json_str(st->line);
	printf("}\n");
}

static int cmd_status(struct ntsq_session *s, const struct opts *o)
{
	struct sync_state st;
	struct ntsq_answer a;
	enum ntsq_result r = sync_state(s, &st, &a);

	if (r != NTSQ_OK)
		return fail_query(s, r, &a, "readvar");
	if (o->json)
		print_state_json(&st, ntsq_peername(s));
	else
		printf("%s: %s\n", ntsq_peername(s), st.line);
	return st.synced ? 0 : 1;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Like ntpwait: poll once a second until leap != 3 and stratum < 16. */
static int cmd_wait(struct ntsq_session *s, const struct opts *o)
{
	struct sync_state st, last = { .answered = false };
	struct ntsq_answer a;
	double start = mono(), deadline = start + o->wait_timeout;
	enum ntsq_result r = NTSQ_TIMEOUT;

	for (;;) {
		r = sync_state(s, &st, &a);
		if (r == NTSQ_OK) {
			last = st;
			if (st.synced) {
				if (o->json)
					print_state_json(&st, ntsq_peername(s));
				else
					printf("%s: %s (after %.0f s)\n", ntsq_peername(s), st.line, mono() - start);
				return 0;
			}
		}
		if (mono() + 1 > deadline)
			break;
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
	}
	if (!last.answered) {
		snprintf(last.line, sizeof(last.line), "%s",
		         r == NTSQ_SERVER_ERROR ? mode6_errtext(a.errcode) : "no answer to mode 6 requests");
	}
	if (o->json)
		print_state_json(&last, ntsq_peername(s));
	fprintf(stderr, "ntsq: %s: still not synchronized after %.0f s; last seen: %s\n", ntsq_peername(s),
	        o->wait_timeout, last.line);
	return 1;
}

/* ---- arguments ---- */

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (!*s || *end || errno || !(d >= lo && d <= hi))
		return false;
	*out = d;
	return true;
}

enum cmd { CMD_NONE, CMD_PEERS, CMD_RV, CMD_AS, CMD_STATUS, CMD_WAIT };

/* -c text: "rv [assoc] [vars]", "as", "peers". */
static enum cmd parse_c(const char *c, uint16_t *assoc, char *list, size_t listlen)
{
	char word[32];
	int used = 0;

	list[0] = '\0';
	if (sscanf(c, " %31s%n", word, &used) != 1)
		return CMD_NONE;
	const char *rest = c + used;
	if (!strcmp(word, "as") || !strcmp(word, "associations"))
		return CMD_AS;
	if (!strcmp(word, "peers") || !strcmp(word, "pe"))
		return CMD_PEERS;
	if (strcmp(word, "rv") && strcmp(word, "readvar"))
		return CMD_NONE;
	while (*rest == ' ')
		rest++;
	*assoc = 0;
	if (*rest >= '0' && *rest <= '9') {
		char *end;
		unsigned long a = strtoul(rest, &end, 10);
		if (a > 65535 || (*end && *end != ' '))
			return CMD_NONE;
		*assoc = (uint16_t)a;
		rest = end;
	}
	while (*rest == ' ')
		rest++;
	/* "a b,c" → "a,b,c" */
	size_t n = 0;
	for (; *rest && n + 1 < listlen; rest++)
		list[n++] = *rest == ' ' ? ',' : *rest;
	list[n] = '\0';
	return CMD_RV;
}

int main(int argc, char **argv)
{
	struct opts o = { .t = { .host = "127.0.0.1", .timeout = 2 }, .wait_timeout = 60 };
	enum cmd cmd = CMD_NONE;
	uint16_t assoc = 0;
	char list[480] = "";
	double d;
	char err[512];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-p") || !strcmp(a, "-pn") || !strcmp(a, "-np")) {
			cmd = CMD_PEERS;
			numeric = numeric || strcmp(a, "-p") != 0;
		} else if (!strcmp(a, "-c") && next) {
			cmd = parse_c(next, &assoc, list, sizeof(list));
			if (cmd == CMD_NONE) {
				fprintf(stderr, "ntsq: -c '%s': unknown command; known: rv [ASSOC] [VARS], as, peers\n", next);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "status")) {
			cmd = CMD_STATUS;
		} else if (!strcmp(a, "wait")) {
			cmd = CMD_WAIT;
		} else if (!strcmp(a, "--timeout") && next) {
			if (!parse_num(next, 0, 86400, &o.wait_timeout)) {
				fprintf(stderr, "ntsq: --timeout '%s': want seconds, 0 to 86400\n", next);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "-t") && next) {
			if (!parse_num(next, 0.05, 60, &o.t.timeout)) {
				fprintf(stderr, "ntsq: -t '%s': want seconds, 0.05 to 60\n", next);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "-P") && next) {
			if (!parse_num(next, 1, 65535, &d) || d != floor(d)) {
				fprintf(stderr, "ntsq: -P '%s': want a port, 1 to 65535\n", next);
				return 2;
			}
			o.t.port = (uint16_t)d;
			i++;
		} else if (!strcmp(a, "-k") && next) {
			o.t.keyfile = next;
			i++;
		} else if (!strcmp(a, "-a") && next) {
			if (!parse_num(next, 1, 65535, &d) || d != floor(d)) {
				fprintf(stderr, "ntsq: -a '%s': want a key id, 1 to 65535\n", next);
				return 2;
			}
			o.t.keyid = (uint32_t)d;
			i++;
		} else if (!strcmp(a, "-4")) {
			o.t.family = AF_INET;
		} else if (!strcmp(a, "-6")) {
			o.t.family = AF_INET6;
		} else if (!strcmp(a, "-n")) {
			numeric = true;
		} else if (!strcmp(a, "--json")) {
			o.json = true;
		} else if (!strcmp(a, "--nts")) {
			o.nts = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-') {
			fprintf(stderr, "ntsq: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return 2;
		} else {
			o.t.host = a;
		}
	}
	if (cmd == CMD_NONE) {
		usage(stderr);
		return 2;
	}
	if ((o.t.keyid != 0) != (o.t.keyfile != NULL)) {
		fprintf(stderr, "ntsq: -k FILE and -a ID go together\n");
		return 2;
	}
	struct ntsq_session *s = ntsq_open(&o.t, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "ntsq: %s\n", err);
		return 2;
	}
	int rc = 2;
	switch (cmd) {
	case CMD_PEERS: rc = cmd_peers(s, &o); break;
	case CMD_RV: rc = cmd_rv(s, &o, assoc, list); break;
	case CMD_AS: rc = cmd_as(s, &o); break;
	case CMD_STATUS: rc = cmd_status(s, &o); break;
	case CMD_WAIT: rc = cmd_wait(s, &o); break;
	case CMD_NONE: break;
	}
	ntsq_close(s);
	return rc;
}
