/* libFuzzer target: the operator's policy file (policy_parse) and the
 * host ledger file (ledger_parse), both read from disk. Whatever the
 * policy parser accepts is asked about a few hosts, secrets and networks; whatever
 * the ledger parser accepts must be written back to the same entries.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "routing/ledger.h"
#include "routing/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const hosts[] = {
	"a.example.com", "*.example.com", "*.b.example.com", "x.y.z", "com", "*.com",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct policy *p = policy_parse((const char *)data, size, err, sizeof(err));
	struct ledger *l;

	if (p) {
		for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
			const struct policy_host *r = policy_host_rule(p, hosts[i]);

			if (r && r->owners.n == 0)
				abort();     /* a host rule always names an owner */
			if (r)
				(void)policy_owner_in(&r->owners, "shop");
		}
		(void)policy_secret_rule(p, "shop_cert");
		for (const char *const *n = (const char *const[]){ "shop_net", "shop", "", NULL }; *n; n++) {
			const struct policy_network *r = policy_network_rule(p, *n);

			if (r && r->owners.n == 0)
				abort();     /* a network rule always names an owner */
			if (r)
				(void)policy_owner_in(&r->owners, "shop");
		}
		policy_free(p);
	}

	l = ledger_parse((const char *)data, size, err, sizeof(err));
	if (l) {
		struct sbuf a = SBUF_INIT, b = SBUF_INIT;
		struct ledger *again;

		ledger_format(l, &a);
		again = ledger_parse(a.buf, a.len, err, sizeof(err));
		if (!again)
			abort();     /* what we write, we read */
		ledger_format(again, &b);
		if (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)
			abort();
		ledger_free(again);
		sbuf_free(&a);
		sbuf_free(&b);
		ledger_free(l);
	}
	return 0;
}
