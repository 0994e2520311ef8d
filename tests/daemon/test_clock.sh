#!/bin/bash
# SPDX-License-Identifier: MIT
# A clock jump: with --clock manual, "eroute sim advance 10h" at once, over
# expiries of every kind -- larval SAs (xfrmlifetime), retransmit timeouts,
# failure shunts, a bare shunt (shuntlifetime), an SA's soft and hard
# lifetimes, and what each of them starts.  Every expiry fires exactly
# once, at its own time, in time order (the monitor's events say so), and
# the end state is the one a clock ticking every second reaches.
. "$(dirname "$0")/lib.sh"

cat >"$CONF" <<CONF
config setup
	shuntlifetime=15m
	xfrmlifetime=30s
	# Sweeps hourly: idle bare pass shunts live to their lifetime here.
	expire-shunt-interval=1h

conn %default
	left=192.0.2.10
	keyingtries=1

conn west
	right=198.51.100.20
	leftsubnet=10.1.0.0/16
	rightsubnet=10.2.0.0/16
	auto=route
	failureshunt=drop
	retransmit-timeout=2m

conn oe
	right=%opportunisticgroup
	rightsubnet=203.0.113.0/24
	authby=null
	auto=ondemand
	failureshunt=passthrough
	retransmit-timeout=5m

conn sa
	right=198.51.100.30
	leftsubnet=10.3.0.0/16
	rightsubnet=10.4.0.0/16
	auto=route
	failureshunt=drop
	salifetime=1h
	rekeymargin=10m
	retransmit-timeout=3h
CONF
start
# A monitor, subscribed once its first line (the answer) is there.
MON=$TMP/monitor
mkfifo "$TMP/monitor.in"
socat - UNIX-CONNECT:"$SOCK" <"$TMP/monitor.in" >"$MON" &
mpid=$!
exec 3>"$TMP/monitor.in"
echo '{"cmd":"monitor"}' >&3
for _ in $(seq 250); do
	[ -s "$MON" ] && break
	sleep 0.02
done
jq -e .ok "$MON" >/dev/null || fail "monitor"

# At 1: sa up; west and a peer of oe negotiating, each with a larval SA.
er sim packet 10.3.0.1 10.4.0.1 >/dev/null
er sim negotiate sa ok >/dev/null
er sim packet 10.1.0.1 10.2.0.1 >/dev/null
er sim packet 192.0.2.10 203.0.113.5 >/dev/null
eq "$(state sa)" "tunnel" "sa up"
eq "$(erj sa list | jq '[.[] | select(.state == "larval")] | length')" "2" "larval SAs"
mark=$(wc -l <"$MON")

eq "$(erj sim advance 10h | jq .now)" "36001" "the clock after the jump"
# The advance's answer comes after all it caused was published.
sleep 0.3
exec 3>&-
kill "$mpid"
wait "$mpid" 2>/dev/null
tail -n +$((mark + 1)) "$MON" >"$TMP/after"

# In time order, and each on its own second.
jq -s -e '[.[].time] as $t | $t == ($t | sort)' "$TMP/after" >/dev/null ||
	fail "events out of time order: $(jq -c '[.time, .conn, .event, .new // .text]' "$TMP/after")"
# one JQ-FILTER TIME: exactly one event matches, at TIME.
one() {
	got=$(jq -c "select($1) | .time" "$TMP/after" | tr '\n' ' ')
	[ "$got" = "$2 " ] ||
		fail "$1: at '$got', expected once at $2; the events: $(jq -c '[.time, .conn, .event, .old, .new, .text]' "$TMP/after")"
}
one '.conn == "west" and .event == "log" and (.text | test("larval expired"))' 31
one '.conn == "oe#203.0.113.5/32" and .event == "log" and (.text | test("larval expired"))' 31
one '.conn == "west" and .event == "log" and (.text | test("retransmit timeout"))' 121
one '.conn == "west" and .event == "state" and .new == "failure"' 121
one '.conn == "oe#203.0.113.5/32" and .event == "instance-deleted"' 301
one '.conn == "west" and .event == "state" and .old == "failure" and .new == "prospective"' 1021
one '.event == "log" and (.text | test("^bare shunt 192.0.2.10/32.*203.0.113.5/32.* expired"))' 1201
one '.conn == "sa" and .event == "log" and (.text | test("soft expired"))' 3001
one '.conn == "sa" and .event == "negotiate" and .rekey' 3001
one '.conn == "sa" and .event == "log" and (.text | test("hard expired"))' 3601
one '.conn == "sa" and .event == "state" and .old == "tunnel" and .new == "routed-hold"' 3601
one '.conn == "sa" and .event == "state" and .new == "failure"' 13801
one '.conn == "sa" and .event == "state" and .old == "failure" and .new == "prospective"' 14701

# The end: traps everywhere, nothing pending, nothing left over.
eq "$(state west)" "prospective" "west"
eq "$(state oe)" "prospective" "oe"
eq "$(state sa)" "prospective" "sa"
eq "$(erj status | jq '.connections | length')" "3" "no instance left"
eq "$(erj shunt list | jq length)" "0" "no bare shunt left"
eq "$(erj sa list | jq length)" "0" "no SA left"
eq "$(erj policy list | jq -c '[.[] | select(.dir == "out") | .action] | unique')" '["trap"]' "only traps"
# Nothing is due any more: another hour changes nothing.
before=$(erj policy list)
erj sim advance 1h >/dev/null
eq "$(erj policy list)" "$before" "an hour later"
stop
echo PASS
