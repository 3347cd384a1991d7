/* SPOP codec: varints and typed data against the vectors of HAProxy's
 * doc/SPOE.txt (section 3.1) and include/haproxy/intops.h, golden frames,
 * and every error path of the decoders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "spoa/spop.h"

/* ---- helpers ---- */

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s), off = 0;
	uint8_t *q = p;

	spop_varint_encode(n, &q, p + 16);
	off = (size_t)(q - p);
	memcpy(p + off, s, n);
	return off + n;
}

/* Builds a frame header (type, flags, sid, fid) at <p>, returns its size. */
static size_t put_head(uint8_t *p, uint8_t type, uint32_t flags, uint64_t sid, uint64_t fid)
{
	uint8_t *q = p;
	uint32_t be = htonl(flags);

	*q++ = type;
	memcpy(q, &be, 4);
	q += 4;
	spop_varint_encode(sid, &q, p + 32);
	spop_varint_encode(fid, &q, p + 32);
	return (size_t)(q - p);
}

/* ---- varints ---- */

struct varint_vector {
	uint64_t value;
	size_t len;
	uint8_t bytes[10];
};

/* Boundaries of each length class, SPOE.txt 3.1, and their encodings as
 * intops.h encode_varint() produces them. */
static const struct varint_vector varints[] = {
	{ 0, 1, { 0x00 } },
	{ 239, 1, { 0xef } },
	{ 240, 2, { 0xf0, 0x00 } },
	{ 2287, 2, { 0xff, 0x7f } },
	{ 2288, 3, { 0xf0, 0x80, 0x00 } },
	{ 16380, 3, { 0xfc, 0xf0, 0x06 } },
	{ 264431, 3, { 0xff, 0xff, 0x7f } },
	{ 264432, 4, { 0xf0, 0x80, 0x80, 0x00 } },
	{ 33818863, 4, { 0xff, 0xff, 0xff, 0x7f } },
	{ 33818864, 5, { 0xf0, 0x80, 0x80, 0x80, 0x00 } },
	{ 4328786159ULL, 5, { 0xff, 0xff, 0xff, 0xff, 0x7f } },
	{ 4328786160ULL, 6, { 0xf0, 0x80, 0x80, 0x80, 0x80, 0x00 } },
};

static void test_varint_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(varints) / sizeof(varints[0]); i++) {
		uint8_t buf[16], *p = buf;
		const uint8_t *q = varints[i].bytes;
		uint64_t v;

		assert_int_equal(spop_varint_encode(varints[i].value, &p, buf + sizeof(buf)),
				 varints[i].len);
		assert_memory_equal(buf, varints[i].bytes, varints[i].len);
		assert_int_equal(spop_varint_size(varints[i].value), varints[i].len);
		assert_int_equal(spop_varint_decode(&q, varints[i].bytes + varints[i].len, &v), 0);
		assert_true(v == varints[i].value);
		assert_ptr_equal(q, varints[i].bytes + varints[i].len);
	}
}

/* Round trip over values spread across the whole 64-bit range. */
static void test_varint_roundtrip(void **state)
{
	uint64_t x = 1;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		uint8_t buf[16], *p = buf;
		const uint8_t *q = buf;
		uint64_t v = x >> (i % 64), got;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		assert_true(spop_varint_encode(v, &p, buf + sizeof(buf)) > 0);
		assert_int_equal(spop_varint_decode(&q, p, &got), 0);
		assert_true(got == v);
		assert_ptr_equal(q, p);
	}
	{
		uint8_t buf[16], *p = buf;
		const uint8_t *q = buf;
		uint64_t got;

		assert_int_equal(spop_varint_encode(UINT64_MAX, &p, buf + sizeof(buf)), 10);
		assert_int_equal(spop_varint_decode(&q, p, &got), 0);
		assert_true(got == UINT64_MAX);
	}
}

static void test_varint_errors(void **state)
{
	static const uint8_t truncated[] = { 0xf0, 0x80 };
	static const uint8_t overflow[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
	const uint8_t *q;
	uint8_t buf[2], *p;
	uint64_t v;

	(void)state;
	q = truncated;
	assert_int_equal(spop_varint_decode(&q, truncated, &v), -1);           /* empty */
	q = truncated;
	assert_int_equal(spop_varint_decode(&q, truncated + 2, &v), -1);       /* ends mid-number */
	assert_ptr_equal(q, truncated);                                       /* untouched */
	q = overflow;
	assert_int_equal(spop_varint_decode(&q, overflow + sizeof(overflow), &v), -1);
	p = buf;
	assert_int_equal(spop_varint_encode(300000, &p, buf + 2), -1);         /* no room */
}

/* ---- typed data ---- */

static void test_data_all_types(void **state)
{
	uint8_t buf[128], *p = buf, *end = buf + sizeof(buf);
	const uint8_t *q;
	struct spop_data d;
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	(void)state;
	*p++ = SPOP_DATA_NULL;
	*p++ = SPOP_DATA_BOOL | SPOP_DATA_FL_TRUE;
	*p++ = SPOP_DATA_BOOL;
	*p++ = SPOP_DATA_INT32;
	spop_varint_encode((uint64_t)(int64_t)-5, &p, end);
	*p++ = SPOP_DATA_UINT32;
	spop_varint_encode(4000000000u, &p, end);
	*p++ = SPOP_DATA_INT64;
	spop_varint_encode((uint64_t)INT64_MIN, &p, end);
	*p++ = SPOP_DATA_UINT64;
	spop_varint_encode(UINT64_MAX, &p, end);
	*p++ = SPOP_DATA_IPV4;
	memcpy(p, "\x0a\x00\x00\x05", 4);
	p += 4;
	*p++ = SPOP_DATA_IPV6;
	memcpy(p, ip6, 16);
	p += 16;
	*p++ = SPOP_DATA_STR;
	p += put_str(p, "example.org");
	*p++ = SPOP_DATA_BIN;
	p += put_str(p, "");

	q = buf;
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_int_equal(d.type, SPOP_DATA_NULL);
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_int_equal(d.type, SPOP_DATA_BOOL);
	assert_true(d.u.boolean);
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_false(d.u.boolean);
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_int_equal(d.type, SPOP_DATA_INT32);
	assert_true(d.u.sint == -5);
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_true(d.u.uint == 4000000000u);
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_true(d.u.sint == INT64_MIN);
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_true(d.u.uint == UINT64_MAX);
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_int_equal(d.type, SPOP_DATA_IPV4);
	assert_memory_equal(d.u.ip, "\x0a\x00\x00\x05", 4);
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_int_equal(d.type, SPOP_DATA_IPV6);
	assert_memory_equal(d.u.ip, ip6, 16);
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_int_equal(d.type, SPOP_DATA_STR);
	assert_int_equal(d.u.str.len, 11);
	assert_memory_equal(d.u.str.ptr, "example.org", 11);
	assert_int_equal(spop_data_decode(&q, p, &d), 0);
	assert_int_equal(d.type, SPOP_DATA_BIN);
	assert_int_equal(d.u.str.len, 0);
	assert_ptr_equal(q, p);
}

static void test_data_errors(void **state)
{
	static const uint8_t reserved[] = { 0x0a };
	static const uint8_t short_ipv4[] = { SPOP_DATA_IPV4, 1, 2, 3 };
	static const uint8_t short_ipv6[] = { SPOP_DATA_IPV6, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t long_str[] = { SPOP_DATA_STR, 5, 'a', 'b' };
	static const uint8_t huge_str[] = { SPOP_DATA_STR, 0xff, 0xff, 0xff, 0x7f, 'a' };
	static const uint8_t bad_int[] = { SPOP_DATA_INT32, 0xf0 };
	const struct { const uint8_t *p; size_t n; } cases[] = {
		{ reserved, sizeof(reserved) },
		{ short_ipv4, sizeof(short_ipv4) },
		{ short_ipv6, sizeof(short_ipv6) },
		{ long_str, sizeof(long_str) },
		{ huge_str, sizeof(huge_str) },
		{ bad_int, sizeof(bad_int) },
	};
	struct spop_data d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *q = cases[i].p;

		assert_int_equal(spop_data_decode(&q, cases[i].p + cases[i].n, &d), -1);
	}
	for (uint8_t t = 10; t < 16; t++) {
		const uint8_t *q = &t;

		assert_int_equal(spop_data_decode(&q, &t + 1, &d), -1);
	}
}

/* ---- golden frames ---- */

/* AGENT-HELLO for max-frame-size 16380, byte by byte from SPOE.txt 3.2.5. */
static const uint8_t golden_agent_hello[] = {
	0x00, 0x00, 0x00, 0x40,                       /* length 64 */
	0x65,                                         /* AGENT-HELLO (101) */
	0x00, 0x00, 0x00, 0x01,                       /* FIN */
	0x00, 0x00,                                   /* stream-id, frame-id */
	0x07, 'v', 'e', 'r', 's', 'i', 'o', 'n',
	0x08, 0x03, '2', '.', '0',
	0x0e, 'm', 'a', 'x', '-', 'f', 'r', 'a', 'm', 'e', '-', 's', 'i', 'z', 'e',
	0x03, 0xfc, 0xf0, 0x06,                       /* UINT32 16380 */
	0x0c, 'c', 'a', 'p', 'a', 'b', 'i', 'l', 'i', 't', 'i', 'e', 's',
	0x08, 0x0a, 'p', 'i', 'p', 'e', 'l', 'i', 'n', 'i', 'n', 'g',
};

static void test_golden_agent_hello(void **state)
{
	uint8_t buf[256];

	(void)state;
	assert_int_equal(spop_encode_agent_hello(buf, sizeof(buf), 16380),
			 sizeof(golden_agent_hello));
	assert_memory_equal(buf, golden_agent_hello, sizeof(golden_agent_hello));
	assert_int_equal(spop_encode_agent_hello(buf, 20, 16380), -1);
}

static const uint8_t golden_agent_disconnect[] = {
	0x00, 0x00, 0x00, 0x26,                       /* length 38 */
	0x66,                                         /* AGENT-DISCONNECT (102) */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x0b, 's', 't', 'a', 't', 'u', 's', '-', 'c', 'o', 'd', 'e',
	0x03, 0x03,                                   /* UINT32 3: frame too big */
	0x07, 'm', 'e', 's', 's', 'a', 'g', 'e',
	0x08, 0x07, 't', 'o', 'o', ' ', 'b', 'i', 'g',
};

static void test_golden_agent_disconnect(void **state)
{
	uint8_t buf[512];
	char longmsg[400];

	(void)state;
	assert_int_equal(spop_encode_agent_disconnect(buf, sizeof(buf), SPOP_ERR_TOO_BIG, "too big"),
			 sizeof(golden_agent_disconnect));
	assert_memory_equal(buf, golden_agent_disconnect, sizeof(golden_agent_disconnect));

	/* HAProxy drops DISCONNECT messages over 255 bytes: we cut them. */
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	{
		long n = spop_encode_agent_disconnect(buf, sizeof(buf), SPOP_ERR_INVALID, longmsg);
		struct spop_frame f;
		enum spop_status st;
		const uint8_t *p;
		const char *s;
		size_t len;
		struct spop_data d;

		assert_true(n > 0);
		assert_int_equal(spop_frame_parse(buf + 4, (size_t)n - 4, &f, &st), 0);
		p = f.payload;
		assert_int_equal(spop_string_decode(&p, f.payload + f.len, &s, &len), 0);
		assert_int_equal(spop_data_decode(&p, f.payload + f.len, &d), 0);
		assert_int_equal(spop_string_decode(&p, f.payload + f.len, &s, &len), 0);
		assert_int_equal(spop_data_decode(&p, f.payload + f.len, &d), 0);
		assert_int_equal(d.u.str.len, 255);
	}
}

/* An ACK with set-var actions in every scope and an unset-var. */
static void test_golden_ack(void **state)
{
	static const uint8_t expect[] = {
		0x00, 0x00, 0x00, 0x25,                   /* length 37 */
		0x67, 0x00, 0x00, 0x00, 0x01,
		0x05, 0xf0, 0x00,                         /* stream 5, frame 240 */
		0x01, 0x03, 0x02, 0x02, 'i', 'p', 0x06, 10, 0, 0, 5,     /* txn.ip */
		0x01, 0x03, 0x00, 0x01, 'n', 0x04, 0x2a,                 /* proc.n INT64 42 */
		0x01, 0x03, 0x04, 0x01, 'b', 0x11,                       /* res.b true */
		0x02, 0x02, 0x01, 0x01, 'x',                             /* unset sess.x */
	};
	uint8_t buf[128];
	struct spop_writer w;
	static const uint8_t ip[4] = { 10, 0, 0, 5 };

	(void)state;
	spop_frame_begin(&w, buf, sizeof(buf), SPOP_FRM_ACK, 5, 240);
	spop_put_set_var_ip(&w, SPOP_SCOPE_TXN, "ip", 2, AF_INET, ip);
	/* Integers go out as INT64, HAProxy's own integer type. */
	spop_put_set_var_int(&w, SPOP_SCOPE_PROC, "n", 1, 42);
	spop_put_set_var_bool(&w, SPOP_SCOPE_RES, "b", 1, 1);
	spop_put_unset_var(&w, SPOP_SCOPE_SESS, "x", 1);
	assert_int_equal(spop_frame_end(&w, 16380), sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
	/* An ACK over the negotiated size is refused, never truncated. */
	spop_frame_begin(&w, buf, sizeof(buf), SPOP_FRM_ACK, 1, 1);
	spop_put_set_var_str(&w, SPOP_SCOPE_TXN, "v", 1, "0123456789", 10);
	assert_int_equal(spop_frame_end(&w, 10), -1);
	/* And an ACK over the buffer latches overflow. */
	spop_frame_begin(&w, buf, 16, SPOP_FRM_ACK, 1, 1);
	spop_put_set_var_str(&w, SPOP_SCOPE_TXN, "v", 1, "0123456789", 10);
	assert_true(w.overflow);
	assert_int_equal(spop_frame_end(&w, 16380), -1);
}

/* ---- HAPROXY-HELLO ---- */

struct hello_opts {
	int fin, sid, no_vsn, no_mfs, no_cap, bad_mfs_type, bad_vsn_type;
	const char *versions;
	uint64_t mfs;
	const char *caps;
	int healthcheck;
};

/* Builds a HAPROXY-HELLO as HAProxy 2.6 sends it, with knobs to break it. */
static size_t build_hello(uint8_t *buf, const struct hello_opts *o)
{
	uint8_t *p = buf;

	p += put_head(p, SPOP_FRM_HAPROXY_HELLO, o->fin ? SPOP_FL_FIN : 0, o->sid, 0);
	if (!o->no_vsn) {
		p += put_str(p, "supported-versions");
		if (o->bad_vsn_type) {
			*p++ = SPOP_DATA_UINT32;
			*p++ = 2;
		} else {
			*p++ = SPOP_DATA_STR;
			p += put_str(p, o->versions ? o->versions : "2.0");
		}
	}
	if (!o->no_mfs) {
		p += put_str(p, "max-frame-size");
		*p++ = o->bad_mfs_type ? SPOP_DATA_STR : SPOP_DATA_UINT32;
		if (o->bad_mfs_type)
			p += put_str(p, "16380");
		else
			spop_varint_encode(o->mfs ? o->mfs : 16380, &p, buf + 512);
	}
	if (!o->no_cap) {
		p += put_str(p, "capabilities");
		*p++ = SPOP_DATA_STR;
		p += put_str(p, o->caps ? o->caps : "pipelining,async");
	}
	p += put_str(p, "unknown-item");
	*p++ = SPOP_DATA_INT32;
	*p++ = 7;
	if (o->healthcheck) {
		p += put_str(p, "healthcheck");
		*p++ = SPOP_DATA_BOOL | SPOP_DATA_FL_TRUE;
	}
	p += put_str(p, "engine-id");
	*p++ = SPOP_DATA_STR;
	p += put_str(p, "a2b3c4");
	return (size_t)(p - buf);
}

static int hello_status(const struct hello_opts *o, struct spop_hello *h)
{
	uint8_t buf[512];
	size_t n = build_hello(buf, o);
	struct spop_frame f;
	enum spop_status st = SPOP_ERR_NONE;

	assert_int_equal(spop_frame_parse(buf, n, &f, &st), 0);
	if (spop_hello_parse(&f, h, &st) == 0)
		return SPOP_ERR_NONE;
	assert_int_not_equal(st, SPOP_ERR_NONE);
	return (int)st;
}

static void test_hello_ok(void **state)
{
	struct hello_opts o = { .fin = 1 };
	struct spop_hello h;

	(void)state;
	assert_int_equal(hello_status(&o, &h), SPOP_ERR_NONE);
	assert_int_equal(h.max_frame_size, 16380);
	assert_true(h.pipelining);
	assert_false(h.healthcheck);
	assert_int_equal(h.engine_id_len, 6);
	assert_memory_equal(h.engine_id, "a2b3c4", 6);

	o.healthcheck = 1;
	o.caps = " async , pipelining ";
	o.versions = "1.0, 2.0";
	assert_int_equal(hello_status(&o, &h), SPOP_ERR_NONE);
	assert_true(h.healthcheck);
	assert_true(h.pipelining);

	o.caps = "pipelining2,fragmentation";
	assert_int_equal(hello_status(&o, &h), SPOP_ERR_NONE);
	assert_false(h.pipelining);
}

static void test_hello_errors(void **state)
{
	struct spop_hello h;
	const struct { struct hello_opts o; int want; } cases[] = {
		{ { .fin = 0 }, SPOP_ERR_FRAG_NOT_SUPPORTED },
		{ { .fin = 1, .sid = 3 }, SPOP_ERR_INVALID },
		{ { .fin = 1, .no_vsn = 1 }, SPOP_ERR_NO_VSN },
		{ { .fin = 1, .versions = "1.0" }, SPOP_ERR_BAD_VSN },
		{ { .fin = 1, .versions = "3.0, 1.5" }, SPOP_ERR_BAD_VSN },
		{ { .fin = 1, .versions = "two" }, SPOP_ERR_BAD_VSN },
		{ { .fin = 1, .bad_vsn_type = 1 }, SPOP_ERR_INVALID },
		{ { .fin = 1, .no_mfs = 1 }, SPOP_ERR_NO_FRAME_SIZE },
		{ { .fin = 1, .mfs = 255 }, SPOP_ERR_BAD_FRAME_SIZE },
		{ { .fin = 1, .mfs = 1ULL << 33 }, SPOP_ERR_BAD_FRAME_SIZE },
		{ { .fin = 1, .bad_mfs_type = 1 }, SPOP_ERR_INVALID },
		{ { .fin = 1, .no_cap = 1 }, SPOP_ERR_NO_CAP },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(hello_status(&cases[i].o, &h), cases[i].want);
}

static void test_hello_truncated(void **state)
{
	struct hello_opts o = { .fin = 1 };
	uint8_t buf[512];
	size_t n = build_hello(buf, &o);
	struct spop_hello h;

	(void)state;
	/* Every cut inside the KV list is invalid, never a crash. */
	for (size_t cut = 7; cut < n; cut++) {
		struct spop_frame f;
		enum spop_status st = SPOP_ERR_NONE;

		assert_int_equal(spop_frame_parse(buf, cut, &f, &st), 0);
		if (spop_hello_parse(&f, &h, &st) < 0)
			assert_int_not_equal(st, SPOP_ERR_NONE);
	}
}

static void test_frame_header_errors(void **state)
{
	static const uint8_t short_frame[] = { 3, 0, 0, 0, 1, 0 };
	static const uint8_t bad_sid[] = { 3, 0, 0, 0, 1, 0xf0, 0xff, 0xff };
	struct spop_frame f;
	enum spop_status st = SPOP_ERR_NONE;

	(void)state;
	assert_int_equal(spop_frame_parse(short_frame, sizeof(short_frame), &f, &st), -1);
	assert_int_equal(st, SPOP_ERR_INVALID);
	st = SPOP_ERR_NONE;
	assert_int_equal(spop_frame_parse(bad_sid, sizeof(bad_sid), &f, &st), -1);
	assert_int_equal(st, SPOP_ERR_INVALID);
}

/* ---- HAPROXY-DISCONNECT ---- */

static void test_disconnect(void **state)
{
	uint8_t buf[128], *p = buf;
	struct spop_frame f;
	struct spop_disconnect d;
	enum spop_status st;

	(void)state;
	p += put_head(p, SPOP_FRM_HAPROXY_DISCON, SPOP_FL_FIN, 0, 0);
	p += put_str(p, "status-code");
	*p++ = SPOP_DATA_UINT32;
	*p++ = 2;
	p += put_str(p, "message");
	*p++ = SPOP_DATA_STR;
	p += put_str(p, "a timeout occurred");
	assert_int_equal(spop_frame_parse(buf, (size_t)(p - buf), &f, &st), 0);
	assert_int_equal(spop_disconnect_parse(&f, &d, &st), 0);
	assert_int_equal(d.status, 2);
	assert_int_equal(d.message_len, 18);

	/* Without its status code it is invalid. */
	p = buf;
	p += put_head(p, SPOP_FRM_HAPROXY_DISCON, SPOP_FL_FIN, 0, 0);
	p += put_str(p, "message");
	*p++ = SPOP_DATA_STR;
	p += put_str(p, "x");
	assert_int_equal(spop_frame_parse(buf, (size_t)(p - buf), &f, &st), 0);
	assert_int_equal(spop_disconnect_parse(&f, &d, &st), -1);
	assert_int_equal(st, SPOP_ERR_INVALID);
}

/* ---- NOTIFY ---- */

static size_t build_notify(uint8_t *buf)
{
	uint8_t *p = buf;

	p += put_head(p, SPOP_FRM_NOTIFY, SPOP_FL_FIN, 12, 1);
	p += put_str(p, "route");
	*p++ = 3;
	p += put_str(p, "host");
	*p++ = SPOP_DATA_STR;
	p += put_str(p, "app.example.org");
	p += put_str(p, "src");
	*p++ = SPOP_DATA_IPV4;
	memcpy(p, "\x7f\x00\x00\x01", 4);
	p += 4;
	p += put_str(p, "");               /* unnamed argument */
	*p++ = SPOP_DATA_NULL;
	p += put_str(p, "other");
	*p++ = 1;
	p += put_str(p, "ssl");
	*p++ = SPOP_DATA_BOOL | SPOP_DATA_FL_TRUE;
	return (size_t)(p - buf);
}

static void test_notify_walk(void **state)
{
	uint8_t buf[256];
	size_t n = build_notify(buf);
	struct spop_frame f;
	struct spop_msg_iter it;
	struct spop_arg_iter ai;
	struct spop_msg m;
	struct spop_arg a;
	enum spop_status st;

	(void)state;
	assert_int_equal(spop_frame_parse(buf, n, &f, &st), 0);
	assert_int_equal(f.type, SPOP_FRM_NOTIFY);
	assert_true(f.stream_id == 12 && f.frame_id == 1);
	spop_msg_iter_init(&it, &f);

	assert_int_equal(spop_msg_next(&it, &m), 1);
	assert_int_equal(m.name_len, 5);
	assert_int_equal(m.nargs, 3);
	spop_arg_iter_init(&ai, &m);
	assert_int_equal(spop_arg_next(&ai, &a), 1);
	assert_int_equal(a.data.type, SPOP_DATA_STR);
	assert_int_equal(spop_arg_next(&ai, &a), 1);
	assert_int_equal(a.data.type, SPOP_DATA_IPV4);
	assert_int_equal(spop_arg_next(&ai, &a), 1);
	assert_int_equal(a.name_len, 0);
	assert_int_equal(a.data.type, SPOP_DATA_NULL);
	assert_int_equal(spop_arg_next(&ai, &a), 0);

	/* The walked arguments tell the iterator where the next message is. */
	assert_non_null(m.args_end);
	spop_msg_done(&it, &m);
	assert_int_equal(spop_msg_next(&it, &m), 1);
	assert_int_equal(m.name_len, 5);
	assert_memory_equal(m.name, "other", 5);
	spop_arg_iter_init(&ai, &m);
	assert_int_equal(spop_arg_next(&ai, &a), 1);
	assert_true(a.data.u.boolean);
	assert_int_equal(spop_msg_next(&it, &m), 0);

	/* Without walking them, the iterator skips them itself, and a
	 * handler that stops half-way leaves the skipping to it too. */
	spop_msg_iter_init(&it, &f);
	assert_int_equal(spop_msg_next(&it, &m), 1);
	spop_msg_done(&it, &m);
	assert_int_equal(spop_msg_next(&it, &m), 1);
	assert_memory_equal(m.name, "other", 5);
	spop_msg_iter_init(&it, &f);
	assert_int_equal(spop_msg_next(&it, &m), 1);
	spop_arg_iter_init(&ai, &m);
	assert_int_equal(spop_arg_next(&ai, &a), 1);
	assert_null(m.args_end);
	spop_msg_done(&it, &m);
	assert_int_equal(spop_msg_next(&it, &m), 1);
	assert_memory_equal(m.name, "other", 5);
	assert_int_equal(spop_msg_next(&it, &m), 0);
}

static void test_notify_truncated(void **state)
{
	uint8_t buf[256];
	size_t n = build_notify(buf);
	size_t head = 1 + 4 + 1 + 1;
	/* where the first message ends: a cut there leaves a valid payload */
	size_t boundary = head + 6 + 1 + (5 + 1 + 16) + (4 + 1 + 4) + (1 + 1);

	(void)state;
	/* Any cut that leaves a partial message is an error, never a crash
	 * or an out-of-bounds read (ASan builds check the latter). */
	for (size_t cut = head + 1; cut < n; cut++) {
		struct spop_frame f;
		struct spop_msg_iter it;
		struct spop_msg m;
		enum spop_status st;
		int r;

		assert_int_equal(spop_frame_parse(buf, cut, &f, &st), 0);
		spop_msg_iter_init(&it, &f);
		while ((r = spop_msg_next(&it, &m)) > 0)
			;
		assert_int_equal(r, cut == boundary ? 0 : -1);
	}
}

static void test_notify_errors(void **state)
{
	uint8_t buf[64], *p;
	struct spop_frame f;
	struct spop_msg_iter it;
	struct spop_msg m;
	enum spop_status st;

	(void)state;
	/* empty message name */
	p = buf;
	p += put_head(p, SPOP_FRM_NOTIFY, SPOP_FL_FIN, 1, 1);
	*p++ = 0;
	*p++ = 0;
	assert_int_equal(spop_frame_parse(buf, (size_t)(p - buf), &f, &st), 0);
	spop_msg_iter_init(&it, &f);
	assert_int_equal(spop_msg_next(&it, &m), -1);

	/* more arguments announced than present */
	p = buf;
	p += put_head(p, SPOP_FRM_NOTIFY, SPOP_FL_FIN, 1, 1);
	p += put_str(p, "route");
	*p++ = 2;
	p += put_str(p, "host");
	*p++ = SPOP_DATA_NULL;
	assert_int_equal(spop_frame_parse(buf, (size_t)(p - buf), &f, &st), 0);
	spop_msg_iter_init(&it, &f);
	assert_int_equal(spop_msg_next(&it, &m), 1);    /* arguments are checked lazily */
	assert_int_equal(spop_msg_next(&it, &m), -1);

	/* an argument of a reserved type */
	p = buf;
	p += put_head(p, SPOP_FRM_NOTIFY, SPOP_FL_FIN, 1, 1);
	p += put_str(p, "route");
	*p++ = 1;
	p += put_str(p, "host");
	*p++ = 0x0c;
	assert_int_equal(spop_frame_parse(buf, (size_t)(p - buf), &f, &st), 0);
	spop_msg_iter_init(&it, &f);
	assert_int_equal(spop_msg_next(&it, &m), 1);    /* arguments are checked lazily */
	assert_int_equal(spop_msg_next(&it, &m), -1);

	/* an empty payload has no message */
	p = buf;
	p += put_head(p, SPOP_FRM_NOTIFY, SPOP_FL_FIN, 1, 1);
	assert_int_equal(spop_frame_parse(buf, (size_t)(p - buf), &f, &st), 0);
	spop_msg_iter_init(&it, &f);
	assert_int_equal(spop_msg_next(&it, &m), 0);
}

static void test_status_strings(void **state)
{
	(void)state;
	assert_string_equal(spop_status_str(SPOP_ERR_TOO_BIG), "frame is too big");
	assert_string_equal(spop_status_str(SPOP_ERR_INVALID), "invalid frame received");
	assert_string_equal(spop_status_str(SPOP_ERR_FRAG_NOT_SUPPORTED),
			    "fragmentation not supported");
	assert_string_equal(spop_status_str((enum spop_status)1234), "an unknown error occurred");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_vectors),
		cmocka_unit_test(test_varint_roundtrip),
		cmocka_unit_test(test_varint_errors),
		cmocka_unit_test(test_data_all_types),
		cmocka_unit_test(test_data_errors),
		cmocka_unit_test(test_golden_agent_hello),
		cmocka_unit_test(test_golden_agent_disconnect),
		cmocka_unit_test(test_golden_ack),
		cmocka_unit_test(test_hello_ok),
		cmocka_unit_test(test_hello_errors),
		cmocka_unit_test(test_hello_truncated),
		cmocka_unit_test(test_frame_header_errors),
		cmocka_unit_test(test_disconnect),
		cmocka_unit_test(test_notify_walk),
		cmocka_unit_test(test_notify_truncated),
		cmocka_unit_test(test_notify_errors),
		cmocka_unit_test(test_status_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
