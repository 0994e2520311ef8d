#!/bin/bash
# SPDX-License-Identifier: MIT
# make install DESTDIR=...: the tree it leaves -- programs, library,
# headers, pkg-config file, man pages, systemd unit, examples, documents --
# and that the man pages know every option and command the programs'
# --help lists, and the unit starts the installed erouted.
set -u
: "${BUILD_DIR:?}" "${PREFIX:?}"
TMP=$(mktemp -d /tmp/eroute-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

DESTDIR=$TMP cmake --install "$BUILD_DIR" >"$TMP/install.log" 2>&1 ||
	fail "cmake --install: $(tail -5 "$TMP/install.log")"
R=$TMP$PREFIX
for f in sbin/erouted bin/eroute; do
	[ -x "$R/$f" ] || fail "$f is not installed"
done
for f in lib/liberoute.so.0 lib/liberoute.a lib/liberoute_xfrm.a \
	lib/pkgconfig/eroute.pc include/eroute/engine.h include/eroute/xfrm.h \
	share/man/man8/erouted.8 share/man/man8/eroute.8 \
	lib/systemd/system/erouted.service \
	share/doc/eroute/examples/eroute.conf share/doc/eroute/examples/demo.conf \
	share/doc/eroute/examples/policies/private-or-clear \
	share/doc/eroute/config.md share/doc/eroute/control-protocol.md \
	share/doc/eroute/xfrm.md; do
	[ -f "$R/$f" ] || fail "$f is not installed"
done
[ -x "$R/share/doc/eroute/examples/updown.sh" ] || fail "examples/updown.sh is not installed executable"
grep -q "^prefix=$PREFIX\$" "$R/lib/pkgconfig/eroute.pc" || fail "pkg-config prefix"
"$R/sbin/erouted" --version | grep -q "^erouted " || fail "the installed erouted runs"
"$R/bin/eroute" --help | grep -q "^Usage: eroute" || fail "the installed eroute runs"

# The man pages: every long option of --help, every command of eroute.
man_text() { sed 's/\\-/-/g; s/\\f[BIRP]//g' "$1"; }
man_text "$R/share/man/man8/erouted.8" >"$TMP/erouted.txt"
man_text "$R/share/man/man8/eroute.8" >"$TMP/eroute.txt"
for o in $("$R/sbin/erouted" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -q -- "$o" "$TMP/erouted.txt" || fail "erouted(8) does not describe $o"
done
for o in $("$R/bin/eroute" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -q -- "$o" "$TMP/eroute.txt" || fail "eroute(8) does not describe $o"
done
"$R/bin/eroute" --help | sed -n 's/^  \([a-z][a-z]*\( [a-z][a-z]*\)\?\) .*/\1/p' |
	sed 's/ [A-Z].*//' >"$TMP/commands"
[ "$(wc -l <"$TMP/commands")" -ge 10 ] || fail "eroute --help lists its commands"
while read -r cmd; do
	first=${cmd%% *}
	grep -q "^\.B.* $first\b" "$TMP/eroute.txt" ||
		fail "eroute(8) does not describe '$cmd'"
done <"$TMP/commands"
if command -v groff >/dev/null; then
	groff -man -ww -z "$R/share/man/man8/erouted.8" "$R/share/man/man8/eroute.8" \
		2>"$TMP/groff" || fail "groff: $(cat "$TMP/groff")"
	[ ! -s "$TMP/groff" ] || fail "groff warns: $(cat "$TMP/groff")"
fi

# The unit starts the installed erouted on the kernel, after --check.
unit=$R/lib/systemd/system/erouted.service
grep -q "^ExecStart=$PREFIX/sbin/erouted -f --kernel xfrm" "$unit" || fail "ExecStart: $(grep ExecStart "$unit")"
grep -q "^ExecStartPre=$PREFIX/sbin/erouted --check" "$unit" || fail "ExecStartPre"
grep -q "^ExecReload=.*-HUP" "$unit" || fail "ExecReload"
if command -v systemd-analyze >/dev/null; then
	# Pointed at the tree just installed, the unit must verify.
	sed "s|$PREFIX/|$R/|g" "$unit" >"$TMP/erouted.service"
	systemd-analyze verify --man=no "$TMP/erouted.service" >"$TMP/verify" 2>&1 ||
		fail "systemd-analyze verify: $(cat "$TMP/verify")"
fi
echo PASS
