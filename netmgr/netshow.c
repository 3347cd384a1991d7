/* "show networks". */
#include <stdio.h>

#include "common/clock.h"
#include "common/sbuf.h"
#include "common/texttab.h"
#include "netmgr/netshow.h"

/* Wall clock <ms> as ISO 8601 into <buf>, NULL when 0. */
static const char *netshow_time(int64_t ms, char *buf)
{
	return ms ? clock_iso8601(ms, buf) : NULL;
}

static void netshow_json_row(const struct netshow_row *r, int64_t now, struct sbuf *out)
{
	sbuf_puts(out, "{\"name\":");
	sbuf_json_cstr(out, r->name);
	sbuf_puts(out, ",\"id\":");
	sbuf_json_cstr(out, r->id);
	sbuf_printf(out, ",\"state\":\"%s\",\"managed\":%s,\"users\":%u,\"services\":",
		    netplan_state_name(r->state),
		    r->state == NETPLAN_OPERATOR || r->state == NETPLAN_MISSING ||
		    r->state == NETPLAN_REFUSED ? "false" : "true", r->users);
	sbuf_json_cstr(out, r->services);
	if (r->due_ms)
		sbuf_printf(out, ",\"grace_left_ms\":%lld",
			    (long long)(r->due_ms > now ? r->due_ms - now : 0));
	else
		sbuf_puts(out, ",\"grace_left_ms\":null");
	sbuf_puts(out, ",\"reason\":");
	sbuf_json_cstr(out, r->reason);
	if (r->owner) {
		sbuf_puts(out, ",\"owner\":");
		sbuf_json_cstr(out, r->owner);
		sbuf_puts(out, ",\"network_stack\":");
		sbuf_json_cstr(out, r->net_stack);
		sbuf_printf(out, ",\"policy_line\":%u", r->policy_line);
	}
	sbuf_putc(out, '}');
}

static void netshow_json(const struct netshow_in *in, struct sbuf *out)
{
	char when[CLOCK_ISO8601_LEN];

	sbuf_puts(out, "{\"proxy_service\":");
	sbuf_json_cstr(out, in->proxy);
	sbuf_puts(out, ",\"proxy_id\":");
	sbuf_json_cstr(out, in->proxy_id[0] ? in->proxy_id : NULL);
	sbuf_printf(out, ",\"proxy_version\":%llu,\"update_state\":",
		    (unsigned long long)in->proxy_version);
	sbuf_json_cstr(out, in->update_state[0] ? in->update_state : NULL);
	sbuf_printf(out, ",\"state\":\"%s\",\"grace_s\":%u,\"next_look_ms\":%lld,"
		    "\"looks\":%llu,\"updates\":%llu,\"attached\":%llu,\"detached\":%llu,"
		    "\"removed\":%llu,\"conflicts\":%llu,\"failures\":%llu,\"last_error\":",
		    in->state, in->grace_s,
		    in->next_look_ms < 0 ? -1LL : (long long)(in->next_look_ms > in->now_ms ?
							     in->next_look_ms - in->now_ms : 0),
		    (unsigned long long)in->looks, (unsigned long long)in->updates,
		    (unsigned long long)in->attached, (unsigned long long)in->detached,
		    (unsigned long long)in->removed, (unsigned long long)in->conflicts,
		    (unsigned long long)in->failures);
	sbuf_json_cstr(out, in->last_error[0] ? in->last_error : NULL);
	sbuf_puts(out, ",\"last_error_time\":");
	sbuf_json_cstr(out, in->last_error[0] ? netshow_time(in->last_error_ms, when) : NULL);
	sbuf_puts(out, ",\"last_look\":");
	sbuf_json_cstr(out, netshow_time(in->last_look_ms, when));
	sbuf_puts(out, ",\"last_update\":");
	sbuf_json_cstr(out, netshow_time(in->last_update_ms, when));
	sbuf_printf(out, ",\"max_updates\":%u,\"window_s\":%u,\"updates_in_window\":%zu,"
		    "\"held_ms\":", in->max_updates, in->window_s, in->updates_in_window);
	if (in->held_until_ms)
		sbuf_printf(out, "%lld", (long long)(in->held_until_ms > in->now_ms ?
						     in->held_until_ms - in->now_ms : 0));
	else
		sbuf_puts(out, "null");
	sbuf_printf(out, ",\"refused\":%zu,\"refusals\":%llu,\"holds\":%llu",
		    in->refused, (unsigned long long)in->refusals, (unsigned long long)in->holds);
	sbuf_puts(out, ",\"networks\":[");
	for (size_t i = 0; i < in->nrows; i++) {
		if (i)
			sbuf_putc(out, ',');
		netshow_json_row(&in->rows[i], in->now_ms, out);
	}
	sbuf_puts(out, "]}\n");
}

static const char *const netshow_head[] = {
	"NETWORK", "ID", "STATE", "USERS", "GRACE", "REASON"
};

static void netshow_rows(const struct netshow_in *in, struct sbuf *out)
{
	struct texttab tab;

	texttab_init(&tab, 6, netshow_head);
	for (int print = 0; print < 2; print++) {
		if (print)
			texttab_row(&tab, out, netshow_head);
		for (size_t i = 0; i < in->nrows; i++) {
			const struct netshow_row *r = &in->rows[i];
			char users[256], grace[32] = "-", reason[512];
			const char *cells[6];

			if (r->due_ms)
				snprintf(grace, sizeof(grace), "%.1fs", r->due_ms > in->now_ms ?
					 (double)(r->due_ms - in->now_ms) / 1000.0 : 0.0);
			snprintf(users, sizeof(users), "%u%s%s", r->users, r->services ? " " : "",
				 r->services ? r->services : "");
			cells[0] = r->name;
			cells[1] = r->id;
			cells[2] = netplan_state_name(r->state);
			cells[3] = users;
			cells[4] = grace;
			cells[5] = r->reason;
			if (r->owner) {
				/* whose the network is, and for whom it was refused */
				char line[32] = "";

				if (r->policy_line)
					snprintf(line, sizeof(line), ", policy line %u", r->policy_line);
				snprintf(reason, sizeof(reason), "%s (for %s; network of %s%s%s)",
					 r->reason, r->owner, r->net_stack ? "stack " : "no stack",
					 r->net_stack ? r->net_stack : "", line);
				cells[5] = reason;
			}
			if (print)
				texttab_row(&tab, out, cells);
			else
				texttab_measure(&tab, cells);
		}
	}
}

static void netshow_text(const struct netshow_in *in, struct sbuf *out)
{
	char when[CLOCK_ISO8601_LEN];

	/* the service's name, ID and states come from Docker: escaped */
	sbuf_puts(out, "proxy service: ");
	texttab_put(out, in->proxy);
	sbuf_puts(out, " (id ");
	texttab_put(out, in->proxy_id[0] ? in->proxy_id : NULL);
	sbuf_printf(out, ", version %llu", (unsigned long long)in->proxy_version);
	if (in->update_state[0]) {
		sbuf_puts(out, ", update ");
		texttab_put(out, in->update_state);
	}
	sbuf_puts(out, ")\n");
	sbuf_printf(out, "manager: %s, grace %us, %llu looks, %llu updates, %llu attached, "
		    "%llu detached, %llu removed, %llu conflicts, %llu failures\n",
		    in->state, in->grace_s,
		    (unsigned long long)in->looks, (unsigned long long)in->updates,
		    (unsigned long long)in->attached, (unsigned long long)in->detached,
		    (unsigned long long)in->removed, (unsigned long long)in->conflicts,
		    (unsigned long long)in->failures);
	if (in->max_updates) {
		sbuf_printf(out, "rate limit: %u updates per %us, %zu in the window", in->max_updates,
			    in->window_s, in->updates_in_window);
		if (in->held_until_ms)
			sbuf_printf(out, ", changes held for %.1fs", in->held_until_ms > in->now_ms ?
				    (double)(in->held_until_ms - in->now_ms) / 1000.0 : 0.0);
		sbuf_printf(out, " (%llu held so far)\n", (unsigned long long)in->holds);
	} else {
		sbuf_puts(out, "rate limit: none\n");
	}
	if (in->refused || in->refusals)
		sbuf_printf(out, "refused: %zu networks now, %llu refusals so far\n", in->refused,
			    (unsigned long long)in->refusals);
	sbuf_printf(out, "last look: %s, ", clock_iso8601(in->last_look_ms, when));
	sbuf_printf(out, "last update by this agent: %s\n", clock_iso8601(in->last_update_ms, when));
	if (in->last_error[0]) {
		sbuf_puts(out, "last error: ");
		texttab_put(out, in->last_error);
		sbuf_printf(out, " (%s)\n", clock_iso8601(in->last_error_ms, when));
	}
	sbuf_putc(out, '\n');
	netshow_rows(in, out);
}

void netshow_render(const struct netshow_in *in, struct sbuf *out, int json)
{
	if (json)
		netshow_json(in, out);
	else
		netshow_text(in, out);
}
