/* systemd's readiness protocol (sd_notify(3)), spoken directly over the
 * datagram socket named by $NOTIFY_SOCKET, so no libsystemd is needed:
 * READY=1, RELOADING=1, STOPPING=1, STATUS=..., and WATCHDOG=1 at half the
 * interval $WATCHDOG_USEC asks for. Without $NOTIFY_SOCKET every call does
 * nothing. Not thread-safe: the daemon's main thread owns it. */
#ifndef NTSD_NTSD_SDNOTIFY_H
#define NTSD_NTSD_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sdnotify {
	int fd;                  /* -1: not under systemd */
	uint64_t watchdog_ns;    /* ping interval, 0: no watchdog */
	uint64_t last_ping_ns;   /* CLOCK_MONOTONIC */
	char status[256];        /* last STATUS= sent, to send only changes */
};

/* Reads the environment; opens the socket when $NOTIFY_SOCKET is set (an
 * absolute path or "@abstract"). False with err set when it is set but
 * unusable (the daemon warns and goes on). */
bool sdnotify_init(struct sdnotify *n, char *err, size_t errlen);
/* Sends one message ("READY=1\nSTATUS=..."); false when it could not. */
bool sdnotify_send(struct sdnotify *n, const char *msg);
/* Sends STATUS=text when it differs from the last one sent. */
void sdnotify_status(struct sdnotify *n, const char *text);
/* Sends WATCHDOG=1 when half the watchdog interval has passed since the
 * last ping; now_ns is CLOCK_MONOTONIC. */
void sdnotify_watchdog(struct sdnotify *n, uint64_t now_ns);
/* Closes the socket. */
void sdnotify_close(struct sdnotify *n);

#endif
