/* libFuzzer target: certificate material from secrets, configs and files
 * (pem_bundle_load: PEM framing, base64, the X.509 reader) and the DER
 * reader alone, with the names it read compared with hosts
 * (certcover.c): a crafted certificate's names are label-like input too.
 *
 * Input: a selector byte, then the bytes. Selector bit 0: the bytes are DER
 * for x509_parse; else PEM. Bit 1 (PEM): the text is split at the first
 * NUL, the part after it being a separate key text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certcover.h"
#include "certs/pem.h"
#include "common/sbuf.h"
#include "certs/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The hosts of <info> it covers and those it does not add up. */
static void fuzz_cover(const struct x509_info *info)
{
	static const char hosts[] = "a.example *.example a.b.example example xn--bcher-kva.example";
	struct sbuf cov = SBUF_INIT, unc = SBUF_INIT;
	char names[160];
	size_t n = certcover_split(info, hosts, &cov, &unc);

	/* every host lands on one side: the two lists hold them all, with
	 * one separator fewer when both have some */
	if (!cov.oom && !unc.oom && (n > 5 || (n > 0) != (cov.len > 0) ||
				     cov.len + unc.len != sizeof(hosts) - 1 - (cov.len && unc.len)))
		abort();
	certcover_names(info, names, sizeof(names));
	sbuf_free(&cov);
	sbuf_free(&unc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pem_bundle b;
	struct x509_info info;
	char err[256];
	const char *text;
	const uint8_t *nul;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	if (sel & 1) {
		if (x509_parse(data, size, &info, err, sizeof(err)) == 0) {
			/* what is read must be printable and bounded */
			if (strlen(info.serial) > X509_SERIAL_MAX || strchr(info.cn, '\n') ||
			    strchr(info.dns, '\n'))
				abort();
			fuzz_cover(&info);
		}
		return 0;
	}
	text = (const char *)data;
	nul = (sel & 2) ? memchr(data, 0, size) : NULL;
	if (nul) {
		size_t clen = (size_t)(nul - data);

		if (pem_bundle_load(&b, text, clen, text + clen + 1, size - clen - 1, err,
				    sizeof(err)) == 0)
			goto check;
		return 0;
	}
	if (pem_bundle_load(&b, text, size, NULL, 0, err, sizeof(err)) < 0)
		return 0;
check:
	/* the payload pushed to HAProxy: no blank line, no CR, ends with LF */
	if (!b.text || !b.len || b.text[b.len - 1] != '\n' || strstr(b.text, "\n\n") ||
	    strchr(b.text, '\r') || strlen(b.text) != b.len || !b.ncerts)
		abort();
	fuzz_cover(&b.leaf);
	pem_bundle_free(&b);
	return 0;
}
