/* Docker objects the certificate manager reads and writes: a config's
 * data, a secret's ID, and the agent's own service spec rewritten to mount secrets
 * (the operator's mounts kept, only the agent's own ones removed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "certs/swarmobj.h"
#include "common/sbuf.h"

static int call_config(const char *json, const char *name, struct sbuf *out, char *err)
{
	return swarmobj_config_data(json, strlen(json), name, out, err, 256);
}

static void test_config_data(void **state)
{
	static const char list[] =
		"[{\"ID\":\"c1\",\"Version\":{\"Index\":11},\"Spec\":{\"Name\":\"web_cert_old\","
		"\"Data\":\"b2xk\"}},"
		"{\"ID\":\"c2\",\"Spec\":{\"Name\":\"web_cert\",\"Labels\":{},"
		"\"Data\":\"LS0tLS1CRUdJTg==\"}}]";
	struct sbuf out = SBUF_INIT;
	char err[256];

	(void)state;
	assert_int_equal(call_config(list, "web_cert", &out, err), 1);
	assert_int_equal(out.len, 10);
	assert_memory_equal(out.buf, "-----BEGIN", 10);
	/* the name filter of the API may match more: exact names only */
	assert_int_equal(call_config(list, "web", &out, err), 0);
	assert_int_equal(call_config("[]", "web_cert", &out, err), 0);
	assert_int_equal(call_config("{}", "web_cert", &out, err), -1);
	assert_int_equal(call_config("[{\"Spec\":{\"Name\":\"x\",\"Data\":\"!!\"}}]", "x", &out, err), -1);
	assert_non_null(strstr(err, "not base64"));
	assert_int_equal(call_config("[{\"Spec\":{\"Name\":\"x\"}}]", "x", &out, err), -1);
	assert_int_equal(call_config("[{\"Spec\":", "x", &out, err), -1);
	assert_non_null(strstr(err, "malformed JSON"));
	sbuf_free(&out);
}

static void test_secret_id(void **state)
{
	static const char list[] = "[{\"ID\":\"s9\",\"Spec\":{\"Name\":\"shop_key\"}}]";
	char id[32], err[256];

	(void)state;
	assert_int_equal(swarmobj_secret_id(list, strlen(list), "shop_key", id, sizeof(id), err,
					    sizeof(err)), 1);
	assert_string_equal(id, "s9");
	assert_int_equal(swarmobj_secret_id(list, strlen(list), "shop", id, sizeof(id), err,
					    sizeof(err)), 0);
	assert_int_equal(swarmobj_secret_id(list, strlen(list), "shop_key", id, 2, err,
					    sizeof(err)), -1);
	assert_int_equal(swarmobj_secret_id("null", 4, "x", id, sizeof(id), err, sizeof(err)), -1);
}

static const char service[] =
	"{\"ID\":\"svc1\",\"Version\":{\"Index\":42},\"Spec\":{\"Name\":\"sp_agent\","
	"\"Labels\":{\"" SWARMOBJ_MANAGED_LABEL "\":\"old_cert\"},"
	"\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"agent\",\"Secrets\":["
	"{\"File\":{\"Name\":\"mine\",\"UID\":\"0\",\"GID\":\"0\",\"Mode\":256},"
	"\"SecretID\":\"op1\",\"SecretName\":\"operator_secret\"},"
	"{\"File\":{\"Name\":\"old_cert\",\"UID\":\"0\",\"GID\":\"0\",\"Mode\":292},"
	"\"SecretID\":\"s-old\",\"SecretName\":\"old_cert\"}]}}}}";

/* The names of the secrets mounted by <spec> and its managed label. */
static void mounted(const char *spec, char *names, size_t n, char *label, size_t ln)
{
	json_error_t je;
	json_t *root = json_loads(spec, 0, &je), *s;
	size_t i;

	assert_non_null(root);
	names[0] = '\0';
	json_array_foreach(json_object_get(json_object_get(json_object_get(root, "TaskTemplate"),
							   "ContainerSpec"), "Secrets"), i, s) {
		strncat(names, json_string_value(json_object_get(s, "SecretName")), n - strlen(names) - 2);
		strcat(names, " ");
	}
	snprintf(label, ln, "%s", json_string_value(json_object_get(json_object_get(root, "Labels"),
								    SWARMOBJ_MANAGED_LABEL)));
	json_decref(root);
}

static void test_service_secrets(void **state)
{
	struct swarmobj_secret want[] = {
		{ "new_cert", "s-new" },
		{ "operator_secret", "op1" },   /* the operator mounts it: left alone */
	};
	const struct swarmobj_owner owner = { 999, 998 };
	struct sbuf spec = SBUF_INIT;
	char id[32], err[256], names[256], label[128];
	unsigned added, removed;
	uint64_t version;

	(void)state;
	assert_int_equal(swarmobj_service_secrets(service, strlen(service), want, 2, &owner, &spec, id,
						  sizeof(id), &version, &added, &removed, err,
						  sizeof(err)), 1);
	assert_string_equal(id, "svc1");
	assert_int_equal(version, 42);
	assert_int_equal(added, 1);
	assert_int_equal(removed, 1);
	mounted(spec.buf, names, sizeof(names), label, sizeof(label));
	assert_string_equal(names, "operator_secret new_cert ");
	assert_string_equal(label, "new_cert");
	/* the new one is the agent's alone; the one mounted already is kept */
	assert_non_null(strstr(spec.buf, "\"UID\":\"999\",\"GID\":\"998\",\"Mode\":256"));

	/* already as wanted: no update */
	{
		struct swarmobj_secret keep[] = { { "old_cert", NULL } };

		assert_int_equal(swarmobj_service_secrets(service, strlen(service), keep, 1, &owner, &spec, id,
							  sizeof(id), &version, &added, &removed,
							  err, sizeof(err)), 0);
	}
	/* a wanted secret without ID that is not mounted cannot be added */
	{
		struct swarmobj_secret none[] = { { "old_cert", NULL }, { "unknown", NULL } };

		assert_int_equal(swarmobj_service_secrets(service, strlen(service), none, 2, &owner, &spec, id,
							  sizeof(id), &version, &added, &removed,
							  err, sizeof(err)), 0);
	}
	/* nothing wanted: only the agent's own secret goes */
	assert_int_equal(swarmobj_service_secrets(service, strlen(service), NULL, 0, &owner, &spec, id,
						  sizeof(id), &version, &added, &removed, err,
						  sizeof(err)), 1);
	assert_int_equal(added, 0);
	assert_int_equal(removed, 1);
	mounted(spec.buf, names, sizeof(names), label, sizeof(label));
	assert_string_equal(names, "operator_secret ");
	assert_string_equal(label, "");

	assert_int_equal(swarmobj_service_secrets("{\"ID\":\"x\"}", 10, want, 2, &owner, &spec, id,
						  sizeof(id), &version, &added, &removed, err,
						  sizeof(err)), -1);
	assert_non_null(strstr(err, "unexpected service answer"));
	sbuf_free(&spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_data),
		cmocka_unit_test(test_secret_id),
		cmocka_unit_test(test_service_secrets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
