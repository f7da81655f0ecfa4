# Zone files for the fake root, the TLD, example.<tld> and operator-b.<tld> (all signed) plus the unsigned
# insecure child.
# The TLSA RRsets live in $ZONES_DIR/<zone>.tlsa ("owner. ttl rdata" lines) so set-tlsa can edit them.

readonly SOA_TIMERS="3600 600 86400 300"

make_dnssec_keys() {
  mkdir -p "$KEYS_DIR"
  local zone
  for zone in . "$LAB_TLD." "$LAB_ZONE." "$FED_ZONE."; do
    (cd "$KEYS_DIR" && ldns-keygen -a ECDSAP256SHA256 -k "$zone" >"key-for-${zone%.}.name") &
  done
  wait
}

key_base() {  # $1: zone without trailing dot ("" for the root)
  echo "$KEYS_DIR/$(cat "$KEYS_DIR/key-for-$1.name")"
}

ds_of() { sed 's/[[:space:]]\+/ /g' "$(key_base "$1").ds"; }

# One RR per line in presentation format, no comment: what unbound and getdns_fp2rr_list read.
write_trust_anchors() {
  local base
  base=$(key_base "")
  sed -e 's/;.*$//' -e 's/[[:space:]]\+/ /g' -e 's/ $//' -e 's/^\. IN /. 3600 IN /' "$base.key" \
    >"$TRUST_ANCHOR_FILE"
  sed -e 's/[[:space:]]\+/ /g' -e 's/ $//' -e 's/^\. IN /. 3600 IN /' "$base.ds" >"$TRUST_ANCHOR_DS_FILE"
}

next_serial() {
  local serial=0
  [[ -f $ZONES_DIR/serial ]] && serial=$(cat "$ZONES_DIR/serial")
  echo $((serial + 1)) | tee "$ZONES_DIR/serial"
}

write_root_source() {
  cat <<END
. 3600 IN SOA ns1.$LAB_TLD. hostmaster.$LAB_TLD. 1 $SOA_TIMERS
. 3600 IN NS ns1.$LAB_TLD.
$LAB_TLD. 3600 IN NS ns1.$LAB_TLD.
ns1.$LAB_TLD. 3600 IN A 127.0.0.1
$(ds_of "$LAB_TLD")
END
}

write_tld_source() {
  cat <<END
$LAB_TLD. 3600 IN SOA ns1.$LAB_TLD. hostmaster.$LAB_TLD. 1 $SOA_TIMERS
$LAB_TLD. 3600 IN NS ns1.$LAB_TLD.
ns1.$LAB_TLD. 3600 IN A 127.0.0.1
$LAB_ZONE. 3600 IN NS ns1.$LAB_ZONE.
ns1.$LAB_ZONE. 3600 IN A 127.0.0.1
$(ds_of "$LAB_ZONE")
$FED_ZONE. 3600 IN NS ns1.$FED_ZONE.
ns1.$FED_ZONE. 3600 IN A 127.0.0.1
$(ds_of "$FED_ZONE")
END
}

tlsa_lines() {  # $1: zone
  awk '{ owner = $1; ttl = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); print owner, ttl, "IN TLSA", $0 }' \
    "$ZONES_DIR/$1.tlsa"
}

write_example_source() {  # $1: serial
  cat <<END
$LAB_ZONE. 300 IN SOA ns1.$LAB_ZONE. hostmaster.$LAB_ZONE. $1 $SOA_TIMERS
$LAB_ZONE. 300 IN NS ns1.$LAB_ZONE.
ns1.$LAB_ZONE. 300 IN A 127.0.0.1
$NAME_JS. 300 IN A 127.0.0.1
$NAME_JS. 300 IN AAAA ::1
$NAME_NODATA. 300 IN A 127.0.0.1
$INSECURE_ZONE. 300 IN NS ns1.$INSECURE_ZONE.
ns1.$INSECURE_ZONE. 300 IN A 127.0.0.1
$(write_federation_records)
$(tlsa_lines "$LAB_ZONE")
END
}

# The ReceiverID names (names.sh, define_federation_names) in example.<tld>. The bogus name is signed with
# FED_BOGUS_SIGNED_ADDR; tamper_example_zone then changes its A to FED_ADDR_JS1.
readonly FED_BOGUS_SIGNED_ADDR=127.0.0.121
write_federation_records() {
  cat <<END
$NAME_FED_JS1. 300 IN A $FED_ADDR_JS1
$NAME_FED_JS2. 300 IN CNAME $NAME_FED_JS2_TARGET.
$NAME_FED_INSECURE. 300 IN CNAME $NAME_FED_INSECURE_TARGET.
$NAME_FED_BOGUS. 300 IN A $FED_BOGUS_SIGNED_ADDR
$NAME_FED_NODATA. 300 IN TXT "a JoinEUI name without address"
$NAME_FED_HNS. 300 IN A $FED_ADDR_HNS
$NAME_FED_SRV. 300 IN NAPTR 10 10 "S" "LWN" "" _lwn._tcp.plain-http.$LAB_ZONE.
$NAME_FED_SRV. 300 IN NAPTR 50 50 "S" "LWNS" "" _lwns._tcp.$NAME_FED_SRV_TARGET.
_lwns._tcp.$NAME_FED_SRV_TARGET. 300 IN SRV 0 1 ${LAB_FED_PORT:-443} $NAME_FED_SRV_TARGET.
$NAME_FED_SRV_TARGET. 300 IN A $FED_ADDR_JS1
$NAME_FED_NO_SERVICE. 300 IN NAPTR 10 10 "S" "LWN" "" _lwn._tcp.plain-http.$LAB_ZONE.
$NAME_FED_SRV_DOT. 300 IN NAPTR 50 50 "S" "LWNS" "" _lwns._tcp.none.$LAB_ZONE.
_lwns._tcp.none.$LAB_ZONE. 300 IN SRV 0 0 0 .
END
}

write_fed_zone_source() {  # $1: serial; operator-b.<tld>, the zone JS2's name points into
  cat <<END
$FED_ZONE. 300 IN SOA ns1.$FED_ZONE. hostmaster.$FED_ZONE. $1 $SOA_TIMERS
$FED_ZONE. 300 IN NS ns1.$FED_ZONE.
ns1.$FED_ZONE. 300 IN A 127.0.0.1
$NAME_FED_JS2_TARGET. 300 IN A $FED_ADDR_JS2
$(tlsa_lines "$FED_ZONE")
END
}

write_insecure_zone() {  # $1: serial; unsigned on purpose, and no DS in the parent
  cat <<END
$INSECURE_ZONE. 300 IN SOA ns1.$INSECURE_ZONE. hostmaster.$INSECURE_ZONE. $1 $SOA_TIMERS
$INSECURE_ZONE. 300 IN NS ns1.$INSECURE_ZONE.
ns1.$INSECURE_ZONE. 300 IN A 127.0.0.1
$NAME_FED_INSECURE_TARGET. 300 IN A $FED_ADDR_JS1
$(tlsa_lines "$INSECURE_ZONE")
END
}

write_initial_tlsa_sets() {
  cat >"$ZONES_DIR/$LAB_ZONE.tlsa" <<END
$NAME_NS_A. 300 $TLSA_NS_A
$NAME_C301. 300 $TLSA_NS_A_301
$NAME_C312. 300 $TLSA_NS_A_312
$NAME_NS_B. 300 $TLSA_NS_B
$NAME_DEVICE. 300 $TLSA_DEVICE
$NAME_DEVICE_B. 300 $TLSA_DEVICE_B
$NAME_NOSAN. 300 $TLSA_DEVICE
$NAME_PKIX_EE. 300 $TLSA_PKIX_EE
$NAME_PKIX_TA. 300 $TLSA_PKIX_TA
$NAME_UNUSABLE. 300 3 1 9 ${TLSA_PKIX_EE##* }
$NAME_PKIX_UNTRUSTED. 300 $TLSA_PKIX_UNTRUSTED
$NAME_RSA. 300 $TLSA_RSA
$NAME_STALE. 300 $TLSA_OTHER
$NAME_STALE. 300 $TLSA_NS_A
$NAME_MISMATCH. 300 $TLSA_OTHER
$NAME_CHANGING. 2 $TLSA_NS_A
$NAME_JS_TLSA. 300 $TLSA_JS
$NAME_JS_WRONG_TLSA. 300 $TLSA_OTHER
$NAME_BOGUS_RDATA. 300 $TLSA_NS_A
$NAME_BOGUS_SIG. 300 $TLSA_NS_A
$NAME_EXPIRED. 300 $TLSA_NS_A
END
  if [[ -n ${LAB_JS_PORT:-} ]]; then
    echo "_$LAB_JS_PORT._tcp.$NAME_JS. 300 $TLSA_JS" >>"$ZONES_DIR/$LAB_ZONE.tlsa"
  fi
  echo "$NAME_INSECURE. 300 $TLSA_NS_A" >"$ZONES_DIR/$INSECURE_ZONE.tlsa"
  : >"$ZONES_DIR/$FED_ZONE.tlsa"
  if [[ -n ${LAB_FED_PORT:-} ]]; then  # the federation servers' TLSA (js.pem), RFC 7671 §7: JS2's at the target
    local owner
    for owner in "$NAME_FED_JS1" "$NAME_FED_HNS" "$NAME_FED_INSECURE" "$NAME_FED_BOGUS" "$NAME_FED_SRV_TARGET"; do
      echo "_$LAB_FED_PORT._tcp.$owner. 300 $TLSA_JS" >>"$ZONES_DIR/$LAB_ZONE.tlsa"
    done
    echo "_$LAB_FED_PORT._tcp.$NAME_FED_JS2_TARGET. 300 $TLSA_JS" >>"$ZONES_DIR/$FED_ZONE.tlsa"
  fi
}

# $1: source, $2: output, $3: zone without trailing dot, $4 $5: validity offsets (date -d syntax).
sign_zone() {
  ldns-signzone -i "$(utc_stamp "$4")" -e "$(utc_stamp "$5")" -o "$3." -f "$2" "$1" "$(key_base "$3")" \
    || die "ldns-signzone failed for '$3.'"
}

# Breaks the bogus names after signing: changed rdata, a flipped signature byte, a genuine signature
# whose validity ended (taken from a signing run in the past), and the federation's bogus A record.
tamper_example_zone() {  # $1: signed zone, $2: signed zone from the expired run, $3: output
  awk -v rdata="$NAME_BOGUS_RDATA." -v sig="$NAME_BOGUS_SIG." -v expired="$NAME_EXPIRED." \
      -v fed_bogus="$NAME_FED_BOGUS." -v fed_addr="$FED_ADDR_JS1" '
    FNR == NR {
      if ($1 == expired && $4 == "RRSIG" && $5 == "TLSA") old_sig = $0
      next
    }
    $1 == rdata && $4 == "TLSA" {
      $NF = (substr($NF, 1, 1) == "0" ? "1" : "0") substr($NF, 2)
    }
    $1 == fed_bogus && $4 == "A" { $NF = fed_addr }
    $1 == sig && $4 == "RRSIG" && $5 == "TLSA" {
      c = substr($NF, 20, 1)
      $NF = substr($NF, 1, 19) (c == "A" ? "B" : "A") substr($NF, 21)
    }
    $1 == expired && $4 == "RRSIG" && $5 == "TLSA" {
      if (old_sig == "") { print "no RRSIG from the expired run" > "/dev/stderr"; exit 1 }
      $0 = old_sig
    }
    { print }
  ' "$2" "$1" >"$3" || die "could not build the bogus records"
}

# Writes and signs every zone for serial $1 into $ZONES_DIR/*.zone (the files nsd serves).
build_zones() {
  local serial=$1 z=$ZONES_DIR
  write_root_source >"$z/root.src"
  write_tld_source >"$z/tld.src"
  write_example_source "$serial" >"$z/example.src"
  write_insecure_zone "$serial" >"$z/insecure.zone.new"
  write_fed_zone_source "$serial" >"$z/operator-b.src"
  sign_zone "$z/root.src" "$z/root.zone.new" "" "-1 hour" "+30 days" &
  sign_zone "$z/tld.src" "$z/tld.zone.new" "$LAB_TLD" "-1 hour" "+30 days" &
  sign_zone "$z/example.src" "$z/example.signed" "$LAB_ZONE" "-1 hour" "+30 days" &
  sign_zone "$z/example.src" "$z/example.expired-run" "$LAB_ZONE" "-40 days" "-10 days" &
  sign_zone "$z/operator-b.src" "$z/operator-b.zone.new" "$FED_ZONE" "-1 hour" "+30 days" &
  wait
  tamper_example_zone "$z/example.signed" "$z/example.expired-run" "$z/example.zone.new"
  local name
  for name in root tld example insecure operator-b; do
    [[ -s $z/$name.zone.new ]] || die "zone $name was not built"
    publish_zone_file "$z/$name.zone.new" "$z/$name.zone"
  done
}

# nsd reloads a zone file when its mtime changed; make sure it does even within one second.
publish_zone_file() {  # $1: new file, $2: served file
  if [[ -f $2 ]]; then
    local old new
    old=$(stat -c %Y "$2")
    new=$(stat -c %Y "$1")
    ((new > old)) || touch -d "@$((old + 1))" "$1"
  fi
  mv -f "$1" "$2"
}
