#include "config.h"
#include "ntsd/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* $WATCHDOG_USEC applies to us only when $WATCHDOG_PID is unset or ours
 * (sd_watchdog_enabled(3)). */
static uint64_t watchdog_interval_ns(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;

	if (!usec || !*usec)
		return 0;
	if (pid && *pid) {
		errno = 0;
		unsigned long p = strtoul(pid, &end, 10);
		if (errno || *end || p != (unsigned long)getpid())
			return 0;
	}
	errno = 0;
	unsigned long long us = strtoull(usec, &end, 10);
	if (errno || *end || us == 0 || us > UINT64_MAX / 1000)
		return 0;
	return (uint64_t)us * 1000;
}

static bool socket_address(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof(sa->sun_path))
		return false;
	memcpy(sa->sun_path, path, n);
	if (path[0] == '@')
		sa->sun_path[0] = '\0'; /* Linux abstract namespace */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return true;
}

bool sdnotify_init(struct sdnotify *n, char *err, size_t errlen)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	if (!path || !*path)
		return true;
	if (!socket_address(path, &sa, &len)) {
		snprintf(err, errlen, "NOTIFY_SOCKET=%s is not an absolute path or @name", path);
		return false;
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0 || connect(n->fd, (const struct sockaddr *)&sa, len) < 0) {
		snprintf(err, errlen, "NOTIFY_SOCKET=%s: %s", path, strerror(errno));
		if (n->fd >= 0)
			close(n->fd);
		n->fd = -1;
		return false;
	}
	n->watchdog_ns = watchdog_interval_ns();
	return true;
}

bool sdnotify_send(struct sdnotify *n, const char *msg)
{
	if (n->fd < 0)
		return false;
	return send(n->fd, msg, strlen(msg), MSG_NOSIGNAL) == (ssize_t)strlen(msg);
}

void sdnotify_status(struct sdnotify *n, const char *text)
{
	char msg[sizeof(n->status) + 8];

	if (n->fd < 0 || !strcmp(n->status, text))
		return;
	snprintf(n->status, sizeof(n->status), "%s", text);
	snprintf(msg, sizeof(msg), "STATUS=%s", n->status);
	sdnotify_send(n, msg);
}

void sdnotify_watchdog(struct sdnotify *n, uint64_t now_ns)
{
	if (n->fd < 0 || !n->watchdog_ns || now_ns - n->last_ping_ns < n->watchdog_ns / 2)
		return;
	if (sdnotify_send(n, "WATCHDOG=1"))
		n->last_ping_ns = now_ns;
}

void sdnotify_close(struct sdnotify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
