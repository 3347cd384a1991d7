/* Host name normalisation and validation (routing/hostname.c). Guards the
 * rules that decide whether a label's host is accepted and what a Host
 * header is looked up as.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "routing/hostname.h"

/* Normalises <in>; returns the result or NULL, with the reason in <why>. */
static const char *norm(const char *in, unsigned flags, char *why)
{
	static char out[HOSTNAME_MAX + 2];

	why[0] = '\0';
	if (hostname_normalize(in, strlen(in), flags, out, sizeof(out), why, 128) < 0)
		return NULL;
	return out;
}

static void test_lowercase_and_trailing_dot(void **state)
{
	char why[128];

	(void)state;
	assert_string_equal(norm("WWW.Example.ORG", 0, why), "www.example.org");
	assert_string_equal(norm("example.org.", 0, why), "example.org");
	assert_string_equal(norm("a-b.c0", 0, why), "a-b.c0");
	/* digits may start a label (RFC 1123 relaxed RFC 952) */
	assert_string_equal(norm("3com.example", 0, why), "3com.example");
}

static void test_idn_to_punycode(void **state)
{
	char why[128];

	(void)state;
	assert_string_equal(norm("b\xc3\xbc" "cher.example", 0, why), "xn--bcher-kva.example");
	/* capital U-umlaut folds to the same name */
	assert_string_equal(norm("B\xc3\x9c" "CHER.example", 0, why), "xn--bcher-kva.example");
	assert_string_equal(norm("www.m\xc3\xbcnchen.de", 0, why), "www.xn--mnchen-3ya.de");
	/* an already encoded name is kept (lowercased) */
	assert_string_equal(norm("XN--BCHER-KVA.example", 0, why), "xn--bcher-kva.example");
	/* Cyrillic capitals fold too: "ПРИМЕР" and "пример" are one label */
	assert_string_equal(norm("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x9c\xd0\x95\xd0\xa0.test", 0, why),
			    norm("\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.test", 0, why));
	assert_null(norm("b\xc3(cher.example", 0, why));
	assert_string_equal(why, "invalid UTF-8 in host name");
	/* overlong encoding of '/' */
	assert_null(norm("a\xc0\xaf" "b.example", 0, why));
}

static void test_rfc1123_errors(void **state)
{
	char why[128], big[300];

	(void)state;
	assert_null(norm("", 0, why));
	assert_string_equal(why, "empty host name");
	assert_null(norm(".", 0, why));
	assert_string_equal(why, "empty host name");
	assert_null(norm("a..b", 0, why));
	assert_string_equal(why, "empty label in host name");
	assert_null(norm(".a", 0, why));
	assert_string_equal(why, "empty label in host name");
	assert_null(norm("my_app.example", 0, why));
	assert_string_equal(why, "invalid character '_' in host name");
	assert_null(norm("a b", 0, why));
	assert_string_equal(why, "invalid byte 0x20 in host name");
	assert_null(norm("-a.example", 0, why));
	assert_string_equal(why, "label \"-a\" starts or ends with '-'");
	assert_null(norm("a-.example", 0, why));

	/* 63 characters is the longest label */
	memset(big, 'a', 63);
	strcpy(big + 63, ".example");
	assert_non_null(norm(big, 0, why));
	memset(big, 'a', 64);
	strcpy(big + 64, ".example");
	assert_null(norm(big, 0, why));
	assert_string_equal(why, "label longer than 63 characters in host name");

	/* 253 characters is the longest name: 4 labels of 62 + 3 dots = 251 */
	for (int i = 0; i < 4; i++) {
		memset(big + i * 63, 'a' + i, 62);
		big[i * 63 + 62] = '.';
	}
	strcpy(big + 4 * 63 - 1, "");
	assert_int_equal(strlen(big), 251);
	assert_non_null(norm(big, 0, why));
	strcat(big, ".b");                  /* 253 */
	assert_non_null(norm(big, 0, why));
	strcat(big, "c");                   /* 254 */
	assert_null(norm(big, 0, why));
	assert_string_equal(why, "host name longer than 253 characters");
}

static void test_wildcards(void **state)
{
	char why[128];

	(void)state;
	assert_string_equal(norm("*.Example.org", HOSTNAME_WILDCARD, why), "*.example.org");
	assert_null(norm("*.example.org", 0, why));
	assert_string_equal(why, "wildcard not allowed here");
	assert_null(norm("*", HOSTNAME_WILDCARD, why));
	assert_null(norm("*example.org", HOSTNAME_WILDCARD, why));
	assert_string_equal(why, "a wildcard is \"*.\" followed by a name, as in \"*.example.org\"");
	assert_null(norm("a.*.example.org", HOSTNAME_WILDCARD, why));
	assert_string_equal(why, "'*' is only allowed as the first label (\"*.example.org\")");
	assert_null(norm("*.*.example.org", HOSTNAME_WILDCARD, why));
}

static void test_strip_port(void **state)
{
	size_t start, len;
	const char *h;

	(void)state;
	h = "a.example:8080";
	len = hostname_strip_port(h, strlen(h), &start);
	assert_int_equal(start, 0);
	assert_int_equal(len, 9);
	h = "a.example.:443";
	len = hostname_strip_port(h, strlen(h), &start);
	assert_int_equal(len, 9);
	h = "a.example";
	assert_int_equal(hostname_strip_port(h, strlen(h), &start), 9);
	h = "[2001:db8::1]:8443";
	len = hostname_strip_port(h, strlen(h), &start);
	assert_int_equal(start, 1);
	assert_memory_equal(h + start, "2001:db8::1", len);
	assert_int_equal(len, 11);
	/* a bare IPv6 literal has no port to strip */
	h = "2001:db8::1";
	assert_int_equal(hostname_strip_port(h, strlen(h), &start), strlen(h));
	/* "host:" (empty port) is a host with an empty port */
	h = "a.example:";
	assert_int_equal(hostname_strip_port(h, strlen(h), &start), 9);
	h = "";
	assert_int_equal(hostname_strip_port(h, 0, &start), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowercase_and_trailing_dot),
		cmocka_unit_test(test_idn_to_punycode),
		cmocka_unit_test(test_rfc1123_errors),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_strip_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
