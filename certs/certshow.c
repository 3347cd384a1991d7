/* "show certs". */
#include <stdlib.h>
#include <string.h>

#include "certs/certident.h"
#include "certs/certset.h"
#include "certs/certshow.h"
#include "certs/certtargets.h"
#include "certs/pusher.h"
#include "certs/secretmount.h"
#include "certs/x509.h"
#include "common/sbuf.h"

/* One certificate listed: <item> is its index in the set (nids for the
 * default).
 */
struct certshow_row {
	const struct certident *id;
	size_t item;
};

/* The state of <id> (item <i> of the set) over every HAProxy, with the
 * first reason found.
 */
static const char *certshow_overall(const struct certtargets *ts, const struct certident *id,
				    size_t i, const char **reason)
{
	size_t n = certtargets_count(ts);
	int ok = 0, pending = 0, failed = 0;

	*reason = id->reason;
	if (id->state != CERTIDENT_READY)
		return certident_state_name(id->state);
	for (size_t k = 0; k < n; k++) {
		const char *why;
		enum pusher_item_state st = pusher_item(certtargets_pusher(ts, k), i, &why);

		if (st == PUSHER_ITEM_OK) {
			ok++;
		} else if (st == PUSHER_ITEM_FAILED || st == PUSHER_ITEM_REFUSED) {
			if (!failed++)
				*reason = why;
		} else {
			pending++;
		}
	}
	if (failed)
		return "failed";
	if (pending || !ok)
		return "pending";
	return "ok";
}

static void certshow_targets_of(const struct certtargets *ts, size_t i, struct sbuf *out, int json)
{
	size_t n = certtargets_count(ts);

	for (size_t k = 0; k < n; k++) {
		const struct pusher *p = certtargets_pusher(ts, k);
		struct pusher_status ps;
		const char *why;
		enum pusher_item_state st = pusher_item(p, i, &why);

		pusher_status(p, &ps);
		if (json) {
			sbuf_puts(out, k ? ",{\"target\":" : "{\"target\":");
			sbuf_json_cstr(out, ps.target);
			sbuf_printf(out, ",\"status\":\"%s\",\"reason\":",
				    pusher_item_state_name(st));
			sbuf_json_cstr(out, why[0] ? why : NULL);
			sbuf_putc(out, '}');
		} else {
			sbuf_printf(out, "%s%s=%s", k ? " " : "", ps.target,
				    pusher_item_state_name(st));
		}
	}
	if (!json && !n)
		sbuf_puts(out, "-");
}

static void certshow_json_cert(const struct certshow_in *in, const struct certshow_row *row,
			       struct sbuf *out)
{
	const struct certident *id = row->id;
	const char *reason, *overall = certshow_overall(in->targets, id, row->item, &reason);
	int ready = id->state == CERTIDENT_READY;
	char when[32];

	sbuf_puts(out, "{\"name\":");
	sbuf_json_cstr(out, id->name);
	sbuf_puts(out, ",\"cert\":");
	sbuf_json_cstr(out, id->cert);
	sbuf_puts(out, ",\"key\":");
	sbuf_json_cstr(out, id->key);
	sbuf_puts(out, ",\"source\":");
	sbuf_json_cstr(out, id->source ? id->source : "-");
	sbuf_puts(out, ",\"services\":");
	sbuf_json_cstr(out, id->services);
	sbuf_puts(out, ",\"hosts\":[");
	for (const char *h = id->filters; h && *h;) {
		size_t len = strcspn(h, " ");

		sbuf_puts(out, h == id->filters ? "" : ",");
		sbuf_json_str(out, h, len);
		h += len;
		while (*h == ' ')
			h++;
	}
	sbuf_printf(out, "],\"state\":\"%s\",\"status\":\"%s\",\"reason\":",
		    certident_state_name(id->state), overall);
	sbuf_json_cstr(out, reason && reason[0] ? reason : NULL);
	sbuf_puts(out, ",\"subject\":");
	sbuf_json_cstr(out, ready ? id->pem.leaf.cn : NULL);
	sbuf_puts(out, ",\"dns_names\":");
	sbuf_json_cstr(out, ready ? id->pem.leaf.dns : NULL);
	sbuf_puts(out, ",\"serial\":");
	sbuf_json_cstr(out, ready ? id->pem.leaf.serial : NULL);
	sbuf_puts(out, ",\"not_after\":");
	sbuf_json_cstr(out, ready ? x509_time_str(id->pem.leaf.not_after, when, sizeof(when)) : NULL);
	if (ready)
		sbuf_printf(out, ",\"path\":\"%s%s/%016llx.pem\"", CERTSET_PREFIX, id->name,
			    (unsigned long long)id->pem.hash);
	sbuf_puts(out, ",\"targets\":[");
	certshow_targets_of(in->targets, row->item, out, 1);
	sbuf_puts(out, "]}");
}

static void certshow_json(const struct certshow_in *in, const struct certshow_row *rows, size_t n,
			  struct sbuf *out)
{
	const struct certtargets *ts = in->targets;
	char when[32];

	sbuf_puts(out, "{\"certificates\":[");
	for (size_t r = 0; r < n; r++) {
		if (r)
			sbuf_putc(out, ',');
		certshow_json_cert(in, &rows[r], out);
	}
	sbuf_puts(out, "],\"targets\":[");
	for (size_t k = 0; k < certtargets_count(ts); k++) {
		struct pusher_status ps;

		pusher_status(certtargets_pusher(ts, k), &ps);
		sbuf_puts(out, k ? ",{\"target\":" : "{\"target\":");
		sbuf_json_cstr(out, ps.target);
		sbuf_printf(out, ",\"state\":\"%s\",\"crt_list\":", ps.state);
		sbuf_json_cstr(out, ps.crt_list[0] ? ps.crt_list : NULL);
		sbuf_puts(out, ",\"last_sync\":");
		sbuf_json_cstr(out, ps.last_sync_ms ? x509_time_str(ps.last_sync_ms / 1000, when,
								     sizeof(when)) : NULL);
		sbuf_printf(out, ",\"syncs\":%llu,\"commands\":%llu,\"failures\":%llu,"
			    "\"pushed\":%llu,\"removed\":%llu,\"last_error\":",
			    (unsigned long long)ps.syncs, (unsigned long long)ps.commands,
			    (unsigned long long)ps.failures, (unsigned long long)ps.pushed,
			    (unsigned long long)ps.removed);
		sbuf_json_cstr(out, ps.last_error[0] ? ps.last_error : NULL);
		sbuf_putc(out, '}');
	}
	sbuf_puts(out, "],\"groups\":[");
	for (size_t g = 0; g < certtargets_ngroups(ts); g++) {
		struct certtargets_group gr;

		certtargets_group(ts, g, &gr);
		sbuf_puts(out, g ? ",{\"spec\":" : "{\"spec\":");
		sbuf_json_cstr(out, gr.spec);
		sbuf_printf(out, ",\"tasks\":%ld,\"last_error\":", gr.tasks);
		sbuf_json_cstr(out, gr.last_error[0] ? gr.last_error : NULL);
		sbuf_putc(out, '}');
	}
	sbuf_puts(out, "]");
	if (in->mount) {
		struct secretmount_status ms;

		secretmount_status(in->mount, &ms);
		sbuf_puts(out, ",\"secret_mounts\":{\"service\":");
		sbuf_json_cstr(out, ms.service);
		sbuf_printf(out, ",\"state\":\"%s\",\"updates\":%llu,\"last_error\":", ms.state,
			    (unsigned long long)ms.updates);
		sbuf_json_cstr(out, ms.last_error[0] ? ms.last_error : NULL);
		sbuf_putc(out, '}');
	}
	sbuf_puts(out, "}\n");
}

static void certshow_text(const struct certshow_in *in, const struct certshow_row *rows, size_t n,
			  struct sbuf *out)
{
	const struct certtargets *ts = in->targets;
	size_t w[5] = { strlen("NAME"), strlen("SOURCE"), strlen("HOSTS"), strlen("STATUS"),
			strlen("TARGETS") };
	struct sbuf tg = SBUF_INIT;
	size_t *tgoff = calloc(n + 1, sizeof(*tgoff));
	char when[32];

	if (!tgoff) {
		sbuf_puts(out, "error: out of memory\n");
		return;
	}
	/* the targets column of every row first, for its width */
	for (size_t r = 0; r < n; r++) {
		const char *reason, *st = certshow_overall(ts, rows[r].id, rows[r].item, &reason);
		size_t hl = rows[r].id->filters && rows[r].id->filters[0] ?
			    strlen(rows[r].id->filters) : 1;

		tgoff[r] = tg.len;
		certshow_targets_of(ts, rows[r].item, &tg, 0);
		sbuf_putc(&tg, '\0');
		if (tg.len - tgoff[r] - 1 > w[4])
			w[4] = tg.len - tgoff[r] - 1;
		if (strlen(rows[r].id->name) > w[0])
			w[0] = strlen(rows[r].id->name);
		if (rows[r].id->source && strlen(rows[r].id->source) > w[1])
			w[1] = strlen(rows[r].id->source);
		if (hl > w[2])
			w[2] = hl;
		if (strlen(st) > w[3])
			w[3] = strlen(st);
	}
	sbuf_printf(out, "%-*s  %-*s  %-*s  %-20s  %-*s  %-*s  %s\n", (int)w[0], "NAME",
		    (int)w[1], "SOURCE", (int)w[2], "HOSTS", "NOT_AFTER", (int)w[3], "STATUS",
		    (int)w[4], "TARGETS", "REASON");
	for (size_t r = 0; r < n; r++) {
		const struct certident *id = rows[r].id;
		const char *reason, *st = certshow_overall(ts, id, rows[r].item, &reason);

		sbuf_printf(out, "%-*s  %-*s  %-*s  %-20s  %-*s  %-*s  %s\n", (int)w[0], id->name,
			    (int)w[1], id->source ? id->source : "-", (int)w[2],
			    id->filters && id->filters[0] ? id->filters : "-",
			    id->state == CERTIDENT_READY ? x509_time_str(id->pem.leaf.not_after, when,
									 sizeof(when)) : "-",
			    (int)w[3], st, (int)w[4], tg.buf ? tg.buf + tgoff[r] : "-",
			    reason && reason[0] ? reason : "-");
	}
	free(tgoff);
	sbuf_free(&tg);
	w[0] = strlen("TARGET");
	w[1] = strlen("unreachable");
	w[2] = strlen("CRT_LIST");
	for (size_t k = 0; k < certtargets_count(ts); k++) {
		struct pusher_status ps;

		pusher_status(certtargets_pusher(ts, k), &ps);
		if (strlen(ps.target) > w[0])
			w[0] = strlen(ps.target);
		if (strlen(ps.crt_list) > w[2])
			w[2] = strlen(ps.crt_list);
	}
	sbuf_printf(out, "\n%-*s  %-*s  %-*s  %-20s  %6s  %7s  %s\n", (int)w[0], "TARGET",
		    (int)w[1], "STATE", (int)w[2], "CRT_LIST", "LAST_SYNC", "PUSHED", "REMOVED",
		    "ERROR");
	for (size_t k = 0; k < certtargets_count(ts); k++) {
		struct pusher_status ps;

		pusher_status(certtargets_pusher(ts, k), &ps);
		sbuf_printf(out, "%-*s  %-*s  %-*s  %-20s  %6llu  %7llu  %s\n", (int)w[0], ps.target,
			    (int)w[1], ps.state, (int)w[2], ps.crt_list[0] ? ps.crt_list : "-",
			    ps.last_sync_ms ? x509_time_str(ps.last_sync_ms / 1000, when,
							    sizeof(when)) : "-",
			    (unsigned long long)ps.pushed, (unsigned long long)ps.removed,
			    ps.last_error[0] ? ps.last_error : "-");
	}
	for (size_t g = 0; g < certtargets_ngroups(ts); g++) {
		struct certtargets_group gr;

		certtargets_group(ts, g, &gr);
		sbuf_printf(out, "%s  %ld tasks  %s\n", gr.spec, gr.tasks,
			    gr.last_error[0] ? gr.last_error : "-");
	}
	if (in->mount) {
		struct secretmount_status ms;

		secretmount_status(in->mount, &ms);
		sbuf_printf(out, "\nsecret mounts: service %s, %s, %llu updates%s%s\n", ms.service,
			    ms.state, (unsigned long long)ms.updates, ms.last_error[0] ? ": " : "",
			    ms.last_error);
	}
}

void certshow_render(const struct certshow_in *in, struct sbuf *out, int json)
{
	size_t n = in->nids + (in->dflt ? 1 : 0), k = 0;
	struct certshow_row *rows = calloc(n ? n : 1, sizeof(*rows));

	if (!rows) {
		sbuf_puts(out, json ? "{\"error\":\"out of memory\"}\n" : "error: out of memory\n");
		return;
	}
	if (in->dflt) {
		rows[k].id = in->dflt;
		rows[k++].item = in->nids;
	}
	for (size_t i = 0; i < in->nids; i++) {
		rows[k].id = &in->ids[i];
		rows[k++].item = i;
	}
	if (json)
		certshow_json(in, rows, n, out);
	else
		certshow_text(in, rows, n, out);
	free(rows);
}
