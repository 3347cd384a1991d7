/* The facts read from certificates: serials as HAProxy prints them (the
 * post-commit check compares them), validity in both time encodings, names;
 * and truncated or altered DER refused without reading past the input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "certs/pem.h"
#include "certs/x509.h"
#include "fixture.h"

/* The DER of the first block of <pem>, in a buffer of its exact size so
 * that the sanitizers catch any read past it.
 */
static unsigned char *der_of(const char *pem, size_t *len)
{
	const char *b = strchr(pem, '\n') + 1, *e = strstr(pem, "-----END");
	unsigned char *tmp = malloc((size_t)(e - b)), *der;
	long n = pem_base64_decode(b, (size_t)(e - b), tmp, (size_t)(e - b));

	assert_true(n > 0);
	der = malloc((size_t)n);
	memcpy(der, tmp, (size_t)n);
	free(tmp);
	*len = (size_t)n;
	return der;
}

static void test_utctime_san_cn(void **state)
{
	struct x509_info info;
	char err[128];
	size_t len;
	unsigned char *der = der_of(FX_CERT_A, &len);

	(void)state;
	assert_int_equal(x509_parse(der, len, &info, err, sizeof(err)), 0);
	assert_string_equal(info.serial, "0123456789");
	assert_int_equal(info.not_before, FX_CERT_A_NOT_BEFORE);
	assert_int_equal(info.not_after, FX_CERT_A_NOT_AFTER);
	assert_string_equal(info.cn, "a.example");
	/* DNS names only: the IP address entry is not one */
	assert_string_equal(info.dns, "a.example,*.b.example");
	assert_int_equal(info.ndns, 2);
	free(der);
}

static void test_generalized_time_sign_byte(void **state)
{
	struct x509_info info;
	char err[128];
	size_t len;
	unsigned char *der = der_of(FX_CERT_LONG, &len);

	(void)state;
	assert_int_equal(x509_parse(der, len, &info, err, sizeof(err)), 0);
	/* DER 00 80 00 .. 01: HAProxy shows 8000000000000001 */
	assert_string_equal(info.serial, "8000000000000001");
	assert_int_equal(info.not_after, FX_CERT_LONG_NOT_AFTER);
	assert_string_equal(info.cn, "long.example");
	assert_string_equal(info.dns, "");
	assert_int_equal(info.ndns, 0);
	free(der);
}

/* Every prefix of a certificate is refused, and so is every single-byte
 * change of a length or tag that makes it inconsistent; none reads past
 * its input (run under ASan).
 */
static void test_truncated_and_altered(void **state)
{
	struct x509_info info;
	char err[128];
	size_t len;
	unsigned char *der = der_of(FX_CERT_A, &len);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		unsigned char *cut = malloc(n ? n : 1);

		memcpy(cut, der, n);
		assert_int_equal(x509_parse(cut, n, &info, err, sizeof(err)), -1);
		free(cut);
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char *alt = malloc(len);

		memcpy(alt, der, len);
		alt[i] ^= 0xff;
		x509_parse(alt, len, &info, err, sizeof(err));   /* any verdict, no fault */
		free(alt);
	}
	free(der);
}

static void test_time_conversions(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(x509_timegm(1970, 1, 1, 0, 0, 0), 0);
	assert_int_equal(x509_timegm(2000, 2, 29, 12, 0, 0), 951825600);
	assert_int_equal(x509_timegm(2038, 1, 19, 3, 14, 8), 2147483648LL);
	assert_int_equal(x509_timegm(1950, 1, 1, 0, 0, 0), -631152000);
	assert_true(x509_valid_date(2024, 2, 29, 23, 59, 60));
	assert_false(x509_valid_date(2024, 13, 1, 0, 0, 0));
	assert_false(x509_valid_date(2024, 1, 0, 0, 0, 0));
	assert_false(x509_valid_date(2024, 1, 1, 24, 0, 0));
	assert_string_equal(x509_time_str(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	assert_string_equal(x509_time_str(FX_CERT_A_NOT_AFTER, buf, sizeof(buf)),
			    "2026-12-26T04:51:28Z");
	assert_string_equal(x509_time_str(951825600, buf, sizeof(buf)), "2000-02-29T12:00:00Z");
	assert_string_equal(x509_time_str(-631152000, buf, sizeof(buf)), "1950-01-01T00:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utctime_san_cn),
		cmocka_unit_test(test_generalized_time_sign_byte),
		cmocka_unit_test(test_truncated_and_altered),
		cmocka_unit_test(test_time_conversions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
