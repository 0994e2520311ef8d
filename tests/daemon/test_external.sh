#!/bin/bash
# SPDX-License-Identifier: MIT
# An IKE daemon plugged in as the external negotiator: it registers, gets
# negotiate requests as JSON lines (with the reserved inbound SPI), and
# answers with negotiation-result; sa-group brings a responder's SA group.
. "$(dirname "$0")/lib.sh"

net_to_net_conf route
start --negotiator external

# A request made before any negotiator registered waits for one.
er sim packet 10.1.0.5 10.2.0.7 udp 1 53 >/dev/null
eq "$(state west)" "routed-hold" "negotiating"

coproc NEG { socat - UNIX-CONNECT:"$SOCK"; }
echo '{"cmd":"negotiator-register"}' >&"${NEG[1]}"
read -r -t 5 ans <&"${NEG[0]}" || fail "no answer to register"
eq "$(echo "$ans" | jq -c .)" '{"ok":true,"result":{}}' "register"
read -r -t 5 req <&"${NEG[0]}" || fail "the waiting request was not sent"
eq "$(echo "$req" | jq -r '[.event, .conn, .attempt, .src, .dst, .local, .remote] | @json')" \
	'["negotiate","west",1,"10.1.0.0/16","10.2.0.0/16","192.0.2.10","198.51.100.20"]' "request"
id=$(echo "$req" | jq -r .id)
spi_in=$(echo "$req" | jq -r '.spi_in[0]')
[ -n "$spi_in" ] && [ "$spi_in" != "null" ] || fail "no inbound SPI reserved"
eq "$(erj sa list | jq -r --arg s "$spi_in" '.[] | select(.spi == $s) | .state')" "larval" "SPI reserved larval"

# A second negotiator is refused while the first is there.
eq "$(raw '{"cmd":"negotiator-register"}' | jq -r .error.code)" "EBUSY" "second negotiator"

# Bad answers are refused and change nothing.
echo "{\"cmd\":\"negotiation-result\",\"id\":$id,\"ok\":true}" >&"${NEG[1]}"
read -r -t 5 ans <&"${NEG[0]}"
eq "$(echo "$ans" | jq -r .error.message)" '"spi_out" is missing' "missing spi_out"
echo "{\"cmd\":\"negotiation-result\",\"id\":$id,\"ok\":true,\"spi_out\":\"0x12\"}" >&"${NEG[1]}"
read -r -t 5 ans <&"${NEG[0]}"
echo "$ans" | jq -r .error.message | grep -q "below 0x100" || fail "low SPI: $ans"
# SPIs are decimal or 0x-hex, keys hex digits: nothing else passes.
for spi in '""' '" 4660"' '"+4660"' '"-1"' '"0x"' '"0x1g"' '"0x0x5"' '"0x 5"' '"99999999999999999999"' '"0x100000000"'; do
	echo "{\"cmd\":\"negotiation-result\",\"id\":$id,\"ok\":true,\"spi_out\":$spi}" >&"${NEG[1]}"
	read -r -t 5 ans <&"${NEG[0]}"
	eq "$(echo "$ans" | jq -r .error.message)" '"spi_out": bad SPI' "spi_out $spi"
done
for key in '"-1"' '"0x11"' '" 1ab"' '"+f00"' '"gg"' '"1 2 "'; do
	echo "{\"cmd\":\"negotiation-result\",\"id\":$id,\"ok\":true,\"spi_out\":\"0xabcdef01\",\"enc_key_out\":$key}" >&"${NEG[1]}"
	read -r -t 5 ans <&"${NEG[0]}"
	eq "$(echo "$ans" | jq -r .error.message)" "enc_key_out: not hex" "enc_key_out $key"
done
eq "$(state west)" "routed-hold" "still negotiating after bad answers"

# The answer: the SA group with the peer's SPI and keys.
echo "{\"cmd\":\"negotiation-result\",\"id\":$id,\"ok\":true,\"spi_out\":\"0xabcdef01\",\"enc_alg\":\"aes_gcm16_256\",\"enc_key_out\":\"00112233445566778899aabbccddeeff\",\"enc_key_in\":\"ffeeddccbbaa99887766554433221100\"}" >&"${NEG[1]}"
read -r -t 5 ans <&"${NEG[0]}"
eq "$(echo "$ans" | jq -c .)" '{"ok":true,"result":{}}' "result accepted"
eq "$(state west)" "tunnel" "tunnel"
eq "$(erj sim packet 10.1.0.5 10.2.0.7 udp 1 53 | jq -r .spi)" "0xabcdef01" "traffic uses the peer's SPI"
eq "$(erj sa list | jq -r --arg s "$spi_in" '.[] | select(.spi == $s) | .state')" "mature" "inbound SA keyed"
erj sa list | grep -qi "00112233" && fail "keys shown"

# The peer initiates towards a group: sa-group makes the instance.
echo '{"cmd":"sa-group","name":"oe","peer":"203.0.113.9","spi_out":"0x0000beef"}' >&"${NEG[1]}"
read -r -t 5 ans <&"${NEG[0]}"
eq "$(echo "$ans" | jq -c .)" '{"ok":true,"result":{}}' "sa-group"
eq "$(state 'oe#203.0.113.9/32')" "tunnel" "responder instance"

# A failure answer spends the try: failure shunt.
er sim packet 192.0.2.10 203.0.113.10 tcp 1 80 >/dev/null
read -r -t 5 req <&"${NEG[0]}" || fail "no request for the instance"
id=$(echo "$req" | jq -r .id)
echo "{\"cmd\":\"negotiation-result\",\"id\":$id,\"ok\":false,\"reason\":\"NO_PROPOSAL_CHOSEN\"}" >&"${NEG[1]}"
read -r -t 5 ans <&"${NEG[0]}"
eq "$(echo "$ans" | jq -r .ok)" "true" "failure accepted"
eq "$(erj shunt list | jq -r '.[0].origin')" "oe-failure" "failure shunt"
grep -q "NO_PROPOSAL_CHOSEN" "$LOG" || fail "the reason is logged"

# When the negotiator goes away, erouted says so and carries on.
exec {NEG[1]}>&-
sleep 0.2
grep -q "external negotiator went away" "$LOG" || fail "negotiator loss logged"
exits 0 er status
stop
echo PASS
