/* Listening sockets: TCP (v4/v6) and unix. */
#include <errno.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/sock.h"

/* Parses "HOST:PORT", "[V6]:PORT", ":PORT" or "*:PORT" into <host> (empty
 * for any address; <hostlen> bytes) and <*port>. Returns 0 or -1.
 */
static int sock_split_hostport(const char *spec, char *host, size_t hostlen, unsigned *port)
{
	const char *colon;
	size_t hl;
	char *end;
	long p;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':')
			return -1;
		hl = (size_t)(close - spec - 1);
		if (hl >= hostlen)
			return -1;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - spec);
		if (hl >= hostlen)
			return -1;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		if (strcmp(host, "*") == 0)
			host[0] = '\0';
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	*port = (unsigned)p;
	return 0;
}

int sock_listen_tcp(const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char host[256], portstr[8];
	unsigned port;
	int fd = -1, one = 1, rc;

	if (sock_split_hostport(spec, host, sizeof(host), &port) < 0) {
		snprintf(err, errlen, "bad address '%s' (want HOST:PORT, [V6]:PORT or unix:PATH)", spec);
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve '%s': %s", spec, gai_strerror(rc));
		return -1;
	}
	/* With no host, prefer the IPv6 wildcard, which also takes IPv4. */
	for (ai = res; ai; ai = ai->ai_next) {
		if (!host[0] && ai->ai_family != AF_INET6 && ai->ai_next)
			continue;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && !host[0]) {
			int zero = 0;

			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		}
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
			break;
		snprintf(err, errlen, "cannot listen on '%s': %s", spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0 && !err[0])
		snprintf(err, errlen, "cannot listen on '%s'", spec);
	return fd;
}

int sock_listen_unix(const char *path, unsigned mode, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "unix socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(path);
	/* Create the file with the final mode: no window where it is open. */
	old = umask(0777 & ~mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 1024) < 0) {
		umask(old);
		snprintf(err, errlen, "cannot listen on unix:%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	chmod(path, mode);
	return fd;
}

int sock_accept_exhausted(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

int sock_bound_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&ss;
		const uint8_t *a = in6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] == 127;
	}
	return 0;
}
