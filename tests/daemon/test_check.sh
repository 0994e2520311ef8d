#!/bin/bash
# SPDX-License-Identifier: MIT
# erouted --check: 0 for a good configuration; 1, with FILE:LINE: messages
# on stderr, for hostile and broken ones -- bad values, include loops, a
# missing include, a 100 MB file (refused in bounded memory), binary data,
# invalid UTF-8, very long lines.  It never starts a daemon.
. "$(dirname "$0")/lib.sh"

# check_fails FILE PATTERN...: exit 1, and stderr has each grep -E PATTERN.
check_fails() {
	f=$1
	shift
	"$EROUTED" --check -c "$f" --socket "$SOCK" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ $rc -eq 1 ] || fail "--check $f exited $rc, expected 1: $(head -c 2000 "$TMP/err")"
	for p in "$@"; do
		grep -Eq -- "$p" "$TMP/err" || fail "--check $f: no '$p' in: $(head -c 2000 "$TMP/err")"
	done
	# Every line is "erouted: FILE:LINE: message", and short.
	while IFS= read -r line; do
		case $line in
		"erouted: ... and "*" more errors") ;;
		"erouted: "*:[0-9]*": "?*) ;;
		*) fail "--check $f: not FILE:LINE: message: $line" ;;
		esac
		[ ${#line} -le 600 ] || fail "--check $f: a line of ${#line} bytes"
	done <"$TMP/err"
	[ ! -e "$SOCK" ] || fail "--check made a socket"
}

# Good files: 0, and a summary.
net_to_net_conf route
exits 0 "$EROUTED" --check -c "$CONF" --socket "$SOCK"
grep -q "configuration OK (3 connections)" "$TMP/out" || fail "--check summary: $(cat "$TMP/out")"
exits 0 "$EROUTED" --check -c "$EROUTE_SOURCE_DIR/examples/demo.conf"
[ ! -e "$SOCK" ] || fail "--check made a socket"

# A bad value of each kind, each at its own line.
cat >"$TMP/values.conf" <<'CONF'
config setup
	shuntlifetime=
	xfrmlifetime=2h
conn t
	left=192.0.2.1
	right=host.example
	keyingtries=4294967296
	auto=sometimes
	bogus=1
CONF
check_fails "$TMP/values.conf" \
	"values.conf:2: shuntlifetime=: empty value" \
	"values.conf:3: xfrmlifetime=2h: out of range 1s-1h" \
	"values.conf:6: right=host.example: not an IPv4" \
	"values.conf:7: keyingtries=4294967296: out of range" \
	"values.conf:8: auto=sometimes: expected ignore" \
	"values.conf:9: bogus=1: unknown keyword"

# A 100 kB value: the line is refused, naming its keyword and value.
{
	printf 'conn t\n\tleft=192.0.2.1\n\trightsubnet='
	head -c 100000 /dev/zero | tr '\0' '9'
	printf '\n'
} >"$TMP/long.conf"
check_fails "$TMP/long.conf" \
	"long.conf:3: rightsubnet=9{40,}\.\.\.: line of 100013 bytes; the limit is 4096"

# Include loops: a includes b includes a; a file includes itself.
printf 'include b.conf\n' >"$TMP/a.conf"
printf 'conn b\n\tleft=192.0.2.1\n\tauto=ignore\ninclude a.conf\n' >"$TMP/b.conf"
printf 'include self.conf\n' >"$TMP/self.conf"
check_fails "$TMP/a.conf" "b.conf:4: include $TMP/a.conf: include loop"
check_fails "$TMP/self.conf" "self.conf:1: include $TMP/self.conf: include loop"

# A missing include, and a missing file.
printf 'include nowhere.conf\n' >"$TMP/missing.conf"
check_fails "$TMP/missing.conf" \
	"missing.conf:1: include $TMP/nowhere.conf: cannot open: No such file"
check_fails "$TMP/nonexistent.conf" "nonexistent.conf:0: cannot open"

# A 100 MB file of real text: refused by its size before it is read, so
# in bounded memory, on its own and when included.
yes '	# padding padding padding padding padding padding padding' |
	head -c 104857600 >"$TMP/huge.conf"
printf 'include huge.conf\n' >"$TMP/top.conf"
/usr/bin/time -f '%M' -o "$TMP/rss" "$EROUTED" --check -c "$TMP/huge.conf" \
	>/dev/null 2>"$TMP/err"
rss=$(tail -n 1 "$TMP/rss")
[ "$rss" -lt 65536 ] || fail "--check of a 100 MB file peaked at $rss kB"
echo "peak RSS of erouted --check on a 100 MB file: $rss kB"
check_fails "$TMP/huge.conf" \
	"huge.conf:0: 104857600 bytes; the limit is 16777216 per file"
check_fails "$TMP/top.conf" "top.conf:1: include $TMP/huge.conf: 104857600 bytes"
rm -f "$TMP/huge.conf"

# Binary data: a program (NUL bytes); Latin-1 and a terminal escape (no
# NUL); many long lines.
head -c 65536 "$EROUTED" >"$TMP/binary.conf"
check_fails "$TMP/binary.conf" "binary.conf:[0-9]+: .*(binary data|control character|invalid UTF-8)"
printf 'conn t\n\tleft=192.0.2.1\n# M\xfcller\n\tleftupdown=/bin/\x1b[2J\n' >"$TMP/latin1.conf"
check_fails "$TMP/latin1.conf" \
	"latin1.conf:3: invalid UTF-8 \(byte 0xfc at column 4\)" \
	"latin1.conf:4: control character 0x1b"
grep -q "$(printf '\x1b')" "$TMP/err" && fail "an escape reached the output"
for i in $(seq 50); do
	head -c 20000 /dev/zero | tr '\0' 'x'
	echo
done >"$TMP/lines.conf"
check_fails "$TMP/lines.conf" "lines.conf:1: x{40,}\.\.\.: line of 20000 bytes" \
	"lines.conf:50: x+\.\.\.: line of 20000 bytes"
echo PASS
