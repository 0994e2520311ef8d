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
# A broken file on SIGHUP: logged, nothing changes.
echo "conn x" >>"$CONF"
echo "	nonsense" >>"$CONF"
kill -HUP "$DPID"
for _ in $(seq 100); do
	grep -q "reload failed" "$LOG" && break
	sleep 0.02
done
grep -q "reload failed" "$LOG" || fail "SIGHUP with a broken file is logged"
eq "$(state clear)" "never-negotiate" "SIGHUP with a broken file changed nothing"
stop
echo PASS
