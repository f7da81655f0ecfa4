#!/usr/bin/python3
"""Prints TLSA rdata for certificates in one process (spawning openssl per digest is slow here).

usage: tlsa_rdata.py PKI_DIR VAR:USAGE:SELECTOR:MATCHING:STEM...  ->  VAR='U S M hex' lines
"""
import base64
import hashlib
import sys


def der_element(data, offset):
    """Returns (start, end) of the DER element at offset, start including the header."""
    length = data[offset + 1]
    header = 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[offset + 2:offset + 2 + count], "big")
        header += count
    return offset, offset + header + length


def der_children(data, start, end):
    header_end = start + 2 + (data[start + 1] & 0x7F if data[start + 1] & 0x80 else 0)
    offset = header_end
    while offset < end:
        child = der_element(data, offset)
        yield child
        offset = child[1]


def subject_public_key_info(cert_der):
    cert = der_element(cert_der, 0)
    tbs = next(der_children(cert_der, *cert))
    fields = list(der_children(cert_der, *tbs))
    if cert_der[fields[0][0]] == 0xA0:  # explicit version tag
        fields = fields[1:]
    # serial, signature algorithm, issuer, validity, subject, subjectPublicKeyInfo
    start, end = fields[5]
    return cert_der[start:end]


def read_cert_der(path):
    with open(path) as pem:
        lines = pem.read().split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return base64.b64decode("".join(lines.split()))


def main():
    pki_dir = sys.argv[1]
    for spec in sys.argv[2:]:
        var, usage, selector, matching, stem = spec.split(":")
        cert = read_cert_der(f"{pki_dir}/{stem}.pem")
        data = subject_public_key_info(cert) if selector == "1" else cert
        digest = hashlib.sha512 if matching == "2" else hashlib.sha256
        print(f"{var}='{usage} {selector} {matching} {digest(data).hexdigest()}'")


main()
