/* A DER reader for the fields of an X.509 certificate the agent uses.
 *
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
 * TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER,
 *     signature, issuer Name, validity SEQUENCE { notBefore, notAfter },
 *     subject Name, subjectPublicKeyInfo, [1] [2] unique IDs OPTIONAL,
 *     [3] extensions OPTIONAL }
 *
 * Every length is checked against what encloses it; the input is not
 * trusted (it comes from a Docker secret, config or file).
 */
#include <stdio.h>
#include <string.h>

#include "certs/x509.h"

#define TAG_BOOLEAN      0x01
#define TAG_INTEGER      0x02
#define TAG_OCTET_STRING 0x04
#define TAG_OID          0x06
#define TAG_UTF8STRING   0x0c
#define TAG_PRINTABLE    0x13
#define TAG_T61STRING    0x14
#define TAG_IA5STRING    0x16
#define TAG_UTCTIME      0x17
#define TAG_GENTIME      0x18
#define TAG_BMPSTRING    0x1e
#define TAG_SEQUENCE     0x30
#define TAG_SET          0x31
#define TAG_VERSION      0xa0   /* [0] EXPLICIT */
#define TAG_EXTENSIONS   0xa3   /* [3] EXPLICIT */
#define TAG_SAN_DNS      0x82   /* GeneralName dNSName [2] IMPLICIT IA5String */

static const unsigned char oid_cn[] = { 0x55, 0x04, 0x03 };   /* 2.5.4.3 */
static const unsigned char oid_san[] = { 0x55, 0x1d, 0x11 };  /* 2.5.29.17 */

/* A window on DER bytes. */
struct der {
	const unsigned char *p;
	const unsigned char *end;
};

static int x509_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

/* Reads the next TLV of <d> into <tag> and <content>. Returns 0, or -1 when
 * the encoding is not DER or runs past <d>'s end.
 */
static int der_next(struct der *d, unsigned *tag, struct der *content)
{
	size_t len = 0;
	unsigned char b;

	if (d->end - d->p < 2)
		return -1;
	*tag = *d->p++;
	if ((*tag & 0x1f) == 0x1f)
		return -1;   /* high tag numbers: never in a certificate */
	b = *d->p++;
	if (b < 0x80) {
		len = b;
	} else {
		unsigned n = b & 0x7f;

		/* 0 is BER's indefinite length; 4 bytes bound a length well
		 * above anything a certificate holds. */
		if (n == 0 || n > 4 || (size_t)(d->end - d->p) < n)
			return -1;
		while (n--)
			len = (len << 8) | *d->p++;
	}
	if (len > (size_t)(d->end - d->p))
		return -1;
	content->p = d->p;
	content->end = d->p + len;
	d->p += len;
	return 0;
}

/* Reads the next TLV and checks that its tag is <want>. */
static int der_expect(struct der *d, unsigned want, struct der *content)
{
	unsigned tag;

	if (der_next(d, &tag, content) < 0 || tag != want)
		return -1;
	return 0;
}

static int der_peek(const struct der *d)
{
	return d->p < d->end ? *d->p : -1;
}

static int der_oid_is(const struct der *oid, const unsigned char *want, size_t n)
{
	return (size_t)(oid->end - oid->p) == n && memcmp(oid->p, want, n) == 0;
}

/* Copies the printable ASCII of a string value into <out>: anything else
 * (control bytes, UTF-8 sequences, the separator ',') becomes '?', so that
 * the text is safe in a log line and in the stats socket's columns.
 */
static void der_copy_text(unsigned tag, const struct der *v, char *out, size_t outsz)
{
	size_t o = 0;
	size_t step = tag == TAG_BMPSTRING ? 2 : 1;

	for (const unsigned char *p = v->p; p + step <= v->end && o + 1 < outsz; p += step) {
		unsigned c = step == 2 ? (unsigned)(p[0] << 8 | p[1]) : *p;

		out[o++] = (c >= 0x20 && c < 0x7f && c != ',') ? (char)c : '?';
	}
	out[o] = '\0';
}

/************************************************************************/
/*                               time                                   */
/************************************************************************/

int x509_valid_date(int year, int mon, int day, int hour, int min, int sec)
{
	return year >= 0 && year <= 9999 && mon >= 1 && mon <= 12 && day >= 1 && day <= 31 &&
	       hour >= 0 && hour <= 23 && min >= 0 && min <= 59 && sec >= 0 && sec <= 60;
}

int64_t x509_timegm(int year, int mon, int day, int hour, int min, int sec)
{
	int64_t y, era, yoe, doy, doe, days;

	/* Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
	 * days_from_civil). */
	y = year - (mon <= 2);
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return days * 86400 + hour * 3600 + min * 60 + sec;
}

const char *x509_time_str(int64_t t, char *buf, size_t len)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t secs = t - days * 86400;
	/* civil_from_days, the inverse of the above */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp + (mp < 10 ? 3 : -9);
	int64_t y = yoe + era * 400 + (m <= 2);

	snprintf(buf, len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y,
		 (long long)m, (long long)d, (long long)(secs / 3600),
		 (long long)(secs / 60 % 60), (long long)(secs % 60));
	return buf;
}

static int der_digits(const unsigned char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* UTCTime "YYMMDDHHMMSSZ" (years 1950-2049, RFC 5280) or GeneralizedTime
 * "YYYYMMDDHHMMSSZ", the only forms DER allows in a certificate.
 */
static int der_time(struct der *d, int64_t *out)
{
	struct der v;
	unsigned tag;
	const unsigned char *p;
	int year, n;

	if (der_next(d, &tag, &v) < 0)
		return -1;
	n = (int)(v.end - v.p);
	p = v.p;
	if (tag == TAG_UTCTIME && n == 13) {
		year = der_digits(p, 2);
		if (year < 0)
			return -1;
		year += year < 50 ? 2000 : 1900;
		p += 2;
	} else if (tag == TAG_GENTIME && n == 15) {
		year = der_digits(p, 4);
		if (year < 0)
			return -1;
		p += 4;
	} else {
		return -1;
	}
	if (p[10] != 'Z' || !x509_valid_date(year, der_digits(p, 2), der_digits(p + 2, 2),
					      der_digits(p + 4, 2), der_digits(p + 6, 2),
					      der_digits(p + 8, 2)))
		return -1;
	*out = x509_timegm(year, der_digits(p, 2), der_digits(p + 2, 2), der_digits(p + 4, 2),
			   der_digits(p + 6, 2), der_digits(p + 8, 2));
	return 0;
}

/************************************************************************/
/*                               fields                                 */
/************************************************************************/

static int x509_serial(struct der *tbs, struct x509_info *info)
{
	static const char hex[] = "0123456789ABCDEF";
	struct der v;
	size_t n, o = 0;

	if (der_expect(tbs, TAG_INTEGER, &v) < 0 || v.p == v.end)
		return -1;
	/* DER prefixes a 0x00 to keep a positive number positive; OpenSSL
	 * (and so HAProxy) shows the magnitude only. */
	while (v.end - v.p > 1 && v.p[0] == 0)
		v.p++;
	n = (size_t)(v.end - v.p);
	if (n * 2 > X509_SERIAL_MAX)
		return -1;
	for (const unsigned char *p = v.p; p < v.end; p++) {
		info->serial[o++] = hex[*p >> 4];
		info->serial[o++] = hex[*p & 15];
	}
	info->serial[o] = '\0';
	return 0;
}

/* Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }: keeps the
 * first commonName.
 */
static int x509_subject(struct der *tbs, struct x509_info *info)
{
	struct der name, rdn, atv, oid, val;
	unsigned tag;

	if (der_expect(tbs, TAG_SEQUENCE, &name) < 0)
		return -1;
	while (name.p < name.end) {
		if (der_expect(&name, TAG_SET, &rdn) < 0)
			return -1;
		while (rdn.p < rdn.end) {
			if (der_expect(&rdn, TAG_SEQUENCE, &atv) < 0 ||
			    der_expect(&atv, TAG_OID, &oid) < 0 || der_next(&atv, &tag, &val) < 0)
				return -1;
			if (info->cn[0] || !der_oid_is(&oid, oid_cn, sizeof(oid_cn)))
				continue;
			if (tag == TAG_UTF8STRING || tag == TAG_PRINTABLE || tag == TAG_T61STRING ||
			    tag == TAG_IA5STRING || tag == TAG_BMPSTRING)
				der_copy_text(tag, &val, info->cn, sizeof(info->cn));
		}
	}
	return 0;
}

static void x509_add_dns(struct x509_info *info, const struct der *v)
{
	char name[256];
	size_t used = strlen(info->dns), n;

	info->ndns++;
	der_copy_text(TAG_IA5STRING, v, name, sizeof(name));
	n = strlen(name);
	/* whole names only: a cut name would read as another name */
	if (used + (used ? 1 : 0) + n + 1 > sizeof(info->dns))
		return;
	if (used)
		info->dns[used++] = ',';
	memcpy(info->dns + used, name, n + 1);
}

/* subjectAltName ::= SEQUENCE OF GeneralName; keeps the dNSName ones. */
static int x509_san(const struct der *octets, struct x509_info *info)
{
	struct der in = *octets, names, v;
	unsigned tag;

	if (der_expect(&in, TAG_SEQUENCE, &names) < 0 || in.p != in.end)
		return -1;
	while (names.p < names.end) {
		if (der_next(&names, &tag, &v) < 0)
			return -1;
		if (tag == TAG_SAN_DNS)
			x509_add_dns(info, &v);
	}
	return 0;
}

/* Extensions ::= SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN
 * DEFAULT FALSE, extnValue OCTET STRING }
 */
static int x509_extensions(struct der *tbs, struct x509_info *info)
{
	struct der wrap, exts, ext, oid, v;

	if (der_expect(tbs, TAG_EXTENSIONS, &wrap) < 0 ||
	    der_expect(&wrap, TAG_SEQUENCE, &exts) < 0 || wrap.p != wrap.end)
		return -1;
	while (exts.p < exts.end) {
		if (der_expect(&exts, TAG_SEQUENCE, &ext) < 0 || der_expect(&ext, TAG_OID, &oid) < 0)
			return -1;
		if (der_peek(&ext) == TAG_BOOLEAN && der_expect(&ext, TAG_BOOLEAN, &v) < 0)
			return -1;
		if (der_expect(&ext, TAG_OCTET_STRING, &v) < 0)
			return -1;
		if (der_oid_is(&oid, oid_san, sizeof(oid_san)) && x509_san(&v, info) < 0)
			return -1;
	}
	return 0;
}

int x509_parse(const unsigned char *der, size_t len, struct x509_info *info,
	       char *err, size_t errlen)
{
	struct der in = { der, der + len }, cert, tbs, skip, validity;
	unsigned tag;

	memset(info, 0, sizeof(*info));
	if (der_expect(&in, TAG_SEQUENCE, &cert) < 0 || in.p != in.end)
		return x509_fail(err, errlen, "not a DER certificate (SEQUENCE expected)");
	if (der_expect(&cert, TAG_SEQUENCE, &tbs) < 0)
		return x509_fail(err, errlen, "malformed certificate: no tbsCertificate");
	if (der_peek(&tbs) == TAG_VERSION && der_next(&tbs, &tag, &skip) < 0)
		return x509_fail(err, errlen, "malformed certificate: version");
	if (x509_serial(&tbs, info) < 0)
		return x509_fail(err, errlen, "malformed certificate: serial number");
	if (der_expect(&tbs, TAG_SEQUENCE, &skip) < 0 || der_expect(&tbs, TAG_SEQUENCE, &skip) < 0)
		return x509_fail(err, errlen, "malformed certificate: signature or issuer");
	if (der_expect(&tbs, TAG_SEQUENCE, &validity) < 0 ||
	    der_time(&validity, &info->not_before) < 0 ||
	    der_time(&validity, &info->not_after) < 0 || validity.p != validity.end)
		return x509_fail(err, errlen, "malformed certificate: validity");
	if (x509_subject(&tbs, info) < 0)
		return x509_fail(err, errlen, "malformed certificate: subject");
	if (der_expect(&tbs, TAG_SEQUENCE, &skip) < 0)
		return x509_fail(err, errlen, "malformed certificate: public key");
	/* [1] and [2] unique identifiers (X.509 v2), then [3] extensions */
	while (tbs.p < tbs.end && der_peek(&tbs) != TAG_EXTENSIONS) {
		if (der_next(&tbs, &tag, &skip) < 0)
			return x509_fail(err, errlen, "malformed certificate: after the public key");
	}
	if (tbs.p < tbs.end && x509_extensions(&tbs, info) < 0)
		return x509_fail(err, errlen, "malformed certificate: extensions");
	return 0;
}
