# Sourced by the image's start scripts: the addresses of OVN central from OVN_DB_IPS, the comma-separated
# node addresses of its members (IPv4 or IPv6; OVS takes both in brackets).

# ovn_remotes "10.0.0.1,fd00::1" 6641 prints tcp:[10.0.0.1]:6641,tcp:[fd00::1]:6641
ovn_remotes() {
  _out=''
  for _ip in $(ovn_members "$1"); do
    _out="${_out:+$_out,}tcp:[$_ip]:$2"
  done
  if [ -z "$_out" ]; then
    echo 'OVN_DB_IPS is empty: set it to the node addresses of the OVN central members' >&2
    return 1
  fi
  printf '%s\n' "$_out"
}

# ovn_members "a, b,,c" prints a b c, one per line
ovn_members() {
  printf '%s\n' "$1" | tr ',' '\n' | tr -d ' \t' | grep -v '^$' || true
}
