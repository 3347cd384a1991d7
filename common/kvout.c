/* "key: value" text and flat JSON objects. */
#include "common/clock.h"
#include "common/kvout.h"
#include "common/sbuf.h"
#include "common/texttab.h"

void kvout_begin(struct kvout *k, struct sbuf *out, int json)
{
	k->out = out;
	k->json = json;
	k->n = 0;
}

static void kvout_key(struct kvout *k, const char *key)
{
	if (k->json) {
		sbuf_puts(k->out, k->n++ ? ",\"" : "{\"");
		sbuf_puts(k->out, key);
		sbuf_puts(k->out, "\":");
	} else {
		sbuf_printf(k->out, "%s: ", key);
	}
}

static void kvout_end_line(struct kvout *k)
{
	if (!k->json)
		sbuf_putc(k->out, '\n');
}

void kvout_str(struct kvout *k, const char *key, const char *v)
{
	kvout_key(k, key);
	if (k->json)
		sbuf_json_cstr(k->out, v);
	else
		texttab_put(k->out, v);   /* Docker's error text, paths: one line, always */
	kvout_end_line(k);
}

void kvout_u64(struct kvout *k, const char *key, uint64_t v)
{
	kvout_key(k, key);
	sbuf_printf(k->out, "%llu", (unsigned long long)v);
	kvout_end_line(k);
}

void kvout_i64(struct kvout *k, const char *key, int64_t v)
{
	kvout_key(k, key);
	sbuf_printf(k->out, "%lld", (long long)v);
	kvout_end_line(k);
}

void kvout_f64(struct kvout *k, const char *key, double v)
{
	kvout_key(k, key);
	sbuf_printf(k->out, "%.2f", v);
	kvout_end_line(k);
}

void kvout_time(struct kvout *k, const char *key, int64_t ms)
{
	char buf[CLOCK_ISO8601_LEN];

	if (k->json && ms <= 0)
		kvout_str(k, key, NULL);
	else
		kvout_str(k, key, clock_iso8601(ms, buf));
}

void kvout_end(struct kvout *k)
{
	if (k->json)
		sbuf_puts(k->out, k->n ? "}\n" : "{}\n");
}
