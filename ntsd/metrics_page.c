#include "config.h"
#include "ntsd/metrics_page.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "protocol/netaddr.h"
#include "protocol/ntp_packet.h"

struct page {
	char *p;
	size_t len, cap;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void put(struct page *pg, const char *fmt, ...)
{
	va_list ap;

	if (pg->full)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(pg->p + pg->len, pg->cap - pg->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= pg->cap - pg->len)
		pg->full = true;
	else
		pg->len += (size_t)n;
}

static void family(struct page *pg, const char *name, const char *type, const char *help)
{
	put(pg, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped (exposition format). */
static void label_value(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *in && n + 3 < outlen; in++) {
		if (*in == '\\' || *in == '"') {
			out[n++] = '\\';
			out[n++] = *in;
		} else if (*in == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
}

static void serving(struct page *pg, const uint64_t *v)
{
	family(pg, "ntsd_ntp_received_total", "counter", "NTP and mode 6 datagrams received.");
	put(pg, "ntsd_ntp_received_total %llu\n", (unsigned long long)v[SERVE_STAT_RECEIVED]);
	family(pg, "ntsd_ntp_outcomes_total", "counter",
	       "What became of each datagram received: replied, or the reason it was dropped.");
	for (int s = 0; s < SERVE_STAT_COUNT; s++)
		if (serve_stat_kind((enum serve_stat)s) == 'O')
			put(pg, "ntsd_ntp_outcomes_total{outcome=\"%s\"} %llu\n",
			    serve_stat_name((enum serve_stat)s), (unsigned long long)v[s]);
	family(pg, "ntsd_ntp_reply_events_total", "counter",
	       "Details of replies: authentication results, kisses, mode 6 details, send failures.");
	for (int s = 0; s < SERVE_STAT_COUNT; s++)
		if (serve_stat_kind((enum serve_stat)s) == 'D')
			put(pg, "ntsd_ntp_reply_events_total{event=\"%s\"} %llu\n",
			    serve_stat_name((enum serve_stat)s), (unsigned long long)v[s]);
	family(pg, "ntsd_ntp_authenticated_total", "counter",
	       "Requests answered with authentication, by kind.");
	put(pg, "ntsd_ntp_authenticated_total{auth=\"key\"} %llu\n",
	    (unsigned long long)v[SERVE_STAT_AUTH_OK]);
	put(pg, "ntsd_ntp_authenticated_total{auth=\"nts\"} %llu\n",
	    (unsigned long long)v[SERVE_STAT_NTS_OK]);
}

static void keyexchange(struct page *pg, const struct ke_stats *ke, double mk_created)
{
	family(pg, "ntsd_nts_ke_connections_total", "counter",
	       "NTS-KE TCP connections, accepted or refused at a connection cap.");
	put(pg, "ntsd_nts_ke_connections_total{result=\"accepted\"} %llu\n",
	    (unsigned long long)ke->accepted);
	put(pg, "ntsd_nts_ke_connections_total{result=\"refused_cap\"} %llu\n",
	    (unsigned long long)ke->refused_cap);
	family(pg, "ntsd_nts_ke_exchanges_total", "counter", "NTS-KE exchanges by result.");
	put(pg, "ntsd_nts_ke_exchanges_total{result=\"ok\"} %llu\n",
	    (unsigned long long)ke->responses);
	put(pg, "ntsd_nts_ke_exchanges_total{result=\"handshake_failed\"} %llu\n",
	    (unsigned long long)ke->handshake_failed);
	put(pg, "ntsd_nts_ke_exchanges_total{result=\"timeout\"} %llu\n",
	    (unsigned long long)ke->timeouts);
	put(pg, "ntsd_nts_ke_exchanges_total{result=\"bad_request\"} %llu\n",
	    (unsigned long long)ke->bad_requests);
	if (mk_created > 0) {
		family(pg, "ntsd_nts_master_key_created_timestamp_seconds", "gauge",
		       "When the current NTS cookie master key was made (Unix time).");
		put(pg, "ntsd_nts_master_key_created_timestamp_seconds %.0f\n", mk_created);
	}
}

static void system_clock(struct page *pg, const struct serve_sys *sys, const struct control_sys *cs)
{
	bool synced = sys->leap != NTP_LEAP_UNSYNC && sys->stratum < NTP_STRATUM_UNSYNC;
	double delay = (double)sys->root_delay / 65536.0, disp = (double)sys->root_disp / 65536.0;

	family(pg, "ntsd_system_synchronized", "gauge",
	       "1 when ntsd serves synchronized time (a source or the local clock).");
	put(pg, "ntsd_system_synchronized %d\n", synced ? 1 : 0);
	family(pg, "ntsd_system_stratum", "gauge", "Stratum served (16: unsynchronized).");
	put(pg, "ntsd_system_stratum %u\n", sys->stratum);
	family(pg, "ntsd_system_leap_indicator", "gauge",
	       "Leap indicator served: 0 none, 1 insert, 2 delete, 3 unsynchronized.");
	put(pg, "ntsd_system_leap_indicator %u\n", sys->leap);
	family(pg, "ntsd_system_root_delay_seconds", "gauge", "Root delay served.");
	put(pg, "ntsd_system_root_delay_seconds %.9f\n", delay);
	family(pg, "ntsd_system_root_dispersion_seconds", "gauge", "Root dispersion served.");
	put(pg, "ntsd_system_root_dispersion_seconds %.9f\n", disp);
	family(pg, "ntsd_system_root_distance_seconds", "gauge",
	       "Root distance (delay / 2 + dispersion): the bound on the served time's error.");
	put(pg, "ntsd_system_root_distance_seconds %.9f\n", delay / 2 + disp);
	if (!cs)
		return;
	family(pg, "ntsd_system_offset_seconds", "gauge",
	       "Offset of the system clock from the selected sources.");
	put(pg, "ntsd_system_offset_seconds %.9f\n", cs->offset / 1e3);
	family(pg, "ntsd_system_frequency_ppm", "gauge",
	       "Frequency correction of the system clock, parts per million.");
	put(pg, "ntsd_system_frequency_ppm %.6f\n", cs->frequency);
	family(pg, "ntsd_system_jitter_seconds", "gauge", "Combined jitter of the selected sources.");
	put(pg, "ntsd_system_jitter_seconds %.9f\n", cs->sys_jitter / 1e3);
}

enum source_family { SF_REACH, SF_STRATUM, SF_OFFSET, SF_DELAY, SF_JITTER, SF_SELECTION,
	             SF_COOKIES, SF_KE_AGE, SF_COUNT };

static const struct {
	const char *name, *help;
} source_fam[SF_COUNT] = {
	[SF_REACH] = { "ntsd_source_reach", "Reach register of the source (8 bits, octal in ntpq)." },
	[SF_STRATUM] = { "ntsd_source_stratum", "Stratum of the source." },
	[SF_OFFSET] = { "ntsd_source_offset_seconds", "Offset of the source's last samples." },
	[SF_DELAY] = { "ntsd_source_delay_seconds", "Round-trip delay to the source." },
	[SF_JITTER] = { "ntsd_source_jitter_seconds", "Jitter of the source's samples." },
	[SF_SELECTION] = { "ntsd_source_selection", "Selection state of the source (1 for its state)." },
	[SF_COOKIES] = { "ntsd_source_nts_cookies", "NTS cookies held for the source." },
	[SF_KE_AGE] = { "ntsd_source_nts_ke_age_seconds", "Seconds since the source's last NTS-KE." },
};

static const char *const sel_names[8] = {
	"reject", "falseticker", "excess", "outlier", "candidate", "backup", "sys_peer", "pps_peer",
};

/* The samples of family f for source p (label source="NAME"). */
static void source_samples(struct page *pg, enum source_family f, const struct control_peer *p,
                           uint64_t now)
{
	char name[2 * sizeof(p->name) + 1], lab[sizeof(name) + NETADDR_TEXT_MAX + 32];
	char addr[NETADDR_TEXT_MAX];
	const char *fn = source_fam[f].name;

	/* Pool members share their name: the address tells them apart. */
	netaddr_host(&p->srcadr, addr, sizeof(addr));
	label_value(p->name[0] ? p->name : addr, name, sizeof(name));
	snprintf(lab, sizeof(lab), "source=\"%s\",address=\"%s\"", name, addr);
	switch (f) {
	case SF_REACH: put(pg, "%s{%s} %u\n", fn, lab, p->reach); break;
	case SF_STRATUM: put(pg, "%s{%s} %u\n", fn, lab, p->stratum); break;
	case SF_OFFSET: put(pg, "%s{%s} %.9f\n", fn, lab, p->offset / 1e3); break;
	case SF_DELAY: put(pg, "%s{%s} %.9f\n", fn, lab, p->delay / 1e3); break;
	case SF_JITTER: put(pg, "%s{%s} %.9f\n", fn, lab, p->jitter / 1e3); break;
	case SF_SELECTION:
		for (int i = 0; i < 8; i++)
			put(pg, "%s{%s,state=\"%s\"} %d\n", fn, lab, sel_names[i],
			    i == ((p->status >> 8) & 7));
		break;
	case SF_COOKIES:
		if (p->ntscookies >= 0)
			put(pg, "%s{%s} %d\n", fn, lab, p->ntscookies);
		break;
	case SF_KE_AGE:
		if (p->ntscookies >= 0 && p->last_ke && now >= p->last_ke)
			put(pg, "%s{%s} %.3f\n", fn, lab,
			    (double)(now - p->last_ke) / 4294967296.0);
		break;
	case SF_COUNT: break;
	}
}

static void sources(struct page *pg, const struct control_view *v, uint64_t now)
{
	/* A family's samples stand together, after its HELP and TYPE. */
	for (int f = 0; f < SF_COUNT; f++) {
		family(pg, source_fam[f].name, "gauge", source_fam[f].help);
		for (size_t i = 0; i < v->n_peers; i++)
			source_samples(pg, (enum source_family)f, &v->peers[i], now);
	}
}

size_t metrics_page(const struct metrics_input *in, char *out, size_t outlen)
{
	struct page pg = { out, 0, outlen, outlen == 0 };
	char ver[64], be[32];

	label_value(in->version, ver, sizeof(ver));
	label_value(in->tls_backend, be, sizeof(be));
	family(&pg, "ntsd_build_info", "gauge", "Version and TLS backend of this ntsd.");
	put(&pg, "ntsd_build_info{version=\"%s\",tls_backend=\"%s\"} 1\n", ver, be);
	family(&pg, "ntsd_start_time_seconds", "gauge", "When ntsd started (Unix time).");
	put(&pg, "ntsd_start_time_seconds %.3f\n", in->start_time);
	serving(&pg, in->serve);
	if (in->ke)
		keyexchange(&pg, in->ke, in->masterkey_created);
	system_clock(&pg, in->sys, in->view && in->view->n_peers ? &in->view->sys : NULL);
	if (in->view && in->view->n_peers)
		sources(&pg, in->view, in->now_ntp);
	return pg.full ? 0 : pg.len;
}
