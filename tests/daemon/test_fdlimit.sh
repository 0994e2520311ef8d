#!/bin/bash
# SPDX-License-Identifier: MIT
# erouted at its limits: out of file descriptors (its limit lowered with
# prlimit), a newcomer gets one EMFILE error line and is closed -- erouted
# neither crashes nor spins; at its client limit, a newcomer gets EBUSY,
# and the last places are kept for privileged peers.  When the crowd goes,
# everything answers again.
. "$(dirname "$0")/lib.sh"
: "${STORM:?path to storm}"

net_to_net_conf route
start
chmod 0755 "$TMP"
chmod 0666 "$SOCK"
before=$(erj policy list)
cpu() { awk '{ print $14 + $15 }' "/proc/$DPID/stat"; }

# Room for 20 clients more than erouted has open now (the soft limit only:
# raising it again needs no privilege).
soft=$(prlimit --pid "$DPID" --nofile --output SOFT --noheadings)
[ "$soft" -ge 2200 ] || fail "erouted's file limit is $soft, not raised for 2048 clients"
nfd=$(ls "/proc/$DPID/fd" | wc -l)
prlimit --pid "$DPID" --nofile=$((nfd + 20)): || fail "prlimit"
# Held until told to go.
"$STORM" --socket "$SOCK" --hold 60 --seconds 120 >"$TMP/hold.json" 2>"$TMP/hold.err" &
hpid=$!
for _ in $(seq 500); do
	[ "$(ls "/proc/$DPID/fd" | wc -l)" -ge $((nfd + 20)) ] && break
	sleep 0.02
done
# At the limit, a newcomer is told so, over and over, and erouted does not
# spin doing it.
c0=$(cpu)
for _ in $(seq 10); do
	out=$(timeout 5 "$EROUTE" --socket "$SOCK" status 2>&1)
	[ $? -eq 1 ] || fail "status at the fd limit did not fail: $out"
	echo "$out" | grep -q "out of file descriptors" || fail "status at the fd limit: $out"
	sleep 0.2
done
c1=$(cpu)
[ $((c1 - c0)) -le 50 ] || fail "erouted used $((c1 - c0)) ticks in 2 s at its fd limit"
kill -0 "$DPID" || fail "erouted died at its fd limit"
kill -TERM "$hpid"
wait "$hpid" || fail "holders: $(cat "$TMP/hold.err")"
h=$TMP/hold.json
echo "fd limit: $(jq -c '{held, refused_emfile, refused_other, hold_dropped}' "$h")"
[ "$(jq .held "$h")" -ge 10 ] || fail "few clients held: $(cat "$h")"
[ "$(jq .refused_emfile "$h")" -ge 30 ] || fail "few EMFILE refusals: $(cat "$h")"
eq "$(jq .held+.refused_emfile "$h")" "60" "every holder answered or refused"
grep -q "refused: erouted is out of file descriptors" "$LOG" || fail "EMFILE not logged"
exits 0 er status

# The client limit: 2000 privileged clients fit; then an unprivileged one
# is refused (the last 64 places are not for it), root still gets in, and
# past 2048 everybody is refused.
prlimit --pid "$DPID" --nofile="$soft": || fail "prlimit"
"$STORM" --socket "$SOCK" --hold 2000 --seconds 120 >"$TMP/many.json" 2>"$TMP/many.err" &
mpid=$!
for _ in $(seq 100); do
	[ "$(ls "/proc/$DPID/fd" | wc -l)" -ge 2000 ] && break
	sleep 0.1
done
sleep 1
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$EROUTE" --socket "$SOCK" status 2>&1)
[ $? -eq 1 ] || fail "an unprivileged client past the limit got in: $out"
echo "$out" | grep -q "too many clients" || fail "unprivileged past the limit: $out"
exits 0 er status
"$STORM" --socket "$SOCK" --hold 100 --seconds 3 >"$TMP/more.json" 2>"$TMP/more.err" ||
	fail "more holders: $(cat "$TMP/more.err")"
kill -TERM "$mpid"
wait "$mpid" || fail "holders: $(cat "$TMP/many.err")"
echo "client limit: 2000 held: $(jq -c '{held, refused_ebusy}' "$TMP/many.json");" \
	"100 more: $(jq -c '{held, refused_ebusy}' "$TMP/more.json")"
eq "$(jq .held "$TMP/many.json")" "2000" "2000 clients held"
eq "$(jq .held "$TMP/more.json")" "48" "privileged clients up to the limit"
eq "$(jq .refused_ebusy "$TMP/more.json")" "52" "clients past the limit refused"
grep -q "refused: too many clients" "$LOG" || fail "EBUSY not logged"

exits 0 er status
eq "$(erj policy list)" "$before" "nothing changed"
stop
echo PASS
