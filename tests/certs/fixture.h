/* Certificates for the certs/ unit tests: public certificates made once
 * with openssl (their keys were thrown away), and a stand-in key block that
 * is PEM and DER-shaped but no key: the unit tests check framing and
 * structure, never cryptography.
 */
#ifndef TESTS_CERTS_FIXTURE_H
#define TESTS_CERTS_FIXTURE_H

/* openssl req -x509 -newkey ec -days 30 -set_serial 0x0123456789
 *   -subj "/O=Test/CN=a.example"
 *   -addext "subjectAltName=DNS:a.example,DNS:*.b.example,IP:10.0.0.1"
 * notBefore 2026-11-26T04:51:28Z, notAfter 2026-12-26T04:51:28Z (UTCTime)
 */
#define FX_CERT_A \
	"-----BEGIN CERTIFICATE-----\n" \
	"MIIBtTCCAVugAwIBAgIFASNFZ4kwCgYIKoZIzj0EAwIwIzENMAsGA1UECgwEVGVz\n" \
	"dDESMBAGA1UEAwwJYS5leGFtcGxlMB4XDTI2MTEyNjA0NTEyOFoXDTI2MTIyNjA0\n" \
	"NTEyOFowIzENMAsGA1UECgwEVGVzdDESMBAGA1UEAwwJYS5leGFtcGxlMFkwEwYH\n" \
	"KoZIzj0CAQYIKoZIzj0DAQcDQgAEvrToHA0Fjjf6OqqAYWaIpuOF8Pu/J1wUJmCt\n" \
	"K7+fbwoCqD4JDneU7cq3so+6wxnCMsseCs2pzpJ7DFNJlSKi9aN8MHowHQYDVR0O\n" \
	"BBYEFGVUZnWznA6Df4k4p0+dipyfZw5BMB8GA1UdIwQYMBaAFGVUZnWznA6Df4k4\n" \
	"p0+dipyfZw5BMA8GA1UdEwEB/wQFMAMBAf8wJwYDVR0RBCAwHoIJYS5leGFtcGxl\n" \
	"ggsqLmIuZXhhbXBsZYcECgAAATAKBggqhkjOPQQDAgNIADBFAiEAppydv2NkOsKQ\n" \
	"NRYIG/RzfPX4Zg88z++lvrc9gMOSNrECIDRi2N3IoIUIBRQkPs4zMq8nnPuzQB5Z\n" \
	"es8WIg6QufEs\n" \
	"-----END CERTIFICATE-----\n"

#define FX_CERT_A_NOT_BEFORE 1795668688LL
#define FX_CERT_A_NOT_AFTER  1798260688LL

/* openssl req -x509 -newkey ec -days 10000 -set_serial 0x8000000000000001
 *   -subj "/CN=long.example"
 * notAfter 2054-04-13T04:51:28Z (GeneralizedTime); the serial's DER has a
 * leading 0x00 sign byte.
 */
#define FX_CERT_LONG \
	"-----BEGIN CERTIFICATE-----\n" \
	"MIIBejCCASCgAwIBAgIJAIAAAAAAAAABMAoGCCqGSM49BAMCMBcxFTATBgNVBAMM\n" \
	"DGxvbmcuZXhhbXBsZTAgFw0yNjExMjYwNDUxMjhaGA8yMDU0MDQxMzA0NTEyOFow\n" \
	"FzEVMBMGA1UEAwwMbG9uZy5leGFtcGxlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcD\n" \
	"QgAEy5XNs5Fn9KkTVCXGOxVXPbkmjCG/mESCsNiKoGkULWbw45qRJQdlZfhf2P8d\n" \
	"k1Y0pvka9WZJExtcToqd5YrU36NTMFEwHQYDVR0OBBYEFAklgqxqMaupB/ai+cfq\n" \
	"9QQjYH/BMB8GA1UdIwQYMBaAFAklgqxqMaupB/ai+cfq9QQjYH/BMA8GA1UdEwEB\n" \
	"/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAPhTU5vaXi9UElpQSdz6JgjGr15n\n" \
	"YaGKj5xihNKRNx9WAiAhYuT13sUmq+gPY77IVcEXDkEaeGEu9562Ky0YPmR2ug==\n" \
	"-----END CERTIFICATE-----\n"

#define FX_CERT_LONG_NOT_AFTER 2659668688LL

/* openssl req -x509 -newkey ec -days 10000 -set_serial 0x0C0FE2
 *   -subj "/CN=cn-only-ignored.example"
 *   -addext "subjectAltName=DNS:Shop.Example,DNS:*.b.example,
 *            DNS:xn--bcher-kva.example,IP:10.0.0.1"
 * notAfter 2054-04-19: names in mixed case, a wildcard, an IDN's A-label,
 * and a common name that the DNS names make irrelevant.
 */
#define FX_CERT_SAN \
	"-----BEGIN CERTIFICATE-----\n" \
	"MIIBzzCCAXWgAwIBAgIDDA/iMAoGCCqGSM49BAMCMCIxIDAeBgNVBAMMF2NuLW9u\n" \
	"bHktaWdub3JlZC5leGFtcGxlMCAXDTI2MTIwMjA2MDU0OVoYDzIwNTQwNDE5MDYw\n" \
	"NTQ5WjAiMSAwHgYDVQQDDBdjbi1vbmx5LWlnbm9yZWQuZXhhbXBsZTBZMBMGByqG\n" \
	"SM49AgEGCCqGSM49AwEHA0IABIiMnvsjbaB4h4e1bYjST/tBLpXeO65PsvGeAsOs\n" \
	"I2KwYyxZ0KC0LDjVC6qhYkPE08+43nwNwr+E1YTx8gMc83OjgZcwgZQwHQYDVR0O\n" \
	"BBYEFKGVjtYSc9r5qfSaS7OcQ7BGLcA7MB8GA1UdIwQYMBaAFKGVjtYSc9r5qfSa\n" \
	"S7OcQ7BGLcA7MA8GA1UdEwEB/wQFMAMBAf8wQQYDVR0RBDowOIIMU2hvcC5FeGFt\n" \
	"cGxlggsqLmIuZXhhbXBsZYIVeG4tLWJjaGVyLWt2YS5leGFtcGxlhwQKAAABMAoG\n" \
	"CCqGSM49BAMCA0gAMEUCIE9toqa/qi0NVsRj/IUvdXguAWvrYR7/suAJdlSBDw6F\n" \
	"AiEAuTgLkSxeAAEhavPuGNMM3Lsa9pPu7lpkSVvQ/WSsGyA=\n" \
	"-----END CERTIFICATE-----\n" \
	""

/* A private key block whose DER is "30 03 02 01 00": framing only. */
#define FX_KEY \
	"-----BEGIN PRIVATE KEY-----\n" \
	"MAMCAQA=\n" \
	"-----END PRIVATE KEY-----\n"

#endif
