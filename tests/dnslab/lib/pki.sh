# The lab's test PKI (files in $PKI_DIR) and the TLSA association data computed from it.

readonly CNF=$LAB_HOME/openssl.cnf
readonly EC_KEY=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
readonly RSA_KEY=(-newkey rsa:2048)

# $1: file stem, $2: CN, $3: SAN ("" = none), $4: extension profile, rest: key options.
self_signed() {
  local stem=$1 cn=$2 san=$3 profile=$4
  shift 4
  LAB_SAN=${san:-DNS:$cn} openssl req -x509 -noenc "$@" -keyout "$PKI_DIR/$stem.key" \
    -out "$PKI_DIR/$stem.pem" -days 30 -subj "/CN=$cn" -config "$CNF" -extensions "$profile" 2>/dev/null
}

# $1: file stem, $2: CN, $3: SAN; signed by the organisation CA.
ca_signed() {
  LAB_SAN=$3 openssl req -x509 -noenc "${EC_KEY[@]}" -keyout "$PKI_DIR/$1.key" -out "$PKI_DIR/$1.pem" \
    -CA "$PKI_DIR/org-ca.pem" -CAkey "$PKI_DIR/org-ca.key" -days 30 -subj "/CN=$2" \
    -config "$CNF" -extensions ca_signed_client 2>/dev/null
}

make_pki() {
  mkdir -p "$PKI_DIR"
  self_signed org-ca "Lab Organisation CA" "" org_ca "${EC_KEY[@]}" || die "could not create the organisation CA"
  self_signed ns-a "$NAME_NS_A" "" client_leaf "${EC_KEY[@]}" &
  self_signed ns-b "$NAME_NS_B" "" client_leaf "${EC_KEY[@]}" &
  self_signed js "$NAME_JS" "DNS:$NAME_JS,IP:127.0.0.1" server_leaf "${EC_KEY[@]}" &
  self_signed rogue "$NAME_NS_A" "" client_leaf "${EC_KEY[@]}" &
  self_signed other "other-key.invalid" "" client_leaf "${EC_KEY[@]}" &
  self_signed rsa "$NAME_RSA" "" client_leaf "${RSA_KEY[@]}" &
  ca_signed device "$NAME_DEVICE" "DNS:$NAME_DEVICE,DNS:$NAME_DEVICE_B,DNS:$NAME_PKIX_EE,DNS:$NAME_PKIX_TA,DNS:$NAME_UNUSABLE" &
  ca_signed device-nosan "$NAME_NOSAN" "DNS:somebody-else._device.$LAB_ZONE" &
  wait
  local stem
  for stem in org-ca ns-a ns-b js rogue other rsa device device-nosan; do
    [[ -s $PKI_DIR/$stem.pem && -s $PKI_DIR/$stem.key ]] || die "could not create $stem.pem"
  done
}

# --dot: a CA of its own (so org-ca is a CA that did not sign the resolver) and unbound's certificate.
make_dot_pki() {
  DOT_AUTH_NAME=resolver.$LAB_ZONE
  DOT_CA_FILE=$PKI_DIR/dot-ca.pem
  self_signed dot-ca "Lab DoT CA" "" org_ca "${EC_KEY[@]}" || die "could not create the DoT CA"
  LAB_SAN=DNS:$DOT_AUTH_NAME openssl req -x509 -noenc "${EC_KEY[@]}" -keyout "$PKI_DIR/resolver.key" \
    -out "$PKI_DIR/resolver.pem" -CA "$DOT_CA_FILE" -CAkey "$PKI_DIR/dot-ca.key" -days 30 \
    -subj "/CN=$DOT_AUTH_NAME" -config "$CNF" -extensions ca_signed_server 2>/dev/null ||
    die "could not create resolver.pem"
}
