/* ntsclient: one-shot NTP/NTS client in the style of ntpdate and ntpdig.
 * Queries each server, combines each one's samples (protocol/estimate.h),
 * selects by intersection (RFC 5905 §11.2.1, Marzullo) when several
 * answered, prints the result and optionally slews or steps the clock.
 * Never touches the clock unless -s, -S or -b is given. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "keyexchange/tls.h"
#include "protocol/clock.h"
#include "tools/ntsclient.h"
#include "tools/jsonout.h"

#define MAX_SERVERS 32
#define DEFAULT_LOCK "/run/ntsclient.lock"

enum { OPT_NTS = 256, OPT_CA, OPT_NOCERTTIME, OPT_JSON, OPT_KEPORT, OPT_LOCK };

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: ntsclient [options] server[:port]...\n"
	        "Queries each server, picks the best answer and prints offset, delay, stratum\n"
	        "and how it was authenticated. Does not touch the clock unless -s/-S/-b.\n"
	        "  -p N                 samples per server (default 4, 1..8)\n"
	        "  -s                   slew the clock by the offset (adjtime)\n"
	        "  -S, -b               step the clock by the offset (clock_settime)\n"
	        "  -k FILE -a ID        authenticate with symmetric key ID from an ntpd key file\n"
	        "                       (-a alone uses /etc/ntp.keys)\n"
	        "  --nts                authenticate with NTS (RFC 8915): NTS-KE, then NTP\n"
	        "  --ca FILE            trust the CA certificates in FILE (default: system store)\n"
	        "  --no-cert-time-check do not check certificate validity dates, for a clock\n"
	        "                       known to be wrong (first sync at boot; chrony's\n"
	        "                       nocerttimecheck). Everything else is still verified.\n"
	        "  --ke-port N          NTS-KE port (default 4460)\n"
	        "  --json               machine-readable output on stdout\n"
	        "  -d                   step-by-step trace on stderr (TLS, NTS-KE, NTP exchanges)\n"
	        "  -t S                 timeout per exchange in seconds (default 2)\n"
	        "  -4, -6               IPv4 or IPv6 only\n"
	        "  -q, --quiet          no output on success (for cron)\n"
	        "  --lock FILE          lock file taken with -s/-S/-b (default " DEFAULT_LOCK ")\n"
	        "  -h, --help           this text\n"
	        "server: NAME, IPv4, IPv4:PORT, IPV6 or [IPV6]:PORT (NTP port, default 123;\n"
	        "with --nts the NTP server and port come from NTS-KE unless :PORT is given).\n"
	        "exit status: 0 success; 1 usage, key file or lock error; 2 unreachable (name\n"
	        "lookup, connection refused, no answer); 3 TLS certificate verification failed;\n"
	        "4 NTS-KE failed (error record, bad response, TLS failure); 5 kiss-o'-death;\n"
	        "6 authentication failed; 7 server unsynchronized; 8 dispersion too large or\n"
	        "no majority among servers; 9 setting the clock failed. With several servers\n"
	        "the status is 0 if any gave good time, else the first server's failure.\n");
}

static bool parse_server(const char *arg, struct ntsc_server *s)
{
	const char *port = NULL;
	size_t hl;

	memset(s, 0, sizeof(*s));
	s->arg = arg;
	if (arg[0] == '[') {
		const char *e = strchr(arg, ']');
		if (!e || (e[1] && e[1] != ':'))
			return false;
		hl = (size_t)(e - arg - 1);
		memcpy(s->host, arg + 1, hl < sizeof(s->host) ? hl : 0);
		if (hl >= sizeof(s->host))
			return false;
		s->host[hl] = '\0';
		port = e[1] ? e + 2 : NULL;
	} else {
		const char *c = strchr(arg, ':');
		if (c && strchr(c + 1, ':'))
			c = NULL; /* bare IPv6 literal */
		hl = c ? (size_t)(c - arg) : strlen(arg);
		if (hl >= sizeof(s->host))
			return false;
		memcpy(s->host, arg, hl);
		s->host[hl] = '\0';
		port = c ? c + 1 : NULL;
	}
	if (!s->host[0])
		return false;
	if (port) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(port, &end, 10);
		if (!*port || *end || errno || v == 0 || v > 65535)
			return false;
		s->port = (uint16_t)v;
	}
	return true;
}

static bool parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* RFC 5905 §11.2.1 intersection: the largest interval agreed on by a
 * majority. Marks truechimers; returns how many there are (0: no majority). */
static int select_servers(struct ntsc_server *sv, int n)
{
	struct edge {
		double x;
		int type; /* -1 low, +1 high */
	} e[2 * MAX_SERVERS];
	int m = 0, k = 0;

	for (int i = 0; i < n; i++) {
		if (sv[i].exit_code != NTSC_EXIT_OK)
			continue;
		e[k++] = (struct edge){ sv[i].best.offset - sv[i].rootdist, -1 };
		e[k++] = (struct edge){ sv[i].best.offset + sv[i].rootdist, +1 };
		m++;
	}
	if (m == 0)
		return 0;
	for (int i = 1; i < k; i++) /* insertion sort, lows first on ties */
		for (int j = i; j > 0 && (e[j].x < e[j - 1].x ||
		                          (e[j].x == e[j - 1].x && e[j].type < e[j - 1].type));
		     j--) {
			struct edge t = e[j];
			e[j] = e[j - 1];
			e[j - 1] = t;
		}
	for (int f = 0; 2 * f < m; f++) {
		int c = 0;
		double lo = NAN, hi = NAN;
		for (int i = 0; i < k; i++) {
			c -= e[i].type;
			if (c >= m - f) {
				lo = e[i].x;
				break;
			}
		}
		c = 0;
		for (int i = k - 1; i >= 0; i--) {
			c += e[i].type;
			if (c >= m - f) {
				hi = e[i].x;
				break;
			}
		}
		if (!isnan(lo) && !isnan(hi) && lo <= hi) {
			int t = 0;
			for (int i = 0; i < n; i++) {
				struct ntsc_server *s = &sv[i];
				if (s->exit_code != NTSC_EXIT_OK)
					continue;
				s->truechimer = s->best.offset + s->rootdist >= lo &&
				                s->best.offset - s->rootdist <= hi;
				t += s->truechimer;
			}
			return t;
		}
	}
	return 0;
}

static const char *refid_str(const struct ntp_sample *x, char *buf, size_t n)
{
	uint32_t r = x->refid;
	bool ascii = true;
	for (int k = 0; k < 4; k++) {
		char ch = (char)(r >> (24 - 8 * k));
		ascii = ascii && ((ch >= 'A' && ch <= 'Z') || (ch == '\0' && k > 0));
	}
	/* Stratum 1 refids are ASCII (RFC 5905 §7.3); so is ntpd's "LOCL"
	 * at higher strata, which reads better than 76.79.67.76. */
	if (x->stratum <= 1 || ascii) {
		char c[5];
		for (int k = 0; k < 4; k++) {
			char ch = (char)(r >> (24 - 8 * k));
			c[k] = ch >= 32 && ch < 127 ? ch : '\0';
		}
		c[4] = '\0';
		snprintf(buf, n, "%s", c);
	} else {
		snprintf(buf, n, "%u.%u.%u.%u", r >> 24, (r >> 16) & 255, (r >> 8) & 255, r & 255);
	}
	return buf;
}

static const char *auth_str(const struct ntsc_opts *o, const struct ntsc_server *s, char *buf,
                            size_t n)
{
	if (o->nts)
		snprintf(buf, n, "nts");
	else if (o->key)
		snprintf(buf, n, "key %u", o->key->id);
	else
		snprintf(buf, n, "none");
	(void)s;
	return buf;
}

static const char *reason_class(int code)
{
	static const char *names[] = { "ok",   "usage",  "unreachable", "tls-verify", "nts-ke",
		                       "kod",  "auth",   "unsync",      "dispersion", "clock" };
	return code >= 0 && code <= NTSC_EXIT_CLOCK ? names[code] : "?";
}

static void print_json(const struct ntsc_opts *o, const struct ntsc_server *sv, int n,
                       const struct ntsc_server *best, const char *action, int status)
{
	char b[64];

	printf("{\"servers\":[");
	for (int i = 0; i < n; i++) {
		const struct ntsc_server *s = &sv[i];
		printf("%s{\"server\":", i ? "," : "");
		json_str(s->arg);
		printf(",\"address\":");
		json_str(s->addr);
		printf(",\"status\":\"%s\",\"exit\":%d", reason_class(s->exit_code), s->exit_code);
		printf(",\"auth\":");
		json_str(auth_str(o, s, b, sizeof(b)));
		if (o->nts && s->aead)
			printf(",\"aead\":%u,\"cookies\":%zu", s->aead, s->cookies);
		if (s->good > 0) {
			printf(",\"samples\":%d,\"offset\":%.9f,\"delay\":%.9f,\"dispersion\":%.9f,"
			       "\"root_distance\":%.9f,\"stratum\":%d,\"leap\":%d,\"refid\":",
			       s->good, s->best.offset, s->best.delay, s->best.dispersion, s->rootdist,
			       s->best.stratum, s->best.leap);
			json_str(refid_str(&s->best, b, sizeof(b)));
			printf(",\"truechimer\":%s", s->truechimer ? "true" : "false");
		}
		if (s->exit_code != NTSC_EXIT_OK) {
			printf(",\"error\":");
			json_str(s->reason);
		}
		putchar('}');
	}
	printf("]");
	if (best) {
		printf(",\"best\":");
		json_str(best->arg);
		printf(",\"offset\":%.9f,\"delay\":%.9f,\"stratum\":%d", best->best.offset,
		       best->best.delay, best->best.stratum);
	}
	printf(",\"action\":\"%s\",\"exit\":%d}\n", action, status);
}

static bool take_lock(const char *path, int *fdp)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "ntsclient: %s: cannot open lock file: %s\n", path, strerror(errno));
		return false;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			fprintf(stderr, "ntsclient: %s: locked: another ntsclient is setting the clock\n",
			        path);
		else
			fprintf(stderr, "ntsclient: %s: cannot lock: %s\n", path, strerror(errno));
		close(fd);
		return false;
	}
	*fdp = fd;
	return true;
}

/* Only reached with -s or -S/-b; tests never pass them. */
static bool set_clock(double offset, bool step, char *err, size_t errlen)
{
	if (step) {
		struct timespec ts;
		if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
			goto fail;
		double ns = (double)ts.tv_nsec + offset * 1e9;
		double secs = floor(ns / 1e9);
		ts.tv_sec += (time_t)secs;
		ts.tv_nsec = (long)(ns - secs * 1e9);
		if (clock_settime(CLOCK_REALTIME, &ts) < 0)
			goto fail;
		return true;
	}
	struct timeval tv;
	double secs = floor(offset);
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((offset - secs) * 1e6);
	if (adjtime(&tv, NULL) < 0)
		goto fail;
	return true;
fail:
	snprintf(err, errlen, "cannot %s the clock: %s", step ? "step" : "slew", strerror(errno));
	return false;
}

struct cli {
	struct ntsc_opts o;
	const char *keyfile_path, *lock_path;
	unsigned long key_id;
	bool slew, step, have_key;
	int n;
};

/* Options into c and servers into sv; -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, struct cli *c, struct ntsc_server *sv)
{
	static const struct option lo[] = {
		{ "nts", no_argument, NULL, OPT_NTS },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "no-cert-time-check", no_argument, NULL, OPT_NOCERTTIME },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "ke-port", required_argument, NULL, OPT_KEPORT },
		{ "lock", required_argument, NULL, OPT_LOCK },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "p:sSbk:a:dt:46qh", lo, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (!parse_uint(optarg, 1, 8, &v)) {
				fprintf(stderr, "ntsclient: -p %s: expected 1..8\n", optarg);
				return NTSC_EXIT_USAGE;
			}
			c->o.samples = (int)v;
			break;
		case 's':
			c->slew = true;
			break;
		case 'S':
		case 'b':
			c->step = true;
			break;
		case 'k':
			c->keyfile_path = optarg;
			break;
		case 'a':
			if (!parse_uint(optarg, 1, 65535, &c->key_id)) {
				fprintf(stderr, "ntsclient: -a %s: expected a key id 1..65535\n", optarg);
				return NTSC_EXIT_USAGE;
			}
			c->have_key = true;
			break;
		case 'd':
			c->o.debug = true;
			break;
		case 't':
			errno = 0;
			c->o.timeout = strtod(optarg, &end);
			if (*end || errno || !(c->o.timeout >= 0.05 && c->o.timeout <= 60)) {
				fprintf(stderr, "ntsclient: -t %s: expected seconds, 0.05..60\n", optarg);
				return NTSC_EXIT_USAGE;
			}
			break;
		case '4':
			c->o.family = AF_INET;
			break;
		case '6':
			c->o.family = AF_INET6;
			break;
		case 'q':
			c->o.quiet = true;
			break;
		case OPT_NTS:
			c->o.nts = true;
			break;
		case OPT_CA:
			c->o.ca_file = optarg;
			break;
		case OPT_NOCERTTIME:
			c->o.skip_time_check = true;
			break;
		case OPT_JSON:
			c->o.json = true;
			break;
		case OPT_KEPORT:
			if (!parse_uint(optarg, 1, 65535, &v)) {
				fprintf(stderr, "ntsclient: --ke-port %s: expected 1..65535\n", optarg);
				return NTSC_EXIT_USAGE;
			}
			c->o.ke_port = (uint16_t)v;
			break;
		case OPT_LOCK:
			c->lock_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return NTSC_EXIT_OK;
		default:
			usage(stderr);
			return NTSC_EXIT_USAGE;
		}
	}
	const char *bad = NULL;
	if (optind >= argc)
		bad = "no server given";
	else if (argc - optind > MAX_SERVERS)
		bad = "too many servers (at most 32)";
	else if (c->slew && c->step)
		bad = "-s and -S/-b exclude each other";
	else if ((c->keyfile_path || c->have_key) && c->o.nts)
		bad = "--nts and -k/-a exclude each other";
	else if (c->keyfile_path && !c->have_key)
		bad = "-k FILE needs -a ID (which key to use)";
	if (bad) {
		fprintf(stderr, "ntsclient: %s; see ntsclient --help\n", bad);
		return NTSC_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++)
		if (!parse_server(argv[i], &sv[c->n++])) {
			fprintf(stderr, "ntsclient: %s: bad server; use NAME, ADDRESS, NAME:PORT or "
			                "[IPV6]:PORT\n",
			        argv[i]);
			return NTSC_EXIT_USAGE;
		}
	return -1;
}

/* The -a key from the key file; NULL (reported) on any problem. */
static struct keyfile *load_key(struct cli *c)
{
	struct keyfile_errors errs;
	const char *path = c->keyfile_path ? c->keyfile_path : "/etc/ntp.keys";
	struct keyfile *kf = keyfile_load(path, &errs);

	if (!kf) {
		for (size_t i = 0; i < errs.n && i < 32; i++)
			if (errs.v[i].line)
				fprintf(stderr, "%s:%u: error: %s\n", path, errs.v[i].line, errs.v[i].msg);
			else
				fprintf(stderr, "%s: error: %s\n", path, errs.v[i].msg);
		return NULL;
	}
	if (errs.world_readable && !c->o.quiet)
		fprintf(stderr, "%s: warning: others can read this key file\n", path);
	c->o.key = keyfile_get(kf, (uint32_t)c->key_id);
	if (!c->o.key) {
		fprintf(stderr, "ntsclient: %s: no key %lu\n", path, c->key_id);
		keyfile_free(kf);
		return NULL;
	}
	return kf;
}

/* Intersection, then the lowest stratum and root distance among the
 * truechimers (RFC 5905 §11.2.3, simplified for one shot). */
static struct ntsc_server *choose_best(struct ntsc_server *sv, int n)
{
	struct ntsc_server *best = NULL;

	if (select_servers(sv, n) == 0)
		return NULL;
	for (int i = 0; i < n; i++) {
		struct ntsc_server *s = &sv[i];
		if (s->exit_code != NTSC_EXIT_OK)
			continue;
		if (!s->truechimer) {
			snprintf(s->reason, sizeof(s->reason),
			         "%s: falseticker: offset %+.6f s outside the majority's interval",
			         s->host, s->best.offset);
			continue;
		}
		if (!best || s->best.stratum < best->best.stratum ||
		    (s->best.stratum == best->best.stratum && s->rootdist < best->rootdist))
			best = s;
	}
	return best;
}

static void print_text(const struct cli *c, const struct ntsc_server *sv,
                       const struct ntsc_server *best, int ok)
{
	char ab[32], rb[32];

	for (int i = 0; i < c->n; i++) {
		const struct ntsc_server *s = &sv[i];
		if (s->exit_code != NTSC_EXIT_OK || !s->truechimer)
			continue;
		printf("%s (%s): stratum %d, offset %+.6f s, delay %.6f s, dispersion %.6f s, "
		       "refid %s, auth %s%s\n",
		       s->host, s->addr, s->best.stratum, s->best.offset, s->best.delay,
		       s->best.dispersion, refid_str(&s->best, rb, sizeof(rb)),
		       auth_str(&c->o, s, ab, sizeof(ab)), s == best && c->n > 1 ? " (best)" : "");
	}
	if (best)
		printf("%s %+.6f s from %s%s\n",
		       c->step ? "clock stepped by" : c->slew ? "clock slewed by" : "offset",
		       best->best.offset, best->host,
		       (c->slew || c->step) ? "" : " (query only; -s slews, -S steps the clock)");
	if (ok > 0 && !best)
		fprintf(stderr, "ntsclient: no majority among the servers that answered: "
		                "dispersion too large or falsetickers\n");
}

int main(int argc, char **argv)
{
	static struct ntsc_server sv[MAX_SERVERS];
	struct cli c = { .o = { .samples = 4, .timeout = 2.0, .family = AF_UNSPEC },
		         .lock_path = DEFAULT_LOCK };
	struct keyfile *kf = NULL;
	int status = NTSC_EXIT_OK, lock_fd = -1, ok = 0, first_fail = -1;
	const char *action = "none";
	char cerr[160] = "";

	int rc = parse_args(argc, argv, &c, sv);
	if (rc >= 0)
		return rc;
	if (!secret_init()) {
		fprintf(stderr, "ntsclient: cannot initialise libsodium\n");
		return NTSC_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	if (c.have_key && !(kf = load_key(&c)))
		return NTSC_EXIT_USAGE;
	/* Taken before querying, so two cron runs never interleave. */
	if ((c.slew || c.step) && !take_lock(c.lock_path, &lock_fd)) {
		keyfile_free(kf);
		return NTSC_EXIT_USAGE;
	}
	ntsc_trace(&c.o, "TLS backend %s; %d server(s), %d samples each, timeout %.1f s",
	           tls_backend_name(), c.n, c.o.samples, c.o.timeout);
	for (int i = 0; i < c.n; i++) {
		ntsc_query(&c.o, &sv[i]);
		if (sv[i].exit_code == NTSC_EXIT_OK)
			ok++;
		else if (first_fail < 0)
			first_fail = i;
	}
	struct ntsc_server *best = ok > 0 ? choose_best(sv, c.n) : NULL;
	if (best && (c.slew || c.step)) {
		action = c.step ? "step" : "slew";
		if (!set_clock(best->best.offset, c.step, cerr, sizeof(cerr)))
			status = NTSC_EXIT_CLOCK;
	} else if (!best) {
		status = ok > 0 ? NTSC_EXIT_DISPERSION : sv[first_fail].exit_code;
	}

	if (c.o.json)
		print_json(&c.o, sv, c.n, best, action, status);
	else if (!(c.o.quiet && status == NTSC_EXIT_OK))
		print_text(&c, sv, best, ok);
	if (!(c.o.quiet && status == NTSC_EXIT_OK)) {
		for (int i = 0; i < c.n; i++)
			if (sv[i].exit_code != NTSC_EXIT_OK ||
			    (sv[i].reason[0] && !sv[i].truechimer && ok > 0))
				fprintf(stderr, "ntsclient: %s\n", sv[i].reason);
		if (cerr[0])
			fprintf(stderr, "ntsclient: %s\n", cerr);
	}
	if (lock_fd >= 0)
		close(lock_fd);
	keyfile_free(kf);
	return status;
}
