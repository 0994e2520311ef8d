#!/bin/bash
# SPDX-License-Identifier: MIT
# make demo, the main job: run by an unprivileged user (as root, this test
# drops to nobody), it walks through every step issue 4 lists and exits 0.
set -u
: "${EROUTED:?}" "${EROUTE:?}" "${EROUTE_SOURCE_DIR:?}"
TMP=$(mktemp -d /tmp/eroute-demo-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() {
	echo "FAIL: $*" >&2
	cat "$TMP/out" >&2
	exit 1
}

# A copy nobody can read, whatever the permissions of the checkout.
mkdir -p "$TMP/top/scripts" "$TMP/bin"
cp "$EROUTE_SOURCE_DIR/scripts/demo" "$TMP/top/scripts/"
cp -r "$EROUTE_SOURCE_DIR/examples" "$TMP/top/"
cp "$EROUTED" "$EROUTE" "$TMP/bin/"
chmod -R a+rX "$TMP"
run=(env EROUTED="$TMP/bin/erouted" EROUTE="$TMP/bin/eroute" sh "$TMP/top/scripts/demo")
if [ "$(id -u)" -eq 0 ]; then
	run=(setpriv --reuid=65534 --regid=65534 --clear-groups "${run[@]}")
fi
"${run[@]}" >"$TMP/out" 2>&1
rc=$?
[ $rc -eq 0 ] || fail "the demo exited $rc"

# Each step, in order.
steps=(
	'^\$ eroute route site-b$'
	'^out  *10\.1\.0\.0/16  *10\.2\.0\.0/16 .* trap  *site-b '
	'^verdict: trap (ACQUIRE sent to erouted)$'
	'^site-b .* routed-hold .* negotiating, try 1$'
	'^site-b: negotiation succeeded$'
	'^verdict: ipsec via SA 0x[0-9a-f]\{8\}$'
	'^192\.0\.2\.10 .* esp .* mature  *site-b  *2$'
	'^opportunistic#203\.0\.113\.77/32: negotiation failed$'
	'^192\.0\.2\.10/32 -any-> 203\.0\.113\.77/32 => %pass 0 .*oe-failure; expires in 900s$'
	'^policy:  out 192\.0\.2\.10/32 -> 203\.0\.113\.77/32 pass, owner (bare)$'
	'^\$ eroute sim advance 15m$'
	'^no bare shunts$'
	'^policy:  out 192\.0\.2\.10/32 -> 203\.0\.113\.53/32 pass, owner dns-exception$'
	'^verdict: drop$'
	'^hits .* pass .* owner dns-exception'
	'^\$ eroute status$'
	'^site-b .* tunnel  *#1 '
	'^\$ eroute policy list$'
	'^\$ eroute shunt list$'
	'^no bare shunts$'
	"removing eroute's policies$"
)
line=0
for re in "${steps[@]}"; do
	n=$(tail -n +$((line + 1)) "$TMP/out" | grep -n -m1 -- "$re" | cut -d: -f1)
	[ -n "$n" ] || fail "after line $line, no line matches: $re"
	line=$((line + n))
done
echo PASS
