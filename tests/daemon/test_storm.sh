#!/bin/bash
# SPDX-License-Identifier: MIT
# A storm on the control socket: 1000 concurrent clients (900 privileged
# ones sending read-only and garbage requests, 100 unprivileged ones also
# trying every mutating command), plus clients that stall in the middle of
# a line, stream a 100 MB line, or never read their answers.  Meanwhile a
# fresh client's status is answered within 2 s (timed by storm, from its
# first connect attempt to the answer; the real eroute is run too, and
# must work), erouted's memory stays under a cap, and afterwards no
# policy, SA, shunt or state has changed.
# STORM_SECONDS sets the duration (default 20 s, 30 s under the slower
# sanitizer build); it must leave time for the 10 s stall timeout after a
# deaf client's socket has filled.
. "$(dirname "$0")/lib.sh"
: "${STORM:?path to storm}"

LATENCY_MAX_MS=2000
# Peak resident memory: erouted starts at a few MiB; under the sanitizers
# shadow memory and freed memory held in quarantine take more (the
# quarantine is kept small here, or it alone would fill 256 MiB).
if [ "${EROUTE_SANITIZE:-0}" = 1 ]; then
	SECS=${STORM_SECONDS:-30}
	RSS_CAP_KB=$((128 * 1024))
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
else
	SECS=${STORM_SECONDS:-20}
	RSS_CAP_KB=$((64 * 1024))
fi

net_to_net_conf route
start
# Others may connect (and look) too: the unprivileged clients need to.
chmod 0755 "$TMP"
chmod 0666 "$SOCK"

snapshot() {
	{
		erj policy list
		erj sa list
		erj shunt list | jq 'map(del(.expires_in))'
		erj status | jq '[.connections[] | {name, routing, eroute_owner, negotiating, tries}]'
	} | jq -S -c .
}
before=$(snapshot)
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DPID/status"; }
rss_start=$(rss VmRSS)

"$STORM" --socket "$SOCK" --clients 900 --seconds "$SECS" --stall 2 --deaf 3 \
	--huge 100000000 --patience 15 >"$TMP/storm.json" 2>"$TMP/storm.err" &
spid=$!
# The prober is a storm of its own, so that its clock is not the
# storm's busy loop.
"$STORM" --socket "$SOCK" --seconds "$SECS" --probe 0.25 --patience 15 \
	>"$TMP/probe.json" 2>"$TMP/probe.err" &
ppid=$!
setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$STORM" --socket "$SOCK" --clients 100 --seconds "$SECS" --unprivileged \
	--patience 15 >"$TMP/storm-u.json" 2>"$TMP/storm-u.err" &
upid=$!

# While it rages: eroute status, every half second.
probes=0
cli_max=0
while kill -0 "$spid" 2>/dev/null; do
	t0=$(date +%s%N)
	out=$(timeout 10 "$EROUTE" --socket "$SOCK" --json status 2>&1) ||
		fail "status during the storm: $out"
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "$out" | jq -e '.connections | length == 3' >/dev/null ||
		fail "status during the storm: $out"
	[ "$ms" -gt "$cli_max" ] && cli_max=$ms
	probes=$((probes + 1))
	kill -0 "$DPID" 2>/dev/null || fail "erouted died in the storm"
	sleep 0.5
done
wait "$spid" || fail "storm: $(cat "$TMP/storm.err")"
wait "$upid" || fail "unprivileged storm: $(cat "$TMP/storm-u.err")"
wait "$ppid" || fail "prober: $(cat "$TMP/probe.err")"
peak=$(rss VmHWM)
s=$TMP/storm.json
u=$TMP/storm-u.json
p=$TMP/probe.json
q() { jq -r "$2" "$1"; }

echo "storm: $SECS s, 1000 clients: $(q $s .answers) + $(q $u .answers) answers," \
	"batch latency max $(q $s .latency_max_ms) ms, mean $(q $s .latency_mean_ms) ms"
echo "storm: fresh client's status: $(q $p .probes) probes, slowest $(q $p .probe_max_ms) ms;" \
	"eroute status: $probes runs, slowest $cli_max ms (with its own start)"
echo "storm: erouted VmRSS $rss_start kB at start, VmHWM $peak kB peak (cap $RSS_CAP_KB kB)"
echo "storm: $(jq -c '{stall, deaf, huge}' $s)"

[ "$probes" -ge 5 ] || fail "only $probes eroute status runs"
[ "$(q $p .probes)" -ge "$SECS" ] || fail "only $(q $p .probes) status probes"
q $p .probe_max_ms | awk -v max=$LATENCY_MAX_MS '{ exit !($1 <= max) }' ||
	fail "a fresh client's status took $(q $p .probe_max_ms) ms during the storm"
[ "$peak" -le "$RSS_CAP_KB" ] || fail "erouted's peak memory $peak kB is over $RSS_CAP_KB kB"

# Every answer was the one its request must get (storm exits 1 otherwise),
# nothing went unanswered, and both kinds of requests were there.
for f in $s $u; do
	eq "$(q $f .answers)" "$(q $f .expected)" "answers in $f"
	[ "$(q $f .codes.ok)" -gt 100 ] || fail "few good answers: $(cat $f)"
	[ "$(q $f .codes.EINVAL)" -gt 100 ] || fail "few garbage answers: $(cat $f)"
done
[ "$(q $u .codes.EPERM)" -gt 100 ] || fail "few refusals: $(cat $u)"
[ "$(q $s .codes.EPERM)" -eq 0 ] || fail "a privileged client was refused"

# Half a line, then silence: closed after the 10 s stall timeout.
for i in 0 1; do
	eq "$(q $s ".stall[$i].closed")" "true" "staller $i closed"
	q $s ".stall[$i].closed_after" | awk '{ exit !($1 >= 9.5 && $1 < 15) }' ||
		fail "staller $i closed after $(q $s ".stall[$i].closed_after") s"
done
# Never reading: erouted stops taking its requests once 256 KiB of answers
# wait (what it could send is in the socket buffers), then closes it.
for i in 0 1 2; do
	eq "$(q $s ".deaf[$i].closed")" "true" "deaf client $i closed"
	[ "$(q $s ".deaf[$i].sent")" -lt $((4 * 1024 * 1024)) ] ||
		fail "erouted kept reading a deaf client: $(q $s ".deaf[$i]")"
done
[ "$(grep -cE 'made no progress for 10s \([1-9][0-9]* answer bytes unread' "$LOG")" -eq 3 ] ||
	fail "deaf clients not closed for not reading"
# A 100 MB line: E2BIG early, closed after 16 MiB, never buffered.
eq "$(q $s '.huge[0].answer')" "E2BIG" "100 MB line"
[ "$(q $s '.huge[0].answer_at')" -lt $((4 * 1024 * 1024)) ] || fail "E2BIG came late"
eq "$(q $s '.huge[0].closed')" "true" "100 MB line cut off"
[ "$(q $s '.huge[0].closed_at')" -lt $((32 * 1024 * 1024)) ] || fail "100 MB line cut off late"
grep -q "a request line of more than 16 MiB; closed" "$LOG" || fail "100 MB line not logged"

# Nothing changed that no request asked to change.
eq "$(snapshot)" "$before" "policies, SAs, shunts and states after the storm"
exits 0 er status
stop
echo PASS
