/* Task selection (routing/balance.c, routing/sticky.c and their use in
 * rtable_route()): weighted round-robin proportions and spread, canary
 * weights across services, ip_hash stability, sticky cookies and their
 * failover.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/arena.h"
#include "common/netaddr.h"
#include "routing/balance.h"
#include "routing/model.h"
#include "routing/rtable.h"
#include "routing/sticky.h"
#include "tests/routing/fixture.h"

static char scratch[RTABLE_SCRATCH_SIZE];

/************************************************************************/
/*                        the pool on its own                           */
/************************************************************************/

static uint64_t keys[64];

static void pool(struct balance_pool *p, struct arena *a, const uint32_t *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		keys[i] = balance_key((const char *)&i, sizeof(i));
	assert_int_equal(balance_init(p, a, w, n), 0);
}

/* Over one cycle every candidate comes up exactly as often as its weight
 * says, from any starting position.
 */
static void test_rr_exact_proportions(void **state)
{
	static const uint32_t w[] = { 300, 100, 200, 100 };   /* reduced: 3,1,2,1 */
	struct arena *a = arena_new(4096);
	struct balance_pool p;

	(void)state;
	pool(&p, a, w, 4);
	assert_int_equal(p.total, 7);
	for (uint32_t start = 0; start < p.total; start++) {
		uint32_t count[4] = { 0 }, pos = start;

		for (uint32_t i = 0; i < p.total * 10; i++)
			count[balance_rr(&p, &pos)]++;
		assert_int_equal(count[0], 30);
		assert_int_equal(count[1], 10);
		assert_int_equal(count[2], 20);
		assert_int_equal(count[3], 10);
		assert_int_equal(pos, start);
	}
	arena_free(a);
}

/* Consecutive picks spread over candidates instead of serving one
 * candidate's whole share in a burst.
 */
static void test_rr_spread(void **state)
{
	static const uint32_t equal[] = { 1, 1, 1, 1, 1, 1, 1 };
	static const uint32_t heavy[] = { 1, 1, 1, 1, 4 };
	struct arena *a = arena_new(4096);
	struct balance_pool p;
	uint32_t pos = 0, prev, run = 1, maxrun = 1;

	(void)state;
	pool(&p, a, equal, 7);
	prev = balance_rr(&p, &pos);
	for (int i = 0; i < 70; i++) {
		uint32_t cur = balance_rr(&p, &pos);

		assert_int_not_equal(cur, prev);
		prev = cur;
	}

	/* one candidate holds half of the cycle: never 4 in a row */
	pool(&p, a, heavy, 5);
	pos = 0;
	prev = balance_rr(&p, &pos);
	for (int i = 0; i < 80; i++) {
		uint32_t cur = balance_rr(&p, &pos);

		run = cur == prev ? run + 1 : 1;
		if (run > maxrun)
			maxrun = run;
		prev = cur;
	}
	assert_true(maxrun <= 2);
	arena_free(a);
}

/* Workers start at different positions of the cycle. */
static void test_rr_worker_start(void **state)
{
	static const uint32_t w[] = { 1, 1, 1, 1 };
	struct arena *a = arena_new(4096);
	struct balance_pool p;

	(void)state;
	pool(&p, a, w, 4);
	for (uint64_t seed = 0; seed < 20; seed++) {
		uint32_t s0 = balance_start(&p, 0, 4, seed), s1 = balance_start(&p, 1, 4, seed);
		uint32_t s2 = balance_start(&p, 2, 4, seed), s3 = balance_start(&p, 3, 4, seed);

		assert_true(s0 < 4 && s1 < 4 && s2 < 4 && s3 < 4);
		assert_true(s0 != s1 && s0 != s2 && s0 != s3 && s1 != s2 && s1 != s3 && s2 != s3);
	}
	arena_free(a);
}

static void test_hash_weights(void **state)
{
	static const uint32_t w[] = { 3, 1 };
	struct arena *a = arena_new(4096);
	struct balance_pool p;
	uint32_t count[2] = { 0 };

	(void)state;
	pool(&p, a, w, 2);
	for (uint64_t c = 0; c < 40000; c++)
		count[balance_hash(&p, keys, balance_key((const char *)&c, sizeof(c)))]++;
	/* 75% / 25%, within 2 points */
	assert_true(count[0] > 29200 && count[0] < 30800);
	arena_free(a);
}

/************************************************************************/
/*                         through the table                            */
/************************************************************************/

/* Counts, over <n> requests on worker <w>, how many each service got. */
static void spread(const struct rtable *t, unsigned w, const char *host, int n,
		   const char *svc_a, int *a_count, int *b_count)
{
	struct route_answer a;
	struct route_req r;

	*a_count = *b_count = 0;
	for (int i = 0; i < n; i++) {
		fx_req(&r, host, "/");
		rtable_route(t, w, &r, &a, scratch);
		assert_int_equal(a.action, ROUTE_FORWARD);
		if (strcmp(a.service, svc_a) == 0)
			(*a_count)++;
		else
			(*b_count)++;
	}
}

/* Interlock canary semantics: share = running tasks x weight. */
static void test_canary_shares(void **state)
{
	struct model *m = fx_model();
	struct model_service *s;
	struct rtable *t;
	int a, b;

	(void)state;
	/* 3 tasks vs 1 task, same weight: 3/4 vs 1/4 */
	s = fx_service(m, "blue", 1, "lb.hosts=tasks.example", "lb.port=80", NULL);
	fx_task(m, s, "blue.1", "10.0.0.1", 0, NULL);
	fx_task(m, s, "blue.2", "10.0.0.2", 0, NULL);
	fx_task(m, s, "blue.3", "10.0.0.3", 0, NULL);
	s = fx_service(m, "green", 2, "lb.hosts=tasks.example", "lb.port=80", NULL);
	fx_task(m, s, "green.1", "10.0.1.1", 0, NULL);
	/* one task each, weights 90 and 10 */
	s = fx_service(m, "stable", 3, "lb.hosts=canary.example", "lb.port=80", "lb.weight=90", NULL);
	fx_task(m, s, "stable.1", "10.0.2.1", 0, NULL);
	s = fx_service(m, "canary", 4, "lb.hosts=canary.example", "lb.port=80", "lb.weight=10", NULL);
	fx_task(m, s, "canary.1", "10.0.3.1", 0, NULL);
	t = fx_build(m, 2, NULL);

	spread(t, 0, "tasks.example", 4000, "blue", &a, &b);
	assert_int_equal(a, 3000);
	assert_int_equal(b, 1000);
	spread(t, 1, "canary.example", 10000, "stable", &a, &b);
	assert_int_equal(a, 9000);
	assert_int_equal(b, 1000);
	rtable_free(t);
	model_free(m);
}

/* In VIP mode the shares follow the services' ready tasks too, though
 * the agent answers one address per service.
 */
static void test_vip_shares(void **state)
{
	struct model *m = fx_model();
	struct model_service *s;
	struct rtable *t;
	int a, b;

	(void)state;
	s = fx_service(m, "big", 1, "lb.hosts=v.example", "lb.port=80", "lb.backend_mode=vip", NULL);
	fx_vip(m, s, "10.9.0.1", NULL);
	fx_task(m, s, "big.1", "10.0.0.1", 0, NULL);
	fx_task(m, s, "big.2", "10.0.0.2", 0, NULL);
	fx_task(m, s, "big.3", "10.0.0.3", 0, NULL);
	s = fx_service(m, "small", 2, "lb.hosts=v.example", "lb.port=80", "lb.backend_mode=vip", NULL);
	fx_vip(m, s, "10.9.0.2", NULL);
	fx_task(m, s, "small.1", "10.0.1.1", 0, NULL);
	t = fx_build(m, 1, NULL);
	spread(t, 0, "v.example", 400, "big", &a, &b);
	assert_int_equal(a, 300);
	assert_int_equal(b, 100);
	rtable_free(t);
	model_free(m);
}

/* Each task of a service gets the same share, and the workers' cycles
 * are independent.
 */
static void test_tasks_even_per_worker(void **state)
{
	struct model *m = fx_model();
	struct model_service *s = fx_service(m, "web", 1, "lb.hosts=a.example", "lb.port=80", NULL);
	struct route_answer ans;
	struct route_req r;
	struct rtable *t;

	(void)state;
	fx_task(m, s, "web.1", "10.0.0.1", 0, NULL);
	fx_task(m, s, "web.2", "10.0.0.2", 0, NULL);
	fx_task(m, s, "web.3", "10.0.0.3", 0, NULL);
	t = fx_build(m, 3, NULL);
	for (unsigned w = 0; w < 3; w++) {
		int count[3] = { 0 };

		for (int i = 0; i < 3; i++) {
			fx_req(&r, "a.example", "/");
			rtable_route(t, w, &r, &ans, scratch);
			count[ans.task_id[4] - '1']++;
		}
		/* each worker visits every task once per cycle */
		assert_int_equal(count[0], 1);
		assert_int_equal(count[1], 1);
		assert_int_equal(count[2], 1);
	}
	rtable_free(t);
	model_free(m);
}

/* Weight 0: no traffic while another service can serve, all of it when
 * nothing else can.
 */
static void test_weight_zero(void **state)
{
	struct model *m = fx_model();
	struct model_service *s, *live;
	struct rtable *t;
	int a, b;

	(void)state;
	s = fx_service(m, "drained", 1, "lb.hosts=a.example", "lb.port=80", "lb.weight=0", NULL);
	fx_task(m, s, "d.1", "10.0.0.1", 0, NULL);
	live = fx_service(m, "live", 2, "lb.hosts=a.example", "lb.port=80", NULL);
	fx_task(m, live, "l.1", "10.0.0.2", 0, NULL);
	t = fx_build(m, 1, NULL);
	spread(t, 0, "a.example", 100, "drained", &a, &b);
	assert_int_equal(a, 0);
	assert_int_equal(b, 100);
	rtable_free(t);

	live->tasks[0].health = MODEL_HEALTH_UNHEALTHY;
	t = fx_build(m, 1, NULL);
	spread(t, 0, "a.example", 100, "drained", &a, &b);
	assert_int_equal(a, 100);
	rtable_free(t);
	model_free(m);
}

/* ip_hash: the same client always reaches the same task; when a task
 * leaves, only its own clients move; when one joins, clients only move to
 * it.
 */
static void test_ip_hash_stability(void **state)
{
	enum { CLIENTS = 6000 };
	static char before[CLIENTS][16], after[CLIENTS][16];
	struct model *m = fx_model();
	struct model_service *s = fx_service(m, "web", 1, "lb.hosts=a.example", "lb.port=80",
					     "lb.ip_hash=true", NULL);
	int per_task[5] = { 0 }, moved = 0;
	struct route_answer ans;
	struct route_req r;
	struct rtable *t;

	(void)state;
	for (int i = 0; i < 5; i++) {
		char id[16], addr[16];

		snprintf(id, sizeof(id), "web.%d", i + 1);
		snprintf(addr, sizeof(addr), "10.0.0.%d", i + 1);
		fx_task(m, s, id, addr, 0, NULL);
	}
	t = fx_build(m, 2, NULL);
	for (int c = 0; c < CLIENTS; c++) {
		fx_req(&r, "a.example", "/");
		r.src.family = AF_INET;
		r.src.ip[0] = 192;
		r.src.ip[1] = 168;
		r.src.ip[2] = (uint8_t)(c >> 8);
		r.src.ip[3] = (uint8_t)c;
		rtable_route(t, (unsigned)c & 1, &r, &ans, scratch);
		snprintf(before[c], sizeof(before[c]), "%s", ans.task_id);
		per_task[ans.task_id[4] - '1']++;
		/* asked again, on another worker: same answer */
		rtable_route(t, ((unsigned)c + 1) & 1, &r, &ans, scratch);
		assert_string_equal(ans.task_id, before[c]);
	}
	for (int i = 0; i < 5; i++)
		assert_true(per_task[i] > CLIENTS / 5 * 8 / 10 && per_task[i] < CLIENTS / 5 * 12 / 10);
	rtable_free(t);

	/* web.3 stops */
	s->tasks[2].running = 0;
	t = fx_build(m, 2, NULL);
	for (int c = 0; c < CLIENTS; c++) {
		fx_req(&r, "a.example", "/");
		r.src.family = AF_INET;
		r.src.ip[0] = 192;
		r.src.ip[1] = 168;
		r.src.ip[2] = (uint8_t)(c >> 8);
		r.src.ip[3] = (uint8_t)c;
		rtable_route(t, 0, &r, &ans, scratch);
		snprintf(after[c], sizeof(after[c]), "%s", ans.task_id);
		if (strcmp(before[c], "web.3") == 0) {
			assert_string_not_equal(after[c], "web.3");
			moved++;
		} else {
			assert_string_equal(after[c], before[c]);
		}
	}
	assert_int_equal(moved, per_task[2]);
	rtable_free(t);

	/* web.3 comes back: exactly its clients return to it */
	s->tasks[2].running = 1;
	t = fx_build(m, 2, NULL);
	for (int c = 0; c < CLIENTS; c++) {
		fx_req(&r, "a.example", "/");
		r.src.family = AF_INET;
		r.src.ip[0] = 192;
		r.src.ip[1] = 168;
		r.src.ip[2] = (uint8_t)(c >> 8);
		r.src.ip[3] = (uint8_t)c;
		rtable_route(t, 1, &r, &ans, scratch);
		assert_string_equal(ans.task_id, before[c]);
	}
	rtable_free(t);

	/* without a client address, ip_hash falls back to round-robin */
	t = fx_build(m, 1, NULL);
	{
		int seen[5] = { 0 };

		for (int i = 0; i < 5; i++) {
			fx_req(&r, "a.example", "/");
			rtable_route(t, 0, &r, &ans, scratch);
			seen[ans.task_id[4] - '1']++;
		}
		for (int i = 0; i < 5; i++)
			assert_int_equal(seen[i], 1);
	}
	rtable_free(t);
	model_free(m);
}

/************************************************************************/
/*                             sticky cookies                           */
/************************************************************************/

static void test_sticky_parse(void **state)
{
	size_t pos = 0;
	uint64_t key;
	const char *h;
	char hex[STICKY_VALUE_LEN + 1] = { 0 };

	(void)state;
	sticky_format(0x0123456789abcdefULL, hex);
	assert_string_equal(hex, "0123456789abcdef");

	h = "a=1; xSRV=0123456789abcdef;SRV = \"0123456789ABCDEF\" ; SRV=fedcba9876543210";
	assert_int_equal(sticky_parse(h, strlen(h), "SRV", 3, &pos, &key), 1);
	assert_true(key == 0x0123456789abcdefULL);
	assert_int_equal(sticky_parse(h, strlen(h), "SRV", 3, &pos, &key), 1);
	assert_true(key == 0xfedcba9876543210ULL);
	assert_int_equal(sticky_parse(h, strlen(h), "SRV", 3, &pos, &key), 0);

	/* malformed values are skipped, not misread */
	h = "SRV=0123; SRV=0123456789abcdefg; SRV=; SRV";
	pos = 0;
	assert_int_equal(sticky_parse(h, strlen(h), "SRV", 3, &pos, &key), 0);
	pos = 0;
	assert_int_equal(sticky_parse("", 0, "SRV", 3, &pos, &key), 0);
	/* names are case-sensitive (RFC 6265) */
	h = "srv=0123456789abcdef";
	pos = 0;
	assert_int_equal(sticky_parse(h, strlen(h), "SRV", 3, &pos, &key), 0);
}

struct sticky_ctx {
	struct model *m;
	struct model_service *s;
};

static const unsigned char cookie_key[RTABLE_COOKIE_KEY_LEN] = "0123456789abcdef";

static struct rtable *sticky_build(const struct model *m, const unsigned char *key)
{
	const struct model *models[1] = { m };
	struct rtable_build_opts o = { .nworkers = 1, .cookie_key = key };
	struct rtable *t = rtable_build(models, 1, &o);

	assert_non_null(t);
	return t;
}

/* Three tasks behind a sticky cookie: Interlock's (the application's
 * cookie, hashed) or, with <managed>, ours (HAProxy sets it).
 */
static struct rtable *sticky_table_as(struct sticky_ctx *c, int managed)
{
	c->m = fx_model();
	c->s = fx_service(c->m, "web", 1, "lb.hosts=a.example", "lb.port=80",
			  "lb.sticky_session_cookie=SRV", "lb.context_root=/app",
			  managed ? "swarm-spoa.sticky_managed=true" : "swarm-spoa.other=1", NULL);
	fx_task(c->m, c->s, "web.1.abc", "10.0.0.1", 0, NULL);
	fx_task(c->m, c->s, "web.2.def", "10.0.0.2", 0, NULL);
	fx_task(c->m, c->s, "web.3.ghi", "10.0.0.3", 0, NULL);
	return sticky_build(c->m, cookie_key);
}

static struct rtable *sticky_table(struct sticky_ctx *c)
{
	return sticky_table_as(c, 1);
}

static void route_cookie(const struct rtable *t, const char *cookie, struct route_answer *a)
{
	struct route_req r;

	fx_req(&r, "a.example", "/app/page");
	if (cookie) {
		r.cookie = cookie;
		r.cookie_len = strlen(cookie);
	}
	rtable_route(t, 0, &r, a, scratch);
	assert_int_equal(a->action, ROUTE_FORWARD);
}

static void test_sticky_roundtrip(void **state)
{
	struct sticky_ctx c;
	struct rtable *t = sticky_table(&c);
	struct route_answer a;
	char cookie[128], task[32], value[STICKY_VALUE_LEN + 1];

	(void)state;
	route_cookie(t, NULL, &a);
	assert_non_null(a.set_cookie);
	snprintf(task, sizeof(task), "%s", a.task_id);
	/* "SRV=<16 hex>; Path=/app; HttpOnly", the value is not the task ID */
	assert_int_equal(a.set_cookie_len, strlen(a.set_cookie));
	assert_int_equal(strlen(a.set_cookie), 4 + 16 + strlen("; Path=/app; HttpOnly"));
	assert_memory_equal(a.set_cookie, "SRV=", 4);
	assert_string_equal(a.set_cookie + 20, "; Path=/app; HttpOnly");
	memcpy(value, a.set_cookie + 4, 16);
	value[16] = '\0';
	assert_int_equal(strspn(value, "0123456789abcdef"), 16);
	assert_null(strstr(a.set_cookie, task));

	/* the cookie brings every later request back, no new cookie */
	snprintf(cookie, sizeof(cookie), "theme=dark; SRV=%s; lang=fr", value);
	for (int i = 0; i < 20; i++) {
		route_cookie(t, cookie, &a);
		assert_string_equal(a.task_id, task);
		assert_null(a.set_cookie);
	}
	/* a garbage value: a normal pick and a fresh cookie */
	route_cookie(t, "SRV=not-a-task-key!", &a);
	assert_non_null(a.set_cookie);
	rtable_free(t);

	/* the value is stable across tables: same task ID and key, same cookie */
	t = sticky_build(c.m, cookie_key);
	route_cookie(t, cookie, &a);
	assert_string_equal(a.task_id, task);
	assert_null(a.set_cookie);
	rtable_free(t);
	model_free(c.m);
}

/* The task behind a cookie dies: the next request goes elsewhere and
 * gets a cookie for its new task, which then sticks.
 */
static void test_sticky_failover(void **state)
{
	struct sticky_ctx c;
	struct rtable *t = sticky_table(&c);
	struct route_answer a;
	char cookie[64], task[32], next[32];

	(void)state;
	route_cookie(t, NULL, &a);
	snprintf(task, sizeof(task), "%s", a.task_id);
	snprintf(cookie, sizeof(cookie), "%.*s", 20, a.set_cookie);
	rtable_free(t);

	for (uint32_t i = 0; i < c.s->ntasks; i++)
		if (strcmp(c.s->tasks[i].id, task) == 0)
			c.s->tasks[i].health = MODEL_HEALTH_UNHEALTHY;
	t = sticky_build(c.m, cookie_key);
	route_cookie(t, cookie, &a);
	assert_string_not_equal(a.task_id, task);
	assert_non_null(a.set_cookie);
	snprintf(next, sizeof(next), "%s", a.task_id);
	snprintf(cookie, sizeof(cookie), "%.*s", 20, a.set_cookie);
	route_cookie(t, cookie, &a);
	assert_string_equal(a.task_id, next);
	assert_null(a.set_cookie);
	rtable_free(t);
	model_free(c.m);
}

/* The managed cookie's value is a MAC under the deployment's key: another
 * key gives other values, and the unkeyed hash of a task ID (what a
 * client could compute from an ID it learnt) names no task.
 */
static void test_sticky_keyed(void **state)
{
	static const unsigned char other[RTABLE_COOKIE_KEY_LEN] = "another key 0123";
	struct sticky_ctx c;
	struct rtable *t = sticky_table(&c);
	struct route_answer a;
	char cookie[64], forged[64], hex[STICKY_VALUE_LEN + 1] = { 0 };

	(void)state;
	route_cookie(t, NULL, &a);
	snprintf(cookie, sizeof(cookie), "%.20s", a.set_cookie);
	sticky_format(sticky_mac(cookie_key, a.task_id), hex);
	assert_string_equal(cookie + 4, hex);
	sticky_format(balance_key(a.task_id, strlen(a.task_id)), hex);
	snprintf(forged, sizeof(forged), "SRV=%s", hex);
	route_cookie(t, forged, &a);
	assert_non_null(a.set_cookie);
	rtable_free(t);

	/* another deployment's key: our cookie is a stranger there */
	t = sticky_build(c.m, other);
	route_cookie(t, cookie, &a);
	assert_non_null(a.set_cookie);
	assert_memory_not_equal(a.set_cookie, cookie, 20);
	rtable_free(t);
	model_free(c.m);
}

static void test_sticky_value(void **state)
{
	const char *v, *h;
	size_t n;

	(void)state;
	h = "a=1; xsession=no; Session = \"abc def\" ; session=second";
	assert_int_equal(sticky_value(h, strlen(h), "session", 7, &v, &n), 1);
	/* the first one, whatever the case of its name, quotes and all */
	assert_int_equal(n, 9);
	assert_memory_equal(v, "\"abc def\"", 9);
	h = "session=; session=later";
	assert_int_equal(sticky_value(h, strlen(h), "session", 7, &v, &n), 0);
	h = "session; other=1";
	assert_int_equal(sticky_value(h, strlen(h), "session", 7, &v, &n), 0);
	assert_int_equal(sticky_value("", 0, "session", 7, &v, &n), 0);
	h = "sess=1";
	assert_int_equal(sticky_value(h, strlen(h), "session", 7, &v, &n), 0);
}

/* Interlock's stickiness: the application's cookie value, hashed. Same
 * value, same task; no Set-Cookie; no cookie, round-robin.
 */
static void test_cookie_hash(void **state)
{
	struct sticky_ctx c;
	struct rtable *t = sticky_table_as(&c, 0);
	struct route_answer a;
	char cookie[64], task[32];
	int seen[3] = { 0 };

	(void)state;
	route_cookie(t, "theme=dark; SRV=1510171444496686286", &a);
	snprintf(task, sizeof(task), "%s", a.task_id);
	for (int i = 0; i < 30; i++) {
		route_cookie(t, "SRV=1510171444496686286; theme=dark", &a);
		assert_string_equal(a.task_id, task);
		assert_null(a.set_cookie);
	}
	/* the name is matched as NGINX matches it, without regard to case */
	route_cookie(t, "srv=1510171444496686286", &a);
	assert_string_equal(a.task_id, task);
	/* any value works, and values spread over the tasks */
	for (int i = 0; i < 300; i++) {
		snprintf(cookie, sizeof(cookie), "SRV=session-%d", i);
		route_cookie(t, cookie, &a);
		assert_null(a.set_cookie);
		seen[a.task_id[4] - '1']++;
	}
	for (int i = 0; i < 3; i++)
		assert_in_range(seen[i], 60, 140);
	/* no cookie, or an empty one: round-robin, still no cookie set */
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 3; i++) {
		route_cookie(t, i ? "SRV=" : NULL, &a);
		assert_null(a.set_cookie);
		seen[a.task_id[4] - '1']++;
	}
	assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	rtable_free(t);
	model_free(c.m);
}

/* Consistent: a task that goes takes only its own values elsewhere; a
 * task that comes takes values only for itself.
 */
static void test_cookie_hash_consistent(void **state)
{
	enum { N = 600 };
	struct sticky_ctx c;
	struct rtable *t = sticky_table_as(&c, 0);
	struct route_answer a;
	char cookie[64], before[N], after[N];
	int moved = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(cookie, sizeof(cookie), "SRV=%d", i * 7919);
		route_cookie(t, cookie, &a);
		before[i] = a.task_id[4];
	}
	rtable_free(t);
	c.s->tasks[1].health = MODEL_HEALTH_UNHEALTHY;     /* web.2.def */
	t = sticky_build(c.m, cookie_key);
	for (int i = 0; i < N; i++) {
		snprintf(cookie, sizeof(cookie), "SRV=%d", i * 7919);
		route_cookie(t, cookie, &a);
		after[i] = a.task_id[4];
		if (before[i] != '2')
			assert_int_equal(after[i], before[i]);
		else
			moved++;
	}
	assert_in_range(moved, N / 5, N / 2);
	rtable_free(t);

	/* it comes back: exactly its old values return to it */
	c.s->tasks[1].health = MODEL_HEALTH_NONE;
	t = sticky_build(c.m, cookie_key);
	for (int i = 0; i < N; i++) {
		snprintf(cookie, sizeof(cookie), "SRV=%d", i * 7919);
		route_cookie(t, cookie, &a);
		assert_int_equal(a.task_id[4], before[i]);
	}
	rtable_free(t);
	model_free(c.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rr_exact_proportions),
		cmocka_unit_test(test_rr_spread),
		cmocka_unit_test(test_rr_worker_start),
		cmocka_unit_test(test_hash_weights),
		cmocka_unit_test(test_canary_shares),
		cmocka_unit_test(test_vip_shares),
		cmocka_unit_test(test_tasks_even_per_worker),
		cmocka_unit_test(test_weight_zero),
		cmocka_unit_test(test_ip_hash_stability),
		cmocka_unit_test(test_sticky_parse),
		cmocka_unit_test(test_sticky_roundtrip),
		cmocka_unit_test(test_sticky_failover),
		cmocka_unit_test(test_sticky_keyed),
		cmocka_unit_test(test_sticky_value),
		cmocka_unit_test(test_cookie_hash),
		cmocka_unit_test(test_cookie_hash_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
