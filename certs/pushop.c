/* The runtime API dialogue of one step of a sync (see pushop.h).
 *
 * Paths carry a hash of their content, so a path never changes meaning:
 * a push that finds its store holding the right serial only adds the
 * crt-list line, and two agents pushing the same certificate converge.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "certs/certset.h"
#include "certs/haproxy_ans.h"
#include "certs/pushop.h"
#include "certs/x509.h"
#include "common/sbuf.h"

#define PUSHOP_PATH_MAX 512

/* Moves <op> to <step>, whose command is <fmt>, into <cmd>. */
__attribute__((format(printf, 5, 6)))
static void pushop_cmd(struct pushop *op, enum pushop_step step, struct pushop_result *res,
		       struct sbuf *cmd, const char *fmt, ...)
{
	va_list ap;

	op->step = step;
	sbuf_reset(cmd);
	va_start(ap, fmt);
	sbuf_vprintf(cmd, fmt, ap);
	va_end(ap);
	res->verdict = PUSHOP_SEND;
}

/* Copies <s> into the op's reason, cut if it must be. */
static void pushop_reason(struct pushop *op, const char *s)
{
	snprintf(op->reason, sizeof(op->reason), "%.*s", (int)sizeof(op->reason) - 1, s);
}

/* Ends the dialogue with <verdict>, for <reason> (copied into the op). */
static void pushop_end(struct pushop *op, struct pushop_result *res, enum pushop_verdict verdict,
		       const char *reason)
{
	if (reason && reason != op->reason)
		pushop_reason(op, reason);
	res->verdict = verdict;
	res->reason = reason ? op->reason : NULL;
}

/* The material is refused: its transaction is dropped first. */
static void pushop_refuse(struct pushop *op, struct pushop_result *res, struct sbuf *cmd,
			  const char *reason)
{
	pushop_reason(op, reason);
	pushop_cmd(op, PUSHOP_ST_ABORT_REFUSED, res, cmd, "abort ssl cert %s", op->path);
}

static void pushop_send_set(struct pushop *op, const struct certset_item *it,
			    struct pushop_result *res, struct sbuf *cmd)
{
	/* the PEM ends with a LF; one more makes the empty line that ends
	 * the payload */
	pushop_cmd(op, PUSHOP_ST_SET, res, cmd, "set ssl cert %s <<\n%.*s\n", op->path,
		   (int)it->pem_len, it->pem);
}

static void pushop_send_add(struct pushop *op, const struct certset_item *it,
			    const char *crt_list, struct pushop_result *res, struct sbuf *cmd)
{
	/* the payload form: the only one that takes SNI filters (2.6); an
	 * empty line ends it */
	if (it->filters[0])
		pushop_cmd(op, PUSHOP_ST_ADD, res, cmd, "add ssl crt-list %s <<\n%s %s\n\n",
			   crt_list, op->path, it->filters);
	else
		pushop_cmd(op, PUSHOP_ST_ADD, res, cmd, "add ssl crt-list %s <<\n%s\n\n",
			   crt_list, op->path);
}

/* The certificate is held, checked: the crt-list line, unless it is the
 * default, which has its line.
 */
static void pushop_held(struct pushop *op, const struct certset_item *it, const char *crt_list,
			struct pushop_result *res, struct sbuf *cmd, enum pushop_verdict dflt)
{
	if (op->kind == PUSHOP_DEFAULT)
		pushop_end(op, res, dflt, NULL);
	else
		pushop_send_add(op, it, crt_list, res, cmd);
}

void pushop_start(struct pushop *op, const char *crt_list, struct sbuf *cmd)
{
	struct pushop_result res;

	switch (op->kind) {
	case PUSHOP_PUSH:
		if (op->listed)
			pushop_cmd(op, PUSHOP_ST_START, &res, cmd, "show ssl cert %s", op->path);
		else
			pushop_cmd(op, PUSHOP_ST_NEW, &res, cmd, "new ssl cert %s", op->path);
		return;
	case PUSHOP_DEFAULT:
		pushop_cmd(op, PUSHOP_ST_START, &res, cmd, "show ssl cert %s", op->path);
		return;
	case PUSHOP_DEL_ENTRY:
		pushop_cmd(op, PUSHOP_ST_DELETE, &res, cmd, "del ssl crt-list %s %s:%u", crt_list,
			   op->path, op->line);
		return;
	case PUSHOP_DEL_STORE:
		pushop_cmd(op, PUSHOP_ST_DELETE, &res, cmd, "del ssl cert %s", op->path);
		return;
	}
}

/* "set ssl cert" answered <st>. */
static void pushop_on_set(struct pushop *op, const char *ans, size_t len,
			  enum haproxy_ans_status st, const char *msg, struct pushop_result *res,
			  struct sbuf *cmd)
{
	char tx[PUSHOP_PATH_MAX], reason[PUSHOP_REASON_MAX + 64];

	if (st == HAPROXY_ANS_OK) {
		if (haproxy_ans_transaction(ans, len, tx, sizeof(tx)) == 0 &&
		    strcmp(tx, op->path) != 0) {
			/* The payload went into another certificate's
			 * transaction (HAProxy 2.6): that transaction is
			 * spoilt, drop it, retry later. */
			pushop_reason(op, tx);
			pushop_cmd(op, PUSHOP_ST_ABORT_OTHER, res, cmd, "abort ssl cert %s", tx);
			res->aborted = op->reason;
			return;
		}
		pushop_cmd(op, PUSHOP_ST_CHECK_TX, res, cmd, "show ssl cert *%s", op->path);
		return;
	}
	if (st == HAPROXY_ANS_BUSY || st == HAPROXY_ANS_NOT_FOUND ||
	    st == HAPROXY_ANS_OTHER_TRANSACTION) {
		pushop_end(op, res, PUSHOP_FAILED, msg);
		return;
	}
	snprintf(reason, sizeof(reason), "HAProxy cannot load it: %s", msg);
	pushop_refuse(op, res, cmd, reason);
}

/* "show ssl cert *<path>": the open transaction before its commit. */
static void pushop_on_check_tx(struct pushop *op, const struct certset_item *it,
			       const char *ans, size_t len, int64_t now_s,
			       struct pushop_result *res, struct sbuf *cmd)
{
	struct haproxy_ans_cert c;
	char reason[PUSHOP_REASON_MAX], when[32];

	if (haproxy_ans_cert(ans, len, &c) < 0) {
		pushop_end(op, res, PUSHOP_FAILED, "the transaction went away before its commit");
		return;
	}
	if (strcmp(c.serial, it->serial) != 0) {
		/* another agent's material: not ours to commit */
		pushop_reason(op, op->path);
		pushop_cmd(op, PUSHOP_ST_ABORT_OTHER, res, cmd, "abort ssl cert %s", op->path);
		return;
	}
	if (c.not_after >= 0 && c.not_after < now_s) {
		snprintf(reason, sizeof(reason), "expired on %s",
			 x509_time_str(c.not_after, when, sizeof(when)));
		pushop_refuse(op, res, cmd, reason);
		return;
	}
	pushop_cmd(op, PUSHOP_ST_COMMIT, res, cmd, "commit ssl cert %s", op->path);
}

/* "commit ssl cert" answered <st>. */
static void pushop_on_commit(struct pushop *op, enum haproxy_ans_status st, const char *msg,
			     struct pushop_result *res, struct sbuf *cmd)
{
	if (st == HAPROXY_ANS_OK || st == HAPROXY_ANS_NO_TRANSACTION) {
		/* no transaction: another agent committed it; check */
		pushop_cmd(op, PUSHOP_ST_VERIFY, res, cmd, "show ssl cert %s", op->path);
		return;
	}
	if (st == HAPROXY_ANS_BUSY || st == HAPROXY_ANS_OTHER_TRANSACTION) {
		pushop_end(op, res, PUSHOP_FAILED, msg);
		return;
	}
	if (strstr(msg, "inconsistencies between private key and certificate"))
		pushop_refuse(op, res, cmd, "the private key does not match the certificate");
	else if (strstr(msg, "at least a certificate and a private key"))
		pushop_refuse(op, res, cmd, "HAProxy cannot load the private key");
	else {
		char reason[PUSHOP_REASON_MAX + 32];

		snprintf(reason, sizeof(reason), "HAProxy refused it: %s", msg);
		pushop_refuse(op, res, cmd, reason);
	}
}

/* Answers to the steps of PUSH and DEFAULT. */
static void pushop_push_answer(struct pushop *op, const struct certset_item *it,
			       const char *crt_list, const char *ans, size_t len, int64_t now_s,
			       struct sbuf *cmd, struct pushop_result *res)
{
	struct haproxy_ans_cert c;
	char msg[PUSHOP_REASON_MAX];
	enum haproxy_ans_status st = haproxy_ans_result(ans, len, msg, sizeof(msg));

	if (st == HAPROXY_ANS_DENIED) {
		pushop_end(op, res, PUSHOP_FAILED, msg);
		return;
	}
	switch (op->step) {
	case PUSHOP_ST_START:
		/* does HAProxy hold this content already? */
		if (haproxy_ans_cert(ans, len, &c) == 0 && strcmp(c.status, "Empty") != 0 &&
		    strcmp(c.serial, it->serial) == 0)
			pushop_held(op, it, crt_list, res, cmd, PUSHOP_SERVED);
		else
			pushop_send_set(op, it, res, cmd);
		return;
	case PUSHOP_ST_NEW:
		if (st != HAPROXY_ANS_OK && st != HAPROXY_ANS_EXISTS)
			pushop_end(op, res, PUSHOP_FAILED, msg);
		else
			pushop_send_set(op, it, res, cmd);
		return;
	case PUSHOP_ST_SET:
		pushop_on_set(op, ans, len, st, msg, res, cmd);
		return;
	case PUSHOP_ST_CHECK_TX:
		pushop_on_check_tx(op, it, ans, len, now_s, res, cmd);
		return;
	case PUSHOP_ST_COMMIT:
		pushop_on_commit(op, st, msg, res, cmd);
		return;
	case PUSHOP_ST_VERIFY:
		if (haproxy_ans_cert(ans, len, &c) < 0 || strcmp(c.status, "Empty") == 0 ||
		    strcmp(c.serial, it->serial) != 0)
			pushop_end(op, res, PUSHOP_FAILED,
				   "HAProxy does not hold the certificate after its commit");
		else
			pushop_held(op, it, crt_list, res, cmd, PUSHOP_PUSHED);
		return;
	case PUSHOP_ST_ADD:
		pushop_end(op, res, st == HAPROXY_ANS_OK ? PUSHOP_PUSHED : PUSHOP_FAILED,
			   st == HAPROXY_ANS_OK ? NULL : msg);
		return;
	case PUSHOP_ST_ABORT_OTHER:
		pushop_end(op, res, PUSHOP_FAILED,
			   "another certificate transaction was open in HAProxy");
		return;
	case PUSHOP_ST_ABORT_REFUSED:
		if (op->kind == PUSHOP_DEFAULT)
			pushop_end(op, res, PUSHOP_REFUSED, op->reason);
		else
			pushop_cmd(op, PUSHOP_ST_DEL_REFUSED, res, cmd, "del ssl cert %s", op->path);
		return;
	case PUSHOP_ST_DEL_REFUSED:
		pushop_end(op, res, PUSHOP_REFUSED, op->reason);
		return;
	case PUSHOP_ST_DELETE:
		break;   /* the removals' step */
	}
	pushop_end(op, res, PUSHOP_FAILED, "internal error: a push at a removal's step");
}

void pushop_answer(struct pushop *op, const struct certset_item *it, const char *crt_list,
		   const char *ans, size_t len, int64_t now_s, struct sbuf *cmd,
		   struct pushop_result *res)
{
	char msg[PUSHOP_REASON_MAX];

	memset(res, 0, sizeof(*res));
	if (op->kind == PUSHOP_PUSH || op->kind == PUSHOP_DEFAULT) {
		pushop_push_answer(op, it, crt_list, ans, len, now_s, cmd, res);
		return;
	}
	if (haproxy_ans_result(ans, len, msg, sizeof(msg)) == HAPROXY_ANS_OK)
		pushop_end(op, res, PUSHOP_REMOVED, msg);
	else
		pushop_end(op, res, PUSHOP_KEPT, msg);
}
