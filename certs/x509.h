/* The few facts the agent reads from an X.509 certificate itself (DER,
 * RFC 5280): its serial number, validity and names. They let the agent
 * refuse an expired certificate before HAProxy sees it, check after a
 * commit that HAProxy holds the certificate it was sent (HAProxy shows the
 * serial), and list the names in "show certs". Nothing here verifies a
 * signature: HAProxy and the clients do that.
 *
 * Return convention: 0 on success, -1 with a one-line reason in <err>.
 */
#ifndef CERTS_X509_H
#define CERTS_X509_H

#include <stddef.h>
#include <stdint.h>
#include "certs/x509-t.h"

/* Reads the certificate in the <len> bytes of DER at <der> into <info>. */
int x509_parse(const unsigned char *der, size_t len, struct x509_info *info,
	       char *err, size_t errlen);

/* Writes <t> (seconds since the epoch) as "2026-12-26T04:15:13Z" into
 * <buf> (at least 21 bytes) and returns <buf>.
 */
const char *x509_time_str(int64_t t, char *buf, size_t len);

/* Returns 1 when the fields make a plausible UTC date and time (year 0 to
 * 9999, a leap second allowed), else 0.
 */
int x509_valid_date(int year, int mon, int day, int hour, int min, int sec);

/* Seconds since the epoch of a UTC date whose fields x509_valid_date()
 * accepts (day 31 of a short month rolls over to the next month).
 */
int64_t x509_timegm(int year, int mon, int day, int hour, int min, int sec);

#endif
