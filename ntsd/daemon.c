#include "config.h"
#include "ntsd/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "crypto/aead.h"
#include "crypto/keyfile.h"
#include "crypto/masterkey.h"
#include "crypto/secfile.h"
#include "crypto/secret.h"
#include "keyexchange/ke_server.h"
#include "keyexchange/tls.h"
#include "protocol/clock.h"
#include "protocol/mode6.h"
#include "protocol/ntp_packet.h"
#include "ntsd/log.h"
#include "ntsd/privdrop.h"
#include "ntsd/restrict.h"
#include "ntsd/serve.h"
#include "ntsd/leap.h"
#include "ntsd/listener.h"
#include "ntsd/sandbox.h"
#include "ntsd/metrics.h"
#include "ntsd/metrics_page.h"
#include "ntsd/sdnotify.h"
#include "ntsd/source.h"
#include "ntsd/stats.h"

#define DEFAULT_CONF "/etc/ntp.conf"
#define LOCAL_UPDATE_S 16     /* the local clock "samples" itself this often */
#define LOCAL_BASE_DISP 1e-3  /* s, root dispersion right after an update */
#define PHI 15e-6             /* s/s, RFC 5905 frequency tolerance */

/* The main context: everything mutable that lives for the daemon's life. */
struct daemon {
	const struct daemon_opts *opts;
	char conf_name[4096];   /* file name, or "(embedded)" */
	char embedded[2048];    /* embedded configuration text */
	struct conf conf;
	struct serve_config *cfg;
	struct listener *listener;
	unsigned generation;
	int precision;
	uint64_t local_reftime;
	time_t local_updated;
	/* NTS */
	struct ke_server *ke;
	/* Upstream sources (NULL: none configured) */
	struct sources *sources;
	struct control_view view;
	char why_not[160];
	struct masterkey_set *mk;
	char mk_path[4096];
	time_t nts_checked, cert_mtime, key_mtime;
	struct sdnotify notify; /* systemd readiness, when started by it */
	struct leap leap;       /* leapfile */
	struct metrics *metrics;   /* `metrics ADDR:PORT`, NULL: off */
	char *metrics_page;        /* METRICS_PAGE_MAX bytes */
	struct timespec metrics_built;
	double start_time;         /* Unix seconds */
};

#define NTS_CHECK_S 60 /* master key sync and certificate file check */

static const char embedded_fmt[] =
    "# ntsd embedded default: a standalone LAN time source on this host's\n"
    "# undisciplined local clock (chrony's `local stratum 10`).\n"
    "local stratum 10\n"
    "restrict default kod limited nomodify notrap nopeer noquery\n"
    "restrict -6 default kod limited nomodify notrap nopeer noquery\n"
    "restrict 127.0.0.1\n"
    "restrict -6 ::1\n"
    "interface listen 127.0.0.1\n"
    "interface listen ::1\n"
    "keys %s/ntp.keys\n"
    "trustedkey 1 2 3\n"
    "disable ntp\n";

static void print_diags(const struct conf_diags *d)
{
	char line[CONF_PATH_MAX + CONF_DIAG_MAX + 32];

	for (size_t i = 0; i < d->n; i++) {
		conf_diag_format(&d->v[i], line, sizeof(line));
		log_diag(d->v[i].severity == CONF_ERROR     ? LOG_LVL_ERR
		         : d->v[i].severity == CONF_WARNING ? LOG_LVL_WARN
		                                            : LOG_LVL_INFO,
		         "%s", line);
	}
}

/* First run of the embedded configuration: the state directory and a key
 * file with one key of each recommended type. */
static bool ensure_embedded_keys(const char *statedir)
{
	char path[4096];
	char text[1024];
	uint8_t raw[32];
	char hex[3][65];
	static const size_t lens[3] = { 16, 20, 32 };

	if (snprintf(path, sizeof(path), "%s/ntp.keys", statedir) >= (int)sizeof(path))
		return false;
	if (access(path, F_OK) == 0)
		return true;
	if (mkdir(statedir, 0700) != 0 && errno != EEXIST) {
		log_err("Cannot create state directory %s: %s", statedir, strerror(errno));
		return false;
	}
	for (int i = 0; i < 3; i++) {
		secret_random(raw, lens[i]);
		for (size_t k = 0; k < lens[i]; k++)
			snprintf(hex[i] + 2 * k, 3, "%02x", raw[k]);
	}
	int n = snprintf(text, sizeof(text),
	                 "# ntsd symmetric keys (ntpd format), generated on first run.\n"
	                 "# Give a client the line it needs, e.g.: ntpdig -k FILE -a 1 127.0.0.1\n"
	                 "1 AES128CMAC %s\n2 SHA1 %s\n3 SHA256 %s\n",
	                 hex[0], hex[1], hex[2]);
	bool ok = n > 0 && n < (int)sizeof(text) && secfile_write(path, text, (size_t)n, false);
	if (!ok && errno != EEXIST)
		log_err("Cannot write %s: %s", path, strerror(errno));
	else
		log_info("Generated symmetric keys 1 (AES128CMAC), 2 (SHA1), 3 (SHA256) in %s", path);
	secret_wipe(raw, sizeof(raw));
	secret_wipe(hex, sizeof(hex));
	secret_wipe(text, sizeof(text));
	return ok || errno == EEXIST;
}

static void free_serve_config(struct serve_config *cfg)
{
	if (!cfg)
		return;
	restrict_table_free(cfg->restrict_table);
	keyfile_free(cfg->keys);
	free(cfg);
}

static bool any_trustedkey(const struct conf *c)
{
	for (size_t i = 0; i < sizeof(c->trusted); i++)
		if (c->trusted[i])
			return true;
	return false;
}

/* Loads the key file named by the configuration. A missing file is a
 * warning (ntpd carries on without keys); a bad one is an error. */
static bool load_keys(const struct conf *c, struct keyfile **out, bool check)
{
	struct keyfile_errors errs;
	struct stat st;

	*out = NULL;
	if (!c->keys[0])
		return true;
	if (stat(c->keys, &st) != 0 && errno == ENOENT) {
		log_diag(LOG_LVL_WARN, "%s: warning: key file not found; symmetric-key authentication is disabled",
		         c->keys);
		return true;
	}
	memset(&errs, 0, sizeof(errs));
	*out = keyfile_load(c->keys, &errs);
	size_t shown = errs.n < 32 ? errs.n : 32;
	for (size_t i = 0; i < shown; i++) {
		if (errs.v[i].line)
			log_diag(LOG_LVL_ERR, "%s:%u: error: %s", c->keys, errs.v[i].line, errs.v[i].msg);
		else
			log_diag(LOG_LVL_ERR, "%s: error: %s", c->keys, errs.v[i].msg);
	}
	if (errs.n > shown)
		log_err("%s: %zu more errors", c->keys, errs.n - shown);
	if (!*out)
		return false;
	if (errs.world_readable)
		log_diag(LOG_LVL_WARN,
		         "%s: warning: mode %04o lets every user read these secrets; chmod 600 it "
		         "(or 640 with a group only ntsd is in)",
		         c->keys, errs.mode);
	else if (check && errs.group_readable)
		log_info("%s: note: mode %04o: its group can read the keys (right for root:ntsd, "
		         "wrong for a shared group)",
		         c->keys, errs.mode);
	if (check) {
		for (size_t i = 0; i < keyfile_count(*out); i++) {
			const struct symkey *k = keyfile_at(*out, i);
			if (k->alg == MAC_MD5)
				log_diag(LOG_LVL_WARN, "%s: warning: key %u is MD5; prefer AES128CMAC (RFC 8573) or SHA1",
				         c->keys, k->id);
		}
		if (!any_trustedkey(c))
			log_info("%s: note: no trustedkey line; all %zu keys are trusted", c->keys,
			         keyfile_count(*out));
	}
	return true;
}

static bool load_config(struct daemon *d, struct conf *c, struct serve_config **out, bool check)
{
	struct conf_diags diags = { 0 };
	bool ok;

	conf_init(c);
	if (d->opts->embedded)
		ok = conf_parse_string(d->conf_name, d->embedded, c, &diags);
	else
		ok = conf_parse_file(d->conf_name, c, &diags);
	print_diags(&diags);
	unsigned errors = diags.errors;
	conf_diags_free(&diags);
	if (!ok) {
		log_err("%s: %u error%s%s", d->conf_name, errors, errors == 1 ? "" : "s",
		        check ? "" : "; not started");
		return false;
	}

	struct serve_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		log_err("Out of memory");
		return false;
	}
	if (!load_keys(c, &cfg->keys, check)) {
		free(cfg);
		return false;
	}
	/* ntpd trusts only the keys listed by trustedkey; with no trustedkey
	 * line at all we trust every key in the (root-only) key file, as
	 * chrony does, rather than answering every request with a NAK. */
	if (any_trustedkey(c))
		memcpy(cfg->trusted, c->trusted, sizeof(cfg->trusted));
	else
		memset(cfg->trusted, 0xff, sizeof(cfg->trusted));
	cfg->controlkey = c->controlkey;
	cfg->restrict_table = restrict_table_new(c->restricts, c->n_restricts);
	if (!cfg->restrict_table) {
		log_err("Out of memory");
		free_serve_config(cfg);
		return false;
	}
	cfg->discard_average = c->discard_average;
	cfg->discard_minimum = c->discard_minimum;
	cfg->generation = ++d->generation;
	*out = cfg;

	if (check) {
		if (!c->has_default4 && !c->has_default6)
			log_diag(LOG_LVL_WARN,
			         "%s: warning: no `restrict default` line: every client gets full access; "
			         "start from `restrict default kod limited nomodify notrap nopeer noquery`",
			         d->conf_name);
		else if (!c->has_default4 || !c->has_default6)
			log_diag(LOG_LVL_WARN, "%s: warning: no `restrict %sdefault` line: every %s client gets full access",
			         d->conf_name, c->has_default4 ? "-6 " : "-4 ", c->has_default4 ? "IPv6" : "IPv4");
		if (!c->local_enabled && c->n_assocs == 0)
			log_diag(LOG_LVL_WARN, "%s: warning: no time source (server, pool, peer or local clock): "
			         "ntsd will answer as unsynchronized (stratum 16)",
			         d->conf_name);
	}
	return true;
}

static void setup_source(struct daemon *d)
{
	if (d->opts->embedded)
		snprintf(d->conf_name, sizeof(d->conf_name), "(embedded)");
	else
		snprintf(d->conf_name, sizeof(d->conf_name), "%s",
		         d->opts->conf_path ? d->opts->conf_path : DEFAULT_CONF);
	snprintf(d->embedded, sizeof(d->embedded), embedded_fmt,
	         d->opts->statedir ? d->opts->statedir : NTSD_STATEDIR);
}

static const char *statedir(const struct daemon *d)
{
	return d->opts->statedir ? d->opts->statedir : NTSD_STATEDIR;
}

static bool nts_wanted(const struct conf *c)
{
	return c->nts_enable;
}

/* `nts aead` names, in the operator's order; all supported ones if unset. */
static size_t nts_aeads(const struct conf *c, uint16_t *out, size_t max)
{
	static const struct { const char *name; uint16_t id; } names[] = {
		{ "AES_SIV_CMAC_256", AEAD_AES_SIV_CMAC_256 },
		{ "AES_SIV_CMAC_384", AEAD_AES_SIV_CMAC_384 },
		{ "AES_SIV_CMAC_512", AEAD_AES_SIV_CMAC_512 },
	};
	size_t n = 0;
	const char *p = c->nts_aead;

	while (*p && n < max) {
		size_t len = strcspn(p, ", :");
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (len == strlen(names[i].name) && !strncasecmp(p, names[i].name, len) &&
			    aead_key_len(names[i].id))
				out[n++] = names[i].id;
		p += len;
		p += strspn(p, ", :");
	}
	return n;
}

static void masterkey_path(const struct daemon *d, const struct conf *c, char *out, size_t len)
{
	if (c->nts_cookie[0])
		snprintf(out, len, "%s", c->nts_cookie);
	else
		snprintf(out, len, "%s/nts-masterkeys", statedir(d));
}

static time_t mtime_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_mtime : 0;
}

/* Certificate checks shared by --check and startup: the chain and key
 * load and match, and the leaf is valid now. */
static struct tls_cred *nts_load_cred(const struct conf *c, bool check)
{
	char err[600];
	struct tls_cert_info info;
	time_t now = time(NULL);

	if (!c->nts_cert[0] || !c->nts_key[0]) {
		log_err("nts enable needs `nts cert FILE` and `nts key FILE`");
		return NULL;
	}
	struct tls_cred *cred = tls_cred_load_server(c->nts_cert, c->nts_key, err, sizeof(err));
	if (!cred) {
		log_err("%s", err);
		return NULL;
	}
	if (!tls_cert_info(c->nts_cert, &info, err, sizeof(err))) {
		log_err("%s", err);
	} else if (now > info.not_after) {
		log_err("%s: certificate expired %.0f days ago; clients will refuse it", c->nts_cert,
		        difftime(now, info.not_after) / 86400);
		if (check) {
			tls_cred_free(cred);
			return NULL;
		}
	} else if (now < info.not_before) {
		log_err("%s: certificate is not valid until %.0f hours from now", c->nts_cert,
		        difftime(info.not_before, now) / 3600);
		if (check) {
			tls_cred_free(cred);
			return NULL;
		}
	} else if (check && info.not_after - now < 14 * 86400) {
		log_warn("%s: certificate expires in %.0f days", c->nts_cert,
		         difftime(info.not_after, now) / 86400);
	}
	return cred;
}

/* Master keys from the shared file; publishes them when they changed
 * (our rotation or another server's). */
static bool nts_sync_keys(struct daemon *d)
{
	char err[600];
	bool changed;
	struct masterkey_set *s = masterkey_file_sync(d->mk_path, time(NULL), (int64_t)d->conf.nts_rotate,
	                                              MASTERKEY_KEEP, &changed, err, sizeof(err));
	if (!s) {
		log_err("NTS master keys: %s", err);
		return false;
	}
	bool differs = !d->mk || d->mk->n != s->n;
	for (size_t i = 0; !differs && i < s->n; i++)
		differs = s->k[i].id != d->mk->k[i].id;
	if (differs) {
		listener_publish_masterkeys(d->listener, s);
		if (d->ke)
			ke_server_set_masterkeys(d->ke, s);
		log_info("NTS master keys: %zu in %s, current id %08x", s->n, d->mk_path,
		         masterkey_current(s)->id);
	}
	masterkey_set_free(d->mk);
	d->mk = s;
	return true;
}

static void nts_reload_cred(struct daemon *d, const char *why)
{
	struct tls_cred *cred = nts_load_cred(&d->conf, false);
	if (!cred) {
		log_err("NTS-KE keeps its previous certificate");
		return;
	}
	ke_server_set_cred(d->ke, cred);
	d->cert_mtime = mtime_of(d->conf.nts_cert);
	d->key_mtime = mtime_of(d->conf.nts_key);
	log_info("NTS-KE certificate reloaded (%s)", why);
}

/* The NTS-KE thread parses TLS from anyone: no capabilities, its filter. */
static bool ke_thread_init(void)
{
	if (sandbox_thread(SANDBOX_KE))
		return true;
	log_err("Cannot confine the NTS-KE thread: %s; NTS-KE is off", strerror(errno));
	return false;
}

static bool nts_start(struct daemon *d)
{
	char err[600];
	uint16_t aeads[8];
	size_t n_aeads = nts_aeads(&d->conf, aeads, 8), n_addrs;
	const struct sockaddr_storage *addrs = listener_addrs(d->listener, &n_addrs);

	masterkey_path(d, &d->conf, d->mk_path, sizeof(d->mk_path));
	if (!nts_sync_keys(d))
		return false;
	struct tls_cred *cred = nts_load_cred(&d->conf, false);
	if (!cred)
		return false;
	struct ke_server_opts ko = {
		.addrs = addrs,
		.n_addrs = n_addrs,
		.port = d->conf.nts_port ? d->conf.nts_port : KE_DEFAULT_PORT,
		.ntp_server = d->conf.nts_ntp_server[0] ? d->conf.nts_ntp_server : NULL,
		.ntp_port = d->conf.nts_ntp_port ? d->conf.nts_ntp_port : -1,
		.aeads = n_aeads ? aeads : NULL,
		.n_aeads = n_aeads,
		.thread_init = ke_thread_init,
	};
	d->ke = ke_server_new(&ko, err, sizeof(err));
	if (!d->ke || !ke_server_start(d->ke, cred, d->mk, err, sizeof(err))) {
		log_err("%s", err);
		if (!d->ke)
			tls_cred_free(cred);
		return false;
	}
	d->cert_mtime = mtime_of(d->conf.nts_cert);
	d->key_mtime = mtime_of(d->conf.nts_key);
	d->nts_checked = time(NULL);
	log_info("NTS-KE (%s) on port %u, certificate %s", tls_backend_name(), ko.port, d->conf.nts_cert);
	return true;
}

/* Once a minute: rotation and other servers' keys, and certificates that
 * renewed themselves (ACME). */
static void nts_tick(struct daemon *d)
{
	time_t now = time(NULL);
	time_t every = d->opts->nts_check_s ? (time_t)d->opts->nts_check_s : NTS_CHECK_S;
	if (!d->ke || (now - d->nts_checked < every && now >= d->nts_checked))
		return;
	d->nts_checked = now;
	nts_sync_keys(d);
	if (mtime_of(d->conf.nts_cert) != d->cert_mtime || mtime_of(d->conf.nts_key) != d->key_mtime)
		nts_reload_cred(d, "files changed");
}

static bool nts_check(struct daemon *d, const struct conf *c)
{
	char path[4096], err[600];
	bool ok = true;

	if (!nts_wanted(c))
		return true;
	struct tls_cred *cred = nts_load_cred(c, true);
	ok = cred != NULL;
	tls_cred_free(cred);
	masterkey_path(d, c, path, sizeof(path));
	if (access(path, F_OK) == 0) {
		struct masterkey_set *s = masterkey_load(path, err, sizeof(err));
		if (!s) {
			log_err("%s", err);
			ok = false;
		}
		masterkey_set_free(s);
	}
	return ok;
}

/* Every `server ... key N` names a key of the key file (ntsd would refuse
 * to start otherwise). */
static bool check_assoc_keys(const struct conf *c, const struct serve_config *cfg)
{
	bool ok = true;

	for (size_t i = 0; i < c->n_assocs; i++) {
		const struct conf_assoc *a = &c->assocs[i];
		if (a->key && !(cfg->keys && keyfile_get(cfg->keys, a->key))) {
			log_diag(LOG_LVL_ERR, "%s:%u: error: %s %s: key %u is not in the key file%s", a->file,
			         a->line, a->kind == CONF_ASSOC_POOL ? "pool" : a->kind == CONF_ASSOC_PEER ? "peer" : "server",
			         a->host, (unsigned)a->key, c->keys[0] ? "" : " (no `keys` line)");
			ok = false;
		}
	}
	return ok;
}

int daemon_check(const struct daemon_opts *o)
{
	struct daemon d = { .opts = o };
	struct serve_config *cfg = NULL;

	log_init("ntsd");
	if (!secret_init())
		log_fatal("Cannot initialise libsodium");
	setup_source(&d);
	bool ok = load_config(&d, &d.conf, &cfg, true);
	ok = ok && nts_check(&d, &d.conf);
	ok = ok && check_assoc_keys(&d.conf, cfg);
	ok = ok && leap_open(&d.leap, d.conf.leapfile, true);
	if (ok) {
		printf("%s: configuration OK (%zu sources, %s, %zu restrict entries, %zu keys)\n",
		       d.conf_name, d.conf.n_assocs,
		       d.conf.local_enabled ? "local clock enabled" : "no local clock",
		       d.conf.n_restricts, cfg->keys ? keyfile_count(cfg->keys) : (size_t)0);
	}
	free_serve_config(cfg);
	conf_free(&d.conf);
	return ok ? 0 : 1;
}

/* System variables: from the upstream sources when there are any (the
 * sync engine falls back to the local clock itself); else the local clock
 * when enabled; else unsynchronized (LI=3, stratum 16). */
static void base_sys(struct daemon *d, struct serve_sys *sys)
{
	time_t now = time(NULL);

	memset(sys, 0, sizeof(*sys));
	if (d->sources && sources_snapshot(d->sources, sys, &d->view, d->why_not, sizeof(d->why_not))) {
		sys->precision = (int8_t)d->precision;
		return;
	}
	sys->precision = (int8_t)d->precision;
	if (!d->conf.local_enabled) {
		sys->leap = NTP_LEAP_UNSYNC;
		sys->stratum = NTP_STRATUM_UNSYNC;
		sys->refid = NTP_REFID('I', 'N', 'I', 'T');
		return;
	}
	if (!d->local_reftime || now - d->local_updated >= LOCAL_UPDATE_S || now < d->local_updated) {
		d->local_reftime = clock_ntp_now();
		d->local_updated = now;
	}
	double age = clock_ntp_diff(clock_ntp_now(), d->local_reftime);
	sys->leap = NTP_LEAP_NONE;
	sys->stratum = (uint8_t)d->conf.local_stratum;
	sys->refid = NTP_REFID('L', 'O', 'C', 'L');
	sys->reftime = d->local_reftime;
	sys->root_delay = 0;
	sys->root_disp = clock_short_from_double(LOCAL_BASE_DISP + PHI * (age > 0 ? age : 0));
}

/* A valid leap second file decides the leap indicator of a synchronized
 * server (on the local clock it is the only source of it), also against
 * the majority of the sources' bits when they disagree with it. */
static void update_sys(struct daemon *d, struct serve_sys *sys)
{
	base_sys(d, sys);
	int li = leap_indicator(&d->leap, clock_ntp_now() >> 32);
	if (li >= 0 && sys->leap != NTP_LEAP_UNSYNC)
		sys->leap = (uint8_t)li;
}

/* What the source thread read at start, compared field by field. */
static bool same_sources(const struct conf *a, const struct conf *b)
{
	if (a->n_assocs != b->n_assocs || a->disable_ntp != b->disable_ntp ||
	    a->local_enabled != b->local_enabled || a->local_stratum != b->local_stratum ||
	    strcmp(a->driftfile, b->driftfile) != 0)
		return false;
	for (size_t i = 0; i < a->n_assocs; i++) {
		const struct conf_assoc *x = &a->assocs[i], *y = &b->assocs[i];
		if (x->kind != y->kind || strcmp(x->host, y->host) != 0 || x->port != y->port ||
		    x->flags != y->flags || x->key != y->key || x->minpoll != y->minpoll ||
		    x->maxpoll != y->maxpoll || x->version != y->version || strcmp(x->ca, y->ca) != 0)
			return false;
	}
	return true;
}

static void reload(struct daemon *d)
{
	struct conf c;
	struct serve_config *cfg;

	log_info("Reloading %s", d->conf_name);
	if (!load_config(d, &c, &cfg, false)) {
		log_err("Reload failed; still serving with the previous configuration");
		conf_free(&c);
		return;
	}
	if (c.port != d->conf.port || c.n_listen != d->conf.n_listen)
		log_warn("Listen address and port changes take effect at the next restart");
	if (!same_sources(&c, &d->conf))
		log_warn("Changes to server, pool and peer lines, `disable ntp`, the local clock and "
		         "the drift file take effect at the next restart");
	free_serve_config(listener_swap_config(d->listener, cfg));
	d->cfg = cfg;
	/* Keep the listen settings the sockets were opened with. */
	struct conf old = d->conf;
	d->conf = c;
	if (strcmp(old.leapfile, c.leapfile) != 0)
		leap_open(&d->leap, c.leapfile, false);
	else
		leap_tick(&d->leap, time(NULL), true);
	conf_free(&old);
	log_reopen();
	log_info("Reloaded: %zu restrict entries, %zu keys", d->conf.n_restricts,
	         cfg->keys ? keyfile_count(cfg->keys) : (size_t)0);
}

static void dump_stats(struct daemon *d)
{
	uint64_t v[SERVE_STAT_COUNT];

	struct ke_stats ke;

	listener_stats(d->listener, v);
	if (d->ke)
		ke_server_stats(d->ke, &ke);
	stats_log(v, d->ke ? &ke : NULL);
	if (d->opts->stats_file && !stats_write(d->opts->stats_file, v, d->ke ? &ke : NULL))
		log_err("Cannot write %s: %s", d->opts->stats_file, strerror(errno));
}

static bool write_pidfile(const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	FILE *f = fopen(path, "we");

	if (!f)
		return false;
	bool ok = fwrite(buf, 1, (size_t)n, f) == (size_t)n;
	return fclose(f) == 0 && ok;
}

static bool daemonize(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		return false;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return true;
}

#define METRICS_PAGE_MAX (256 * 1024)

/* Builds the Prometheus page from what the main loop keeps and hands it
 * to the HTTP thread, at most once a second. */
static void publish_metrics(struct daemon *d, const struct serve_sys *sys)
{
	uint64_t v[SERVE_STAT_COUNT];
	struct ke_stats ke;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!d->metrics || (d->metrics_built.tv_sec && now.tv_sec == d->metrics_built.tv_sec))
		return;
	d->metrics_built = now;
	listener_stats(d->listener, v);
	if (d->ke)
		ke_server_stats(d->ke, &ke);
	const struct masterkey *mk = d->mk ? masterkey_current(d->mk) : NULL;
	struct metrics_input in = {
		.serve = v,
		.ke = d->ke ? &ke : NULL,
		.sys = sys,
		.view = d->sources ? &d->view : NULL,
		.version = NTSD_VERSION,
		.tls_backend = NTSD_TLS_BACKEND,
		.start_time = d->start_time,
		.masterkey_created = mk ? (double)mk->created : 0,
		.now_ntp = clock_ntp_now(),
	};
	size_t len = metrics_page(&in, d->metrics_page, METRICS_PAGE_MAX);
	if (!len || !metrics_publish(d->metrics, d->metrics_page, len))
		log_warn("Cannot build the metrics page (%s)", len ? "out of memory" : "too large");
}

static void start_metrics(struct daemon *d)
{
	char err[256];

	if (!d->conf.metrics_addr[0])
		return;
	d->metrics_page = malloc(METRICS_PAGE_MAX);
	d->metrics = d->metrics_page ? metrics_start(d->conf.metrics_addr, d->conf.metrics_port, err,
	                                               sizeof(err))
	                             : NULL;
	if (!d->metrics)
		log_fatal("%s", d->metrics_page ? err : "Out of memory");
	log_info("Prometheus metrics on http://%s%s%s:%u/metrics",
	         strchr(d->conf.metrics_addr, ':') ? "[" : "", d->conf.metrics_addr,
	         strchr(d->conf.metrics_addr, ':') ? "]" : "", (unsigned)d->conf.metrics_port);
}

/* The one-line state systemctl status shows (STATUS=). */
static void notify_status(struct daemon *d, const struct serve_sys *sys)
{
	char text[256], refid[16];

	if (sys->stratum >= NTP_STRATUM_UNSYNC || sys->leap == NTP_LEAP_UNSYNC) {
		snprintf(text, sizeof(text), "Not synchronized%s%s", d->why_not[0] ? ": " : "",
		         d->why_not);
	} else if (sys->refid == NTP_REFID('L', 'O', 'C', 'L')) {
		snprintf(text, sizeof(text), "Serving the local clock at stratum %u", sys->stratum);
	} else {
		mode6_refid_text(sys->refid, sys->stratum <= 1, refid, sizeof(refid));
		snprintf(text, sizeof(text), "Synchronized to %s, stratum %u", refid, sys->stratum);
	}
	sdnotify_status(&d->notify, text);
}

static uint64_t mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int daemon_run(const struct daemon_opts *o)
{
	struct daemon d = { .opts = o };
	char err[512], where[512];
	sigset_t set;
	struct serve_sys sys;
	const char *pidfile;
	int status = 0;

	log_init("ntsd");
	log_set_level(o->debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	d.start_time = (double)time(NULL);
	if (!secret_init())
		log_fatal("Cannot initialise libsodium");
	setup_source(&d);
	if (o->embedded && !ensure_embedded_keys(o->statedir ? o->statedir : NTSD_STATEDIR))
		return 1;
	if (!load_config(&d, &d.conf, &d.cfg, false))
		return 1;
	if (d.conf.logfile[0] && !log_set_dest(LOG_TO_FILE, d.conf.logfile))
		log_fatal("Cannot open log file %s: %s", d.conf.logfile, strerror(errno));
	/* As ntpd: a leap second file that cannot be used is an error, but
	 * time is served without it. */
	leap_open(&d.leap, d.conf.leapfile, false);

	struct listener_opts so = {
		.port = o->port >= 0 ? (uint16_t)o->port : d.conf.port,
		.listen = d.conf.listen,
		.n_listen = d.conf.n_listen,
		.workers = o->workers,
	};
	d.listener = listener_new(&so, err, sizeof(err));
	if (!d.listener)
		log_fatal("%s", err);
	if (listener_notes(d.listener)[0])
		log_warn("Not listening on every address: %s", listener_notes(d.listener));

	if (!o->foreground) {
		if (!d.conf.logfile[0])
			log_set_dest(LOG_TO_SYSLOG, NULL);
		if (!daemonize())
			log_fatal("Cannot become a daemon: %s", strerror(errno));
	}
	pidfile = o->pidfile ? o->pidfile : (d.conf.pidfile[0] ? d.conf.pidfile : NULL);
	if (pidfile && !write_pidfile(pidfile))
		log_fatal("Cannot write pid file %s: %s", pidfile, strerror(errno));
	/* Upstream sources: keys read, names resolved and sockets opened
	 * while still root; the thread starts with the workers. */
	if (d.conf.n_assocs > 0) {
		struct sources_opts sro = {
			.conf = &d.conf,
			.trusted = d.cfg->trusted,
			.no_clock = o->no_clock || d.conf.disable_ntp,
			.allow_first_step = o->allow_first_step,
			.precision = clock_measure_precision(),
		};
		d.sources = sources_new(&sro, err, sizeof(err));
		if (!d.sources)
			log_fatal("%s", err);
		log_info("Polling %zu source%s", sources_count(d.sources),
		         sources_count(d.sources) == 1 ? "" : "s");
	}
	/* -u: before any thread exists (capabilities are per thread). */
	if (o->user) {
		struct privdrop_opts po = {
			.user = o->user,
			.keep_sys_time = !o->no_clock && !d.conf.disable_ntp,
			.statedir = statedir(&d),
			.files = { pidfile, d.conf.logfile, d.conf.driftfile, o->stats_file, d.conf.nts_cookie },
		};
		if (!privdrop_apply(&po, err, sizeof(err)))
			log_fatal("%s", err);
		log_info("%s", err);
	}

	/* Signals are taken synchronously by the main thread; workers inherit
	 * the blocked mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Before the first thread: threads inherit the process-wide filter
	 * and then narrow it for their role. */
	if (!sandbox_init((enum sandbox_mode)o->seccomp, o->debug > 0, err, sizeof(err)))
		log_fatal("%s", err);
	d.precision = clock_measure_precision();
	update_sys(&d, &sys);
	if (!listener_start(d.listener, d.cfg, &sys, err, sizeof(err)))
		log_fatal("%s", err);
	if (nts_wanted(&d.conf) && !nts_start(&d))
		log_fatal("NTS could not be started; fix the errors above or remove `nts enable`");
	if (d.sources && !sources_start(d.sources, err, sizeof(err)))
		log_fatal("%s", err);
	/* Every thread that needs CAP_SYS_TIME or CAP_NET_BIND_SERVICE has
	 * them now; the main thread (and the metrics thread it starts) not. */
	if (!sandbox_main_done())
		log_fatal("Cannot give up the main thread's capabilities: %s", strerror(errno));
	start_metrics(&d);
	log_info("System call filters: %s (-F)%s", sandbox_mode_name(sandbox_mode()),
	         o->debug ? "; the process stays dumpable (-d)" : "");
	listener_describe(d.listener, where, sizeof(where));
	log_info("ntsd %s (%s) serving NTP on %s with %u workers; %s, stratum %d%s", NTSD_VERSION,
	         NTSD_TLS_BACKEND, where, listener_workers(d.listener),
	         d.conf.local_enabled ? "local clock" : "no synchronized source yet",
	         d.conf.local_enabled ? d.conf.local_stratum : NTP_STRATUM_UNSYNC,
	         (o->no_clock || d.conf.disable_ntp) ? "; system clock is never adjusted" : "");
	/* After daemonize (MAINPID is ours) and once sockets, configuration,
	 * keys and certificate are loaded. */
	if (!sdnotify_init(&d.notify, err, sizeof(err)))
		log_warn("Cannot tell systemd that ntsd is ready: %s", err);
	snprintf(err, sizeof(err), "READY=1\nMAINPID=%ld", (long)getpid());
	sdnotify_send(&d.notify, err);
	notify_status(&d, &sys);

	for (;;) {
		/* Wake at least twice per watchdog interval. */
		uint64_t wait_ns = d.notify.watchdog_ns ? d.notify.watchdog_ns / 2 : 1000000000u;
		if (wait_ns > 1000000000u)
			wait_ns = 1000000000u;
		struct timespec tick = { (time_t)(wait_ns / 1000000000u), (long)(wait_ns % 1000000000u) };
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("Exiting on signal %d", sig);
			sdnotify_send(&d.notify, "STOPPING=1");
			break;
		}
		if (sig == SIGHUP) {
			sdnotify_send(&d.notify, "RELOADING=1");
			reload(&d);
			if (d.ke) {
				nts_reload_cred(&d, "SIGHUP");
				nts_sync_keys(&d); /* keys added or retired by ntskey */
			}
		}
		else if (sig == SIGUSR1)
			dump_stats(&d);
		if (sig == SIGHUP)
			sdnotify_send(&d.notify, "READY=1");
		if (sig != SIGHUP)
			leap_tick(&d.leap, time(NULL), false);
		update_sys(&d, &sys);
		notify_status(&d, &sys);
		publish_metrics(&d, &sys);
		sdnotify_watchdog(&d.notify, mono_now_ns());
		listener_publish_sys(d.listener, &sys);
		if (d.sources && !listener_publish_control(d.listener, &d.view))
			log_warn("Out of memory for the mode 6 view");
		nts_tick(&d);
	}

	dump_stats(&d);
	sdnotify_close(&d.notify);
	metrics_stop(d.metrics);
	free(d.metrics_page);
	sources_free(d.sources);
	ke_server_free(d.ke);
	listener_free(d.listener);
	masterkey_set_free(d.mk);
	free_serve_config(d.cfg);
	conf_free(&d.conf);
	if (pidfile)
		unlink(pidfile);
	log_close();
	return status;
}
