# SPDX-License-Identifier: MIT
# Shared pieces of the process-level tests: the real erouted on the
# simulated kernel with a manual clock and a private socket, driven by the
# real eroute.  Each test sources this, writes a config, calls start.
set -u

: "${EROUTED:?path to erouted}"
: "${EROUTE:?path to eroute}"
TMP=$(mktemp -d /tmp/eroute-test.XXXXXX)
SOCK=$TMP/erouted.sock
CONF=$TMP/eroute.conf
LOG=$TMP/erouted.log
DPID=""

cleanup() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -KILL "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$LOG" ]; then
		echo "--- erouted log:" >&2
		tail -n 60 "$LOG" >&2
	fi
	exit 1
}

# start [extra erouted options]: start erouted on $CONF and wait for it.
start() {
	"$EROUTED" -f -c "$CONF" --kernel sim --clock manual --socket "$SOCK" \
		--state-dir "$TMP" --log-level debug "$@" >>"$LOG" 2>&1 &
	DPID=$!
	for _ in $(seq 200); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$DPID" 2>/dev/null || fail "erouted exited at start"
		sleep 0.02
	done
	fail "erouted did not create $SOCK"
}

# stop: SIGTERM, and it must exit 0 (under ASan: no leaks, no errors).
stop() {
	kill -TERM "$DPID" || fail "erouted is not running"
	wait "$DPID"
	rc=$?
	DPID=""
	[ $rc -eq 0 ] || fail "erouted exited with status $rc"
	[ ! -e "$SOCK" ] || fail "the socket was left behind"
}

er() { "$EROUTE" --socket "$SOCK" "$@"; }
erj() { "$EROUTE" --socket "$SOCK" --json "$@"; }

# eq ACTUAL EXPECTED WHAT
eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# state NAME: a connection's routing state
state() {
	erj status | jq -r --arg n "$1" '.connections[] | select(.name == $n) | .routing'
}

# exits CODE CMD...: CMD exits with CODE
exits() {
	want=$1
	shift
	"$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	[ $got -eq "$want" ] || fail "'$*' exited $got, expected $want: $(cat "$TMP/err")"
}

# raw LINE...: send raw request lines to the socket, print the answers
raw() {
	printf '%s\n' "$@" | socat -t 2 - UNIX-CONNECT:"$SOCK"
}

# net_to_net_conf [AUTO]: west (net-to-net), oe (a group), clear (an
# exception); west has auto=AUTO, add by default.
net_to_net_conf() {
	cat >"$CONF" <<CONF
config setup
	shuntlifetime=15m
	# Long, so that idle bare pass shunts live to their lifetime here.
	expire-shunt-interval=1h

conn %default
	left=192.0.2.10
	keyingtries=1

conn west
	right=198.51.100.20
	leftsubnet=10.1.0.0/16
	rightsubnet=10.2.0.0/16
	auto=${1:-add}
	failureshunt=drop
	retransmit-timeout=30s

conn oe
	right=%opportunisticgroup
	rightsubnet=203.0.113.0/24
	authby=null
	auto=ondemand
	failureshunt=passthrough

conn clear
	right=%any
	rightsubnet=203.0.113.53/32
	type=passthrough
	auto=route
CONF
}
