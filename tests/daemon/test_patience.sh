#!/bin/bash
# SPDX-License-Identifier: MIT
# erouted's sweep every expire-shunt-interval: a bare pass shunt no packet
# has used for 7.5 sweeps goes before its shuntlifetime (reference 001's
# SHUNT_PATIENCE); one in use stays.
. "$(dirname "$0")/lib.sh"

cat >"$CONF" <<'CONF'
config setup
	shuntlifetime=15m
	expire-shunt-interval=20s

conn oe
	left=192.0.2.10
	right=%opportunisticgroup
	rightsubnet=203.0.113.0/24
	authby=null
	auto=ondemand
	keyingtries=1
	failureshunt=passthrough
CONF
start
for peer in 203.0.113.1 203.0.113.2; do
	er sim packet 192.0.2.10 $peer tcp 1 443 >/dev/null
	er sim negotiate "oe#$peer/32" fail >/dev/null || fail "fail $peer"
done
eq "$(erj shunt list | jq -c 'map(.dst)')" '["203.0.113.1/32","203.0.113.2/32"]' "two bare pass shunts"
er sim advance 100 >/dev/null
eq "$(erj sim packet 192.0.2.10 203.0.113.1 tcp 1 443 | jq -r .verdict)" "pass" "through the first shunt"
# 160 s: past 7.5 sweeps of 20 s for the idle one, long before 15 minutes.
er sim advance 60 >/dev/null
eq "$(erj shunt list | jq -c 'map(.dst)')" '["203.0.113.1/32"]' "the idle shunt went early"
grep -q "rescan: 1 idle bare pass shunts removed" "$LOG" || fail "the sweep says so"
eq "$(erj sim packet 192.0.2.10 203.0.113.2 tcp 1 443 | jq -r .verdict)" "trap" "the idle peer traps again"
stop
echo PASS
