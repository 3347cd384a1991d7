/* SPOP v2 codec. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "spoa/spop.h"

/* ------------------------------------------------------------------------
 * Varints (HAProxy "peers" encoding, SPOE.txt 3.1)
 * ------------------------------------------------------------------------ */

int spop_varint_decode(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t val, add;
	unsigned shift = 4;

	if (q >= end)
		return -1;
	val = *q++;
	if (val < 240) {
		*p = q;
		*v = val;
		return 0;
	}
	for (;;) {
		uint8_t b;

		if (q >= end)
			return -1;
		b = *q++;
		/* Bytes beyond bit 63 would be silently lost: refuse them. */
		if (shift >= 64 || (shift > 56 && (b >> (64 - shift)) != 0))
			return -1;
		add = (uint64_t)b << shift;
		if (__builtin_add_overflow(val, add, &val))
			return -1;
		shift += 7;
		if (b < 128)
			break;
	}
	*p = q;
	*v = val;
	return 0;
}

int spop_varint_encode(uint64_t v, uint8_t **p, uint8_t *end)
{
	uint8_t *q = *p;

	if (q >= end)
		return -1;
	if (v < 240) {
		*q++ = (uint8_t)v;
		*p = q;
		return 1;
	}
	*q++ = (uint8_t)v | 240;
	v = (v - 240) >> 4;
	while (v >= 128) {
		if (q >= end)
			return -1;
		*q++ = (uint8_t)v | 128;
		v = (v - 128) >> 7;
	}
	if (q >= end)
		return -1;
	*q++ = (uint8_t)v;
	{
		int n = (int)(q - *p);

		*p = q;
		return n;
	}
}

int spop_varint_size(uint64_t v)
{
	int n = 1;

	if (v < 240)
		return 1;
	v = (v - 240) >> 4;
	while (v >= 128) {
		v = (v - 128) >> 7;
		n++;
	}
	return n + 1;
}

/* ------------------------------------------------------------------------
 * Typed data and strings
 * ------------------------------------------------------------------------ */

int spop_string_decode(const uint8_t **p, const uint8_t *end, const char **s, size_t *len)
{
	const uint8_t *q = *p;
	uint64_t n;

	if (spop_varint_decode(&q, end, &n) < 0 || n > (uint64_t)(end - q))
		return -1;
	*s = (const char *)q;
	*len = (size_t)n;
	*p = q + n;
	return 0;
}

int spop_data_decode(const uint8_t **p, const uint8_t *end, struct spop_data *d)
{
	const uint8_t *q = *p;
	uint64_t v;
	uint8_t tf;

	if (q >= end)
		return -1;
	tf = *q++;
	d->type = tf & SPOP_DATA_T_MASK;
	switch (d->type) {
	case SPOP_DATA_NULL:
		break;
	case SPOP_DATA_BOOL:
		d->u.boolean = (tf & SPOP_DATA_FL_TRUE) != 0;
		break;
	case SPOP_DATA_INT32:
	case SPOP_DATA_INT64:
		if (spop_varint_decode(&q, end, &v) < 0)
			return -1;
		d->u.sint = (int64_t)v;
		break;
	case SPOP_DATA_UINT32:
	case SPOP_DATA_UINT64:
		if (spop_varint_decode(&q, end, &v) < 0)
			return -1;
		d->u.uint = v;
		break;
	case SPOP_DATA_IPV4:
		if (end - q < 4)
			return -1;
		memcpy(d->u.ip, q, 4);
		q += 4;
		break;
	case SPOP_DATA_IPV6:
		if (end - q < 16)
			return -1;
		memcpy(d->u.ip, q, 16);
		q += 16;
		break;
	case SPOP_DATA_STR:
	case SPOP_DATA_BIN:
		if (spop_string_decode(&q, end, &d->u.str.ptr, &d->u.str.len) < 0)
			return -1;
		break;
	default:
		return -1;  /* 10..15 are reserved */
	}
	*p = q;
	return 0;
}

/* Skips one TYPED-DATA item. Returns 0 or -1. */
static int spop_data_skip(const uint8_t **p, const uint8_t *end)
{
	struct spop_data d;

	return spop_data_decode(p, end, &d);
}

/* Returns 1 if <d> holds an integer that fits in a uint32 and stores it. */
static int data_to_uint32(const struct spop_data *d, uint32_t *out)
{
	switch (d->type) {
	case SPOP_DATA_INT32:
	case SPOP_DATA_INT64:
		if (d->u.sint < 0 || d->u.sint > (int64_t)UINT32_MAX)
			return 0;
		*out = (uint32_t)d->u.sint;
		return 1;
	case SPOP_DATA_UINT32:
	case SPOP_DATA_UINT64:
		if (d->u.uint > UINT32_MAX)
			return 0;
		*out = (uint32_t)d->u.uint;
		return 1;
	default:
		return 0;
	}
}

static int data_is_int(const struct spop_data *d)
{
	return d->type >= SPOP_DATA_INT32 && d->type <= SPOP_DATA_UINT64;
}

/* ------------------------------------------------------------------------
 * Frames
 * ------------------------------------------------------------------------ */

int spop_frame_parse(const uint8_t *buf, size_t len, struct spop_frame *f,
		     enum spop_status *status)
{
	const uint8_t *p = buf, *end = buf + len;
	uint32_t flags;

	/* type, 4 bytes of flags, and two varints of at least one byte */
	if (len < 7)
		goto invalid;
	f->type = *p++;
	memcpy(&flags, p, 4);
	f->flags = ntohl(flags);
	p += 4;
	if (spop_varint_decode(&p, end, &f->stream_id) < 0 ||
	    spop_varint_decode(&p, end, &f->frame_id) < 0)
		goto invalid;
	f->payload = p;
	f->len = (size_t)(end - p);
	return 0;
invalid:
	*status = SPOP_ERR_INVALID;
	return -1;
}

/* Walks the KV-LIST payload of <f>, calling <fn> for each item. Returns 0,
 * or -1 on malformed input.
 */
static int kv_walk(const struct spop_frame *f,
		   int (*fn)(void *arg, const char *key, size_t klen, const struct spop_data *v),
		   void *arg)
{
	const uint8_t *p = f->payload, *end = f->payload + f->len;

	while (p < end) {
		struct spop_data v;
		const char *key;
		size_t klen;

		if (spop_string_decode(&p, end, &key, &klen) < 0 || klen == 0)
			return -1;
		if (spop_data_decode(&p, end, &v) < 0)
			return -1;
		if (fn(arg, key, klen, &v) < 0)
			return -1;
	}
	return 0;
}

static int key_is(const char *key, size_t klen, const char *want)
{
	size_t n = strlen(want);

	return klen == n && memcmp(key, want, n) == 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Calls <fn> for each comma-separated token of <s>, spaces trimmed.
 * Stops and returns 1 as soon as <fn> returns 1; returns 0 otherwise.
 */
static int for_each_token(const char *s, size_t len,
			  int (*fn)(const char *tok, size_t n, void *arg), void *arg)
{
	size_t i = 0;

	while (i <= len) {
		size_t start = i, stop;

		while (i < len && s[i] != ',')
			i++;
		stop = i;
		while (start < stop && is_space(s[start]))
			start++;
		while (stop > start && is_space(s[stop - 1]))
			stop--;
		if (stop > start && fn(s + start, stop - start, arg))
			return 1;
		i++;
	}
	return 0;
}

/* Accepts "2.x": we speak 2.0, which every 2.x peer also speaks. */
static int version_ok(const char *tok, size_t n, void *arg)
{
	size_t i = 0;
	unsigned major = 0;

	(void)arg;
	while (i < n && tok[i] >= '0' && tok[i] <= '9' && major < 1000)
		major = major * 10 + (unsigned)(tok[i++] - '0');
	if (i == 0 || i >= n || tok[i] != '.')
		return 0;
	i++;
	if (i >= n)
		return 0;
	for (; i < n; i++)
		if (tok[i] < '0' || tok[i] > '9')
			return 0;
	return major == 2;
}

static int capability_pipelining(const char *tok, size_t n, void *arg)
{
	(void)arg;
	return n == 10 && memcmp(tok, "pipelining", 10) == 0;
}

struct hello_state {
	struct spop_hello *h;
	enum spop_status status;       /* first semantic error found */
	int have_vsn, vsn_ok;
	int have_mfs, mfs_ok;
	int have_cap;
};

static int hello_item(void *arg, const char *key, size_t klen, const struct spop_data *v)
{
	struct hello_state *st = arg;
	uint32_t mfs;

	if (key_is(key, klen, "supported-versions")) {
		if (v->type != SPOP_DATA_STR)
			return -1;
		st->have_vsn = 1;
		st->vsn_ok = for_each_token(v->u.str.ptr, v->u.str.len, version_ok, NULL);
	} else if (key_is(key, klen, "max-frame-size")) {
		if (!data_is_int(v))
			return -1;
		st->have_mfs = 1;
		st->mfs_ok = data_to_uint32(v, &mfs) && mfs >= SPOP_MIN_FRAME_SIZE;
		if (st->mfs_ok)
			st->h->max_frame_size = mfs;
	} else if (key_is(key, klen, "capabilities")) {
		if (v->type != SPOP_DATA_STR)
			return -1;
		st->have_cap = 1;
		st->h->pipelining = for_each_token(v->u.str.ptr, v->u.str.len,
						   capability_pipelining, NULL);
	} else if (key_is(key, klen, "healthcheck")) {
		if (v->type != SPOP_DATA_BOOL)
			return -1;
		st->h->healthcheck = v->u.boolean;
	} else if (key_is(key, klen, "engine-id")) {
		if (v->type != SPOP_DATA_STR)
			return -1;
		st->h->engine_id = v->u.str.ptr;
		st->h->engine_id_len = v->u.str.len;
	}
	/* unknown items are ignored */
	return 0;
}

int spop_hello_parse(const struct spop_frame *f, struct spop_hello *h,
		     enum spop_status *status)
{
	struct hello_state st = { .h = h };

	memset(h, 0, sizeof(*h));
	if (f->type != SPOP_FRM_HAPROXY_HELLO) {
		*status = SPOP_ERR_INVALID;
		return -1;
	}
	if (!(f->flags & SPOP_FL_FIN)) {
		*status = SPOP_ERR_FRAG_NOT_SUPPORTED;
		return -1;
	}
	if (f->stream_id || f->frame_id) {
		*status = SPOP_ERR_INVALID;
		return -1;
	}
	if (kv_walk(f, hello_item, &st) < 0) {
		*status = SPOP_ERR_INVALID;
		return -1;
	}
	if (!st.have_vsn)
		*status = SPOP_ERR_NO_VSN;
	else if (!st.vsn_ok)
		*status = SPOP_ERR_BAD_VSN;
	else if (!st.have_mfs)
		*status = SPOP_ERR_NO_FRAME_SIZE;
	else if (!st.mfs_ok)
		*status = SPOP_ERR_BAD_FRAME_SIZE;
	else if (!st.have_cap)
		*status = SPOP_ERR_NO_CAP;
	else
		return 0;
	return -1;
}

struct discon_state {
	struct spop_disconnect *d;
	int have_status;
};

static int discon_item(void *arg, const char *key, size_t klen, const struct spop_data *v)
{
	struct discon_state *st = arg;

	if (key_is(key, klen, "status-code")) {
		if (!data_to_uint32(v, &st->d->status))
			return -1;
		st->have_status = 1;
	} else if (key_is(key, klen, "message")) {
		if (v->type != SPOP_DATA_STR)
			return -1;
		st->d->message = v->u.str.ptr;
		st->d->message_len = v->u.str.len;
	}
	return 0;
}

int spop_disconnect_parse(const struct spop_frame *f, struct spop_disconnect *d,
			  enum spop_status *status)
{
	struct discon_state st = { .d = d };

	memset(d, 0, sizeof(*d));
	if (f->type != SPOP_FRM_HAPROXY_DISCON || f->stream_id || f->frame_id) {
		*status = SPOP_ERR_INVALID;
		return -1;
	}
	if (!(f->flags & SPOP_FL_FIN)) {
		*status = SPOP_ERR_FRAG_NOT_SUPPORTED;
		return -1;
	}
	if (kv_walk(f, discon_item, &st) < 0 || !st.have_status) {
		*status = SPOP_ERR_INVALID;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * NOTIFY messages
 * ------------------------------------------------------------------------ */

void spop_msg_iter_init(struct spop_msg_iter *it, const struct spop_frame *f)
{
	it->p = f->payload;
	it->end = f->payload + f->len;
	it->skip = 0;
}

/* Skips one KV item (name + typed data). Returns 0 or -1. */
static int kv_skip(const uint8_t **p, const uint8_t *end)
{
	const char *s;
	size_t n;

	if (spop_string_decode(p, end, &s, &n) < 0)
		return -1;
	return spop_data_skip(p, end);
}

int spop_msg_next(struct spop_msg_iter *it, struct spop_msg *m)
{
	const uint8_t *p = it->p;

	for (; it->skip; it->skip--)
		if (kv_skip(&p, it->end) < 0)
			return -1;
	it->p = p;
	if (p >= it->end)
		return 0;
	if (spop_string_decode(&p, it->end, &m->name, &m->name_len) < 0 || m->name_len == 0)
		return -1;
	if (p >= it->end)
		return -1;
	m->nargs = *p++;
	m->args = p;
	m->end = it->end;
	m->args_end = NULL;
	it->p = p;
	it->skip = m->nargs;
	return 1;
}

void spop_msg_done(struct spop_msg_iter *it, const struct spop_msg *m)
{
	if (m->args_end) {
		it->p = m->args_end;
		it->skip = 0;
	}
}

void spop_arg_iter_init(struct spop_arg_iter *it, struct spop_msg *m)
{
	it->p = m->args;
	it->end = m->end;
	it->left = m->nargs;
	it->msg = m;
}

int spop_arg_next(struct spop_arg_iter *it, struct spop_arg *a)
{
	if (!it->left) {
		it->msg->args_end = it->p;
		return 0;
	}
	if (spop_string_decode(&it->p, it->end, &a->name, &a->name_len) < 0 ||
	    spop_data_decode(&it->p, it->end, &a->data) < 0)
		return -1;
	it->left--;
	return 1;
}

const char *spop_status_str(enum spop_status status)
{
	switch (status) {
	case SPOP_ERR_NONE:               return "normal";
	case SPOP_ERR_IO:                 return "I/O error";
	case SPOP_ERR_TOUT:               return "a timeout occurred";
	case SPOP_ERR_TOO_BIG:            return "frame is too big";
	case SPOP_ERR_INVALID:            return "invalid frame received";
	case SPOP_ERR_NO_VSN:             return "version value not found";
	case SPOP_ERR_NO_FRAME_SIZE:      return "max-frame-size value not found";
	case SPOP_ERR_NO_CAP:             return "capabilities value not found";
	case SPOP_ERR_BAD_VSN:            return "unsupported version";
	case SPOP_ERR_BAD_FRAME_SIZE:     return "max-frame-size too big or too small";
	case SPOP_ERR_FRAG_NOT_SUPPORTED: return "fragmentation not supported";
	case SPOP_ERR_INTERLACED_FRAMES:  return "invalid interlaced frames";
	case SPOP_ERR_FRAMEID_NOTFOUND:   return "frame-id not found";
	case SPOP_ERR_RES:                return "resource allocation error";
	case SPOP_ERR_UNKNOWN:            return "an unknown error occurred";
	}
	return "an unknown error occurred";
}

/* ------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------ */

static void put_bytes(struct spop_writer *w, const void *src, size_t n)
{
	if (w->overflow || (size_t)(w->end - w->p) < n) {
		w->overflow = 1;
		return;
	}
	memcpy(w->p, src, n);
	w->p += n;
}

static void put_byte(struct spop_writer *w, uint8_t b)
{
	if (w->overflow || w->p >= w->end) {
		w->overflow = 1;
		return;
	}
	*w->p++ = b;
}

static void put_varint(struct spop_writer *w, uint64_t v)
{
	if (w->overflow || spop_varint_encode(v, &w->p, w->end) < 0)
		w->overflow = 1;
}

void spop_frame_begin(struct spop_writer *w, uint8_t *buf, size_t cap, uint8_t type,
		      uint64_t stream_id, uint64_t frame_id)
{
	uint32_t flags = htonl(SPOP_FL_FIN);

	w->start = buf;
	w->p = buf;
	w->end = buf + cap;
	w->overflow = 0;
	if (cap < SPOP_LEN_SIZE) {
		w->overflow = 1;
		return;
	}
	w->p += SPOP_LEN_SIZE;
	put_byte(w, type);
	put_bytes(w, &flags, 4);
	put_varint(w, stream_id);
	put_varint(w, frame_id);
}

long spop_frame_end(struct spop_writer *w, uint32_t max_frame)
{
	size_t len;
	uint32_t be;

	if (w->overflow)
		return -1;
	len = (size_t)(w->p - w->start) - SPOP_LEN_SIZE;
	if (len > max_frame)
		return -1;
	be = htonl((uint32_t)len);
	memcpy(w->start, &be, 4);
	return (long)(len + SPOP_LEN_SIZE);
}

void spop_put_string(struct spop_writer *w, const char *s, size_t len)
{
	put_varint(w, len);
	put_bytes(w, s, len);
}

void spop_put_kv_str(struct spop_writer *w, const char *key, const char *val, size_t len)
{
	spop_put_string(w, key, strlen(key));
	put_byte(w, SPOP_DATA_STR);
	spop_put_string(w, val, len);
}

void spop_put_kv_uint32(struct spop_writer *w, const char *key, uint32_t v)
{
	spop_put_string(w, key, strlen(key));
	put_byte(w, SPOP_DATA_UINT32);
	put_varint(w, v);
}

static void put_set_var_head(struct spop_writer *w, enum spop_scope scope,
			     const char *name, size_t name_len)
{
	put_byte(w, SPOP_ACT_SET_VAR);
	put_byte(w, 3);
	put_byte(w, (uint8_t)scope);
	spop_put_string(w, name, name_len);
}

void spop_put_set_var_str(struct spop_writer *w, enum spop_scope scope,
			  const char *name, size_t name_len, const char *val, size_t len)
{
	put_set_var_head(w, scope, name, name_len);
	put_byte(w, SPOP_DATA_STR);
	spop_put_string(w, val, len);
}

void spop_put_set_var_int(struct spop_writer *w, enum spop_scope scope,
			  const char *name, size_t name_len, int64_t v)
{
	put_set_var_head(w, scope, name, name_len);
	put_byte(w, SPOP_DATA_INT64);
	put_varint(w, (uint64_t)v);
}

void spop_put_set_var_bool(struct spop_writer *w, enum spop_scope scope,
			   const char *name, size_t name_len, int v)
{
	put_set_var_head(w, scope, name, name_len);
	put_byte(w, SPOP_DATA_BOOL | (v ? SPOP_DATA_FL_TRUE : 0));
}

void spop_put_set_var_ip(struct spop_writer *w, enum spop_scope scope,
			 const char *name, size_t name_len, int family, const uint8_t *ip)
{
	put_set_var_head(w, scope, name, name_len);
	if (family == AF_INET) {
		put_byte(w, SPOP_DATA_IPV4);
		put_bytes(w, ip, 4);
	} else {
		put_byte(w, SPOP_DATA_IPV6);
		put_bytes(w, ip, 16);
	}
}

void spop_put_unset_var(struct spop_writer *w, enum spop_scope scope,
			const char *name, size_t name_len)
{
	put_byte(w, SPOP_ACT_UNSET_VAR);
	put_byte(w, 2);
	put_byte(w, (uint8_t)scope);
	spop_put_string(w, name, name_len);
}

long spop_encode_agent_hello(uint8_t *buf, size_t cap, uint32_t max_frame_size)
{
	struct spop_writer w;

	spop_frame_begin(&w, buf, cap, SPOP_FRM_AGENT_HELLO, 0, 0);
	spop_put_kv_str(&w, "version", SPOP_VERSION, strlen(SPOP_VERSION));
	spop_put_kv_uint32(&w, "max-frame-size", max_frame_size);
	spop_put_kv_str(&w, "capabilities", SPOP_CAPABILITIES, strlen(SPOP_CAPABILITIES));
	return spop_frame_end(&w, max_frame_size);
}

long spop_encode_agent_disconnect(uint8_t *buf, size_t cap, enum spop_status status,
				  const char *message)
{
	struct spop_writer w;
	size_t len = strlen(message);

	/* HAProxy refuses DISCONNECT messages longer than 255 bytes. */
	if (len > 255)
		len = 255;
	spop_frame_begin(&w, buf, cap, SPOP_FRM_AGENT_DISCON, 0, 0);
	spop_put_kv_uint32(&w, "status-code", (uint32_t)status);
	spop_put_kv_str(&w, "message", message, len);
	return spop_frame_end(&w, UINT32_MAX);
}
