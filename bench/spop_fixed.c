/* spop-fixed: the smallest SPOP agent that HAProxy will talk to, as the
 * ceiling of bench/e2e_bench.sh (--fixed-agent).
 *
 * One thread, epoll, non-blocking sockets. It answers HAPROXY-HELLO with an
 * AGENT-HELLO (version 2.0, max-frame-size 16380, pipelining), every NOTIFY
 * with the same ACK, whatever the message says, and HAPROXY-DISCONNECT by
 * closing. The ACK sets what swarm-spoa sets for a forward: txn.route.action
 * "forward", txn.route.ip, txn.route.port and txn.route.service. It reads no
 * routing table and decodes no argument: what is left of an agent's cost is
 * the frame header and the socket I/O.
 *
 *   spop-fixed --listen PORT --ip A.B.C.D --port N [--vars 2|4]
 *
 * --vars 2 answers with txn.route.ip and txn.route.port only: what a
 * forward would cost HAProxy if the agent set nothing else
 * (bench/haproxy_cost.sh, variant fixed-ack2).
 *
 * Not for production: a benchmark baseline only (no frame validation beyond
 * what it needs to find the stream and frame IDs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spoa/spop.h"

#define BUF_SIZE (256 * 1024)

struct fconn {
	int fd;
	size_t in_len, out_len, out_off;
	uint8_t in[BUF_SIZE];
	uint8_t out[BUF_SIZE];
};

static uint8_t ack_actions[256];
static size_t ack_actions_len;

static void put_str(uint8_t **p, uint8_t *end, const char *s)
{
	size_t n = strlen(s);

	spop_varint_encode(n, p, end);
	memcpy(*p, s, n);
	*p += n;
}

static void put_set_var_head(uint8_t **p, uint8_t *end, const char *name)
{
	*(*p)++ = 1;    /* set-var */
	*(*p)++ = 3;    /* scope, name, value */
	*(*p)++ = 2;    /* transaction */
	put_str(p, end, name);
}

static void build_ack(struct in_addr ip, unsigned port, int vars)
{
	uint8_t *p = ack_actions, *end = ack_actions + sizeof(ack_actions);

	if (vars == 4) {
		put_set_var_head(&p, end, "action");
		*p++ = 8;
		put_str(&p, end, "forward");
	}
	put_set_var_head(&p, end, "ip");
	*p++ = 6;
	memcpy(p, &ip, 4);
	p += 4;
	put_set_var_head(&p, end, "port");
	*p++ = 2;
	spop_varint_encode(port, &p, end);
	if (vars == 4) {
		put_set_var_head(&p, end, "service");
		*p++ = 8;
		put_str(&p, end, "bench");
	}
	ack_actions_len = (size_t)(p - ack_actions);
}

/* Appends one frame: type, FIN, the IDs, then <payload>. */
static int put_frame(struct fconn *c, uint8_t type, uint64_t sid, uint64_t fid,
		     const uint8_t *payload, size_t len)
{
	uint8_t *start = c->out + c->out_len, *end = c->out + sizeof(c->out), *p = start + 4;
	uint32_t n;

	if ((size_t)(end - start) < 4 + 1 + 4 + 20 + len)
		return -1;
	*p++ = type;
	memcpy(p, "\0\0\0\1", 4);
	p += 4;
	spop_varint_encode(sid, &p, end);
	spop_varint_encode(fid, &p, end);
	memcpy(p, payload, len);
	p += len;
	n = htonl((uint32_t)(p - start - 4));
	memcpy(start, &n, 4);
	c->out_len += (size_t)(p - start);
	return 0;
}

static int hello(struct fconn *c)
{
	uint8_t kv[128], *p = kv, *end = kv + sizeof(kv);

	put_str(&p, end, "version");
	*p++ = 8;
	put_str(&p, end, "2.0");
	put_str(&p, end, "max-frame-size");
	*p++ = 3;
	spop_varint_encode(16380, &p, end);
	put_str(&p, end, "capabilities");
	*p++ = 8;
	put_str(&p, end, "pipelining");
	return put_frame(c, 101, 0, 0, kv, (size_t)(p - kv));
}

/* Handles every whole frame in the input. Returns -1 to close. */
static int process(struct fconn *c)
{
	size_t off = 0;

	while (c->in_len - off >= 4) {
		uint32_t n;
		const uint8_t *p, *end;
		uint64_t sid, fid;

		memcpy(&n, c->in + off, 4);
		n = ntohl(n);
		if (n > 16380 || n < 5)
			return -1;
		if (c->in_len - off < 4 + (size_t)n)
			break;
		p = c->in + off + 4;
		end = p + n;
		switch (p[0]) {
		case 1: /* HAPROXY-HELLO */
			if (hello(c) < 0)
				return -1;
			break;
		case 2: /* HAPROXY-DISCONNECT */
			return -1;
		case 3: /* NOTIFY */
			p += 5;
			if (spop_varint_decode(&p, end, &sid) < 0 || spop_varint_decode(&p, end, &fid) < 0)
				return -1;
			if (put_frame(c, 103, sid, fid, ack_actions, ack_actions_len) < 0)
				return -1;
			break;
		default:
			return -1;
		}
		off += 4 + (size_t)n;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

static int flush(struct fconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct in_addr ip = { 0 };
	unsigned listen_port = 0, port = 0;
	int lfd, ep, one = 1, vars = 4;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			listen_port = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--ip") == 0)
			inet_pton(AF_INET, argv[i + 1], &ip);
		else if (strcmp(argv[i], "--port") == 0)
			port = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--vars") == 0)
			vars = atoi(argv[i + 1]);
	}
	if (!listen_port || !port || !ip.s_addr || (vars != 2 && vars != 4)) {
		fprintf(stderr, "usage: spop-fixed --listen PORT --ip A.B.C.D --port N [--vars 2|4]\n");
		return 2;
	}
	build_ack(ip, port, vars);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)listen_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1024) < 0) {
		perror("listen");
		return 1;
	}
	ep = epoll_create1(0);
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &(struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL });

	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			struct fconn *c = evs[i].data.ptr;

			if (!c) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					c = calloc(1, sizeof(*c));
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					epoll_ctl(ep, EPOLL_CTL_ADD, fd,
						  &(struct epoll_event){ .events = EPOLLIN, .data.ptr = c });
				}
				continue;
			}
			for (;;) {
				ssize_t r = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);

				if (r > 0) {
					c->in_len += (size_t)r;
					if (process(c) < 0)
						goto close_it;
					if (c->in_len < sizeof(c->in))
						continue;
				}
				if (r == 0 || (r < 0 && errno != EAGAIN))
					goto close_it;
				break;
			}
			if (flush(c) < 0 || c->out_len)
				goto close_it;   /* a reader this slow is not a benchmark */
			continue;
close_it:
			close(c->fd);
			free(c);
		}
	}
}
