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
  define_federation_names
}

# Federation (issue #16): TS002 1.0 §19.1 names of ReceiverIDs under joineuis.<zone> / netids.<zone>, and a
# second signed zone, operator-b.<tld>, that a JoinEUI name points into by CNAME. The addresses are loopback
# aliases a test listens on; the failure cases point at JS1's address so a wrong connection would show there.
define_federation_names() {
  FED_JOIN_EUI_SUFFIX=joineuis.$LAB_ZONE
  FED_NET_ID_SUFFIX=netids.$LAB_ZONE
  FED_ZONE=operator-b.$LAB_TLD
  FED_ADDR_JS1=127.0.0.21
  FED_ADDR_JS2=127.0.0.22
  FED_ADDR_HNS=127.0.0.23
  FED_JOIN_EUI_JS1=0807060504030201        # A FED_ADDR_JS1 (the golden JoinReq's JoinEUI)
  FED_JOIN_EUI_JS2=70b3d57ed0000002        # CNAME -> js.operator-b.<tld>, A FED_ADDR_JS2
  FED_JOIN_EUI_INSECURE=70b3d57ed0000003   # CNAME -> js.insecure.<zone> (unsigned child), A FED_ADDR_JS1
  FED_JOIN_EUI_BOGUS=70b3d57ed0000004      # A changed after signing (to FED_ADDR_JS1)
  FED_JOIN_EUI_NXDOMAIN=70b3d57ed0000005   # no such name
  FED_JOIN_EUI_NODATA=70b3d57ed0000006     # the name exists with a TXT record only
  FED_NET_ID_HNS=00050a                    # A FED_ADDR_HNS
  FED_JOIN_EUI_SRV=70b3d57ed0000007        # NAPTR "S" "LWNS" -> SRV LAB_FED_PORT srv-js.<zone> (A FED_ADDR_JS1)
  FED_JOIN_EUI_NO_SERVICE=70b3d57ed0000008 # NAPTR with plain-HTTP "LWN" only: no usable service
  FED_JOIN_EUI_SRV_DOT=70b3d57ed0000009    # NAPTR "S" "LWNS" -> SRV target ".": service not available
  NAME_FED_JS1=$(join_eui_name "$FED_JOIN_EUI_JS1")
  NAME_FED_JS2=$(join_eui_name "$FED_JOIN_EUI_JS2")
  NAME_FED_JS2_TARGET=js.$FED_ZONE
  NAME_FED_INSECURE=$(join_eui_name "$FED_JOIN_EUI_INSECURE")
  NAME_FED_INSECURE_TARGET=js.$INSECURE_ZONE
  NAME_FED_BOGUS=$(join_eui_name "$FED_JOIN_EUI_BOGUS")
  NAME_FED_NXDOMAIN=$(join_eui_name "$FED_JOIN_EUI_NXDOMAIN")
  NAME_FED_NODATA=$(join_eui_name "$FED_JOIN_EUI_NODATA")
  NAME_FED_HNS=$FED_NET_ID_HNS.$FED_NET_ID_SUFFIX
  NAME_FED_SRV=$(join_eui_name "$FED_JOIN_EUI_SRV")
  NAME_FED_SRV_TARGET=srv-js.$LAB_ZONE
  NAME_FED_NO_SERVICE=$(join_eui_name "$FED_JOIN_EUI_NO_SERVICE")
  NAME_FED_SRV_DOT=$(join_eui_name "$FED_JOIN_EUI_SRV_DOT")
}

# TS002 1.0 §19.1: the JoinEUI's 16 nibbles, low-order first, one label each, then the suffix.
join_eui_name() {  # $1: 16 lower-case hex digits
  local eui=$1 name="" i
  for ((i = ${#eui} - 1; i >= 0; i--)); do name+="${eui:i:1}."; done
  echo "$name$FED_JOIN_EUI_SUFFIX"
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
