#!/bin/bash
# SPDX-License-Identifier: MIT
# Every eroute command against the real erouted, human and JSON output,
# and the exit codes: 0 success, 1 error, 2 bad usage.
. "$(dirname "$0")/lib.sh"

# --help everywhere, without a daemon.
exits 0 "$EROUTE" --help
grep -q "Usage: eroute" "$TMP/out" || fail "eroute --help"
grep -q "sim negotiate" "$TMP/out" || fail "eroute --help lists commands"
exits 0 "$EROUTED" --help
grep -q -- "--clock real|manual" "$TMP/out" || fail "erouted --help"
exits 2 "$EROUTE"
exits 2 "$EROUTE" frobnicate
grep -q 'unknown command "frobnicate"' "$TMP/err" || fail "unknown command message"
exits 2 "$EROUTE" --bogus status
exits 2 "$EROUTED" --kernel bogus
exits 1 "$EROUTE" --socket "$TMP/none.sock" status
grep -q "cannot reach erouted" "$TMP/err" || fail "no daemon message"

net_to_net_conf
start

# status
exits 0 er status
grep -q "^west .*unrouted" "$TMP/out" || fail "status human: $(cat "$TMP/out")"
eq "$(erj status | jq -r '.connections | map(.name) | join(",")')" "west,oe,clear" "status names"
eq "$(state clear)" "never-negotiate" "clear state"
eq "$(erj status | jq -r '.connections[0] | [.eroute_owner, .negotiating, .tries, .instance_of] | @json')" \
	'[null,false,0,null]' "status fields"

# route, trap, negotiate
exits 0 er route west
eq "$(state west)" "prospective" "after route"
exits 1 er route nosuch
grep -q "nosuch: no such connection" "$TMP/err" || fail "route nosuch message"
exits 2 er route
exits 0 er policy list
grep -q "^out .*10.1.0.0/16 .*10.2.0.0/16 .*trap .*west" "$TMP/out" || fail "policy list human"
eq "$(erj policy list | jq -r '.[] | select(.owner == "west") | [.dir, .src, .dst, .proto, .sport, .dport, .action] | @json')" \
	'["out","10.1.0.0/16","10.2.0.0/16","any",null,null,"trap"]' "policy list json"
eq "$(erj sim packet 10.1.0.5 10.2.0.7 udp 4000 53 | jq -r '[.verdict, .acquire, .policy.owner] | @json')" \
	'["trap",true,"west"]' "sim packet trap"
eq "$(state west)" "routed-hold" "after trap"
eq "$(erj status | jq -r '.connections[0] | [.negotiating, .tries] | @json')" '[true,1]' "negotiating"
exits 0 er sim negotiate west ok
eq "$(state west)" "tunnel" "after negotiation"
eq "$(erj sim packet 10.1.0.5 10.2.0.7 udp 4000 53 | jq -r .verdict)" "ipsec" "packet through SA"
exits 0 er sa list
grep -q "esp .*mature .*west" "$TMP/out" || fail "sa list human"
eq "$(erj sa list | jq -r '[.[] | select(.owner == "west") | .state] | unique | @json')" '["mature"]' "sa list json"
erj sa list | jq -e 'all(.[]; .spi | test("^0x[0-9a-f]{8}$"))' >/dev/null || fail "spi format"
exits 1 er sim negotiate west fail
grep -q "no negotiation pending" "$TMP/err" || fail "negotiate with none pending"
exits 2 er sim negotiate west maybe

# trace: no side effects
before=$(erj policy list)
eq "$(erj trace 10.1.0.5 10.2.0.7 | jq -r '.policy.action')" "ipsec" "trace"
eq "$(erj trace 192.0.2.10 198.51.100.1 | jq -r '.policy')" "null" "trace miss"
exits 0 er trace 192.0.2.10 203.0.113.53 udp 1 53
grep -q "^hits .*pass .*owner clear" "$TMP/out" || fail "trace human: $(cat "$TMP/out")"
eq "$(erj policy list)" "$before" "trace changed nothing"
exits 1 er trace 10.1.0.5 2001:db8::1
exits 2 er trace 10.1.0.5

# opportunistic failure -> bare shunt -> expiry
eq "$(erj sim packet 192.0.2.10 203.0.113.77 tcp 1 443 | jq -r .verdict)" "trap" "oe trap"
eq "$(erj status | jq -r '.connections[] | select(.name == "oe#203.0.113.77/32") | .instance_of')" "oe" "instance"
exits 0 er sim negotiate 'oe#203.0.113.77/32' fail
eq "$(erj shunt list | jq -r '.[0] | [.src, .dst, .action, .origin, .expires_in] | @json')" \
	'["192.0.2.10/32","203.0.113.77/32","pass","oe-failure",900]' "shunt list json"
exits 0 er shunt list
grep -q "192.0.2.10/32 -any-> 203.0.113.77/32 => %pass 0 .*oe-failure; expires in 900s" "$TMP/out" || fail "shunt list human: $(cat "$TMP/out")"
eq "$(erj sim advance 10m | jq -r .now)" "601" "advance"
eq "$(erj shunt list | jq -r '.[0].expires_in')" "300" "time left"
exits 0 er sim advance 5m
eq "$(erj shunt list | jq length)" "0" "shunt expired"
exits 2 er sim advance 5x
exits 2 er sim advance

# down and unroute
exits 0 er down west
eq "$(state west)" "prospective" "after down"
exits 0 er unroute west
eq "$(state west)" "unrouted" "after unroute"
exits 0 er up west
eq "$(state west)" "unrouted-hold" "up while unrouted"

# version and JSON of commands without results
exits 0 er version
grep -q "erouted 0.1.0 (kernel sim, clock manual)" "$TMP/out" || fail "version"
eq "$(erj down west)" "{}" "json of down"

# monitor: events stream until interrupted
er --json monitor >"$TMP/monitor" 2>&1 &
mpid=$!
sleep 0.2
er route west >/dev/null
er sim packet 10.1.0.9 10.2.0.9 >/dev/null
sleep 0.2
kill "$mpid" 2>/dev/null
wait "$mpid" 2>/dev/null
grep -q '"event":"state","old":"unrouted","new":"prospective"' "$TMP/monitor" || \
	grep -q '"new":"prospective"' "$TMP/monitor" || fail "monitor: $(cat "$TMP/monitor")"
jq -s -e 'map(select(.event == "negotiate" and .conn == "west")) | length == 1' \
	"$TMP/monitor" >/dev/null || fail "monitor negotiate: $(cat "$TMP/monitor")"

stop
echo PASS
