# Writes lab.env (shell KEY='value' lines) and lab.json (the same keys; ports and PIDs as numbers).

lab_env_keys() {
  echo LAB_DIR LAB_MODE LAB_TLD LAB_ZONE LAB_SH
  echo NSD_ADDR NSD_PORT NSD_PID UNBOUND_ADDR UNBOUND_PORT UNBOUND_PID UNBOUND_CONTROL_PORT UNBOUND_CONF
  echo UNBOUND_STATS_CMD UNBOUND_QUERY_COUNTER ROOT_SERVERS TRUST_ANCHOR_FILE TRUST_ANCHOR_DS_FILE PKI_DIR
  echo NAME_NS_A NAME_NS_B NAME_C301 NAME_C312 NAME_DEVICE NAME_DEVICE_B NAME_NOSAN NAME_PKIX_EE NAME_PKIX_TA
  echo NAME_UNUSABLE NAME_PKIX_UNTRUSTED NAME_RSA NAME_STALE
  echo NAME_MISMATCH NAME_CHANGING NAME_JS NAME_JS_TLSA NAME_JS_WRONG_TLSA NAME_BOGUS_RDATA NAME_BOGUS_SIG
  echo NAME_EXPIRED NAME_NODATA NAME_NXDOMAIN NAME_REFUSED NAME_INSECURE INSECURE_ZONE JS_ADDR
  echo TLSA_NS_A TLSA_NS_A_301 TLSA_NS_A_312 TLSA_NS_B TLSA_DEVICE TLSA_DEVICE_B TLSA_RSA TLSA_OTHER
  echo TLSA_JS TLSA_ROGUE TLSA_PKIX_EE TLSA_PKIX_TA TLSA_PKIX_UNTRUSTED
  echo FED_ZONE FED_JOIN_EUI_SUFFIX FED_NET_ID_SUFFIX FED_ADDR_JS1 FED_ADDR_JS2 FED_ADDR_HNS
  echo FED_JOIN_EUI_JS1 FED_JOIN_EUI_JS2 FED_JOIN_EUI_INSECURE FED_JOIN_EUI_BOGUS FED_JOIN_EUI_NXDOMAIN
  echo FED_JOIN_EUI_NODATA FED_NET_ID_HNS NAME_FED_JS1 NAME_FED_JS2 NAME_FED_JS2_TARGET NAME_FED_INSECURE
  echo NAME_FED_INSECURE_TARGET NAME_FED_BOGUS NAME_FED_NXDOMAIN NAME_FED_NODATA NAME_FED_HNS
  ((LAB_DOT)) && echo UNBOUND_DOT_PORT DOT_CA_FILE DOT_AUTH_NAME
  return 0
}

write_lab_env() {
  local key tmp_env=$LAB_DIR/lab.env.tmp tmp_json=$LAB_DIR/lab.json.tmp separator=""
  : >"$tmp_env"
  echo "{" >"$tmp_json"
  for key in $(lab_env_keys); do
    printf "%s='%s'\n" "$key" "${!key}" >>"$tmp_env"
    if [[ $key =~ _(PORT|PID)$ ]]; then
      printf '%s  "%s": %s' "$separator" "$key" "${!key}" >>"$tmp_json"
    else
      printf '%s  "%s": "%s"' "$separator" "$key" "${!key}" >>"$tmp_json"
    fi
    separator=$',\n'
  done
  printf '\n}\n' >>"$tmp_json"
  mv -f "$tmp_env" "$LAB_DIR/lab.env"
  mv -f "$tmp_json" "$LAB_DIR/lab.json"
}
