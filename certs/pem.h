/* Certificate material in PEM as users put it in Docker secrets, configs
 * or files: a certificate chain and a private key, in one text or two.
 *
 * pem_bundle_load() checks what can be checked without cryptography (PEM
 * framing, base64, X.509 structure, one key, no passphrase) so that the
 * reason a certificate is refused names the actual fault, and rewrites the
 * material in the one form HAProxy's runtime API takes as a payload: the
 * certificates in their order then the key, LF line ends, 64-column
 * base64, no blank line (an empty line ends a runtime API payload) and
 * nothing outside the blocks. Whether the key matches the certificate is
 * HAProxy's verdict, at commit.
 */
#ifndef CERTS_PEM_H
#define CERTS_PEM_H

#include <stddef.h>
#include <stdint.h>
#include "certs/pem-t.h"
#include "certs/x509.h"

/* Reads a chain and its key into <b>. <cert> (<cert_len> bytes) holds the
 * certificates, and the key too when <key> is NULL; otherwise the key is in
 * <key> (<key_len> bytes) and <cert> must hold none. Blocks other than
 * certificates and private keys (EC or DH parameters) are left out.
 *
 * Returns 0 with <b> filled (release it with pem_bundle_free()), or -1 with
 * a one-line reason in <err> and <b> empty.
 */
int pem_bundle_load(struct pem_bundle *b, const char *cert, size_t cert_len,
		    const char *key, size_t key_len, char *err, size_t errlen);

void pem_bundle_free(struct pem_bundle *b);

/* Decodes the <len> bytes of base64 (RFC 4648, padding optional, blanks
 * and line ends ignored) at <in> into <out> (<outsz> bytes). Returns the
 * decoded length, or -1 when the text is not base64 or <out> is too small.
 * <out> needs at most len * 3 / 4 + 3 bytes.
 */
long pem_base64_decode(const char *in, size_t len, unsigned char *out, size_t outsz);

#endif
