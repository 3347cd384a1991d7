/* SPOP v2 codec: varints, typed data, frame headers, HELLO/DISCONNECT
 * payloads, NOTIFY message walking and frame encoding. Pure functions over
 * caller-owned buffers: no allocation, no I/O.
 *
 * Return convention: 0 on success, -1 on malformed input (for decoders that
 * also set an SPOP status code, the code says which error to report).
 */
#ifndef SPOA_SPOP_H
#define SPOA_SPOP_H

#include "spoa/spop-t.h"

/* Decodes a varint at <*p> (not past <end>) into <*v> and advances <*p>.
 * Returns 0, or -1 when the input ends first or the value overflows 64 bits.
 */
int spop_varint_decode(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Encodes <v> at <*p> (not past <end>) and advances <*p>. Returns the number
 * of bytes written, or -1 when there is no room (nothing is then valid).
 */
int spop_varint_encode(uint64_t v, uint8_t **p, uint8_t *end);

/* Number of bytes spop_varint_encode() writes for <v>. */
int spop_varint_size(uint64_t v);

/* Decodes one TYPED-DATA item. Strings point into the input. Returns 0, or
 * -1 on truncation or a reserved type (10..15).
 */
int spop_data_decode(const uint8_t **p, const uint8_t *end, struct spop_data *d);

/* Decodes a length-prefixed string (varint + bytes) as used for KV names and
 * message names. Returns 0 or -1.
 */
int spop_string_decode(const uint8_t **p, const uint8_t *end, const char **s, size_t *len);

/* Parses the header of the frame in <buf> (<len> bytes, without the 4-byte
 * length prefix). Returns 0, or -1 with <*status> set to SPOP_ERR_INVALID.
 */
int spop_frame_parse(const uint8_t *buf, size_t len, struct spop_frame *f,
		     enum spop_status *status);

/* Validates a HAPROXY-HELLO frame and extracts what it announced. On error
 * returns -1 and sets <*status> to the code the agent must disconnect with
 * (FRAG_NOT_SUPPORTED, INVALID, NO_VSN, BAD_VSN, NO_FRAME_SIZE,
 * BAD_FRAME_SIZE, NO_CAP).
 */
int spop_hello_parse(const struct spop_frame *f, struct spop_hello *h,
		     enum spop_status *status);

/* Parses a HAPROXY-DISCONNECT frame. Returns 0, or -1 with <*status>. */
int spop_disconnect_parse(const struct spop_frame *f, struct spop_disconnect *d,
			  enum spop_status *status);

/* Walks the messages of a NOTIFY payload. spop_msg_next() returns 1 with
 * <*m> filled, 0 at the end, -1 on malformed input. Arguments are decoded
 * once: when the handler walked all of them, spop_msg_done() lets the
 * iterator resume where they end; otherwise the next spop_msg_next() skips
 * them (and reports malformed arguments then).
 */
void spop_msg_iter_init(struct spop_msg_iter *it, const struct spop_frame *f);
int spop_msg_next(struct spop_msg_iter *it, struct spop_msg *m);
void spop_msg_done(struct spop_msg_iter *it, const struct spop_msg *m);

/* Walks the arguments of <m>: returns 1 with <*a> filled, 0 at the end
 * (recording in <m> where the arguments end), -1 on malformed input.
 */
void spop_arg_iter_init(struct spop_arg_iter *it, struct spop_msg *m);
int spop_arg_next(struct spop_arg_iter *it, struct spop_arg *a);

/* Human-readable reason for a status code, as HAProxy words them. */
const char *spop_status_str(enum spop_status status);

/* ---- encoding ---- */

/* Starts a frame of <type> in <w> over [<buf>, <buf>+<cap>). The frame is
 * complete after spop_frame_end(), which writes the length prefix.
 */
void spop_frame_begin(struct spop_writer *w, uint8_t *buf, size_t cap, uint8_t type,
		      uint64_t stream_id, uint64_t frame_id);

/* Finishes the frame. Returns its total size including the length prefix,
 * or -1 when it did not fit or exceeds <max_frame> payload bytes.
 */
long spop_frame_end(struct spop_writer *w, uint32_t max_frame);

void spop_put_string(struct spop_writer *w, const char *s, size_t len);
void spop_put_kv_str(struct spop_writer *w, const char *key, const char *val, size_t len);
void spop_put_kv_uint32(struct spop_writer *w, const char *key, uint32_t v);

/* ACK actions. <name> is the variable name without HAProxy's prefix. */
void spop_put_set_var_str(struct spop_writer *w, enum spop_scope scope,
			  const char *name, size_t name_len, const char *val, size_t len);
void spop_put_set_var_int(struct spop_writer *w, enum spop_scope scope,
			  const char *name, size_t name_len, int64_t v);
void spop_put_set_var_bool(struct spop_writer *w, enum spop_scope scope,
			   const char *name, size_t name_len, int v);
/* <family> is AF_INET or AF_INET6; <ip> in network order. */
void spop_put_set_var_ip(struct spop_writer *w, enum spop_scope scope,
			 const char *name, size_t name_len, int family, const uint8_t *ip);
void spop_put_unset_var(struct spop_writer *w, enum spop_scope scope,
			const char *name, size_t name_len);

/* Whole frames, written at <buf> with room <cap>. Each returns the total
 * size written, or -1 when it does not fit.
 */
long spop_encode_agent_hello(uint8_t *buf, size_t cap, uint32_t max_frame_size);
long spop_encode_agent_disconnect(uint8_t *buf, size_t cap, enum spop_status status,
				  const char *message);

#endif
