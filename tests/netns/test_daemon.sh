#!/bin/bash
# SPDX-License-Identifier: MIT
# erouted on the real kernel (XFRM), in a network namespace of its own:
# route/unroute/reload read back with ip xfrm; a real packet's ACQUIRE; the
# kernel refusing ESP keeps the hold; kill -9 with 1000 connections and a
# restart that adopts everything without a gap; a changed configuration at
# restart; foreign policies (ip xfrm and a real strongSwan charon) left
# alone; larval states left by a packet while erouted was down; a bare
# shunt outliving its daemon only to its kernel lifetime; neighbour
# discovery through an IPv6 trap over the link.  ip xfrm monitor watches,
# as an independent reader, that foreign policies see no change and that a
# restart changes nothing it should not.
set -u

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIPPED: needs root (network namespaces, XFRM)"
	exit 77
fi
: "${EROUTED:?}" "${EROUTE:?}"

NS=eroute-d-$$
NS2=eroute-p-$$
TMP=$(mktemp -d /tmp/eroute-netns.XXXXXX)
SOCK=$TMP/erouted.sock
CONF=$TMP/eroute.conf
LOG=$TMP/erouted.log
DPID=""
PIDS=""

cleanup() {
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
	for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	echo "--- erouted log:" >&2
	tail -n 40 "$LOG" >&2
	[ -f "$TMP/sw/charon.log" ] && tail -n 5 "$TMP/sw/charon.log" >&2
	echo "--- ip xfrm policy:" >&2
	ip -n "$NS" xfrm policy 2>&1 | head -40 >&2
	exit 1
}
eq() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; }
nsx() { ip netns exec "$NS" "$@"; }
er() { "$EROUTE" --socket "$SOCK" "$@"; }
erj() { "$EROUTE" --socket "$SOCK" --json "$@"; }
state() {
	erj status | jq -r --arg n "$1" '.connections[] | select(.name == $n) | .routing'
}
out_count() {
	ip -n "$NS" xfrm policy count | sed -n 's/.*OUT \([0-9]*\).*/\1/p' | head -1
}
policy_has() { ip -n "$NS" xfrm policy | grep -q "$1"; }
wait_for() {
	for _ in $(seq 300); do
		eval "$1" && return 0
		sleep 0.05
	done
	fail "timed out waiting for: $1"
}
start() {
	# Not through nsx: $! must be erouted itself (ip netns exec execs).
	ip netns exec "$NS" "$EROUTED" -f --kernel xfrm -c "$CONF" --socket "$SOCK" \
		--state-dir "$TMP/state" --log-level debug "$@" >>"$LOG" 2>&1 &
	DPID=$!
	wait_for "[ -S '$SOCK' ] && er status >/dev/null 2>&1"
}
stop() {
	kill -TERM "$DPID"
	wait "$DPID"
	rc=$?
	DPID=""
	[ $rc -eq 0 ] || fail "erouted exited $rc"
}
crash() {
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=""
	rm -f "$SOCK"
}
# monitor FILE: ip xfrm monitor policy into FILE, in the background ($MON)
monitor() {
	ip -n "$NS" xfrm monitor policy >"$1" 2>&1 &
	MON=$!
	PIDS="$PIDS $MON"
	sleep 0.2
}
unmonitor() {
	sleep 0.2
	kill "$MON"
	wait "$MON" 2>/dev/null
}
send_udp() { # SRC DST PORT: one UDP datagram from SRC
	nsx bash -c "exec 3<>/dev/udp/$2/$3 && echo x >&3" 2>/dev/null
	true
}

ip netns add "$NS" || fail "ip netns add"
ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up
ip -n "$NS" addr add 192.0.2.10/24 dev v0
ip -n "$NS" addr add 10.1.0.1/16 dev v0
ip -n "$NS" route add 10.2.0.0/16 dev v0 src 10.1.0.1
ip -n "$NS" route add 203.0.113.0/24 dev v0 src 192.0.2.10
# An IPv6 neighbour at the other end of the veth pair.
ip netns add "$NS2" || fail "ip netns add"
ip -n "$NS" link set v1 netns "$NS2"
ip -n "$NS2" link set v1 up
ip -n "$NS" addr add 2001:db8:1::1/64 dev v0 nodad
ip -n "$NS2" addr add 2001:db8:1::2/64 dev v1 nodad

# ---- foreign policies, there before erouted ------------------------------
ip -n "$NS" xfrm policy add src 10.70.0.0/16 dst 10.80.0.0/16 dir out \
	action block priority 7
mkdir -p "$TMP/sw"
cat >"$TMP/sw/strongswan.conf" <<EOF
charon {
	install_routes = no
	port = 0
	port_nat_t = 0
	plugins {
		vici {
			socket = unix://$TMP/sw/charon.vici
		}
	}
}
EOF
cat >"$TMP/sw/swanctl.conf" <<'EOF'
connections {
	other {
		local_addrs = 192.0.2.10
		remote_addrs = 198.51.100.77
		local { auth = psk }
		remote { auth = psk }
		children {
			trapped {
				local_ts = 10.50.0.0/16
				remote_ts = 10.60.0.0/16
				start_action = trap
			}
		}
	}
}
EOF
charon=""
if [ -x /usr/lib/ipsec/charon ] && command -v swanctl >/dev/null; then
	# A private /run, so that charon's pid file is its own.
	ip netns exec "$NS" unshare -m --propagation private sh -c \
		"mount -t tmpfs none /run && exec env \
		STRONGSWAN_CONF='$TMP/sw/strongswan.conf' /usr/lib/ipsec/charon" \
		>"$TMP/sw/charon.log" 2>&1 &
	charon=$!
	PIDS="$PIDS $charon"
	# The socket appears before charon answers on it: retry.
	wait_for "STRONGSWAN_CONF='$TMP/sw/strongswan.conf' swanctl --load-conns \
		--uri 'unix://$TMP/sw/charon.vici' --file '$TMP/sw/swanctl.conf' \
		>/dev/null 2>&1"
	wait_for "policy_has 'src 10.50.0.0/16 dst 10.60.0.0/16'"
else
	fail "strongSwan (strongswan-charon, strongswan-swanctl) is not installed"
fi
foreign_before=$(ip -n "$NS" xfrm policy | grep -A3 "10.50.0.0/16\|10.70.0.0/16")

cat >"$CONF" <<'EOF'
config setup
	shuntlifetime=10s
	expire-shunt-interval=1h

conn west
	left=192.0.2.10
	right=198.51.100.20
	leftsubnet=10.1.0.0/16
	rightsubnet=10.2.0.0/16
	auto=add
	keyingtries=1

conn clear
	left=192.0.2.10
	right=%any
	rightsubnet=198.51.100.53/32
	type=passthrough
	auto=route

# Exactly strongSwan's trap: eroute must refuse it.
conn collides
	left=192.0.2.10
	right=198.51.100.77
	leftsubnet=10.50.0.0/16
	rightsubnet=10.60.0.0/16
	auto=route

conn oe
	left=192.0.2.10
	right=%opportunisticgroup
	rightsubnet=203.0.113.0/24
	authby=null
	auto=route
	keyingtries=1
	failureshunt=passthrough

# An IPv6 trap over everything, on-link neighbours included, and a hole in
# it for one UDP port to the neighbour.
conn v6trap
	left=2001:db8:1::1
	right=2001:db8:1::99
	leftsubnet=2001:db8:1::1/128
	rightsubnet=::/0
	auto=route

conn v6pass
	left=2001:db8:1::1
	right=%any
	rightsubnet=2001:db8:1::2/128
	rightprotoport=udp/9
	type=passthrough
	auto=route
EOF

# ---- route, unroute, reload, read back with ip xfrm ----------------------
monitor "$TMP/mon-foreign"
start
policy_has "src 192.0.2.10/32 dst 198.51.100.53/32" || fail "clear's pass policy"
eq "$(state collides)" "unrouted" "a connection over strongSwan's policy"
grep -q "collides: .*belongs to another IPsec daemon" "$LOG" || fail "the collision is said"
er route collides >/dev/null 2>"$TMP/err" && fail "route over strongSwan's policy"
grep -q "eroute: collides: .*belongs to another IPsec daemon; not overwriting it" "$TMP/err" ||
	fail "route collides: $(cat "$TMP/err")"
eq "$(state collides)" "unrouted" "still unrouted"

# Neighbour discovery gets through the IPv6 trap: the one packet the hole
# lets out needs the neighbour's link address first.
eq "$(state v6trap)" "prospective" "the IPv6 trap"
policy_has "src 2001:db8:1::1/128 dst ::/0" || fail "the IPv6 trap in the kernel"
eq "$(erj policy list | jq -c '[.[] | select(.owner == "eroute") | [.dir, .src, .dst, .proto, .sport, .action]] | sort')" \
	'[["fwd","::/0","::/0","icmpv6",135,"pass"],["fwd","::/0","::/0","icmpv6",136,"pass"],["in","::/0","::/0","icmpv6",135,"pass"],["in","::/0","::/0","icmpv6",136,"pass"],["out","::/0","::/0","icmpv6",135,"pass"],["out","::/0","::/0","icmpv6",136,"pass"]]' \
	"the ND bypass: eroute's pass policies for NS and NA"
send_udp 2001:db8:1::1 2001:db8:1::2 9
wait_for "ip -n '$NS' -6 neigh show 2001:db8:1::2 | grep -q lladdr"
er route west >/dev/null || fail "route west"
ip -n "$NS" xfrm policy | grep -A3 "src 10.1.0.0/16 dst 10.2.0.0/16" | grep -q "dir out" ||
	fail "west's trap in the kernel"
reqid=$(erj status | jq -r '.connections[] | select(.name == "west") | .reqid')
ip -n "$NS" xfrm policy | grep -A3 "src 10.1.0.0/16 dst 10.2.0.0/16" | grep -q "reqid $reqid" ||
	fail "the trap carries west's reqid $reqid"
er unroute west >/dev/null || fail "unroute west"
policy_has "src 10.1.0.0/16 dst 10.2.0.0/16" && fail "west's trap left behind"
sed -i 's/^\tauto=add$/\tauto=route/' "$CONF"
sed -i '/^conn clear$/,/^$/d' "$CONF"
er --json reload >"$TMP/reload" || fail "reload"
eq "$(jq -c . "$TMP/reload")" '{"added":[],"removed":["clear"],"changed":["west"]}' "reload"
policy_has "src 10.1.0.0/16 dst 10.2.0.0/16" || fail "reload routed west"
policy_has "src 192.0.2.10/32 dst 198.51.100.53/32" && fail "reload left clear's policy"
eq "$(erj policy list | jq -r '[.[] | select(.owner == "foreign")] | length >= 4')" "true" \
	"foreign policies listed as foreign"
erj policy list | jq -e '.[] | select(.src == "::/0" and .owner == "eroute")' >/dev/null ||
	fail "the ICMPv6 ND bypass shows as eroute's"

# ---- a real packet: ACQUIRE, hold, and a kernel without ESP ---------------
send_udp 10.1.0.1 10.2.0.7 9
wait_for "[ \"\$(state west)\" = routed-hold ]"
er sim negotiate west ok >/dev/null 2>&1
# This kernel has no ESP: said clearly, and the hold stays.
grep -q "cannot install SA group" "$LOG" || fail "SA refusal logged"
eq "$(state west)" "failure" "tries spent"
eq "$(erj policy list | jq -r '.[] | select(.owner == "west" and .dir == "out") | .action')" \
	"hold" "the hold stays when the kernel refuses ESP"

# ---- foreign policies survive start, reload and shutdown ------------------
stop
unmonitor
grep -n "10\.[5-8]0\.0\.0/16" "$TMP/mon-foreign" &&
	fail "erouted touched a foreign policy (ip xfrm monitor above)"
eq "$(ip -n "$NS" xfrm policy | grep -A3 "10.50.0.0/16\|10.70.0.0/16")" "$foreign_before" \
	"foreign policies after start, reload and shutdown"
policy_has "src 10.1.0.0/16 dst 10.2.0.0/16" && fail "shutdown left eroute's policies"
policy_has "::/0" && ip -n "$NS" xfrm policy | grep -q "type 135" &&
	fail "shutdown left the ND bypass"

# ---- keep-policies=yes: a clean stop leaves eroute's policies ------------
sed -i 's/^\texpire-shunt-interval=1h$/&\n\tkeep-policies=yes/' "$CONF"
start
policy_has "src 10.1.0.0/16 dst 10.2.0.0/16" || fail "west routed again"
stop
policy_has "src 10.1.0.0/16 dst 10.2.0.0/16" || fail "keep-policies=yes removed west"
: >"$LOG"
start
grep -q "restart: .* 0 added, 0 deleted" "$LOG" || fail "kept policies adopted: $(grep 'restart:' "$LOG")"
crash

# ---- kill -9 with 1000 connections; restart without a gap ----------------
{
	printf 'config setup\n\texpire-shunt-interval=1h\n\n'
	for i in $(seq 0 999); do
		printf 'conn c%d\n\tleft=192.0.2.10\n\tright=198.51.100.%d\n' \
			"$i" $((i % 250 + 1))
		printf '\tleftsubnet=10.100.%d.%d/32\n\trightsubnet=10.200.%d.%d/32\n' \
			$((i / 250)) $((i % 250)) $((i / 250)) $((i % 250))
		printf '\tauto=route\n\n'
	done
} >"$CONF"
start
wait_for "[ \"\$(out_count)\" -ge 1000 ]"
full=$(out_count)
crash
eq "$(out_count)" "$full" "every policy survives kill -9"
# A watcher samples the count through the restart.
(
	while :; do out_count; sleep 0.01; done
) >"$TMP/counts" &
watcher=$!
PIDS="$PIDS $watcher"
monitor "$TMP/mon-restart"
: >"$LOG"
start
wait_for "grep -q 'restart: .* adopted' '$LOG'"
sleep 0.2
kill "$watcher"
wait "$watcher" 2>/dev/null
unmonitor
# What the kernel says happened: nothing to the thousand (no delete, no
# add, no update).
grep -n "10\.100\.\|10\.200\." "$TMP/mon-restart" | head -5 | grep . &&
	fail "the restart changed policies it should have adopted"
min=$(sort -n "$TMP/counts" | head -1)
[ "$min" -ge "$full" ] || fail "the policy count dropped to $min during the restart"
grep -q "restart: 1000 policies adopted as they were, 0 updated, 0 added, 0 deleted" "$LOG" ||
	fail "adoption: $(grep 'restart:' "$LOG")"
grep -q "File exists" "$LOG" && fail "EEXIST at restart"
eq "$(erj status | jq -r '[.connections[].routing] | unique | @json')" '["prospective"]' "all routed"
erj status | jq -e '.xfrm.spd_hash_thresholds.v4_lbits >= 0' >/dev/null ||
	fail "status reports the SPD hash thresholds"

# Change ten connections, crash, restart: only those change.
sed -i '/^conn c[0-9]$/a\	priority=4242' "$CONF"
crash
monitor "$TMP/mon-changed"
: >"$LOG"
start
wait_for "grep -q 'restart: .* adopted' '$LOG'"
unmonitor
grep -q "restart: 990 policies adopted as they were, 10 updated, 0 added, 0 deleted" "$LOG" ||
	fail "changed adoption: $(grep 'restart:' "$LOG")"
eq "$(ip -n "$NS" xfrm policy | grep -c 'priority 4242')" "10" "ten changed in place"
eq "$(grep -c "10\.100\.\|10\.200\." "$TMP/mon-changed")" "10" "the kernel saw ten changes"
eq "$(grep -c "^Updated src 10\.100\.0\.[0-9]/32 dst 10\.200\.0\.[0-9]/32" "$TMP/mon-changed")" "10" \
	"each an update in place of c0..c9"

# The journal lost: eroute's marker alone is enough to adopt everything.
crash
rm -rf "$TMP/state"
: >"$LOG"
start
wait_for "grep -q 'restart: .* adopted' '$LOG'"
grep -q "restart: 1000 policies adopted as they were, 0 updated, 0 added, 0 deleted" "$LOG" ||
	fail "adoption without a journal: $(grep 'restart:' "$LOG")"

# ---- a packet while erouted is down leaves a larval state -----------------
cat >"$CONF" <<'EOF'
config setup
	shuntlifetime=10s
	expire-shunt-interval=1h

conn oe
	left=192.0.2.10
	right=%opportunisticgroup
	rightsubnet=203.0.113.0/24
	authby=null
	auto=route
	keyingtries=1
	failureshunt=passthrough
EOF
er reload >/dev/null || fail "reload to the group"
crash
# Another listener, so the kernel keeps the acquire state.
ip -n "$NS" xfrm monitor acquire >/dev/null &
mon=$!
PIDS="$PIDS $mon"
sleep 0.2
send_udp 192.0.2.10 203.0.113.7 9
wait_for "ip -n '$NS' xfrm state | grep -q 'dst 203.0.113.7'"
: >"$LOG"
start
grep -q "larval states deleted" "$LOG" || fail "larval states at restart"
ip -n "$NS" xfrm state | grep -q "spi 0x00000000" && fail "the larval state survived the restart"
send_udp 192.0.2.10 203.0.113.7 9
wait_for "[ \"\$(state 'oe#203.0.113.7/32')\" = routed-hold ]"
kill "$mon" 2>/dev/null

# ---- a bare shunt outlives its daemon only to its kernel lifetime ---------
er sim negotiate 'oe#203.0.113.7/32' fail >/dev/null || fail "fail the peer"
eq "$(erj shunt list | jq -r '.[0].action')" "pass" "bare pass shunt"
policy_has "src 192.0.2.10/32 dst 203.0.113.7/32" || fail "bare shunt in the kernel"
crash
sleep 16
policy_has "src 192.0.2.10/32 dst 203.0.113.7/32" &&
	fail "the bare shunt outlived its kernel lifetime"
policy_has "src 192.0.2.10/32 dst 203.0.113.0/24" || fail "the group's trap stays"

echo PASS
