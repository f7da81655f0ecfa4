#!/usr/bin/env bash
# `dance-sidecar check -c FILE`: exit 0 and a summary for a valid file; exit 2 and every located error
# on stderr for a broken one. Keys and certificates are made here, at test time.
# Usage: config_check_cli_test.sh DANCE_SIDECAR_BINARY CONFIG_FIXTURE_DIR
set -euo pipefail
sidecar=$1
fixtures=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

for name in js ns; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$name" \
    -keyout "$name.key" -out "$name.pem" >/dev/null 2>&1
done
cp "$fixtures/valid_inbound.yaml" "$fixtures/five_mistakes.yaml" "$fixtures/five_mistakes.expected" .

run_check() {  # args... ; sets status, out, err
  status=0
  "$sidecar" check "$@" >stdout 2>stderr || status=$?
  out=$(cat stdout)
  err=$(cat stderr)
}

run_check -c valid_inbound.yaml
if [ "$status" = 0 ] && [ -z "$err" ] && grep -q "valid_inbound.yaml: valid" stdout \
   && grep -qx "inbound join-server: 0.0.0.0:8003 -> 127.0.0.1:8080, client_auth require, 2 allow entries" stdout \
   && grep -qx "dns: mode trust-ad over udp to 127.0.0.1:53" stdout; then
  ok "valid file: exit 0 and a summary"
else
  fail "valid file: status $status, stdout '$out', stderr '$err'"
fi

run_check --config five_mistakes.yaml
if [ "$status" = 2 ] && [ -z "$out" ] && diff -u five_mistakes.expected stderr; then
  ok "five mistakes: exit 2 and the five located messages"
else
  fail "five mistakes: status $status, stdout '$out', stderr '$err'"
fi

# DNS over TLS: a CA file getdns could not load would make it trust the system store instead.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=resolver ca" \
  -keyout dot-ca.key -out dot-ca.pem >/dev/null 2>&1
{ cat dot-ca.pem; printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'; } >damaged-ca.pem
dot_config() {  # CA_FILE
  cat >dot.yaml <<EOF
dns:
  mode: trust-ad
  resolvers: ["127.0.0.1:853"]
  transport: tls
  tls_auth_name: resolver.example
  tls_ca_file: $1
outbound:
  - {name: to-js, listen: "127.0.0.1:8003", upstream: "js.example:8003",
     tls: {cert: ns.pem, key: ns.key, client_id: "_c.example"}}
EOF
}
dot_config dot-ca.pem
run_check -c dot.yaml
[ "$status" = 0 ] && grep -qx "dns: mode trust-ad over tls to 127.0.0.1:853" stdout \
  && ok "DoT with a CA file" || fail "DoT with a CA file: status $status, stdout '$out', stderr '$err'"
for case in "missing-ca.pem|cannot read file \"missing-ca.pem\": No such file or directory" \
            "ns.key|no PEM certificate in \"ns.key\"" \
            "damaged-ca.pem|cannot load \"damaged-ca.pem\" as a CA bundle: wrong tag"; do
  dot_config "${case%%|*}"
  run_check -c dot.yaml
  expected="dot.yaml:6:16: dns.tls_ca_file: ${case#*|}"
  if [ "$status" = 2 ] && [ -z "$out" ] && [ "$err" = "$expected" ]; then
    ok "DoT CA file ${case%%|*}: exit 2, located"
  else
    fail "DoT CA file ${case%%|*}: status $status, stdout '$out', stderr '$err'"
  fi
done

run_check -c "$work/nothere.yaml"
if [ "$status" = 2 ] && [ "$err" = "$work/nothere.yaml: cannot read file: No such file or directory" ]; then
  ok "missing file"
else
  fail "missing file: status $status, stderr '$err'"
fi

run_check
[ "$status" = 2 ] && grep -q -- "--config is required" stderr && ok "no -c" || fail "no -c: status $status '$err'"

run_check --help
[ "$status" = 0 ] && grep -q "FILE:LINE:COLUMN" stdout && ok "--help" || fail "--help: status $status '$out'"

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all check-command tests passed"
