#!/bin/bash
# SPDX-License-Identifier: MIT
# A kernel that refuses operations, seen from outside: "eroute sim fail N"
# makes the sim kernel fail every Nth policy or SA operation.  A route
# whose trap the kernel refuses is logged naming the policy, counted in
# status (kernel_retries) and retried every second; what was in the
# kernel stays there; once the kernel accepts again, one tick puts things
# right.  Bad sim-fail requests are refused and change nothing.
. "$(dirname "$0")/lib.sh"

cat >"$CONF" <<CONF
config setup

conn %default
	left=192.0.2.10

conn west
	right=198.51.100.20
	leftsubnet=10.1.0.0/16
	rightsubnet=10.2.0.0/16
	auto=add

conn east
	right=198.51.100.30
	leftsubnet=10.3.0.0/16
	rightsubnet=10.4.0.0/16
	auto=route
CONF
start

owned() {
	erj policy list | jq --arg n "$1" '[.[] | select(.owner == $n)] | length'
}
retries() {
	erj status | jq .kernel_retries
}

eq "$(retries)" "0" "no retries at start"
eq "$(owned east)" "1" "east's trap at start"

# Every operation fails: west's route is accepted, its trap is not.
exits 0 er sim fail 1
grep -q "every operation fails" "$TMP/out" || fail "sim fail human: $(cat "$TMP/out")"
exits 0 er route west
eq "$(retries)" "1" "the refused trap waits for a retry"
eq "$(owned west)" "0" "no trap for west yet"
eq "$(owned east)" "1" "east's trap is untouched"
eq "$(state west)" "prospective" "west is routed as far as the engine goes"
grep -q "west: error: kernel: adding policy out 10.1.0.0/16 -> 10.2.0.0/16 (trap) failed: .*will retry" "$LOG" ||
	fail "the failure is logged naming the policy"
exits 0 er status
grep -q "1 refused kernel operation waiting for a retry" "$TMP/out" ||
	fail "status human: $(cat "$TMP/out")"

# Still failing: each second's retry fails too, and nothing else changes.
failed=$(erj status | jq .sim.ops_failed)
exits 0 er sim advance 5
eq "$(retries)" "1" "still waiting"
[ "$(erj status | jq .sim.ops_failed)" -gt "$failed" ] || fail "no retry was tried"
eq "$(owned west)" "0" "still no trap for west"

# The kernel accepts again: one tick and the trap is there.
exits 0 er sim fail 0
exits 0 er sim advance 1
eq "$(retries)" "0" "nothing waits"
eq "$(owned west)" "1" "west's trap after the retry"
eq "$(erj trace 10.1.0.5 10.2.0.7 | jq -r '.policy.action + " " + .policy.owner')" \
	"trap west" "a packet meets west's trap"

# A refused delete keeps the policy in the kernel until it can go.
exits 0 er sim fail 1
exits 0 er unroute east
eq "$(retries)" "1" "the refused delete waits"
eq "$(owned east)" "1" "east's trap stays while the kernel refuses"
exits 0 er sim fail 0
exits 0 er sim advance 1
eq "$(retries)" "0" "the delete went through"
eq "$(owned east)" "0" "east's trap is gone"

# Bad requests change nothing.
exits 2 er sim fail -1
exits 2 er sim fail 1x
exits 2 er sim fail
raw '{"cmd":"sim-fail","every":"3"}' '{"cmd":"sim-fail"}' \
	'{"cmd":"sim-fail","every":1000001}' >"$TMP/bad"
eq "$(jq -s '[.[] | select(.ok == false and (.error.message | test("\"every\"")))] | length' "$TMP/bad")" \
	"3" "bad sim-fail requests refused"
exits 0 er sim advance 1
eq "$(retries)" "0" "still nothing refused"
eq "$(owned west)" "1" "west's trap is still there"

stop
echo "kernel faults: ok"
