/* "show certs". The text form goes through texttab: names, hosts and
 * reasons come from labels, Docker and HAProxy, and are escaped there.
 */
#include <stdio.h>
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
#include "common/texttab.h"

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

/* The space-separated hosts <hosts> as a JSON array. */
static void certshow_json_hosts(struct sbuf *out, const char *hosts)
{
	sbuf_putc(out, '[');
	for (const char *h = hosts; h && *h;) {
		size_t len = strcspn(h, " ");

		sbuf_puts(out, h == hosts ? "" : ",");
		sbuf_json_str(out, h, len);
		h += len;
		while (*h == ' ')
			h++;
	}
	sbuf_putc(out, ']');
}

static void certshow_json_cert(const struct certshow_in *in, const struct certshow_row *row,
			       struct sbuf *out)
{
	const struct certident *id = row->id;
	const char *reason, *overall = certshow_overall(in->targets, id, row->item, &reason);
	int ready = id->state == CERTIDENT_READY;
	const char *const strings[][2] = {
		{ "name", id->name }, { "cert", id->cert }, { "key", id->key },
		{ "source", id->source ? id->source : "-" }, { "services", id->services },
	};
	char when[32];

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		sbuf_printf(out, "%s\"%s\":", i ? "," : "{", strings[i][0]);
		sbuf_json_cstr(out, strings[i][1]);
	}
	sbuf_puts(out, ",\"hosts\":");
	certshow_json_hosts(out, id->filters);
	/* the hosts it is served for: those it covers */
	sbuf_puts(out, ",\"served_hosts\":");
	certshow_json_hosts(out, ready ? id->served : NULL);
	sbuf_printf(out, ",\"state\":\"%s\",\"status\":\"%s\",\"reason\":",
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
	if (ready) {
		char dir[300];

		certident_dir(id->name, dir, sizeof(dir));
		sbuf_puts(out, ",\"path\":");
		snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "%016llx.pem",
			 (unsigned long long)id->pem.hash);
		sbuf_json_cstr(out, dir);
	}
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
			    (unsigned long long)ps.n.syncs, (unsigned long long)ps.n.commands,
			    (unsigned long long)ps.n.failures, (unsigned long long)ps.n.pushed,
			    (unsigned long long)ps.n.removed);
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

static const char *const certshow_cert_head[] = {
	"NAME", "SOURCE", "HOSTS", "NOT_AFTER", "STATUS", "TARGETS", "REASON"
};
static const char *const certshow_target_head[] = {
	"TARGET", "STATE", "CRT_LIST", "LAST_SYNC", "PUSHED", "REMOVED", "ERROR"
};

/* The cells of certificate row <r>, its targets column at <targets>.
 * <when> holds its expiry.
 */
static void certshow_cert_cells(const struct certshow_in *in, const struct certshow_row *r,
				const char *targets, char *when, size_t whenlen, const char **cells)
{
	const struct certident *id = r->id;
	const char *reason, *st = certshow_overall(in->targets, id, r->item, &reason);

	cells[0] = id->name;
	cells[1] = id->source;
	cells[2] = id->filters && id->filters[0] ? id->filters : NULL;
	cells[3] = id->state == CERTIDENT_READY ?
		   x509_time_str(id->pem.leaf.not_after, when, whenlen) : NULL;
	cells[4] = st;
	cells[5] = targets;
	cells[6] = reason && reason[0] ? reason : NULL;
}

static void certshow_text_certs(const struct certshow_in *in, const struct certshow_row *rows,
				size_t n, struct sbuf *out)
{
	struct texttab tab;
	struct sbuf tg = SBUF_INIT;
	size_t *tgoff = calloc(n + 1, sizeof(*tgoff));
	const char *cells[7];
	char when[32];

	if (!tgoff) {
		sbuf_puts(out, "error: out of memory\n");
		return;
	}
	/* the targets column of every row first, kept for both passes */
	for (size_t r = 0; r < n; r++) {
		tgoff[r] = tg.len;
		certshow_targets_of(in->targets, rows[r].item, &tg, 0);
		sbuf_putc(&tg, '\0');
	}
	texttab_init(&tab, 7, certshow_cert_head);
	for (int print = 0; print < 2; print++) {
		if (print)
			texttab_row(&tab, out, certshow_cert_head);
		for (size_t r = 0; r < n; r++) {
			certshow_cert_cells(in, &rows[r], tg.oom ? NULL : tg.buf + tgoff[r], when,
					    sizeof(when), cells);
			if (print)
				texttab_row(&tab, out, cells);
			else
				texttab_measure(&tab, cells);
		}
	}
	free(tgoff);
	sbuf_free(&tg);
}

static void certshow_text_targets(const struct certtargets *ts, struct sbuf *out)
{
	size_t n = certtargets_count(ts);
	struct texttab tab;

	texttab_init(&tab, 7, certshow_target_head);
	for (int print = 0; print < 2; print++) {
		if (print)
			texttab_row(&tab, out, certshow_target_head);
		for (size_t k = 0; k < n; k++) {
			struct pusher_status ps;
			char when[32], pushed[24], removed[24];
			const char *cells[7];

			pusher_status(certtargets_pusher(ts, k), &ps);
			snprintf(pushed, sizeof(pushed), "%llu", (unsigned long long)ps.n.pushed);
			snprintf(removed, sizeof(removed), "%llu", (unsigned long long)ps.n.removed);
			cells[0] = ps.target;
			cells[1] = ps.state;
			cells[2] = ps.crt_list[0] ? ps.crt_list : NULL;
			cells[3] = ps.last_sync_ms ?
				   x509_time_str(ps.last_sync_ms / 1000, when, sizeof(when)) : NULL;
			cells[4] = pushed;
			cells[5] = removed;
			cells[6] = ps.last_error[0] ? ps.last_error : NULL;
			if (print)
				texttab_row(&tab, out, cells);
			else
				texttab_measure(&tab, cells);
		}
	}
}

static void certshow_text(const struct certshow_in *in, const struct certshow_row *rows, size_t n,
			  struct sbuf *out)
{
	const struct certtargets *ts = in->targets;

	certshow_text_certs(in, rows, n, out);
	sbuf_putc(out, '\n');
	certshow_text_targets(ts, out);
	for (size_t g = 0; g < certtargets_ngroups(ts); g++) {
		struct certtargets_group gr;

		certtargets_group(ts, g, &gr);
		texttab_put(out, gr.spec);
		sbuf_printf(out, "  %ld tasks  ", gr.tasks);
		texttab_put(out, gr.last_error[0] ? gr.last_error : NULL);
		sbuf_putc(out, '\n');
	}
	if (in->mount) {
		struct secretmount_status ms;

		secretmount_status(in->mount, &ms);
		sbuf_puts(out, "\nsecret mounts: service ");
		texttab_put(out, ms.service);
		sbuf_printf(out, ", %s, %llu updates", ms.state, (unsigned long long)ms.updates);
		if (ms.last_error[0]) {
			sbuf_puts(out, ": ");
			texttab_put(out, ms.last_error);
		}
		sbuf_putc(out, '\n');
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
