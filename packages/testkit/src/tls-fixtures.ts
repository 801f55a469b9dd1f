/**
 * The TLS front's test PKI, as code so that bundles of the kit (the bench's) carry it: a CA
 * ("regcache test CA", P-256) and a server certificate it signed for IP 127.0.0.1 and DNS
 * localhost, both valid 2020-01-01 – 2120-01-01. The CA's private key was discarded once the
 * server certificate was signed, so nothing else can ever chain to it; the server's key is
 * here because the front needs it — a test fixture, trusted by nothing but a test that asks.
 */

/** The test CA's certificate (PEM): trust it to reach a TLS front. */
export const TEST_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBajCCARCgAwIBAgICEAAwCgYIKoZIzj0EAwIwGzEZMBcGA1UEAwwQcmVnY2Fj
aGUgdGVzdCBDQTAgFw0yMDAxMDEwMDAwMDBaGA8yMTIwMDEwMTAwMDAwMFowGzEZ
MBcGA1UEAwwQcmVnY2FjaGUgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABN8DLv3N8CLpNj+q+hDXZRFATADkuQjGsQS/Oxwk7UNieafZDIINgcqJ3tbE
POtWlFUG69omzKA7fT0Azy7IdM2jQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P
AQH/BAQDAgEGMB0GA1UdDgQWBBTk2vi1mqfAG1UCTZPRr5GdVc4LyTAKBggqhkjO
PQQDAgNIADBFAiEAqID9ge6d80w1Spj5xtPJ9cgOKIn2uuYWOZWDldsJ+ugCIDkT
FIf7fAXLsyfEoQKfVxO1EA5x635i0INJUifInafJ
-----END CERTIFICATE-----
`;

export const TEST_SERVER_CERT_PEM = `-----BEGIN CERTIFICATE-----
MIIBszCCAVqgAwIBAgICEAEwCgYIKoZIzj0EAwIwGzEZMBcGA1UEAwwQcmVnY2Fj
aGUgdGVzdCBDQTAgFw0yMDAxMDEwMDAwMDBaGA8yMTIwMDEwMTAwMDAwMFowFDES
MBAGA1UEAwwJMTI3LjAuMC4xMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEu/5F
v9tG50dl9fWd15ADzjUozLG4PqIvSxbbswRNSprJTjfMMT7hs2+GOZAjZ0PtfmIH
6L9ROGjYwtLFvbYkVKOBkjCBjzAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3Qw
DAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUH
AwEwHwYDVR0jBBgwFoAU5Nr4tZqnwBtVAk2T0a+RnVXOC8kwHQYDVR0OBBYEFGYQ
i0uIIi8cP0gv/Mknl/fY2h3xMAoGCCqGSM49BAMCA0cAMEQCIAMrIHbz/+S1vZ5J
sgDNCMj8uQ/Fny+auRq4VP+wrnSTAiB4VkpafeQ2qO1EJLPWo4F041SPMjwiZVGh
2cuWyNrtjQ==
-----END CERTIFICATE-----
`;

export const TEST_SERVER_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgoTj1J+19t5GqB+Lo
4tZ0ql4VJB/LRysKudswLHcVPA+hRANCAAS7/kW/20bnR2X19Z3XkAPONSjMsbg+
oi9LFtuzBE1KmslON8wxPuGzb4Y5kCNnQ+1+Ygfov1E4aNjC0sW9tiRU
-----END PRIVATE KEY-----
`;
