#!/usr/bin/env bash
# `dance-sidecar tlsa` against two independent computations: openssl command-line pipelines
# (x509/pkey -outform DER | dgst) and ldns-dane (ldnsutils). Certificates are made here, at test time.
# Usage: tlsa_cli_test.sh DANCE_SIDECAR_BINARY
set -euo pipefail
sidecar=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_equal() {  # label expected actual
  if [ "$2" == "$3" ]; then echo "ok: $1"; else fail "$1: expected '$2', got '$3'"; fi
}
hex() { od -An -v -tx1 | tr -d ' \n'; }

# DER of the selected part (0 certificate, 1 SubjectPublicKeyInfo), then its association data.
selected_der() {  # cert selector
  if [ "$2" = 0 ]; then openssl x509 -in "$1" -outform DER
  else openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER; fi
}
openssl_data() {  # cert selector matching
  case $3 in
    0) selected_der "$1" "$2" | hex ;;
    1) selected_der "$1" "$2" | openssl dgst -sha256 -r | cut -d' ' -f1 ;;
    2) selected_der "$1" "$2" | openssl dgst -sha512 -r | cut -d' ' -f1 ;;
  esac
}
ours() { "$sidecar" tlsa "$@"; }

quiet() { "$@" >/dev/null 2>&1; }
quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=ec-leaf \
  -keyout ec.key -out ec.pem
quiet openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rsa-leaf -keyout rsa.key -out rsa.pem
quiet openssl req -x509 -newkey ed25519 -nodes -days 2 -subj /CN=ed-leaf -keyout ed.key -out ed.pem
# A chain: root CA -> intermediate CA -> leaf; the file holds leaf, intermediate, root (as TLS sends it).
quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=root \
  -addext basicConstraints=critical,CA:TRUE -keyout root.key -out root.pem
quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=intermediate \
  -keyout inter.key -out inter.csr
printf 'basicConstraints=critical,CA:TRUE\n' > ca.ext
quiet openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -days 2 -extfile ca.ext -out inter.pem
quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=leaf -keyout leaf.key -out leaf.csr
quiet openssl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -days 2 -out leaf.pem
cat leaf.pem inter.pem root.pem > chain.pem

echo "# default parameters are 3 1 1"
expect_equal "default ec" "3 1 1 $(openssl_data ec.pem 1 1)" "$(ours --cert ec.pem)"

echo "# every selector and matching type, three key types, against openssl pipelines"
for cert in ec.pem rsa.pem ed.pem; do
  for selector in 0 1; do
    for matching in 0 1 2; do
      expect_equal "$cert 3 $selector $matching" "3 $selector $matching $(openssl_data $cert $selector $matching)" \
        "$(ours --cert $cert --usage 3 --selector $selector --matching $matching)"
    done
  done
done

echo "# end-entity usages take the first certificate of a chain, trust-anchor usages the last"
for usage in 1 3; do
  expect_equal "chain usage $usage" "$usage 1 1 $(openssl_data leaf.pem 1 1)" \
    "$(ours --cert chain.pem --usage $usage)"
done
for usage in 0 2; do
  expect_equal "chain usage $usage" "$usage 0 1 $(openssl_data root.pem 0 1)" \
    "$(ours --cert chain.pem --usage $usage --selector 0)"
done

echo "# against ldns-dane (-c: read the certificate file, -n -s: no name or PKIX checks)"
ldns_data() {  # cert usage selector matching -> "U S M data"
  ldns-dane -n -s -c "$1" create tlsa.test 443 "$2" "$3" "$4" | awk '{print $5, $6, $7, $8}'
}
for params in "3 1 1" "3 0 1" "3 1 2" "3 1 0" "1 1 1" "1 0 2"; do
  read -r usage selector matching <<< "$params"
  for cert in ec.pem rsa.pem; do
    expect_equal "ldns-dane $cert $params" "$(ldns_data $cert $usage $selector $matching)" \
      "$(ours --cert $cert --usage $usage --selector $selector --matching $matching)"
  done
done
for params in "2 0 1" "2 1 1" "2 0 2"; do
  read -r usage selector matching <<< "$params"
  expect_equal "ldns-dane chain $params" "$(ldns_data chain.pem $usage $selector $matching)" \
    "$(ours --cert chain.pem --usage $usage --selector $selector --matching $matching)"
done

echo "# --name and --ttl print a zone-file line"
data=$(openssl_data ec.pem 1 1)
expect_equal "owner line" "_ns-client.ns.operator-a.example. 300 IN TLSA 3 1 1 $data" \
  "$(ours --cert ec.pem --name _ns-client.ns.operator-a.example --ttl 300)"
expect_equal "owner with trailing dot" "_8003._tcp.js.example. 3600 IN TLSA 3 1 1 $data" \
  "$(ours --cert ec.pem --name _8003._tcp.js.example.)"
expect_equal "wildcard owner" "*._device.example.com. 3600 IN TLSA 2 0 1 $(openssl_data root.pem 0 1)" \
  "$(ours --cert chain.pem --name '*._device.example.com' --usage 2 --selector 0)"

echo "# mistakes exit 2 with a message and print no record"
expect_exit_2() {  # label args...
  local label=$1; shift
  local status=0 output
  output=$(ours "$@" 2>"$work/stderr") || status=$?
  if [ "$status" = 2 ] && [ -z "$output" ] && [ -s "$work/stderr" ]; then echo "ok: $label"
  else fail "$label: status $status, stdout '$output', stderr '$(cat "$work/stderr")'"; fi
}
echo "not a certificate" > junk.pem
expect_exit_2 "missing file" --cert nothere.pem
expect_exit_2 "not PEM" --cert junk.pem
expect_exit_2 "usage 4" --cert ec.pem --usage 4
expect_exit_2 "selector 2" --cert ec.pem --selector 2
expect_exit_2 "matching 3" --cert ec.pem --matching 3
expect_exit_2 "bad owner" --cert ec.pem --name "bad name.example"
expect_exit_2 "no --cert"
grep -q "No such file or directory" <(ours --cert nothere.pem 2>&1) && echo "ok: reason given" \
  || fail "missing file: no reason given"

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all tlsa checks passed"
