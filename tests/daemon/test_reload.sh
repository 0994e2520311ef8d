#!/bin/bash
# SPDX-License-Identifier: MIT
# Reload: added, removed and changed connections; a broken file changes
# nothing; SIGHUP does the same as eroute reload.
. "$(dirname "$0")/lib.sh"

net_to_net_conf route
start
eq "$(state west)" "prospective" "west routed at start"
er sim packet 10.1.0.5 10.2.0.7 >/dev/null
er sim negotiate west ok >/dev/null
eq "$(state west)" "tunnel" "west up"
policies_before=$(erj policy list)

# A broken file: every error reported, nothing changes.
cp "$CONF" "$TMP/good.conf"
cat >>"$CONF" <<'CONF'

conn broken
	left=192.0.2.10
	right=198.51.100.99
	bogus-keyword=1
	keyingtries=many
CONF
exits 1 er reload
grep -q "eroute.conf:[0-9]*: .*bogus-keyword" "$TMP/err" || fail "reload error names file, line, keyword: $(cat "$TMP/err")"
grep -q "running configuration stays" "$TMP/err" || fail "reload says nothing changed"
eq "$(erj policy list)" "$policies_before" "a broken reload changed the policies"
eq "$(state west)" "tunnel" "west still up after a broken reload"
grep -q "keyingtries" "$LOG" || fail "every error is logged"

# Add one, remove one, change one, leave one alone.
cat >"$CONF" <<'CONF'
conn %default
	left=192.0.2.10
	keyingtries=1

conn west
	right=198.51.100.20
	leftsubnet=10.1.0.0/16
	rightsubnet=10.2.0.0/16
	auto=route
	failureshunt=drop
	retransmit-timeout=30s

conn oe
	right=%opportunisticgroup
	rightsubnet=203.0.113.0/24
	authby=null
	auto=ondemand
	failureshunt=drop

conn east
	right=198.51.100.30
	leftsubnet=10.1.0.0/16
	rightsubnet=10.3.0.0/16
	auto=route
CONF
exits 0 erj reload
eq "$(jq -c . "$TMP/out")" '{"added":["east"],"removed":["clear"],"changed":["oe"]}' "reload result"
eq "$(state west)" "tunnel" "an unchanged connection is untouched"
eq "$(state east)" "prospective" "added"
eq "$(state clear)" "" "removed"
eq "$(state oe)" "prospective" "changed, still routed"
eq "$(erj policy list | jq -r '[.[] | select(.owner == "clear")] | length')" "0" "removed policies"
exits 0 er reload
grep -q "added: none" "$TMP/out" || fail "a second reload changes nothing: $(cat "$TMP/out")"

# SIGHUP reloads too.
cp "$TMP/good.conf" "$CONF"
kill -HUP "$DPID"
for _ in $(seq 100); do
	[ "$(state clear)" = "never-negotiate" ] && break
	sleep 0.02
done
eq "$(state clear)" "never-negotiate" "SIGHUP reload"
eq "$(state east)" "" "SIGHUP removed east"
# Broken and hostile files on SIGHUP: each is logged with FILE:LINE, and
# the running configuration stays -- connections, routing, policies, SAs
# and shunts exactly as they were.
er sim packet 10.1.0.5 10.2.0.7 >/dev/null
er sim negotiate west ok >/dev/null
eq "$(state west)" "tunnel" "west up before the broken reloads"
er sim packet 192.0.2.10 203.0.113.9 >/dev/null
er sim negotiate "oe#203.0.113.9/32" fail >/dev/null
snapshot() {
	erj status
	erj policy list
	erj sa list
	erj shunt list
}
before=$(snapshot)
[ "$(erj shunt list | jq length)" -ge 1 ] || fail "a failure shunt to keep"
[ "$(erj sa list | jq length)" -ge 2 ] || fail "SAs to keep"
cp "$CONF" "$TMP/good.conf"
nfailed=0
# hup_broken PATTERN: SIGHUP; the failure and PATTERN are logged, nothing
# changes.
hup_broken() {
	nfailed=$((nfailed + 1))
	kill -HUP "$DPID"
	for _ in $(seq 250); do
		[ "$(grep -c "reload failed" "$LOG")" -ge $nfailed ] && break
		sleep 0.02
	done
	[ "$(grep -c "reload failed" "$LOG")" -ge $nfailed ] || fail "SIGHUP with a broken file is logged ($1)"
	grep -Eq -- "$1" "$LOG" || fail "SIGHUP: no '$1' in the log"
	eq "$(snapshot)" "$before" "SIGHUP with a broken file ($1) changed something"
}
{ cat "$TMP/good.conf"; printf 'conn x\n\tnonsense\n'; } >"$CONF"
hup_broken "reload: $CONF:[0-9]+: \"nonsense\": expected keyword=value"
{ cat "$TMP/good.conf"; printf 'conn west2\n\tleft=192.0.2.10\n\tright=198.51.100.21\n\tauto=route\n\tkeyingtries=many\n'; } >"$CONF"
hup_broken "reload: $CONF:[0-9]+: keyingtries=many: not a number"
# An include loop, a missing include, a 100 MB include, binary data.
{ cat "$TMP/good.conf"; echo "include $CONF"; } >"$TMP/loop.conf"
cp "$TMP/loop.conf" "$CONF"
hup_broken "reload: $CONF:[0-9]+: include $CONF: include loop"
{ cat "$TMP/good.conf"; echo "include $TMP/nowhere.conf"; } >"$CONF"
hup_broken "reload: $CONF:[0-9]+: include $TMP/nowhere.conf: cannot open"
truncate -s 100M "$TMP/huge.conf"
{ cat "$TMP/good.conf"; echo "include $TMP/huge.conf"; } >"$CONF"
hup_broken "reload: $CONF:[0-9]+: include $TMP/huge.conf: 104857600 bytes"
rm -f "$TMP/huge.conf"
{ cat "$TMP/good.conf"; head -c 4096 "$EROUTED"; } >"$CONF"
hup_broken "reload: $CONF:[0-9]+: (binary data|control character|invalid UTF-8)"
# The good file again: the reload finds nothing to change.
cp "$TMP/good.conf" "$CONF"
exits 0 erj reload
eq "$(jq -c . "$TMP/out")" '{"added":[],"removed":[],"changed":[]}' "the configuration in force is the good one"
eq "$(snapshot)" "$before" "reloading the same file changed something"
stop
echo PASS
