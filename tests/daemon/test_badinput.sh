#!/bin/bash
# SPDX-License-Identifier: MIT
# Bad requests on the control socket get error answers, leave the
# connection usable, and change nothing.  (Unprivileged peers:
# test_permissions.sh; many clients at once: test_storm.sh.)
. "$(dirname "$0")/lib.sh"

net_to_net_conf route
start
before=$(erj policy list)

code() { jq -r 'if .ok then "ok" else .error.code end'; }

# Garbage, then a good request on the same connection.
out=$(raw 'this is not json' '{"cmd":"status"}')
eq "$(echo "$out" | head -1 | code)" "EINVAL" "garbage"
echo "$out" | head -1 | jq -r .error.message | grep -q "malformed request" || fail "garbage message"
eq "$(echo "$out" | sed -n 2p | code)" "ok" "usable after garbage"

# Unknown command, wrong types, missing fields, not an object.
eq "$(raw '{"cmd":"frobnicate"}' | code)" "EOPNOTSUPP" "unknown command"
eq "$(raw '{"cmd":"route","name":42}' | jq -r .error.message)" '"name" must be a string' "wrong type"
eq "$(raw '{"cmd":"route"}' | jq -r .error.message)" '"name" is missing' "missing field"
eq "$(raw '[1,2,3]' | code)" "EINVAL" "not an object"
eq "$(raw '{"cmd":7}' | code)" "EINVAL" "cmd not a string"
eq "$(raw '{"cmd":"sim-advance","seconds":"soon"}' | code)" "EINVAL" "advance type"
eq "$(raw '{"cmd":"sim-advance","seconds":-5}' | code)" "EINVAL" "advance negative"
eq "$(raw '{"cmd":"sim-packet","src":"10.0.0.1","dst":"::1"}' | code)" "EINVAL" "mixed families"
eq "$(raw '{"cmd":"sim-packet","src":"10.1.0.1","dst":"10.2.0.1","proto":"icmp","sport":1}' | code)" "EINVAL" "ports without ports"
eq "$(raw '{"cmd":"negotiation-result","id":99,"ok":true,"spi_out":"0x1234"}' | code)" "ENOENT" "unknown negotiation"
eq "$(raw '{"cmd":"status","cmd":"route"}' | code)" "EINVAL" "duplicate keys"

# A 10 MB line: refused, and the connection still answers afterwards.
{ head -c 10000000 /dev/zero | tr '\0' 'a'; printf '\n{"cmd":"status"}\n'; } |
	socat -t 5 - UNIX-CONNECT:"$SOCK" >"$TMP/big"
eq "$(head -1 "$TMP/big" | code)" "E2BIG" "10 MB line"
eq "$(sed -n 2p "$TMP/big" | code)" "ok" "usable after a 10 MB line"
eq "$(wc -l <"$TMP/big")" "2" "one error for the long line"

# Lines just past the 64 KiB limit that arrive whole, newline and all, are
# refused too (not parsed); one of exactly 64 KiB is a request like another.
for len in 65537 70000 69632; do
	{ head -c $len /dev/zero | tr '\0' 'a'; printf '\n{"cmd":"status"}\n'; } >"$TMP/long"
	socat -t 5 - UNIX-CONNECT:"$SOCK" <"$TMP/long" >"$TMP/big"
	eq "$(head -1 "$TMP/big" | code)" "E2BIG" "$len-byte line"
	eq "$(sed -n 2p "$TMP/big" | code)" "ok" "usable after a $len-byte line"
done
{ head -c 65536 /dev/zero | tr '\0' 'a'; printf '\n'; } >"$TMP/long"
eq "$(socat -t 5 - UNIX-CONNECT:"$SOCK" <"$TMP/long" | code)" "EINVAL" "65536-byte line"

# Half a line, then the client vanishes; and one that stalls while others work.
printf '{"cmd":"rou' | socat -t 0.1 - UNIX-CONNECT:"$SOCK" >/dev/null
(printf '{"cmd":"sta'; sleep 3) | socat -t 4 - UNIX-CONNECT:"$SOCK" >/dev/null &
stall=$!
sleep 0.2
exits 0 er status
kill "$stall" 2>/dev/null
wait "$stall" 2>/dev/null

# A client that sends requests and never reads its answers.
# A daemon that blocked on it would never answer anyone again; one that does
# not answers the next client, however loaded the machine (no wall-clock
# bound here: that is the storm test's business).
(for i in $(seq 3000); do echo '{"cmd":"policy-list"}'; done; sleep 60) |
	socat -t 60 -u - UNIX-CONNECT:"$SOCK" &
deaf=$!
sleep 0.5
exits 0 timeout 30 "$EROUTE" --socket "$SOCK" status
kill -0 "$deaf" 2>/dev/null || fail "the deaf client was gone before status answered"
kill "$deaf" 2>/dev/null
wait "$deaf" 2>/dev/null

eq "$(erj policy list)" "$before" "no bad request changed a policy"
eq "$(state west)" "prospective" "west untouched"
stop
echo PASS
