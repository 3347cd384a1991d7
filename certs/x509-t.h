/* What x509.h reads of a certificate. */
#ifndef CERTS_X509_T_H
#define CERTS_X509_T_H

#include <stdint.h>

#define X509_SERIAL_MAX 64          /* hex digits kept: 32 bytes, RFC 5280 allows 20 */
#define X509_CN_MAX     128
#define X509_DNS_MAX    8192        /* DNS names, comma-separated, cut at a name boundary */

struct x509_info {
	char serial[X509_SERIAL_MAX + 1]; /* uppercase hex, no sign byte, as HAProxy prints it */
	int64_t not_before;               /* seconds since the epoch (UTC) */
	int64_t not_after;
	char cn[X509_CN_MAX];             /* subject common name, "" when absent */
	char dns[X509_DNS_MAX];           /* subjectAltName DNS names, "a.example,*.b.example" */
	unsigned ndns;                    /* DNS names found (may exceed what <dns> holds) */
};

#endif
