#!/bin/sh
# Stand-in for the egress guard: waits for tailscaled's socket in the shared alloc dir (60 s),
# records the exit node it selects, and exits 0; exits 1 when tailscaled never came up.
set -eu
sock="${TS_SOCKET:-/alloc/tailscale/tailscaled.sock}"
for _ in $(seq 1 60); do
  if [ -e "$sock" ]; then
    echo "${TS_EXIT_NODE_PRIMARY:-none}" >"${TS_GUARD_STATE_FILE:-/alloc/tailscale/egress-selected}"
    echo "egress-guard: tailscaled up, exit node ${TS_EXIT_NODE_PRIMARY:-none}"
    exit 0
  fi
  sleep 1
done
echo "egress-guard: no tailscaled socket at $sock" >&2
exit 1
