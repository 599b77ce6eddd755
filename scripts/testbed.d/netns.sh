# The split testbed's network: root ⇄ login ⇄ compute, with no way from root to compute.
# Sourced by scripts/testbed.

in_login() {
  if [ -n "$LOGIN_NS" ]; then nsenter --net="/run/netns/$LOGIN_NS" "$@"; else "$@"; fi
}

netns_up() {
  netns_down
  ip netns add login
  ip netns add compute
  ip link add hl-root type veth peer name hl-login0
  ip link set hl-login0 netns login
  ip addr add "$NET_LOGIN.1/24" dev hl-root
  ip link set hl-root up
  ip -n login link set lo up
  ip -n login addr add "$NET_LOGIN.2/24" dev hl-login0
  ip -n login link set hl-login0 up
  ip -n login link add hl-login1 type veth peer name hl-c1 netns compute
  ip -n login addr add "$NET_COMPUTE.1/24" dev hl-login1
  ip -n login link set hl-login1 up
  ip -n compute link set lo up
  ip -n compute addr add "$NET_COMPUTE.2/24" dev hl-c1
  ip -n compute link set hl-c1 up
  # The node reaches slurmctld's address on the login host; login does not forward, so the
  # node still cannot reach this (root) side.
  ip -n compute route add default via "$NET_COMPUTE.1"
  ip route add unreachable "$NET_COMPUTE.0/24" 2>/dev/null || true
}

netns_down() {
  ip netns del compute 2>/dev/null || true
  ip netns del login 2>/dev/null || true
  ip link del hl-root 2>/dev/null || true
  ip route del unreachable "$NET_COMPUTE.0/24" 2>/dev/null || true
}
