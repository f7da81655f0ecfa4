# Every name the lab publishes, relative to LAB_ZONE (example.test, or example.lab in netns mode).

define_names() {
  NAME_NS_A=_ns-client.ns.operator-a.$LAB_ZONE
  NAME_NS_B=_ns-client.ns.operator-b.$LAB_ZONE
  NAME_C301=c301.$LAB_ZONE
  NAME_C312=c312.$LAB_ZONE
  NAME_DEVICE=device7._device.$LAB_ZONE
  NAME_DEVICE_B=device7b._device.$LAB_ZONE
  NAME_NOSAN=nosan._device.$LAB_ZONE
  NAME_PKIX_EE=pkix-ee._device.$LAB_ZONE
  NAME_PKIX_TA=pkix-ta._device.$LAB_ZONE
  NAME_UNUSABLE=unusable._device.$LAB_ZONE
  NAME_PKIX_UNTRUSTED=_pkix-client.ns.operator-a.$LAB_ZONE
  NAME_RSA=_rsa-client.$LAB_ZONE
  NAME_STALE=stale.$LAB_ZONE
  NAME_MISMATCH=mismatch.$LAB_ZONE
  NAME_CHANGING=changing.$LAB_ZONE
  NAME_JS=js.$LAB_ZONE
  NAME_JS_TLSA=_8003._tcp.js.$LAB_ZONE
  NAME_JS_WRONG_TLSA=_8443._tcp.js.$LAB_ZONE
  NAME_BOGUS_RDATA=bogus-rdata.$LAB_ZONE
  NAME_BOGUS_SIG=bogus-sig.$LAB_ZONE
  NAME_EXPIRED=expired.$LAB_ZONE
  NAME_NODATA=nodata.$LAB_ZONE
  NAME_NXDOMAIN=nxdomain.$LAB_ZONE
  NAME_REFUSED=_ns-client.refused.$LAB_ZONE  # unbound answers REFUSED (local-zone refuse)
  INSECURE_ZONE=insecure.$LAB_ZONE
  NAME_INSECURE=_ns-client.$INSECURE_ZONE
}

# Association data for the names above; needs the PKI. One process computes them all.
define_tlsa_values() {
  eval "$("$LAB_HOME/lib/tlsa_rdata.py" "$PKI_DIR" \
    TLSA_NS_A:3:1:1:ns-a TLSA_NS_A_301:3:0:1:ns-a TLSA_NS_A_312:3:1:2:ns-a TLSA_NS_B:3:1:1:ns-b \
    TLSA_DEVICE:2:0:1:org-ca TLSA_DEVICE_B:2:1:1:org-ca TLSA_RSA:3:1:1:rsa TLSA_OTHER:3:1:1:other \
    TLSA_JS:3:1:1:js TLSA_ROGUE:3:1:1:rogue TLSA_PKIX_EE:1:1:1:device TLSA_PKIX_TA:0:0:1:org-ca \
    TLSA_PKIX_UNTRUSTED:1:1:1:ns-a)"
  [[ -n ${TLSA_ROGUE:-} ]] || die "could not compute the TLSA values"
}
