/* Docker answers read with jansson. */
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>

#include "common/sbuf.h"
#include "dockerapi/dockerjson.h"

json_t *dockerjson_load(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je);

	if (!root)
		snprintf(err, errlen, "malformed JSON from the Docker daemon: %s (line %d)",
			 je.text, je.line);
	return root;
}

json_t *dockerjson_load_list(const char *json, size_t len, const char *what,
			     char *err, size_t errlen)
{
	json_t *root = dockerjson_load(json, len, err, errlen);

	if (root && !json_is_array(root)) {
		snprintf(err, errlen, "unexpected answer listing %s (not an array)", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

const char *dockerjson_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

json_t *dockerjson_labels(json_t *spec)
{
	json_t *labels = json_object_get(spec, "Labels");

	if (json_is_object(labels))
		return labels;
	labels = json_object();
	if (!labels || json_object_set_new(spec, "Labels", labels) < 0)
		return NULL;
	return labels;
}

int dockerjson_dump(json_t *spec, struct sbuf *out)
{
	char *text = json_dumps(spec, JSON_COMPACT);

	if (!text)
		return -1;
	sbuf_reset(out);
	sbuf_puts(out, text);
	free(text);
	return out->oom ? -1 : 0;
}
