/* Certificate references. */
#include <stdio.h>
#include <string.h>

#include "routing/certref.h"

static const char *const certref_kinds[] = {
	[CERTREF_SECRET] = "secret", [CERTREF_CONFIG] = "config", [CERTREF_FILE] = "file",
};

int certref_parse(const char *value, struct certref *ref, char *err, size_t errlen)
{
	const char *colon = strchr(value, ':');

	ref->kind = CERTREF_SECRET;
	ref->name = value;
	ref->explicit_kind = 0;
	if (!colon)
		return 0;
	for (size_t k = 0; k < sizeof(certref_kinds) / sizeof(certref_kinds[0]); k++) {
		size_t n = strlen(certref_kinds[k]);

		if ((size_t)(colon - value) != n || memcmp(value, certref_kinds[k], n) != 0)
			continue;
		if (!colon[1]) {
			snprintf(err, errlen, "\"%s\" names no %s after the kind", value,
				 certref_kinds[k]);
			return -1;
		}
		ref->kind = (enum certref_kind)k;
		ref->name = colon + 1;
		ref->explicit_kind = 1;
		return 0;
	}
	snprintf(err, errlen, "\"%.*s\" is not a kind of certificate source "
		 "(secret:NAME, config:NAME, file:NAME, or a bare secret name)",
		 (int)(colon - value > 64 ? 64 : colon - value), value);
	return -1;
}

const char *certref_kind_name(enum certref_kind kind)
{
	return certref_kinds[kind];
}
