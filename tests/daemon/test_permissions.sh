#!/bin/bash
# SPDX-License-Identifier: MIT
# Who may do what.  The socket is 0660 in erouted's group or
# --socket-group's; the journal is 0600 and holds no keys.  A peer that is
# not root and not in the socket's group may look (once the socket is
# opened to it) but every command that changes something is refused with
# EPERM naming the command and the uid, and nothing changes; a peer in the
# socket's group, as its primary or a supplementary group, may change
# things.
. "$(dirname "$0")/lib.sh"

NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
# A group number no user has: the kernel checks numbers, not names.
GID=$((40000 + $$ % 20000))

net_to_net_conf route
start
chmod 0755 "$TMP"
eq "$(stat -c %a "$SOCK")" "660" "socket mode"
eq "$(stat -c %g "$SOCK")" "$(id -g)" "socket group: erouted's own"

# Keys reach the kernel but never the journal, the log or a listing.
KEY=00112233445566778899aabbccddeeff
raw "{\"cmd\":\"sa-group\",\"name\":\"west\",\"spi_out\":\"0x5000\",\"enc_alg\":\"aes\",\"enc_key_out\":\"$KEY\",\"enc_key_in\":\"$KEY\"}" |
	jq -e .ok >/dev/null || fail "sa-group"
eq "$(state west)" "tunnel" "west up as responder"
eq "$(stat -c %a "$TMP/journal")" "600" "journal mode"
grep -q "west" "$TMP/journal" || fail "the journal does not name its owners"
! grep -qi "$KEY" "$TMP/journal" "$LOG" || fail "a key was written down"
! erj sa list | grep -qi "$KEY" || fail "sa list shows a key"
# Every record is an identifier line of the documented form.
awk '!/^(B [0-9a-f-]+|P [a-z]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ [0-9]+ [^ ]+|p [a-z]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+|S [^ ]+ [0-9]+ [0-9a-f]+ [0-9]+ [^ ]+|s [^ ]+ [0-9]+ [0-9a-f]+)$/ { bad = 1; print }
	END { exit bad }' "$TMP/journal" || fail "journal records"

# 0660 keeps everybody else out altogether.
out=$($NOBODY "$EROUTE" --socket "$SOCK" status 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q "Permission denied" || fail "nobody reached a 0660 socket: $out"

# Opened to all: nobody may look...
chmod 0666 "$SOCK"
snapshot() {
	{
		erj policy list
		erj sa list | jq 'map(del(.bytes, .packets))'
		erj shunt list
		erj status | jq '{now, c: [.connections[] | {name, routing, eroute_owner, negotiating, tries}]}'
	} | jq -S -c .
}
before=$(snapshot)
for cmd in status "policy list" "sa list" "shunt list" "trace 10.1.0.1 10.2.0.1" version; do
	# shellcheck disable=SC2086
	out=$($NOBODY "$EROUTE" --socket "$SOCK" --json $cmd 2>&1) || fail "nobody cannot $cmd: $out"
done
echo '{"cmd":"monitor"}' | $NOBODY socat -t 1 - UNIX-CONNECT:"$SOCK" | head -1 |
	jq -e .ok >/dev/null || fail "nobody cannot monitor"

# ... but not touch, through eroute ...
for cmd in "route west" "unroute west" "up west" "down west" "up oe" reload \
	"sim packet 10.1.0.1 10.2.0.1" "sim advance 10h" "sim negotiate west ok"; do
	name=$(echo "$cmd" | awk '{ print ($1 == "sim" ? "sim-" $2 : $1) }')
	# shellcheck disable=SC2086
	out=$($NOBODY "$EROUTE" --socket "$SOCK" $cmd 2>&1)
	[ $? -eq 1 ] || fail "nobody's $cmd did not fail: $out"
	eq "$out" "eroute: $name: permission denied (uid 65534 is not root and not in the socket's group)" "nobody's $cmd"
done
# ... nor on the socket itself, the external negotiator's commands included.
for req in '{"cmd":"negotiator-register"}' \
	'{"cmd":"negotiation-result","id":1,"ok":false}' \
	'{"cmd":"negotiation-result","id":1,"ok":true,"spi_out":"0x1234"}' \
	'{"cmd":"sa-group","name":"west","spi_out":"0x1234"}' \
	'{"cmd":"route","name":"no-such-connection"}' \
	'{"cmd":"sim-advance","seconds":"soon"}'; do
	ans=$(echo "$req" | $NOBODY socat -t 2 - UNIX-CONNECT:"$SOCK")
	name=$(echo "$req" | jq -r .cmd)
	eq "$(echo "$ans" | jq -r .error.code)" "EPERM" "nobody's $req"
	echo "$ans" | jq -r .error.message | grep -q "^$name: permission denied (uid 65534 " ||
		fail "nobody's $req: $ans"
done
eq "$(snapshot)" "$before" "nothing changed by the unprivileged peer"
stop

# The socket's group, chosen with --socket-group, may change things.
chmod 0755 "$TMP"
exits 2 "$EROUTED" --socket-group no-such-group-here -c "$CONF"
grep -q "no group" "$TMP/err" || fail "unknown group: $(cat "$TMP/err")"
start --socket-group users
eq "$(stat -c %G "$SOCK")" "users" "socket group by name"
stop
start --socket-group "$GID"
eq "$(stat -c %a "$SOCK")" "660" "socket mode with a group"
eq "$(stat -c %g "$SOCK")" "$GID" "socket group by number"
# Not opened to others: the group's members reach it through its mode.
out=$($NOBODY "$EROUTE" --socket "$SOCK" status 2>&1)
[ $? -eq 1 ] || fail "a non-member reached the socket: $out"
SUPP="setpriv --reuid=65534 --regid=65534 --groups=$GID"
PRIM="setpriv --reuid=65534 --regid=$GID --clear-groups"
out=$($SUPP "$EROUTE" --socket "$SOCK" unroute west 2>&1) || fail "a supplementary member cannot unroute: $out"
eq "$(state west)" "unrouted" "unrouted by a member"
out=$($PRIM "$EROUTE" --socket "$SOCK" route west 2>&1) || fail "a primary member cannot route: $out"
eq "$(state west)" "prospective" "routed by a member"
out=$($SUPP "$EROUTE" --socket "$SOCK" sim advance 1m 2>&1) || fail "a member cannot advance: $out"
eq "$(erj status | jq .now)" "61" "the clock moved"
stop
echo PASS
