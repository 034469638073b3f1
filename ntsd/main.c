#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntsd/daemon.h"
#include "ntsd/sandbox.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: ntsd [options]\n"
	        "  -c, --config FILE   configuration file in ntp.conf syntax (default /etc/ntp.conf)\n"
	        "  -E, --embedded      use the built-in configuration: a LAN time source on this\n"
	        "                      host's local clock (stratum 10), keys generated on first run\n"
	        "      --statedir DIR  state directory (default %s)\n"
	        "      --check         validate the configuration and key file, then exit\n"
	        "  -n, --foreground    do not become a daemon; log to stderr\n"
	        "  -d, --debug         debug logging\n"
	        "  -P, --port N        UDP port to serve NTP on (default 123, or `port` in the file)\n"
	        "  -p, --pidfile FILE  write the process id to FILE\n"
	        "  -w, --workers N     serving threads (default: one per CPU)\n"
	        "  -u, --user USER     after binding the ports, run as USER (its group, no\n"
	        "                      supplementary groups), keeping only CAP_NET_BIND_SERVICE\n"
	        "                      and, unless -x or `disable ntp`, CAP_SYS_TIME\n"
	        "  -x                  never adjust the system clock (as `disable ntp`)\n"
	        "  -F, --seccomp MODE  system call filters per thread: errno (default: refused\n"
	        "                      calls fail with EPERM), kill (they kill ntsd), off\n"
	        "  -g                  allow the first clock correction to exceed the panic\n"
	        "                      threshold (1000 s), as ntpd -g\n"
	        "      --stats-file F  write the packet counters to F on SIGUSR1 and at exit\n"
	        "      --nts-check S   sync the NTS master key file and check the certificate\n"
	        "                      files' mtime every S seconds (default 60)\n"
	        "  -V, --version       print the version\n"
	        "Signals: SIGHUP reloads keys and restrict rules; SIGUSR1 logs the counters;\n"
	        "SIGTERM exits.\n",
	        NTSD_STATEDIR);
}

static long parse_num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi) {
		fprintf(stderr, "ntsd: %s: '%s' is not a number from %ld to %ld\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_STATEDIR, OPT_STATS, OPT_NTS_CHECK };
	enum sandbox_mode sm;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "embedded", no_argument, NULL, 'E' },
		{ "statedir", required_argument, NULL, OPT_STATEDIR },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "foreground", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'P' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "workers", required_argument, NULL, 'w' },
		{ "stats-file", required_argument, NULL, OPT_STATS },
		{ "nts-check", required_argument, NULL, OPT_NTS_CHECK },
		{ "user", required_argument, NULL, 'u' },
		{ "seccomp", required_argument, NULL, 'F' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct daemon_opts o = { .port = -1, .seccomp = SANDBOX_ERRNO };
	bool check = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:EndP:p:u:w:xgF:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.conf_path = optarg;
			break;
		case 'E':
			o.embedded = true;
			break;
		case OPT_STATEDIR:
			o.statedir = optarg;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case 'n':
			o.foreground = true;
			break;
		case 'd':
			o.debug++;
			break;
		case 'P':
			o.port = (int)parse_num(optarg, 1, 65535, "--port");
			break;
		case 'p':
			o.pidfile = optarg;
			break;
		case 'w':
			o.workers = (unsigned)parse_num(optarg, 1, 16, "--workers");
			break;
		case OPT_STATS:
			o.stats_file = optarg;
			break;
		case OPT_NTS_CHECK:
			o.nts_check_s = (unsigned)parse_num(optarg, 1, 86400, "--nts-check");
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'x':
			o.no_clock = true;
			break;
		case 'g':
			o.allow_first_step = true;
			break;
		case 'F':
			if (!sandbox_mode_parse(optarg, &sm)) {
				fprintf(stderr, "ntsd: --seccomp: '%s' is not errno, kill or off\n", optarg);
				return 2;
			}
			o.seccomp = (int)sm;
			break;
		case 'V':
			printf("ntsd %s (%s)\n", NTSD_VERSION, NTSD_TLS_BACKEND);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ntsd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (o.embedded && o.conf_path) {
		fprintf(stderr, "ntsd: -c and --embedded exclude each other\n");
		return 2;
	}
	return check ? daemon_check(&o) : daemon_run(&o);
}
