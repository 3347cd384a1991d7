/* SPOP v2 wire types and constants (HAProxy doc/SPOE.txt section 3). */
#ifndef SPOA_SPOP_T_H
#define SPOA_SPOP_T_H

#include <stddef.h>
#include <stdint.h>

#define SPOP_LEN_SIZE        4        /* frame length prefix */
#define SPOP_MIN_FRAME_SIZE  256      /* smallest max-frame-size a peer may announce */
#define SPOP_MAX_FRAME_SIZE  16380    /* HAProxy's default: tune.bufsize - 4 */
#define SPOP_VERSION         "2.0"
#define SPOP_CAPABILITIES    "pipelining"

/* Frame flags */
#define SPOP_FL_FIN          0x00000001
#define SPOP_FL_ABRT         0x00000002

enum spop_frame_type {
	SPOP_FRM_UNSET          = 0,
	SPOP_FRM_HAPROXY_HELLO  = 1,
	SPOP_FRM_HAPROXY_DISCON = 2,
	SPOP_FRM_NOTIFY         = 3,
	SPOP_FRM_AGENT_HELLO    = 101,
	SPOP_FRM_AGENT_DISCON   = 102,
	SPOP_FRM_ACK            = 103,
};

/* Typed data: type in the low 4 bits, flags in the high 4 bits. */
#define SPOP_DATA_T_MASK     0x0F
#define SPOP_DATA_FL_MASK    0xF0
#define SPOP_DATA_FL_TRUE    0x10

enum spop_data_type {
	SPOP_DATA_NULL   = 0,
	SPOP_DATA_BOOL   = 1,
	SPOP_DATA_INT32  = 2,
	SPOP_DATA_UINT32 = 3,
	SPOP_DATA_INT64  = 4,
	SPOP_DATA_UINT64 = 5,
	SPOP_DATA_IPV4   = 6,
	SPOP_DATA_IPV6   = 7,
	SPOP_DATA_STR    = 8,
	SPOP_DATA_BIN    = 9,
};

/* Status codes of DISCONNECT frames (SPOE.txt 3.5). */
enum spop_status {
	SPOP_ERR_NONE               = 0,
	SPOP_ERR_IO                 = 1,
	SPOP_ERR_TOUT               = 2,
	SPOP_ERR_TOO_BIG            = 3,
	SPOP_ERR_INVALID            = 4,
	SPOP_ERR_NO_VSN             = 5,
	SPOP_ERR_NO_FRAME_SIZE      = 6,
	SPOP_ERR_NO_CAP             = 7,
	SPOP_ERR_BAD_VSN            = 8,
	SPOP_ERR_BAD_FRAME_SIZE     = 9,
	SPOP_ERR_FRAG_NOT_SUPPORTED = 10,
	SPOP_ERR_INTERLACED_FRAMES  = 11,
	SPOP_ERR_FRAMEID_NOTFOUND   = 12,
	SPOP_ERR_RES                = 13,
	SPOP_ERR_UNKNOWN            = 99,
};
#define SPOP_ERR_SLOTS 16          /* counters: 0..13 plus one slot for "other" */

enum spop_scope {
	SPOP_SCOPE_PROC = 0,
	SPOP_SCOPE_SESS = 1,
	SPOP_SCOPE_TXN  = 2,
	SPOP_SCOPE_REQ  = 3,
	SPOP_SCOPE_RES  = 4,
};

enum spop_action_type {
	SPOP_ACT_SET_VAR   = 1,
	SPOP_ACT_UNSET_VAR = 2,
};

/* A decoded typed value. Strings and binaries point into the frame. */
struct spop_data {
	uint8_t type;                  /* enum spop_data_type */
	union {
		int boolean;
		int64_t sint;              /* INT32, INT64 */
		uint64_t uint;             /* UINT32, UINT64 */
		uint8_t ip[16];            /* IPV4 (4 bytes), IPV6 */
		struct {
			const char *ptr;
			size_t len;
		} str;                     /* STR, BIN */
	} u;
};

/* A frame's header fields. <payload> points into the caller's buffer. */
struct spop_frame {
	uint8_t type;
	uint32_t flags;
	uint64_t stream_id;
	uint64_t frame_id;
	const uint8_t *payload;
	size_t len;                    /* payload bytes */
};

/* What a HAPROXY-HELLO frame announced. */
struct spop_hello {
	uint32_t max_frame_size;       /* as announced by HAProxy */
	int pipelining;                /* HAProxy announced pipelining */
	int healthcheck;               /* "healthcheck" item was true */
	const char *engine_id;         /* points into the frame, NULL if absent */
	size_t engine_id_len;
};

/* What a HAPROXY-DISCONNECT frame said. */
struct spop_disconnect {
	uint32_t status;
	const char *message;           /* points into the frame */
	size_t message_len;
};

/* One message of a NOTIFY frame; arguments are walked with spop_arg_next(). */
struct spop_msg {
	const char *name;
	size_t name_len;
	unsigned nargs;
	const uint8_t *args;           /* first argument */
	const uint8_t *end;            /* end of the NOTIFY payload */
	const uint8_t *args_end;       /* set once the arguments were all walked */
};

struct spop_arg {
	const char *name;              /* may be empty: unnamed argument */
	size_t name_len;
	struct spop_data data;
};

/* Cursor over the messages of a NOTIFY payload. */
struct spop_msg_iter {
	const uint8_t *p;
	const uint8_t *end;
	unsigned skip;                 /* arguments of the last message still to skip */
};

/* Cursor over the arguments of one message. */
struct spop_arg_iter {
	const uint8_t *p;
	const uint8_t *end;
	unsigned left;
	struct spop_msg *msg;          /* told where its arguments end */
};

/* Bounded frame writer: every put checks room and latches <overflow>. */
struct spop_writer {
	uint8_t *start;                /* the 4-byte length prefix of the current frame */
	uint8_t *p;
	uint8_t *end;
	int overflow;
};

#endif
