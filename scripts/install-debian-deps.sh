#!/usr/bin/env bash
# Installs the Debian packages that the tests and the demo use, without letting the
# miredo packages start their services (they would contact public Teredo servers).
# miniupnpd-iptables, miniupnpc, natpmpc: the port mapping lab test's gateway (run inside a NAT namespace).
# bird2: the anycast relay fleet's BGP speakers (one per router and relay namespace).
# frr: zebra, bgpd, bfdd and vtysh for the fleet's FRR relays (examples/frr-relay.conf, fleet-frr.test.ts).
# prometheus: only its promtool, which checks the metrics text (test/unit/ipc/prometheus.test.ts).
set -euo pipefail

packages=(iproute2 iptables miredo miredo-server tshark iperf3 netcat-openbsd iputils-ping procps ethtool mmdebstrap systemd-container prometheus miniupnpd-iptables miniupnpc natpmpc conntrack bird2 frr)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-debian-deps: missing ${missing[*]} and not root: cannot install them" >&2
	exit 1
fi
echo "install-debian-deps: installing ${missing[*]} with apt-get" >&2

policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi
cleanup() {
	if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null

# The miredo and prometheus packages enable their services: make sure none runs outside the tests.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now miredo.service miredo-server.service prometheus.service miniupnpd.service bird.service frr.service >/dev/null 2>&1 || true
fi
pkill -x miredo >/dev/null 2>&1 || true
pkill -x miredo-server >/dev/null 2>&1 || true
