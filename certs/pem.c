/* PEM splitting, checking and normalisation (RFC 7468 framing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/x509.h"
#include "certs/pem.h"
#include "common/hash.h"
#include "common/sbuf.h"
#include "routing/labels-t.h"

#define PEM_MAX_BLOCKS  32
#define PEM_LABEL_MAX   40
#define PEM_LINE_COLS   64

enum pem_kind {
	PEM_CERT = 0,
	PEM_KEY,
	PEM_OTHER,
};

struct pem_block {
	enum pem_kind kind;
	char label[PEM_LABEL_MAX];
	unsigned char *der;       /* owned */
	size_t der_len;
};

struct pem_blocks {
	size_t n;
	struct pem_block b[PEM_MAX_BLOCKS];
};

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/************************************************************************/
/*                               base64                                 */
/************************************************************************/

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long pem_base64_decode(const char *in, size_t len, unsigned char *out, size_t outsz)
{
	unsigned acc = 0, bits = 0;
	size_t o = 0, pad = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad)   /* data after padding */
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* 2 or 4 leftover bits are the zero fill of the last group; 6 means a
	 * lone character, which encodes nothing. */
	if (bits >= 6 || pad > 2 || acc != 0)
		return -1;
	return (long)o;
}

static void b64_encode_lines(struct sbuf *out, const unsigned char *in, size_t len)
{
	char line[PEM_LINE_COLS + 1];
	size_t col = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (unsigned)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		line[col++] = b64_alphabet[v >> 18 & 63];
		line[col++] = b64_alphabet[v >> 12 & 63];
		line[col++] = n > 1 ? b64_alphabet[v >> 6 & 63] : '=';
		line[col++] = n > 2 ? b64_alphabet[v & 63] : '=';
		if (col == PEM_LINE_COLS) {
			line[col++] = '\n';
			sbuf_add(out, line, col);
			col = 0;
		}
	}
	if (col) {
		line[col++] = '\n';
		sbuf_add(out, line, col);
	}
}

/************************************************************************/
/*                               blocks                                 */
/************************************************************************/

static void pem_blocks_free(struct pem_blocks *bl)
{
	for (size_t i = 0; i < bl->n; i++) {
		free(bl->b[i].der);
		bl->b[i].der = NULL;
	}
	bl->n = 0;
}

static int pem_fail(char *err, size_t errlen, const char *where, const char *fmt, const char *a)
{
	char msg[200];

	snprintf(msg, sizeof(msg), fmt, a);
	snprintf(err, errlen, "%s%s", where, msg);
	return -1;
}

/* Returns the label of a "-----BEGIN <label>-----" (or END) line of <n>
 * bytes at <s> in <label>, or -1 when the line is not one.
 */
static int pem_boundary(const char *s, size_t n, const char *kw, char *label)
{
	size_t kwlen = strlen(kw), llen;

	if (n < kwlen + 5 || memcmp(s, kw, kwlen) != 0 || memcmp(s + n - 5, "-----", 5) != 0)
		return -1;
	llen = n - kwlen - 5;
	if (llen == 0 || llen >= PEM_LABEL_MAX)
		return -1;
	for (size_t i = 0; i < llen; i++) {
		char c = s[kwlen + i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' '))
			return -1;
	}
	memcpy(label, s + kwlen, llen);
	label[llen] = '\0';
	return 0;
}

static enum pem_kind pem_kind_of(const char *label)
{
	size_t n = strlen(label);

	if (strcmp(label, "CERTIFICATE") == 0)
		return PEM_CERT;
	if (n >= 11 && strcmp(label + n - 11, "PRIVATE KEY") == 0)
		return PEM_KEY;
	return PEM_OTHER;
}

/* Decodes the base64 body of a block into <blk>. */
static int pem_block_decode(struct pem_block *blk, const char *body, size_t len,
			    const char *where, char *err, size_t errlen)
{
	size_t cap = len / 4 * 3 + 3;
	long n;

	blk->der = malloc(cap);
	if (!blk->der)
		return pem_fail(err, errlen, where, "out of memory%s", "");
	n = pem_base64_decode(body, len, blk->der, cap);
	if (n <= 0)
		return pem_fail(err, errlen, where, "not PEM: invalid base64 in the %s block",
				blk->label);
	blk->der_len = (size_t)n;
	return 0;
}

/* Splits the <len> bytes at <in> into <bl> (appending). <where> prefixes
 * error messages ("" or "key: ").
 */
static int pem_split(const char *in, size_t len, struct pem_blocks *bl, const char *where,
		     char *err, size_t errlen)
{
	const char *p = in, *end = in + len, *body = NULL;
	struct pem_block *cur = NULL;
	size_t found = 0;

	if (len > PEM_MAX_INPUT)
		return pem_fail(err, errlen, where, "larger than 1 MB: not a certificate%s", "");
	if (memchr(in, '\0', len))
		return pem_fail(err, errlen, where, "binary data, not PEM (a DER or PKCS#12 file? "
				"convert it with openssl to PEM)%s", "");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);
		char label[PEM_LABEL_MAX];

		while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (!cur) {
			if (pem_boundary(p, n, "-----BEGIN ", label) == 0) {
				if (bl->n == PEM_MAX_BLOCKS)
					return pem_fail(err, errlen, where,
							"more than %s PEM blocks", "32");
				cur = &bl->b[bl->n++];
				memset(cur, 0, sizeof(*cur));
				memcpy(cur->label, label, sizeof(label));
				cur->kind = pem_kind_of(label);
				body = nl ? nl + 1 : end;
				found++;
			}
			/* text outside blocks (openssl's "Bag Attributes",
			 * comments) is not part of the material */
		} else if (pem_boundary(p, n, "-----END ", label) == 0) {
			if (strcmp(label, cur->label) != 0)
				return pem_fail(err, errlen, where,
						"not PEM: the %s block ends with a different END line",
						cur->label);
			if (pem_block_decode(cur, body, (size_t)(p - body), where, err, errlen) < 0)
				return -1;
			cur = NULL;
		} else if (n && memchr(p, ':', n)) {
			/* RFC 1421 headers: "Proc-Type: 4,ENCRYPTED" */
			if (cur->kind == PEM_KEY)
				return pem_fail(err, errlen, where, "encrypted private key: HAProxy "
						"cannot use a key protected by a passphrase "
						"(openssl pkey -in key.pem -out plain.pem)%s", "");
			return pem_fail(err, errlen, where,
					"not PEM: unexpected header in the %s block", cur->label);
		} else if (pem_boundary(p, n, "-----BEGIN ", label) == 0) {
			return pem_fail(err, errlen, where,
					"not PEM: the %s block has no END line", cur->label);
		}
		p = nl ? nl + 1 : end;
	}
	if (cur)
		return pem_fail(err, errlen, where, "not PEM: the %s block has no END line",
				cur->label);
	if (!found)
		return pem_fail(err, errlen, where, "not PEM: no -----BEGIN line%s", "");
	return 0;
}

/************************************************************************/
/*                               bundle                                 */
/************************************************************************/

static void pem_emit(struct sbuf *out, const struct pem_block *blk)
{
	sbuf_printf(out, "-----BEGIN %s-----\n", blk->label);
	b64_encode_lines(out, blk->der, blk->der_len);
	sbuf_printf(out, "-----END %s-----\n", blk->label);
}

/* Checks the blocks: certificates that parse, exactly one key that is not
 * encrypted. Fills the counts and the leaf's facts in <b>.
 */
static int pem_check(struct pem_blocks *bl, size_t nkeys_cert, int separate_key,
		     struct pem_bundle *b, char *err, size_t errlen)
{
	size_t nkeys = 0;

	for (size_t i = 0; i < bl->n; i++) {
		struct pem_block *blk = &bl->b[i];
		struct x509_info info;
		char why[160];

		if (blk->kind == PEM_KEY) {
			if (strcmp(blk->label, "ENCRYPTED PRIVATE KEY") == 0)
				return pem_fail(err, errlen, separate_key ? "key: " : "",
						"encrypted private key: HAProxy cannot use a key "
						"protected by a passphrase (openssl pkey -in key.pem "
						"-out plain.pem)%s", "");
			if (blk->der_len < 2 || blk->der[0] != 0x30)
				return pem_fail(err, errlen, separate_key ? "key: " : "",
						"the %s block is not a DER key", blk->label);
			nkeys++;
			continue;
		}
		if (blk->kind != PEM_CERT)
			continue;
		if (b->ncerts == PEM_MAX_CERTS)
			return pem_fail(err, errlen, "", "more than %s certificates in the chain", "16");
		if (x509_parse(blk->der, blk->der_len, &info, why, sizeof(why)) < 0)
			return pem_fail(err, errlen, "", "certificate %s", why);
		if (b->ncerts++ == 0)
			b->leaf = info;
	}
	if (!b->ncerts)
		return pem_fail(err, errlen, "", "no certificate (no -----BEGIN CERTIFICATE----- block)%s",
				"");
	if (separate_key && nkeys_cert)
		return pem_fail(err, errlen, "", "the certificate's secret holds a private key too, "
				"and so does the key's: keep one%s", "");
	/* the label that names a key, spelt as routing spells it */
	if (nkeys == 0)
		return pem_fail(err, errlen, "", separate_key ? "key: no private key block%s" :
				"no private key (name it with " LABELS_PREFIX "ssl_key, or put it "
				"after the certificate)%s", "");
	if (nkeys > 1)
		return pem_fail(err, errlen, "", "several private keys: keep one%s", "");
	return 0;
}

int pem_bundle_load(struct pem_bundle *b, const char *cert, size_t cert_len,
		    const char *key, size_t key_len, char *err, size_t errlen)
{
	struct pem_blocks *bl;
	struct sbuf out = SBUF_INIT;
	size_t nkeys_cert = 0;
	int ret = -1;

	memset(b, 0, sizeof(*b));
	bl = calloc(1, sizeof(*bl));
	if (!bl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pem_split(cert, cert_len, bl, "", err, errlen) < 0)
		goto out_free_blocks;
	for (size_t i = 0; i < bl->n; i++)
		nkeys_cert += bl->b[i].kind == PEM_KEY;
	if (key && pem_split(key, key_len, bl, "key: ", err, errlen) < 0)
		goto out_free_blocks;
	if (pem_check(bl, nkeys_cert, key != NULL, b, err, errlen) < 0)
		goto out_free_blocks;

	/* certificates in their order, then the key */
	for (size_t i = 0; i < bl->n; i++)
		if (bl->b[i].kind == PEM_CERT)
			pem_emit(&out, &bl->b[i]);
	for (size_t i = 0; i < bl->n; i++)
		if (bl->b[i].kind == PEM_KEY)
			pem_emit(&out, &bl->b[i]);
	if (out.oom) {
		snprintf(err, errlen, "out of memory");
		goto out_free_text;
	}
	b->text = out.buf;
	b->len = out.len;
	b->hash = hash_bytes(HASH_SEED, out.buf, out.len);
	ret = 0;
	goto out_free_blocks;

out_free_text:
	sbuf_free(&out);
out_free_blocks:
	pem_blocks_free(bl);
	free(bl);
	if (ret < 0)
		memset(b, 0, sizeof(*b));
	return ret;
}

void pem_bundle_free(struct pem_bundle *b)
{
	free(b->text);
	memset(b, 0, sizeof(*b));
}
