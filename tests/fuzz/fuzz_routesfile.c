/* libFuzzer target: the routes file loader (routesfile_parse), then the
 * table built from whatever it accepts and its JSON and text views.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "routing/model.h"
#include "routing/routesfile.h"
#include "routing/rtable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every event must be printable. */
static void on_event(void *arg, const char *what, const char *service, const char *detail)
{
	size_t *n = arg;

	*n += strlen(what) + strlen(service) + strlen(detail);
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf out = SBUF_INIT;
	struct model *m;
	struct rtable *t;
	size_t events = 0;
	char err[256];

	m = routesfile_parse((const char *)data, size, err, sizeof(err));
	if (!m)
		return 0;
	t = rtable_build((const struct model *const[]){ m }, 1,
			 &(struct rtable_build_opts){ .nworkers = 2 });
	model_free(m);
	if (!t)
		return 0;
	rtable_show_routes(t, &out, 0);
	rtable_show_routes(t, &out, 1);
	rtable_show_services(t, &out, 1);
	for (size_t i = 0; i < rtable_service_count(t); i++) {
		struct rtable_service_view v;

		rtable_service_at(t, i, &v);
		rtable_show_tasks(t, v.name, &out, i & 1);
	}
	rtable_diff(NULL, t, on_event, &events);
	/* a table has no difference with itself */
	events = 0;
	rtable_diff(t, t, on_event, &events);
	if (events)
		abort();
	sbuf_free(&out);
	rtable_free(t);
	return 0;
}
