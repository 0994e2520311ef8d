#!/bin/sh
# SPDX-License-Identifier: MIT
# An updown script that only logs what it is called with: point
# leftupdown= at it to see the calls erouted makes.  A real one would add
# and remove routes and firewall rules per PLUTO_VERB.
logger -t eroute-updown -- "$PLUTO_VERB $PLUTO_CONNECTION" \
	"me=$PLUTO_ME peer=$PLUTO_PEER" \
	"my_client=$PLUTO_MY_CLIENT peer_client=$PLUTO_PEER_CLIENT" \
	"proto=$PLUTO_MY_PROTOCOL/$PLUTO_PEER_PROTOCOL" \
	"ports=$PLUTO_MY_PORT/$PLUTO_PEER_PORT reqid=$PLUTO_REQID" \
	"stack=$PLUTO_STACK" 2>/dev/null ||
	echo "$PLUTO_VERB $PLUTO_CONNECTION me=$PLUTO_ME peer=$PLUTO_PEER reqid=$PLUTO_REQID"
case "$PLUTO_VERB" in
prepare-* | route-* | unroute-* | up-* | down-*) exit 0 ;;
*) echo "unknown verb $PLUTO_VERB" >&2; exit 1 ;;
esac
