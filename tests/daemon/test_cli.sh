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
# A selector with ports (one and a range), and a connection that retries.
cat >>"$CONF" <<'CONF'

conn ports
	right=%any
	rightsubnet=198.51.100.0/24
	leftprotoport=tcp/1234
	rightprotoport=tcp/1000-2000
	type=passthrough
	auto=route

conn retry
	right=198.51.100.30
	leftsubnet=10.1.0.0/16
	rightsubnet=10.3.0.0/16
	keyingtries=2
	retransmit-timeout=20s
	auto=route
CONF
start

# status
exits 0 er status
grep -q "^west .*unrouted" "$TMP/out" || fail "status human: $(cat "$TMP/out")"
eq "$(erj status | jq -r '.connections | map(.name) | join(",")')" "west,oe,clear,ports,retry" "status names"
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
erj policy list | jq -e 'length > 0 and all(.[]; has("dir") and has("src") and
	has("dst") and has("proto") and has("sport") and has("dport") and has("priority") and
	has("action") and has("owner") and has("reqid"))' >/dev/null || fail "policy list fields"
eq "$(erj policy list | jq -c '.[] | select(.owner == "ports" and .dir == "out") | [.proto, .sport, .dport]')" \
	'["tcp",1234,"1000-2000"]' "ports in JSON: a number and a range"
eq "$(erj route west)" "{}" "json of route"
exits 0 er sim packet 10.1.0.5 10.2.0.7 udp 4000 53
eq "$(cat "$TMP/out")" "verdict: trap (ACQUIRE sent to erouted)
policy:  out 10.1.0.0/16 -> 10.2.0.0/16 trap, owner west" "sim packet human"
eq "$(state west)" "routed-hold" "after trap"
eq "$(erj status | jq -r '.connections[0] | [.negotiating, .tries] | @json')" '[true,1]' "negotiating"
exits 0 er sim negotiate west ok
eq "$(state west)" "tunnel" "after negotiation"
eq "$(erj status | jq -r '.connections[0].eroute_owner | type')" "number" "eroute owner of a tunnel"
exits 0 er status
grep -q "^west .* tunnel  *#[0-9]" "$TMP/out" || fail "status human eroute owner: $(cat "$TMP/out")"
eq "$(erj sim packet 10.1.0.5 10.2.0.7 udp 4000 53 | jq -r .verdict)" "ipsec" "packet through SA"
exits 0 er sa list
grep -q "esp .*mature .*west" "$TMP/out" || fail "sa list human"
eq "$(erj sa list | jq -r '[.[] | select(.owner == "west") | .state] | unique | @json')" '["mature"]' "sa list json"
erj sa list | jq -e 'all(.[]; .spi | test("^0x[0-9a-f]{8}$"))' >/dev/null || fail "spi format"
erj sa list | jq -e 'length > 0 and all(.[]; has("src") and has("dst") and has("proto") and
	has("spi") and has("reqid") and has("state") and has("owner"))' >/dev/null || fail "sa list fields"
exits 1 er sim negotiate west fail
grep -q "no negotiation pending" "$TMP/err" || fail "negotiate with none pending"
exits 2 er sim negotiate west maybe

# trace: no side effects
before=$(erj policy list)
eq "$(erj trace 10.1.0.5 10.2.0.7 | jq -r '.policy.action')" "ipsec" "trace"
eq "$(erj trace 192.0.2.10 198.51.100.1 | jq -r '.policy')" "null" "trace miss"
exits 0 er trace 192.0.2.10 203.0.113.53 udp 1 53
grep -q "^hits .*pass .*owner clear" "$TMP/out" || fail "trace human: $(cat "$TMP/out")"
grep -q "^shadows .*trap .*owner oe" "$TMP/out" || fail "trace human shadows: $(cat "$TMP/out")"
eq "$(erj trace 192.0.2.10 203.0.113.53 udp 1 53 | jq -c '[(.candidates | map(.owner)), (.policy == .candidates[0])]')" \
	'[["clear","oe"],true]' "trace candidates, best first"
reqid=$(erj policy list | jq -r '.[] | select(.owner == "ports" and .dir == "out") | .reqid')
exits 0 er trace 192.0.2.10 198.51.100.5 tcp 1234 1500
grep -q "^hits  *out 192.0.2.10/32 -> 198.51.100.0/24 tcp 1234 -> 1000-2000  pass  .*owner ports  reqid $reqid\$" \
	"$TMP/out" || fail "trace human with ports: $(cat "$TMP/out")"
eq "$(erj policy list)" "$before" "trace changed nothing"
exits 1 er trace 10.1.0.5 2001:db8::1
exits 2 er trace 10.1.0.5

# opportunistic failure -> bare shunt -> expiry
eq "$(erj sim packet 192.0.2.10 203.0.113.77 tcp 1 443 | jq -r .verdict)" "trap" "oe trap"
eq "$(erj status | jq -r '.connections[] | select(.name == "oe#203.0.113.77/32") | .instance_of')" "oe" "instance"
exits 0 er sim negotiate 'oe#203.0.113.77/32' fail
eq "$(erj policy list | jq -c '.[] | select(.dst == "203.0.113.77/32" and .dir == "out") | [.action, .owner]')" \
	'["pass",null]' "a bare shunt's policy has no owner"
eq "$(erj shunt list | jq -r '.[0] | [.src, .dst, .action, .origin, .expires_in] | @json')" \
	'["192.0.2.10/32","203.0.113.77/32","pass","oe-failure",900]' "shunt list json"
exits 0 er shunt list
grep -q "192.0.2.10/32 -any-> 203.0.113.77/32 => %pass 0 .*oe-failure; expires in 900s" "$TMP/out" || fail "shunt list human: $(cat "$TMP/out")"
exits 0 er sim advance 1
eq "$(cat "$TMP/out")" "now: 2" "sim advance human"
eq "$(erj sim advance 599 | jq -r .now)" "601" "advance"
eq "$(erj shunt list | jq -r '.[0].expires_in')" "300" "time left"
exits 0 er sim advance 5m
eq "$(erj shunt list | jq length)" "0" "shunt expired"
exits 2 er sim advance 5x
exits 2 er sim advance

# down and unroute
exits 0 er down west
eq "$(state west)" "prospective" "after down"
eq "$(erj unroute west)" "{}" "json of unroute"
eq "$(state west)" "unrouted" "after unroute"
eq "$(erj up west)" "{}" "json of up"
eq "$(state west)" "unrouted-hold" "up while unrouted"

# tries counts the attempts of the current negotiation; the sim negotiator
# fails an attempt whose retransmit-timeout passes (a silent peer).
er sim packet 10.1.0.5 10.3.0.7 >/dev/null
eq "$(erj status | jq -c '.connections[] | select(.name == "retry") | [.routing, .negotiating, .tries]')" \
	'["routed-hold",true,1]' "first attempt"
exits 0 er sim negotiate retry fail
eq "$(erj status | jq -c '.connections[] | select(.name == "retry") | [.routing, .negotiating, .tries]')" \
	'["routed-hold",true,2]' "second attempt"
exits 0 er status
grep -q "^retry .*negotiating, try 2" "$TMP/out" || fail "status human tries: $(cat "$TMP/out")"
exits 0 er sim advance 21s
eq "$(state retry)" "failure" "a silent peer fails the last attempt"

# ok with nothing pending: the peer initiates; GROUP#ADDR/32 makes the
# instance.
exits 0 er sim negotiate 'oe#203.0.113.9/32' ok
eq "$(erj status | jq -c '.connections[] | select(.name == "oe#203.0.113.9/32") | [.routing, .instance_of]')" \
	'["tunnel","oe"]' "responder instance"

# version and JSON of commands without results
exits 0 er version
grep -q "erouted 0.1.0 (kernel sim, clock manual)" "$TMP/out" || fail "version"
eq "$(erj down west)" "{}" "json of down"

# monitor: events stream until interrupted
er --json monitor >"$TMP/monitor" 2>&1 &
mpid=$!
er monitor >"$TMP/monitor.human" 2>&1 &
hpid=$!
sleep 0.2
er route west >/dev/null
er sim packet 10.1.0.9 10.2.0.9 >/dev/null
sleep 0.2
kill "$mpid" "$hpid" 2>/dev/null
wait "$mpid" "$hpid" 2>/dev/null
grep -q "^\[[0-9]*\] west: negotiate #[0-9]* attempt 1 for 10.1.0.0/16 -> 10.2.0.0/16" \
	"$TMP/monitor.human" || fail "monitor human: $(cat "$TMP/monitor.human")"
grep -q '"event":"state","old":"unrouted","new":"prospective"' "$TMP/monitor" || \
	grep -q '"new":"prospective"' "$TMP/monitor" || fail "monitor: $(cat "$TMP/monitor")"
jq -s -e 'map(select(.event == "negotiate" and .conn == "west")) | length == 1' \
	"$TMP/monitor" >/dev/null || fail "monitor negotiate: $(cat "$TMP/monitor")"

stop
echo PASS
