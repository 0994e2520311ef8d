#!/bin/bash
# SPDX-License-Identifier: MIT
# erouted's life: --check, a socket already in use, the socket's mode,
# SIGTERM shutdown.
. "$(dirname "$0")/lib.sh"

net_to_net_conf
exits 0 "$EROUTED" --check -c "$CONF"
grep -q "configuration OK (3 connections)" "$TMP/out" || fail "--check OK: $(cat "$TMP/out")"
printf 'conn bad\n\tleft=10.0.0.1\n\tright=10.0.0.2\n\tauto=sometimes\n' >"$TMP/bad.conf"
exits 1 "$EROUTED" --check -c "$TMP/bad.conf"
grep -q "bad.conf:4: auto=sometimes" "$TMP/err" || fail "--check names FILE:LINE: $(cat "$TMP/err")"
exits 1 "$EROUTED" --check -c "$TMP/missing.conf"
grep -q "missing.conf" "$TMP/err" || fail "--check of a missing file"

start
eq "$(stat -c %a "$SOCK")" "660" "socket mode"
# The journal: identifiers of what was installed, private to root.
eq "$(stat -c %a "$TMP/journal")" "600" "journal mode"
er route west >/dev/null
grep -q "^P out 10.1.0.0/16 10.2.0.0/16 0 0-65535 0-65535 [0-9]* west$" "$TMP/journal" ||
	fail "west's trap is journalled: $(cat "$TMP/journal")"
er unroute west >/dev/null
# A second erouted on the same socket refuses to start.
exits 1 "$EROUTED" -f -c "$CONF" --clock manual --socket "$SOCK" --state-dir "$TMP"
grep -q "another erouted is listening" "$TMP/err" || fail "socket in use: $(cat "$TMP/err")"
exits 0 er status
# The manual clock only moves by hand.
eq "$(erj status | jq .now)" "1" "manual clock"
sleep 1.1
eq "$(erj status | jq .now)" "1" "manual clock still"
stop
grep -q "removing eroute's policies" "$LOG" || fail "clean shutdown"

# The real clock, with a stale socket file left by a crash.
: >"$SOCK"
"$EROUTED" -f -c "$CONF" --socket "$SOCK" --state-dir "$TMP" >>"$LOG" 2>&1 &
DPID=$!
for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.02; done
exits 0 er status
exits 1 er sim advance 1m
grep -q "only with the manual clock" "$TMP/err" || fail "advance on the real clock"
stop

# A signal while erouted is still starting (the socket is there, the
# connections are still being added) is not lost and does not kill it:
# SIGHUP reloads once the start is done.
cp "$CONF" "$TMP/small.conf"
for i in $(seq 0 1999); do
	printf 'conn c%d\n\tleft=192.0.2.10\n\tright=198.51.100.%d\n\tleftsubnet=10.100.%d.%d/32\n\trightsubnet=10.200.%d.%d/32\n\tauto=route\n\n' \
		"$i" $((i % 250 + 1)) $((i / 250)) $((i % 250)) $((i / 250)) $((i % 250))
done >>"$CONF"
: >"$LOG"
"$EROUTED" -f -c "$CONF" --clock manual --socket "$SOCK" --state-dir "$TMP/big" \
	>>"$LOG" 2>&1 &
DPID=$!
for _ in $(seq 2000); do [ -S "$SOCK" ] && break; sleep 0.001; done
kill -HUP "$DPID"
for _ in $(seq 250); do grep -q "reloaded" "$LOG" && break; sleep 0.02; done
kill -0 "$DPID" 2>/dev/null || fail "a SIGHUP during the start killed erouted"
grep -q "reloaded .*: 0 added, 0 removed, 0 changed" "$LOG" || fail "the SIGHUP during the start was lost"
stop
cp "$TMP/small.conf" "$CONF"

# SIGINT shuts down cleanly too.
: >"$LOG"
start
kill -INT "$DPID"
wait "$DPID"
rc=$?
DPID=""
eq "$rc" "0" "exit status after SIGINT"
grep -q "signal 2: shutting down" "$LOG" || fail "SIGINT logged"
grep -q "removing eroute's policies" "$LOG" || fail "SIGINT: clean shutdown"
[ ! -e "$SOCK" ] || fail "SIGINT left the socket behind"

# EROUTE_SOCKET is the default socket of both programs.
EROUTE_SOCKET=$TMP/env.sock "$EROUTED" -f -c "$CONF" --clock manual \
	--state-dir "$TMP" >>"$LOG" 2>&1 &
DPID=$!
for _ in $(seq 200); do [ -S "$TMP/env.sock" ] && break; sleep 0.02; done
[ -S "$TMP/env.sock" ] || fail "erouted did not listen on \$EROUTE_SOCKET"
EROUTE_SOCKET=$TMP/env.sock "$EROUTE" status >"$TMP/out" 2>&1 ||
	fail "eroute did not use \$EROUTE_SOCKET: $(cat "$TMP/out")"
SOCK=$TMP/env.sock
stop
# --clock manual is for the simulated kernel only.
exits 2 "$EROUTED" -f -c "$CONF" --clock manual --kernel xfrm
grep -q -- "--clock manual needs --kernel sim" "$TMP/err" || fail "manual clock on xfrm"
echo PASS
