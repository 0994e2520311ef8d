#!/bin/bash
# SPDX-License-Identifier: MIT
# The updown hook: verbs in libreswan's order, PLUTO_* variables, one call
# at a time per connection; a script that hangs, crashes, fails, prints
# megabytes or leaves a writer behind is killed or drained, logged with its
# connection and status, and stalls neither erouted nor its connection's
# later calls.
. "$(dirname "$0")/lib.sh"

REC=$TMP/updown.log
cat >"$TMP/updown.sh" <<SH
#!/bin/sh
echo "\$PLUTO_VERB \$PLUTO_CONNECTION me=\$PLUTO_ME peer=\$PLUTO_PEER my=\$PLUTO_MY_CLIENT net=\$PLUTO_MY_CLIENT_NET mask=\$PLUTO_MY_CLIENT_MASK peerc=\$PLUTO_PEER_CLIENT pmask=\$PLUTO_PEER_CLIENT_MASK reqid=\$PLUTO_REQID stack=\$PLUTO_STACK type=\$PLUTO_CONNECTION_TYPE proto=\$PLUTO_MY_PROTOCOL port=\$PLUTO_PEER_PORT" >>"$REC"
env | grep '^PLUTO_' | sort >"$TMP/env.\$PLUTO_VERB.\$PLUTO_CONNECTION"
SH
chmod +x "$TMP/updown.sh"
cat >"$TMP/slow.sh" <<'SH'
#!/bin/sh
sleep 60
SH
cat >"$TMP/bad.sh" <<'SH'
#!/bin/sh
head -c 2000000 /dev/zero | tr '\0' 'x'
echo
exit 3
SH
# One script, a different fault per call, each call recorded first: hang,
# crash, megabytes on both outputs and a failure, a writer left behind.
cat >"$TMP/wild.sh" <<SH
#!/bin/sh
echo "\$PLUTO_VERB" >>"$TMP/wild.rec"
n=\$(wc -l <"$TMP/wild.rec")
case \$n in
1) sleep 60 ;;
2) kill -SEGV \$\$ ;;
3) head -c 20000000 /dev/zero | tr '\\0' 'o'; head -c 20000000 /dev/zero | tr '\\0' 'e' >&2; exit 4 ;;
4) yes & exit 0 ;;
esac
SH
chmod +x "$TMP/slow.sh" "$TMP/bad.sh" "$TMP/wild.sh"
cat >"$CONF" <<CONF
conn west
	left=192.0.2.10
	right=198.51.100.20
	leftsubnet=10.1.0.0/16
	rightsubnet=10.2.0.0/16
	leftupdown=$TMP/updown.sh
	auto=add

conn host
	left=192.0.2.10
	right=198.51.100.21
	leftprotoport=tcp
	rightprotoport=tcp/443
	leftupdown=$TMP/updown.sh
	auto=add

conn v6
	left=2001:db8::1
	right=2001:db8::2
	leftsubnet=2001:db8:1::/48
	rightsubnet=2001:db8:2::/48
	leftupdown=$TMP/updown.sh
	auto=add

conn slow
	left=192.0.2.10
	right=198.51.100.22
	leftupdown=$TMP/slow.sh
	auto=add

conn bad
	left=192.0.2.10
	right=198.51.100.23
	leftupdown=$TMP/bad.sh
	auto=add

conn wild
	left=192.0.2.10
	right=198.51.100.24
	leftupdown=$TMP/wild.sh
	auto=add
CONF
start --updown-timeout 2

wait_lines() {
	for _ in $(seq 250); do
		[ -f "$REC" ] && [ "$(wc -l <"$REC")" -ge "$1" ] && return 0
		sleep 0.02
	done
	fail "expected $1 updown calls, got $(cat "$REC" 2>/dev/null)"
}

er route west >/dev/null
er sim packet 10.1.0.1 10.2.0.1 >/dev/null
er sim negotiate west ok >/dev/null
er down west >/dev/null
er unroute west >/dev/null
wait_lines 5
eq "$(cut -d' ' -f1-2 "$REC" | tr '\n' ',')" \
	"prepare-client west,route-client west,up-client west,down-client west,unroute-client west," \
	"verbs in order"
line=$(head -1 "$REC")
reqid=$(erj status | jq -r '.connections[] | select(.name == "west") | .reqid')
eq "$line" "prepare-client west me=192.0.2.10 peer=198.51.100.20 my=10.1.0.0/16 net=10.1.0.0 mask=255.255.0.0 peerc=10.2.0.0/16 pmask=255.255.0.0 reqid=$reqid stack=sim type=tunnel proto=0 port=0" "variables"

: >"$REC"
er route host >/dev/null
wait_lines 2
eq "$(head -1 "$REC" | cut -d' ' -f1)" "prepare-host" "host-to-host verb"
grep -q "proto=6 port=443" "$REC" || fail "protocol and port: $(cat "$REC")"
# Every variable issue 4 lists, and nothing else.
reqid=$(erj status | jq -r '.connections[] | select(.name == "host") | .reqid')
eq "$(cat "$TMP/env.route-host.host")" "PLUTO_CONNECTION=host
PLUTO_CONNECTION_TYPE=tunnel
PLUTO_ME=192.0.2.10
PLUTO_MY_CLIENT=192.0.2.10/32
PLUTO_MY_CLIENT_MASK=255.255.255.255
PLUTO_MY_CLIENT_NET=192.0.2.10
PLUTO_MY_PORT=0
PLUTO_MY_PROTOCOL=6
PLUTO_PEER=198.51.100.21
PLUTO_PEER_CLIENT=198.51.100.21/32
PLUTO_PEER_CLIENT_MASK=255.255.255.255
PLUTO_PEER_CLIENT_NET=198.51.100.21
PLUTO_PEER_PORT=443
PLUTO_PEER_PROTOCOL=6
PLUTO_PROTO=esp
PLUTO_REQID=$reqid
PLUTO_STACK=sim
PLUTO_VERB=route-host
PLUTO_VERSION=2.0" "every PLUTO_ variable"

: >"$REC"
er route v6 >/dev/null
wait_lines 2
eq "$(head -1 "$REC" | cut -d' ' -f1)" "prepare-client-v6" "IPv6 verb"
grep -q "mask=ffff:ffff:ffff::" "$REC" || fail "IPv6 mask: $(cat "$REC")"

# A hanging script is killed after its timeout; erouted answers meanwhile.
er route slow >/dev/null
t0=$(date +%s)
er status >/dev/null || fail "erouted stalled behind a hanging script"
[ $(($(date +%s) - t0)) -le 1 ] || fail "status took too long"
for _ in $(seq 250); do
	grep -q "slow: warning: updown prepare-host: still running after 2s; killed" "$LOG" && break
	sleep 0.02
done
grep -q "slow: warning: updown prepare-host: still running after 2s; killed" "$LOG" || fail "hanging script killed"
# The next call of that connection ran after it.
for _ in $(seq 250); do
	grep -q "slow: warning: updown route-host: still running" "$LOG" && break
	sleep 0.02
done
grep -q "slow: warning: updown route-host: still running" "$LOG" || fail "calls of one connection run in order"

# A script that prints megabytes and fails: logged, bounded, status shown.
er route bad >/dev/null
for _ in $(seq 250); do
	grep -q "bad: warning: updown prepare-host: exit status 3" "$LOG" && break
	sleep 0.02
done
grep -q "bad: warning: updown prepare-host: exit status 3" "$LOG" || fail "exit status logged"
# 4096 bytes a call are logged, in lines of at most 255: 17 lines, 2 calls.
[ "$(grep -c "^bad: updown: " "$LOG")" -le 34 ] || fail "output bounded"
eq "$(state bad)" "prospective" "bad script did not affect routing"

# The wild one: every fault logged with the connection and what happened,
# erouted answering all along, its memory bounded, and the calls still in
# order, one at a time.
if [ "${EROUTE_SANITIZE:-0}" = 1 ]; then RSS_CAP_KB=$((512 * 1024)); else RSS_CAP_KB=$((64 * 1024)); fi
log_has() {
	for _ in $(seq 500); do
		grep -q "$1" "$LOG" && return 0
		er status >/dev/null || fail "erouted stopped answering ($2)"
		sleep 0.02
	done
	fail "$2: no '$1' in the log"
}
er route wild >/dev/null
log_has "wild: warning: updown prepare-host: still running after 2s; killed" "hang"
log_has "wild: warning: updown prepare-host: killed by signal 9" "hang's status"
log_has "wild: warning: updown route-host: exit status 139" "crash (sh reports SIGSEGV as 128 + 11)"
er unroute wild >/dev/null
t0=$(date +%s%N)
log_has "wild: warning: updown unroute-host: exit status 4" "chatty failure"
echo "updown: 40 MB of output drained in $((($(date +%s%N) - t0) / 1000000)) ms"
[ "$(grep -c '^wild: updown: ' "$LOG")" -le 20 ] || fail "chatty output not bounded"
grep -q "^wild: warning: updown unroute-host: [0-9]* more bytes of output not logged" "$LOG" || fail "truncation not logged"
er route wild >/dev/null
for _ in $(seq 500); do
	[ "$(wc -l <"$TMP/wild.rec")" -ge 5 ] && break
	er status >/dev/null || fail "erouted stopped answering behind a writer left running"
	sleep 0.02
done
eq "$(tr '\n' ' ' <"$TMP/wild.rec")" "prepare-host route-host unroute-host prepare-host route-host " "wild calls in order"
exits 0 er status
eq "$(state wild)" "prospective" "wild routed"
peak=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$DPID/status")
echo "updown: erouted VmHWM $peak kB"
[ "$peak" -le "$RSS_CAP_KB" ] || fail "erouted's peak memory $peak kB"

# A clean shutdown, as libreswan's: down for what is up, then unroute for
# what is routed; erouted waits for the calls (a hanging one only to its
# timeout) before it exits.
er route west >/dev/null
er sim packet 10.1.0.1 10.2.0.1 >/dev/null
er sim negotiate west ok >/dev/null
eq "$(state west)" "tunnel" "west up before shutdown"
sleep 0.2
: >"$REC"
stop
eq "$(grep ' west ' "$REC" | cut -d' ' -f1-2 | tr '\n' ',')" "down-client west,unroute-client west," \
	"west at shutdown"
eq "$(grep ' host ' "$REC" | cut -d' ' -f1-2)" "unroute-host host" "host at shutdown"
eq "$(grep ' v6 ' "$REC" | cut -d' ' -f1-2)" "unroute-client-v6 v6" "v6 at shutdown"
grep -q "slow: warning: updown unroute-host: still running after 2s; killed" "$LOG" ||
	fail "a hanging script at shutdown is killed at its timeout"
echo PASS
