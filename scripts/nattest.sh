#!/usr/bin/env bash
# A small internet in network namespaces, and Hearth on it: a public segment
# (198.18.0.0/24) holding the circle's mailbox and the facilitator's node,
# and two homes, each a member behind its own NAT router (nftables
# masquerade; LANs 198.19.1.0/24 and 198.19.2.0/24). Only the benchmarking
# range 198.18.0.0/15 is used; only namespaces and veths named hearth-* are
# created, inside those namespaces, and all are removed on exit. The
# machine's own interfaces, routes and firewall are never touched.
#
# It runs the real build/hearthd (CGO_ENABLED=0) in the namespaces:
#   1. the facilitator creates a circle and admits the mailbox (mailbox join);
#   2. member 1 (home 1) joins with the facilitator's invite, reserves a
#      relay slot on the mailbox, and invites member 2 (home 2) with an
#      invite that carries its relayed addresses; member 2 joins through it;
#   3. the two NATed members post to each other, both ways;
#   4. member 1 goes offline, member 2 posts and goes offline, the
#      facilitator too; member 1 comes back and gets the posts from the
#      mailbox alone;
#   5. the mailbox's data directory (raw bytes) and its store (opened with
#      its passphrase, every value read) hold none of the sentences,
#      pseudonyms or the circle's name.
# It reports whether the members' connection ended direct or relayed, and
# each delivery latency. Needs root; skips, saying why, otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
	echo "nattest: SKIP: $*"
	exit 0
}
fail() {
	echo "nattest: FAIL: $*" >&2
	exit 1
}
say() { printf 'nattest: %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces (run as root, e.g. in CI)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
command -v nft >/dev/null || skip "no nft command (apt-get install nftables)"
probe="hearth-probe$$"
ip netns add "$probe" 2>/dev/null || skip "network namespaces are unavailable here (ip netns add failed)"
if ! ip netns exec "$probe" nft list tables >/dev/null 2>&1; then
	ip netns del "$probe"
	skip "nftables does not work in a network namespace here"
fi
ip netns del "$probe"

GO=${GO:-go}
HD=$PWD/build/hearthd
NS=(hearth-inet hearth-mbox hearth-fac hearth-r1 hearth-h1 hearth-r2 hearth-h2)
T=$(mktemp -d /tmp/hearth-nattest.XXXXXX)
PIDS=()
started=$SECONDS

cleanup() {
	local rc=$?
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	if [ "$rc" -ne 0 ] && [ -d "$T" ]; then
		for f in "$T"/*.log; do
			[ -s "$f" ] && { echo "--- $f (last lines)"; tail -n 15 "$f"; }
		done
	fi
	rm -rf "$T"
	say "done in $((SECONDS - started))s"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of a killed run.
for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done

say "building build/hearthd (CGO_ENABLED=0)"
mkdir -p build
CGO_ENABLED=0 $GO build -o "$HD" ./cmd/hearthd

# --- the network -----------------------------------------------------------
for ns in "${NS[@]}"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip -n hearth-inet link add hearth-br type bridge
ip -n hearth-inet link set hearth-br up
# Public segment: the ends are created inside their namespaces.
pub() { # namespace, short name, address
	ip link add "hearth-$2" netns "$1" type veth peer name "hearth-p-$2" netns hearth-inet
	ip -n hearth-inet link set "hearth-p-$2" master hearth-br up
	ip -n "$1" addr add "$3/24" dev "hearth-$2"
	ip -n "$1" link set "hearth-$2" up
}
pub hearth-mbox mbox 198.18.0.10
pub hearth-fac fac 198.18.0.11
pub hearth-r1 r1 198.18.0.1
pub hearth-r2 r2 198.18.0.2
# Homes: a LAN behind each router, masqueraded on its way out; nothing
# comes in that the home did not start.
home() { # n
	local r=hearth-r$1 h=hearth-h$1
	ip link add hearth-lan netns "$r" type veth peer name hearth-eth netns "$h"
	ip -n "$r" addr add "198.19.$1.1/24" dev hearth-lan
	ip -n "$r" link set hearth-lan up
	ip -n "$h" addr add "198.19.$1.2/24" dev hearth-eth
	ip -n "$h" link set hearth-eth up
	ip -n "$h" route add default via "198.19.$1.1"
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$r" nft -f - <<-EOF
		table ip hearth_nat {
			chain hpost {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "hearth-r$1" masquerade
			}
		}
		table ip hearth_fw {
			chain hfwd {
				type filter hook forward priority filter; policy drop;
				ct state established,related ip saddr { 198.18.0.1, 198.18.0.2 } counter comment "direct"
				ct state established,related accept
				iifname "hearth-lan" accept
			}
		}
	EOF
}
home 1
home 2
say "network up: mailbox 198.18.0.10, facilitator 198.18.0.11, homes behind 198.18.0.1 and 198.18.0.2"

# --- Hearth ----------------------------------------------------------------
export HEARTH_PASSPHRASE="nattest passphrase, long enough to pass"
hd() { # namespace home args...
	local ns=$1 dir=$2
	shift 2
	ip netns exec "$ns" "$HD" --home "$T/$dir" "$@"
}
listen() { echo --listen "/ip4/0.0.0.0/tcp/4001" --listen "/ip4/0.0.0.0/udp/4001/quic-v1"; }
start() { # namespace home command...
	local ns=$1 dir=$2
	shift 2
	: >"$T/$dir.log"
	ip netns exec "$ns" "$HD" --home "$T/$dir" -v "$@" >"$T/$dir.out" 2>>"$T/$dir.log" &
	PIDS+=($!)
	eval "PID_$dir=$!"
	local i
	for i in $(seq 100); do
		grep -qx ready "$T/$dir.out" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "$dir did not print ready"
}
stop() { # home
	local pid
	eval "pid=\$PID_$1"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}
now_ms() { date +%s%3N; }
# wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local limit=$1 what=$2 t0=$SECONDS
	shift 2
	until "$@" >/dev/null 2>&1; do
		[ $((SECONDS - t0)) -lt "$limit" ] || fail "timed out after ${limit}s waiting for $what"
		sleep 0.1
	done
}
reads() { # namespace home text
	hd "$1" "$2" read --circle "$CIRCLE" --json --limit 200 | grep -qF "\"text\":\"$3\""
}

NAME="Harbour Lights evening circle"
NICK_F="wren-who-facilitates"
NICK_1="heron-from-home-one"
NICK_2="plover-from-home-two"
S1="the first winter without her was the longest of my life"
S2="I read your words twice, thank you for saying them out loud"
S3="today I walked past our old house and did not cross the street"
S4="tell me if the evenings get easier, I need to hear it from someone"

for d in fac mbox m1 m2; do hd hearth-fac "$d" init >/dev/null; done
start hearth-mbox mbox mailbox serve --listen /ip4/198.18.0.10/tcp/4001 --listen /ip4/198.18.0.10/udp/4001/quic-v1
start hearth-fac fac serve --listen /ip4/198.18.0.11/tcp/4001 --listen /ip4/198.18.0.11/udp/4001/quic-v1
CIRCLE=$(hd hearth-fac fac circle create --name "$NAME" --nick "$NICK_F")
code=$(hd hearth-fac fac invite --circle "$CIRCLE" --mailbox)
[ "$(hd hearth-mbox mbox mailbox join "$code")" = "$CIRCLE" ] || fail "mailbox join printed another circle"
say "circle $CIRCLE with its mailbox"

start hearth-h1 m1 serve $(listen)
tcp() { ip netns exec "$1" timeout 2 bash -c "</dev/tcp/$2/4001" 2>/dev/null; }
tcp hearth-h1 198.18.0.10 || fail "home 1 cannot reach the mailbox"
if tcp hearth-mbox 198.19.1.2 || tcp hearth-mbox 198.18.0.1; then
	fail "the mailbox reaches into home 1: the NAT is open"
fi
code=$(hd hearth-fac fac invite --circle "$CIRCLE")
hd hearth-h1 m1 join --nick "$NICK_1" "$code" >/dev/null
hd hearth-h1 m1 guidelines accept --circle "$CIRCLE" >/dev/null
relayed() { hd hearth-h1 m1 circle list --json | grep -q p2p-circuit; }
wait_for 60 "member 1 to hold a relay reservation on the mailbox" relayed
say "member 1 joined from behind NAT 1 and reserved a relay slot on the mailbox"

start hearth-h2 m2 serve $(listen)
code=$(hd hearth-h1 m1 invite --circle "$CIRCLE")
joined=""
for attempt in 1 2 3 4 5; do
	if joined=$(hd hearth-h2 m2 join --nick "$NICK_2" "$code" 2>"$T/join2.err"); then break; fi
	say "member 2's join, attempt $attempt: $(cat "$T/join2.err")"
	sleep 2
done
[ "$joined" = "$CIRCLE" ] || fail "member 2 could not join through member 1's invite"
hd hearth-h2 m2 guidelines accept --circle "$CIRCLE" >/dev/null
say "member 2 joined from behind NAT 2 with member 1's invite (through the mailbox's relay)"

online() { hd "$1" "$2" members --circle "$CIRCLE" --json | grep -F "\"nick\":\"$3\"" | grep -q '"online":true'; }
wait_for 60 "the two members to connect" online hearth-h1 m1 "$NICK_2"

t0=$(now_ms)
hd hearth-h1 m1 post --circle "$CIRCLE" "$S1" >/dev/null
wait_for 30 "member 2 to read member 1's post" reads hearth-h2 m2 "$S1"
lat1=$(($(now_ms) - t0))
t0=$(now_ms)
hd hearth-h2 m2 post --circle "$CIRCLE" "$S2" >/dev/null
wait_for 30 "member 1 to read member 2's post" reads hearth-h1 m1 "$S2"
lat2=$(($(now_ms) - t0))
say "posts both ways: home 1 -> home 2 in ${lat1} ms, home 2 -> home 1 in ${lat2} ms"

# How the two homes ended up connected: what member 1's node says, and
# whether any packet of a flow with the other home's router came in.
route=$(hd hearth-h1 m1 members --circle "$CIRCLE" --json | grep -F "\"nick\":\"$NICK_2\"" | sed -n 's/.*"route":"\([a-z]*\)".*/\1/p')
direct_pkts=$(ip netns exec hearth-r1 nft list chain ip hearth_fw hfwd | sed -n 's/.*198.18.0.2 } counter packets \([0-9]*\).*/\1/p')
say "member 1 reaches member 2: ${route:-not connected} (packets from home 2's router into home 1: ${direct_pkts:-?})"

# Offline catch-up from the mailbox alone.
stop m1
envelopes() { hd hearth-mbox mbox mailbox list --json | sed -n 's/.*"envelopes":\([0-9]*\).*/\1/p'; }
base=$(envelopes)
hd hearth-h2 m2 post --circle "$CIRCLE" "$S3" >/dev/null
hd hearth-h2 m2 post --circle "$CIRCLE" "$S4" >/dev/null
holds_both() { [ "$(envelopes)" -ge $((base + 2)) ]; }
wait_for 30 "the mailbox to hold member 2's two posts" holds_both
stop m2
stop fac
say "member 1, member 2 and the facilitator offline; the mailbox holds $(envelopes) envelopes ($base before the two posts)"
t0=$(now_ms)
start hearth-h1 m1 serve $(listen)
tready=$(now_ms)
both() { reads hearth-h1 m1 "$S3" && reads hearth-h1 m1 "$S4"; }
wait_for 60 "member 1 to get both posts from the mailbox" both
lat3=$(($(now_ms) - tready))
say "member 1 back online: both posts from the mailbox alone, ${lat3} ms after ready ($(($(now_ms) - t0)) ms after start)"
stop m1
stop mbox

# Nothing readable at the mailbox.
secrets=("$NAME" "$NICK_F" "$NICK_1" "$NICK_2" "$S1" "$S2" "$S3" "$S4")
for s in "${secrets[@]}"; do
	if grep -rqF -- "$s" "$T/mbox"; then
		fail "the mailbox's data directory holds \"$s\""
	fi
done
files=$(find "$T/mbox" -type f | wc -l)
say "the mailbox's data directory ($files files) holds none of the ${#secrets[@]} sentences, pseudonyms and circle name"
HEARTH_NATTEST_HOME="$T/mbox" HEARTH_NATTEST_SECRETS="$(printf '%s\n' "${secrets[@]}")" \
	$GO test -tags nattest -count=1 -run TestNATMailboxStoreClean -v ./app/ >"$T/storecheck.log" 2>&1 ||
	{ cat "$T/storecheck.log"; fail "the mailbox's store check failed"; }
say "$(grep -o 'read [0-9]* values.*' "$T/storecheck.log" | head -1)"
say "PASS: members' connection ${route:-unknown}; latency home1->home2 ${lat1} ms, home2->home1 ${lat2} ms, catch-up from the mailbox ${lat3} ms after ready"
