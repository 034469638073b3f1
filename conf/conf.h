/* ntp.conf parser (ntpd/NTPsec syntax, plus chrony's `local`).
 * Output is a plain struct; nothing here logs, exits or touches the
 * network. Every problem becomes a diagnostic "FILE:LINE: error|warning: ..."
 * and parsing continues so that all errors are reported at once. */
#ifndef NTSD_CONF_CONF_H
#define NTSD_CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_PATH_MAX 4096
#define CONF_HOST_MAX 256
#define CONF_DIAG_MAX 320
#define CONF_KEYID_MAX 65535u
#define CONF_LINE_MAX 1024      /* longer lines are an error, never truncated */
#define CONF_FILE_MAX (1u << 20) /* bytes per file */
#define CONF_INCLUDE_MAX 5      /* includefile nesting depth */
#define CONF_DIAGS_MAX 200      /* stored diagnostics; the rest are only counted */
#define CONF_ASSOCS_MAX 256
#define CONF_RESTRICTS_MAX 4096
#define CONF_LISTEN_MAX 64

enum conf_severity { CONF_NOTE, CONF_WARNING, CONF_ERROR };

struct conf_diag {
	enum conf_severity severity;
	char file[CONF_PATH_MAX];
	unsigned line;           /* 0: not tied to a line */
	char msg[CONF_DIAG_MAX]; /* no trailing newline */
};

/* At most CONF_DIAGS_MAX entries are stored (the last one then says so);
 * errors and warnings count every diagnostic. Zero-initialise before use. */
struct conf_diags {
	struct conf_diag *v;
	size_t n, cap;
	unsigned errors, warnings;
};

/* Formats one diagnostic as "FILE:LINE: error: msg" into out (NUL
 * terminated, truncated to outlen). Returns out. */
const char *conf_diag_format(const struct conf_diag *d, char *out, size_t outlen);
void conf_diags_free(struct conf_diags *d);

/* restrict flags (ntpd names). */
enum {
	CONF_RES_IGNORE = 1u << 0,
	CONF_RES_KOD = 1u << 1,
	CONF_RES_LIMITED = 1u << 2,
	CONF_RES_NOMODIFY = 1u << 3,
	CONF_RES_NOQUERY = 1u << 4,
	CONF_RES_NOPEER = 1u << 5,
	CONF_RES_NOSERVE = 1u << 6,
	CONF_RES_NOTRAP = 1u << 7,
	CONF_RES_NOTRUST = 1u << 8,
	CONF_RES_NOMRULIST = 1u << 9,
	CONF_RES_VERSION = 1u << 10,  /* deny packets that are not the current version */
	CONF_RES_NOEPEER = 1u << 11,
	CONF_RES_LOWPRIOTRAP = 1u << 12,
	CONF_RES_NTPPORT = 1u << 13,  /* match only source port 123 */
};

/* One entry per address family. `restrict default` without -4/-6 yields an
 * IPv4 and an IPv6 entry (ntpd 4.2.6+), as does `restrict source`. A later
 * line with the same family, address, mask and ntpport merges its flags into
 * the earlier entry (OR), as ntpd's hack_restrict() does, so the parser never
 * outputs duplicates: `restrict default A` + `restrict -6 default B` gives
 * IPv4 default A and IPv6 default A|B. For is_source entries addr is zero
 * and mask is the host mask (the rule applies to each association's
 * address). addr has no bits outside mask. */
struct conf_restrict {
	int family;       /* AF_INET or AF_INET6 */
	bool is_default;  /* `restrict default` / `restrict -6 default` */
	bool is_source;   /* `restrict source`: template for association addresses */
	uint8_t addr[16]; /* network order, first 4 bytes for IPv4 */
	uint8_t mask[16];
	unsigned prefix;  /* number of leading one bits in mask */
	uint32_t flags;   /* CONF_RES_* */
	unsigned line;
};

enum conf_assoc_kind { CONF_ASSOC_SERVER, CONF_ASSOC_POOL, CONF_ASSOC_PEER };

enum {
	CONF_ASSOC_IBURST = 1u << 0,
	CONF_ASSOC_BURST = 1u << 1,
	CONF_ASSOC_PREFER = 1u << 2,
	CONF_ASSOC_NOSELECT = 1u << 3,
	CONF_ASSOC_NTS = 1u << 4,
	CONF_ASSOC_NOVAL = 1u << 5,   /* nts: skip certificate validation (NTPsec) */
	CONF_ASSOC_TRUE = 1u << 6,
};

struct conf_assoc {
	enum conf_assoc_kind kind;
	char host[CONF_HOST_MAX]; /* name or numeric address, without port */
	uint16_t port;            /* 0: default (123) */
	uint32_t flags;           /* CONF_ASSOC_* */
	uint32_t key;             /* 0: none */
	int minpoll, maxpoll;     /* log2 s, 3..17; defaults 6 and 10; minpoll <= maxpoll
	                           * (one given alone pulls the other default along) */
	int version;              /* 0: default (4) */
	char ca[CONF_PATH_MAX];   /* nts ca FILE, empty if none */
	unsigned line;
	char file[CONF_PATH_MAX];
};

struct conf_listen {
	char addr[CONF_HOST_MAX]; /* numeric address, "0.0.0.0", "::" or an interface name */
	unsigned line;
};

struct conf {
	/* Sources. `server 127.127.1.0` + `fudge 127.127.1.0 stratum N` and
	 * chrony's `local stratum N` both set local_*, and are not in assocs. */
	struct conf_assoc *assocs;
	size_t n_assocs;
	bool local_enabled;
	int local_stratum; /* `local` default 10; `server 127.127.1.u` without a
	                    * fudge: 5, as ntpd's driver 1. `local` wins over both. */

	struct conf_restrict *restricts;
	size_t n_restricts;
	bool has_default4, has_default6; /* a `restrict default` line exists */
	int discard_average; /* log2 s, default 3 */
	int discard_minimum; /* s, default 2 */

	char keys[CONF_PATH_MAX];          /* `keys` file, empty if none */
	uint8_t trusted[CONF_KEYID_MAX / 8 + 1]; /* bitmap of trustedkey ids */
	uint32_t controlkey, requestkey;   /* 0: none */

	char driftfile[CONF_PATH_MAX];
	char leapfile[CONF_PATH_MAX];      /* `leapfile` / chrony's `leapseclist` */
	char logfile[CONF_PATH_MAX];
	char metrics_addr[CONF_HOST_MAX];  /* `metrics ADDR:PORT`: numeric; "" off */
	uint16_t metrics_port;
	char pidfile[CONF_PATH_MAX];
	char statsdir[CONF_PATH_MAX];

	uint16_t port;                     /* `port N` (ntsd extension), default 123 */
	struct conf_listen *listen;        /* `interface listen ADDR|IFNAME` */
	size_t n_listen;

	bool disable_ntp;   /* `disable ntp`: never touch the system clock */
	bool disable_monitor;
	int tos_minsane, tos_maxdist_set;  /* accepted; not used yet */
	double tos_maxdist;
	int tos_orphan;     /* 0: unset */

	/* NTS (NTPsec spelling). Parsed now, used by the NTS code. */
	bool nts_enable;
	char nts_key[CONF_PATH_MAX];
	char nts_cert[CONF_PATH_MAX];
	char nts_cookie[CONF_PATH_MAX];
	char nts_ca[CONF_PATH_MAX];
	uint16_t nts_port;       /* default 4460 */
	char nts_mintls[16];
	char nts_aead[128];      /* raw list as written */
	char nts_ntp_server[CONF_HOST_MAX]; /* server negotiation record value */
	uint16_t nts_ntp_port;   /* port negotiation record value, 0: none */
	uint32_t nts_rotate;     /* `nts rotate S` (chrony's ntsrotate): master key
	                          * rotation interval, s; default 86400 */
};

/* Initialises c to the defaults. */
void conf_init(struct conf *c);
/* Frees what conf_parse_* allocated and resets c to the defaults. */
void conf_free(struct conf *c);

/* Parses the file at path into c (which must have been conf_init'ed),
 * following includefile (relative to the including file's directory; a
 * missing include is a warning). Appends diagnostics to d. Returns false if
 * this call found any error (d->errors grew); warnings do not fail. */
bool conf_parse_file(const char *path, struct conf *c, struct conf_diags *d);
/* Same, for NUL-terminated text held in memory; name is used in diagnostics
 * and to resolve relative includefile paths. */
bool conf_parse_string(const char *name, const char *text, struct conf *c, struct conf_diags *d);

/* True if key id is listed by trustedkey. */
bool conf_key_trusted(const struct conf *c, uint32_t id);

#endif
