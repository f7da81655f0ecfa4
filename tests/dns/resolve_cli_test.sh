#!/usr/bin/env bash
# `dance-sidecar resolve` against the DNS lab: JSON lines, exit codes, -c and the override flags.
# Run through run-with-lab.sh; $1 is the dance-sidecar binary.
set -euo pipefail
sidecar=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/dance-resolve-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat >"$work/sidecar.yaml" <<YAML
dns:
  mode: trust-ad
  resolvers: ["$UNBOUND_ADDR:$UNBOUND_PORT"]
  timeout_ms: 3000
inbound:
  - name: join-server
    listen: "127.0.0.1:18003"
    backend: "127.0.0.1:18080"
    tls: {cert: $PKI_DIR/js.pem, key: $PKI_DIR/js.key}
    client_auth: {mode: require, allow: ["*.$LAB_ZONE"]}
YAML

# expect_json OUTPUT_FILE NAME STATUS [RECORD]
expect_json() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
path, name, status = sys.argv[1:4]
record = sys.argv[4] if len(sys.argv) > 4 else None
lines = [json.loads(l) for l in open(path) if l.strip()]
matches = [l for l in lines if l["name"] == name]
assert len(matches) == 1, f"{name}: {len(matches)} lines in {lines}"
line = matches[0]
assert set(["name", "status", "ttl", "records", "ms"]) <= set(line), line
assert line["status"] == status, line
assert isinstance(line["ms"], (int, float)) and line["ms"] >= 0, line
if record is not None:
    assert line["records"] == [record], line
    assert 0 < line["ttl"] <= 300, line
else:
    assert line["records"] == [], line
PY
}

rc=0
"$sidecar" resolve -c "$work/sidecar.yaml" "$NAME_NS_A" >"$work/secure.out" || rc=$?
[[ $rc == 0 ]] || fail "secure name: exit $rc"
expect_json "$work/secure.out" "$NAME_NS_A" secure "$TLSA_NS_A" || fail "secure name output"

rc=0
"$sidecar" resolve -c "$work/sidecar.yaml" "$NAME_NS_A" "$NAME_BOGUS_SIG" "$NAME_NXDOMAIN" "$NAME_INSECURE" \
  >"$work/mixed.out" || rc=$?
[[ $rc == 1 ]] || fail "mixed names: exit $rc, want 1"
[[ $(wc -l <"$work/mixed.out") == 4 ]] || fail "mixed names: want 4 lines"
expect_json "$work/mixed.out" "$NAME_BOGUS_SIG" bogus || fail "bogus output"
expect_json "$work/mixed.out" "$NAME_NXDOMAIN" nxdomain || fail "nxdomain output"
expect_json "$work/mixed.out" "$NAME_INSECURE" insecure || fail "insecure output"

# Flags alone, and flags overriding the file's mode.
rc=0
"$sidecar" resolve --mode validate --resolver "$UNBOUND_ADDR:$UNBOUND_PORT" --trust-anchors "$TRUST_ANCHOR_FILE" \
  "$NAME_NS_A" >"$work/validate.out" || rc=$?
[[ $rc == 0 ]] || fail "validate via flags: exit $rc"
expect_json "$work/validate.out" "$NAME_NS_A" secure "$TLSA_NS_A" || fail "validate output"
rc=0
"$sidecar" resolve -c "$work/sidecar.yaml" --mode validate --trust-anchors "$TRUST_ANCHOR_FILE" "$NAME_EXPIRED" \
  >"$work/override.out" || rc=$?
[[ $rc == 1 ]] || fail "override: exit $rc, want 1"
grep -q '"detail":"DNSSEC validation failed"' "$work/override.out" || fail "override did not switch to validate"

# Usage and configuration errors exit 2.
for args in "" "--mode nonsense $NAME_NS_A" "-c $work/missing.yaml $NAME_NS_A" \
            "--mode trust-ad $NAME_NS_A" "--mode trust-ad --resolver 127.0.0.1:53 bad\\046name"; do
  rc=0
  # shellcheck disable=SC2086
  "$sidecar" resolve $args >/dev/null 2>&1 || rc=$?
  [[ $rc == 2 ]] || fail "'resolve $args': exit $rc, want 2"
done
echo "resolve CLI: all checks passed"
