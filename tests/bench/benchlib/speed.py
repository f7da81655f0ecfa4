"""Prices of the server-side cryptographic operations of one TLS 1.3 mTLS handshake, by `openssl speed`."""
import subprocess


def measure(seconds=2):
    done = subprocess.run(["openssl", "speed", "-mr", "-seconds", str(seconds), "ecdsap256", "ecdhx25519"],
                          capture_output=True, text=True, check=True)
    prices = {}
    for line in done.stdout.splitlines() + done.stderr.splitlines():
        fields = line.split(":")
        if fields[0] == "+F4" and fields[2] == "256":  # ECDSA P-256: signs/s, verifies/s
            prices["ecdsa_p256_sign_per_s"] = float(fields[3])
            prices["ecdsa_p256_verify_per_s"] = float(fields[4])
        elif fields[0] == "+F5" and fields[2] == "253":  # X25519 derive/s
            prices["x25519_per_s"] = float(fields[3])
    if len(prices) != 3:
        raise RuntimeError(f"could not parse openssl speed output: {done.stdout!r}")
    return prices


def handshake_ceiling(prices):
    """Handshakes per CPU-second if the server did nothing but its public-key operations: an X25519 key
    generation (priced as one X25519 operation, an upper bound) and derivation, one P-256 signature
    (CertificateVerify) and one P-256 verification (the client's CertificateVerify). DANE-EE 3 1 1 adds one
    SHA-256 of the client's SPKI (negligible); HAProxy's PKIX check adds a CA signature verification."""
    seconds = (2 / prices["x25519_per_s"] + 1 / prices["ecdsa_p256_sign_per_s"]
               + 1 / prices["ecdsa_p256_verify_per_s"])
    return 1 / seconds
