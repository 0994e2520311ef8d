#!/bin/bash
# SPDX-License-Identifier: MIT
# erouted on the real kernel while other processes change it (issue 5):
# ip xfrm policy delete of one of eroute's traps, ip xfrm policy update over
# one, ip xfrm policy flush and ip xfrm state flush, each read back with
# ip xfrm as the independent reader, and foreign policies -- there before
# erouted or added after the flush -- untouched (ip xfrm monitor watches
# them).  Then ownership at restart: a journalled policy of eroute's that
# another process replaced while erouted was down is left alone, and the
# restart says so.  (ESP states cannot be installed on this kernel, so SAs
# vanishing under a tunnel are tested on the sim: tests/scenario/test_resync.c.)
set -u

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIPPED: needs root (network namespaces, XFRM)"
	exit 77
fi
: "${EROUTED:?}" "${EROUTE:?}"

NS=eroute-r-$$
TMP=$(mktemp -d /tmp/eroute-resync.XXXXXX)
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
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	echo "--- erouted log:" >&2
	tail -n 40 "$LOG" >&2
	echo "--- ip xfrm policy:" >&2
	ip -n "$NS" xfrm policy 2>&1 | head -60 >&2
	exit 1
}
eq() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; }
er() { "$EROUTE" --socket "$SOCK" "$@"; }
erj() { "$EROUTE" --socket "$SOCK" --json "$@"; }
state() {
	erj status | jq -r --arg n "$1" '.connections[] | select(.name == $n) | .routing'
}
# pol DIR SRC DST: ip xfrm's text for exactly that policy (empty if none)
pol() {
	ip -n "$NS" xfrm policy get src "$2" dst "$3" dir "$1" 2>/dev/null
}
# ours DIR SRC DST: the policy is there and carries eroute's marker
# (ip -s shows it as the soft packet limit, docs/xfrm.md)
ours() {
	ip -n "$NS" -s xfrm policy get src "$2" dst "$3" dir "$1" 2>/dev/null |
		grep -q "soft 731"
}
wait_for() {
	for _ in $(seq 200); do
		eval "$1" && return 0
		sleep 0.05
	done
	fail "timed out waiting for: $1"
}
start() {
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
# eroute's policies as ip xfrm lists them: dir, selector, action, reqid
eroute_view() {
	ip -n "$NS" xfrm policy | awk '
		/^src/ { sel = $0 }
		/^\tdir/ { dir = $2; act = ""; for (i = 1; i <= NF; i++) if ($i == "action") act = $(i + 1) }
		/reqid/ { print dir, sel, act, $0 }
		/^\tdir/ && act == "block" { print dir, sel, act }' |
		grep -v "10\.7[01]\.\|10\.8[01]\." | sort
}

ip netns add "$NS" || fail "ip netns add"
ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up
ip -n "$NS" addr add 192.0.2.10/24 dev v0
ip -n "$NS" addr add 10.1.0.1/16 dev v0

# A foreign policy, there before erouted.
ip -n "$NS" xfrm policy add src 10.70.0.0/16 dst 10.80.0.0/16 dir out \
	action block priority 7

cat >"$CONF" <<'EOF'
config setup
	expire-shunt-interval=1h

conn west
	left=192.0.2.10
	right=198.51.100.20
	leftsubnet=10.1.0.0/16
	rightsubnet=10.2.0.0/16
	auto=route

conn east
	left=192.0.2.10
	right=198.51.100.30
	leftsubnet=10.1.0.0/16
	rightsubnet=10.3.0.0/16
	auto=route

conn block
	left=192.0.2.10
	right=%any
	rightsubnet=198.51.100.66/32
	type=drop
	auto=route
EOF

start
ours out 10.1.0.0/16 10.2.0.0/16 || fail "west's trap"
ours out 10.1.0.0/16 10.3.0.0/16 || fail "east's trap"
ours out 192.0.2.10/32 198.51.100.66/32 || fail "the drop shunt"
reqid=$(erj status | jq -r '.connections[] | select(.name == "west") | .reqid')
before=$(eroute_view)
eq "$(echo "$before" | grep -c "reqid $reqid ")" "1" "west's trap in the view of ip xfrm"
eq "$(echo "$before" | wc -l)" "5" "eroute's policies: two traps, a drop in three directions"
count_before=$(ip -n "$NS" xfrm policy count)
foreign_before=$(pol out 10.70.0.0/16 10.80.0.0/16)
[ -n "$foreign_before" ] || fail "the foreign policy"

# ---- ip xfrm policy delete of one of eroute's traps ---------------------
: >"$LOG.mark"
ip -n "$NS" xfrm policy delete dir out src 10.1.0.0/16 dst 10.2.0.0/16 ||
	fail "ip xfrm policy delete"
wait_for "ours out 10.1.0.0/16 10.2.0.0/16"
pol out 10.1.0.0/16 10.2.0.0/16 | grep -q "reqid $reqid " ||
	fail "west's trap is back with its reqid $reqid"
wait_for "grep -q 'west: warning: policy out 10.1.0.0/16 -> 10.2.0.0/16 (trap) was removed by another process; putting it back' '$LOG'"
eq "$(state west)" "prospective" "west after its trap was deleted"

# ---- ip xfrm policy update over one of eroute's (no marker) --------------
ip -n "$NS" xfrm policy update dir out src 10.1.0.0/16 dst 10.3.0.0/16 \
	action allow priority 9 || fail "ip xfrm policy update"
wait_for "ours out 10.1.0.0/16 10.3.0.0/16"
pol out 10.1.0.0/16 10.3.0.0/16 | grep -q "priority 9 " &&
	fail "the other process's priority stayed"
wait_for "grep -q 'east: warning: policy out 10.1.0.0/16 -> 10.3.0.0/16 (trap) was overwritten by another process; eroute held it first' '$LOG'"
eq "$(eroute_view)" "$before" "eroute's policies after a delete and an update"

# ---- ip xfrm policy flush: everything back, foreign ones left alone ------
ip -n "$NS" xfrm policy flush || fail "ip xfrm policy flush"
wait_for "grep -q 'resync: .* put back' '$LOG'"
wait_for "[ \"\$(eroute_view)\" = \"\$before\" ]"
# The ICMPv6 neighbour-discovery bypass is the backend's: back too.
wait_for "ip -n '$NS' xfrm policy | grep -q 'type 135'"
eq "$(ip -n "$NS" xfrm policy | grep -c 'type 13[56]')" "6" "the ND bypass after the flush"
grep -q "resync: 0 policies as they were, 5 put back" "$LOG" ||
	fail "the flush's resync: $(grep 'resync:' "$LOG")"
# The foreign policy went with the flush; eroute does not bring it back.
[ -z "$(pol out 10.70.0.0/16 10.80.0.0/16)" ] || fail "eroute restored a foreign policy"
eq "$(state west) $(state east)" "prospective prospective" "states after the flush"

# Foreign policies added after the flush are untouched, by the events and
# by another resync (ip xfrm state flush: FLUSHSA is a resync too).
monitor "$TMP/mon"
ip -n "$NS" xfrm policy add src 10.71.0.0/16 dst 10.81.0.0/16 dir out \
	action block priority 7
ip -n "$NS" xfrm policy add src 10.81.0.0/16 dst 10.71.0.0/16 dir in \
	action allow priority 7
foreign_after=$(ip -n "$NS" xfrm policy | grep -A2 "10\.71\.\|10\.81\.")
# The kernel announces a flush only when it removed something.
ip -n "$NS" xfrm state allocspi src 192.0.2.10 dst 198.51.100.99 proto esp \
	>/dev/null || fail "ip xfrm state allocspi"
: >"$LOG"
ip -n "$NS" xfrm state flush || fail "ip xfrm state flush"
wait_for "grep -q 'resync: ' '$LOG'"
grep -q "resync: 5 policies as they were, 0 put back, 0 corrected, 0 overwritten by another process put back, 0 deleted, 2 foreign left alone; 0 SAs gone" "$LOG" ||
	fail "the state flush's resync: $(grep 'resync:' "$LOG")"
unmonitor
eq "$(ip -n "$NS" xfrm policy | grep -A2 "10\.71\.\|10\.81\.")" "$foreign_after" \
	"foreign policies added after the flush"
# What the kernel saw after the two foreign adds: nothing.
eq "$(grep -c '^src\|^Deleted\|^Updated' "$TMP/mon")" "2" \
	"policy changes during the state flush's resync (ip xfrm monitor)"
eq "$(eroute_view)" "$before" "eroute's policies after the state flush"
count_now=$(ip -n "$NS" xfrm policy count)
[ "$count_now" != "$count_before" ] || fail "the count should include the two foreign policies"

# ---- ownership at restart: a journalled policy another process replaced --
er unroute east >/dev/null || fail "unroute east"
crash
grep -q "^P out 10.1.0.0/16 10.2.0.0/16 " "$TMP/state/journal" ||
	fail "west's trap is in the journal"
head -1 "$TMP/state/journal" | grep -q "^B $(cat /proc/sys/kernel/random/boot_id)$" ||
	fail "the journal names this boot"
# While erouted is down another process takes west's identity over.
ip -n "$NS" xfrm policy update dir out src 10.1.0.0/16 dst 10.2.0.0/16 \
	action block priority 3 || fail "ip xfrm policy update while down"
theirs=$(pol out 10.1.0.0/16 10.2.0.0/16)
monitor "$TMP/mon-restart"
: >"$LOG"
start
wait_for "grep -q 'restart: .* adopted' '$LOG'"
unmonitor
grep -q "warning: restart: policy out 10.1.0.0/16 -> 10.2.0.0/16 is in the journal but carries no eroute marker: another process replaced it while erouted was down; it is theirs, left alone" "$LOG" ||
	fail "the restart does not say it leaves the replaced policy alone"
grep -q "west: .*policy out 10.1.0.0/16 -> 10.2.0.0/16 belongs to another IPsec daemon" "$LOG" ||
	fail "west's collision is not said"
eq "$(state west)" "unrouted" "west over the other process's policy"
eq "$(pol out 10.1.0.0/16 10.2.0.0/16)" "$theirs" "the other process's policy after the restart"
grep -q "10\.1\.0\.0/16 dst 10\.2\.0\.0/16" "$TMP/mon-restart" &&
	fail "the restart touched the other process's policy (ip xfrm monitor)"
ours out 192.0.2.10/32 198.51.100.66/32 || fail "the drop shunt was adopted"
stop
eq "$(pol out 10.1.0.0/16 10.2.0.0/16)" "$theirs" "the other process's policy after shutdown"

echo PASS
