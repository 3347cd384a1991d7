/* PEM material as users put it in secrets and configs: what is accepted
 * and how it is rewritten for HAProxy's runtime API (a blank line would end
 * the payload early; CR LF, text between blocks and the key first are all
 * common), and every refusal with its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "certs/pem.h"
#include "fixture.h"

static const char canonical[] = FX_CERT_A FX_KEY;

static int load(struct pem_bundle *b, const char *cert, const char *key, char *err, size_t n)
{
	return pem_bundle_load(b, cert, strlen(cert), key, key ? strlen(key) : 0, err, n);
}

/* Refused, with <why> in the reason. */
static void refused(const char *cert, const char *key, const char *why)
{
	struct pem_bundle b;
	char err[256] = "";

	assert_int_equal(load(&b, cert, key, err, sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("reason '%s' lacks '%s'", err, why);
	assert_null(b.text);
}

static void test_base64_vectors(void **state)
{
	unsigned char out[16];

	(void)state;
	/* RFC 4648 section 10 */
	assert_int_equal(pem_base64_decode("", 0, out, sizeof(out)), 0);
	assert_int_equal(pem_base64_decode("Zg==", 4, out, sizeof(out)), 1);
	assert_memory_equal(out, "f", 1);
	assert_int_equal(pem_base64_decode("Zm8=", 4, out, sizeof(out)), 2);
	assert_int_equal(pem_base64_decode("Zm9v", 4, out, sizeof(out)), 3);
	assert_memory_equal(out, "foo", 3);
	assert_int_equal(pem_base64_decode("Zm9vYmFy", 8, out, sizeof(out)), 6);
	assert_memory_equal(out, "foobar", 6);
	/* line ends and no padding are fine */
	assert_int_equal(pem_base64_decode("Zm9v\r\nYmE", 9, out, sizeof(out)), 5);
	assert_memory_equal(out, "fooba", 5);
	/* refused: a character outside the alphabet, data after padding, a
	 * lone character, bits left over, no room */
	assert_int_equal(pem_base64_decode("Zm9v!", 5, out, sizeof(out)), -1);
	assert_int_equal(pem_base64_decode("Zg==Zg==", 8, out, sizeof(out)), -1);
	assert_int_equal(pem_base64_decode("Zm9vY", 5, out, sizeof(out)), -1);
	assert_int_equal(pem_base64_decode("Zh==", 4, out, sizeof(out)), -1);
	assert_int_equal(pem_base64_decode("Zm9vYmFy", 8, out, 5), -1);
}

static void test_canonical_input_unchanged(void **state)
{
	struct pem_bundle b;
	char err[256];

	(void)state;
	assert_int_equal(load(&b, canonical, NULL, err, sizeof(err)), 0);
	assert_string_equal(b.text, canonical);
	assert_int_equal(b.len, strlen(canonical));
	assert_int_equal(b.ncerts, 1);
	assert_string_equal(b.leaf.serial, "0123456789");
	assert_string_equal(b.leaf.cn, "a.example");
	assert_true(b.hash != 0);
	pem_bundle_free(&b);
	assert_null(b.text);
}

/* Guards the payload: CR LF, blank lines, text around the blocks, the key
 * first and EC parameters (openssl ecparam -genkey writes them) all give
 * the same material, hence the same content hash and HAProxy path.
 */
static void test_normalised(void **state)
{
	static const char messy[] =
		"Bag Attributes\r\n    localKeyID: 01 02\r\n"
		"-----BEGIN EC PARAMETERS-----\r\nBggqhkjOPQMBBw==\r\n-----END EC PARAMETERS-----\r\n"
		"\r\n"
		"-----BEGIN PRIVATE KEY-----\r\nMAMC\r\n\r\nAQA=\r\n-----END PRIVATE KEY-----\r\n"
		"\r\n\r\nsubject=/CN=a.example\r\n";
	struct pem_bundle ref, b;
	char *input, err[256];

	(void)state;
	assert_int_equal(load(&ref, canonical, NULL, err, sizeof(err)), 0);
	input = malloc(strlen(messy) + strlen(FX_CERT_A) + 1);
	assert_non_null(input);
	strcpy(input, messy);
	strcat(input, FX_CERT_A);
	assert_int_equal(load(&b, input, NULL, err, sizeof(err)), 0);
	assert_string_equal(b.text, canonical);
	assert_true(b.hash == ref.hash);
	assert_null(strstr(b.text, "\r"));
	assert_null(strstr(b.text, "\n\n"));
	pem_bundle_free(&b);
	pem_bundle_free(&ref);
	free(input);
}

static void test_separate_key_and_chain(void **state)
{
	struct pem_bundle b;
	char err[256];

	(void)state;
	assert_int_equal(load(&b, FX_CERT_A FX_CERT_LONG, FX_KEY, err, sizeof(err)), 0);
	assert_int_equal(b.ncerts, 2);
	/* the first certificate is the one served */
	assert_string_equal(b.leaf.cn, "a.example");
	assert_string_equal(b.text, FX_CERT_A FX_CERT_LONG FX_KEY);
	pem_bundle_free(&b);
}

static void test_refusals(void **state)
{
	char *big;

	(void)state;
	refused("", NULL, "no -----BEGIN line");
	refused("hello\n", NULL, "not PEM: no -----BEGIN line");
	refused("-----BEGIN CERTIFICATE-----\nMAMCAQA=\n", NULL, "has no END line");
	refused("-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n", NULL,
		"ends with a different END line");
	refused("-----BEGIN CERTIFICATE-----\nMAM*AQA=\n-----END CERTIFICATE-----\n" FX_KEY, NULL,
		"invalid base64 in the CERTIFICATE block");
	refused("-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n", NULL, "no END line");
	refused(FX_KEY, NULL, "no certificate");
	refused(FX_CERT_A, NULL, "no private key");
	refused(FX_CERT_A, "", "key: not PEM");
	refused(FX_CERT_A, FX_CERT_LONG, "key: no private key block");
	refused(FX_CERT_A FX_KEY FX_KEY, NULL, "several private keys");
	refused(FX_CERT_A FX_KEY, FX_KEY, "holds a private key too");
	refused(FX_CERT_A "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAMCAQA=\n"
		"-----END ENCRYPTED PRIVATE KEY-----\n", NULL, "passphrase");
	refused(FX_CERT_A "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
		"DEK-Info: AES-128-CBC,00\n\nMAMCAQA=\n-----END RSA PRIVATE KEY-----\n", NULL,
		"passphrase");
	/* base64 that is not a certificate */
	refused("-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n" FX_KEY, NULL,
		"certificate malformed");
	refused(FX_CERT_A "-----BEGIN PRIVATE KEY-----\nAQID\n-----END PRIVATE KEY-----\n", NULL,
		"not a DER key");
	{
		static const char bin[] = "0\x82\x01\xb5\x00\x01";
		struct pem_bundle b;
		char err[256];

		assert_int_equal(pem_bundle_load(&b, bin, sizeof(bin), NULL, 0, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "binary data"));
	}
	big = malloc(PEM_MAX_INPUT + 2);
	assert_non_null(big);
	memset(big, 'A', PEM_MAX_INPUT + 1);
	big[PEM_MAX_INPUT + 1] = '\0';
	refused(big, NULL, "larger than 1 MB");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_canonical_input_unchanged),
		cmocka_unit_test(test_normalised),
		cmocka_unit_test(test_separate_key_and_chain),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
