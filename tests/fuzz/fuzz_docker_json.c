/* libFuzzer target for everything discovery reads from the Docker daemon:
 * each input is fed to every loader (service list, single service, tasks,
 * networks, nodes, containers), to the event line parser, to the /version
 * and /info readers, to the version negotiation and to the time parser;
 * the models built after each load are walked completely, nodes and
 * published ports included. Loaders must refuse or skip what they cannot
 * use, never crash, leak or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "discovery/containers.h"
#include "discovery/events.h"
#include "discovery/swarm.h"
#include "dockerapi/dockerapi.h"
#include "dockerapi/dockerobj.h"
#include "routing/model.h"

/* Two routed services, so that fuzzed tasks find their service. */
static const char base_services[] =
	"[{\"ID\":\"n39a93ol26f5fclwtv4a7udo8\",\"Spec\":{\"Name\":\"web\",\"Labels\":"
	"{\"com.docker.lb.hosts\":\"web.example.org\"},\"Mode\":{\"Replicated\":{\"Replicas\":2}}}},"
	"{\"ID\":\"myjgzfsk9oblru2dhevxqnsk2\",\"Spec\":{\"Name\":\"api\",\"Labels\":"
	"{\"com.docker.lb.hosts\":\"api.example.org\"},\"Mode\":{\"Global\":{}}}}]";

static volatile size_t sink;

/* Touches every byte the model points to. */
static void walk(const struct model *m)
{
	size_t n = 0;

	if (!m)
		return;
	for (size_t i = 0; i < m->nsvcs; i++) {
		const struct model_service *s = &m->svcs[i];

		n += strlen(s->id) + strlen(s->name) + (s->stack ? strlen(s->stack) : 0);
		for (size_t j = 0; j < s->nlabels; j++)
			n += strlen(s->labels[j].key) + strlen(s->labels[j].value);
		for (size_t j = 0; j < s->nvips; j++)
			n += (s->vips[j].network ? strlen(s->vips[j].network) : 0) + s->vips[j].addr.family;
		for (size_t j = 0; j < s->nports; j++)
			n += s->ports[j].target + s->ports[j].published + s->ports[j].mode;
		for (size_t j = 0; j < s->ntasks; j++) {
			const struct model_task *t = &s->tasks[j];
			const struct model_node *node = model_node(m, t->node_id);

			n += strlen(t->id) + strlen(t->state) + (t->node ? strlen(t->node) : 0) +
			     (node ? strlen(node->id) : 0);
			for (size_t k = 0; k < t->nnets; k++)
				n += (t->nets[k].network ? strlen(t->nets[k].network) : 0) +
				     (t->nets[k].network_id ? strlen(t->nets[k].network_id) : 0);
			for (size_t k = 0; k < t->nports; k++)
				n += t->ports[k].published + t->ports[k].protocol;
		}
	}
	for (size_t i = 0; i < m->nnodes; i++)
		n += strlen(m->nodes[i].id) + (m->nodes[i].hostname ? strlen(m->nodes[i].hostname) : 0) +
		     m->nodes[i].addr.family + m->nodes[i].manager_addr.family + m->nodes[i].state;
	sink += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct swarm *sw = swarm_new();
	struct containers *c = containers_new();
	struct docker_event ev;
	struct model *m;
	const char *ids[1] = { "n39a93ol26f5fclwtv4a7udo8" };
	char err[256], v[16], *str;
	static int quiet;

	if (!quiet) {
		/* skipped entries are logged: keep the fuzzer's output readable */
		log_set_level(LL_ERROR);
		quiet = 1;
	}
	if (!sw || !c)
		abort();
	swarm_load_services(sw, base_services, sizeof(base_services) - 1, 0, err, sizeof(err));
	swarm_load_networks(sw, json, size, err, sizeof(err));
	swarm_load_nodes(sw, json, size, err, sizeof(err));
	swarm_load_tasks(sw, json, size, NULL, 0, 0, err, sizeof(err));
	swarm_load_tasks(sw, json, size, ids, 1, 0, err, sizeof(err));
	m = swarm_model(sw);
	walk(m);
	model_free(m);
	swarm_load_service(sw, json, size, 0, err, sizeof(err));
	swarm_load_services(sw, json, size, 0, err, sizeof(err));
	m = swarm_model(sw);
	walk(m);
	model_free(m);
	{
		const char *conv[4];

		sink += swarm_converging(sw, 1, conv, 4) + swarm_routed(sw, conv, 4);
	}
	swarm_free(sw);

	containers_load(c, json, size, err, sizeof(err));
	m = containers_model(c);
	walk(m);
	model_free(m);
	containers_free(c);

	events_parse(json, size, &ev, err, sizeof(err));
	{
		struct dockerobj_info info;
		char api[16], min[16];

		if (dockerobj_info(json, size, &info, err, sizeof(err)) == 0)
			sink += strlen(info.name) + (size_t)info.swarm_active;
		if (dockerobj_version(json, size, api, min, sizeof(api), err, sizeof(err)) == 0)
			sink += strlen(api) + strlen(min);
	}

	/* the string parsers take NUL-terminated input */
	str = malloc(size + 1);
	if (!str)
		abort();
	memcpy(str, data, size);
	str[size] = '\0';
	sink += (size_t)dockerobj_time_ms(str);
	{
		char *sep = strchr(str, ' ');

		if (sep)
			*sep++ = '\0';
		dockerapi_negotiate(str, sep, v, sizeof(v), err, sizeof(err));
	}
	free(str);
	return 0;
}
