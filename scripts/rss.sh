#!/usr/bin/env bash
# Measures the desktop app's resident memory on a vault with one long
# circle, as a member would run it: build/hearth under a virtual X server,
# the passphrase typed with xdotool, the circle's node online.
#
# Each run starts the app, notes its memory on the locked screen, unlocks,
# waits for the latest messages to be drawn (HEARTH_TIMING=1 reports it)
# and then SETTLE seconds more (noting the least and most resident memory
# of each second), and notes the memory again: VmRSS, VmHWM,
# anonymous and file-backed parts, and the resident size of the largest
# mappings (Go's heap arenas and other anonymous memory, Mesa's libLLVM
# and swrast, the app's own binary, Badger's table and log files). Then it
# asks the app (HEARTH_MEMPROFILE, SIGUSR1) for the Go runtime's figures
# and a heap profile, build/rss/PHASE-N.pprof, to read with
# `go tool pprof -top -sample_index=inuse_space build/hearth FILE`.
#
# Usage: scripts/rss.sh [RUNS]   (default 5; needs build/hearth, Xvfb and
# xdotool: make build deps-screens). HOME_DIR=dir measures an existing
# vault (PASS its passphrase) instead of seeding one of N messages.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-5}
N=${N:-10000}
SETTLE=${SETTLE:-10}
PASS=${PASS:-a quiet evening measure}
OUT=build/rss
HEARTH=${HEARTH:-build/hearth}
export LANG=en_US.UTF-8

say() { echo "rss: $*" >&2; }
for t in Xvfb xdotool; do command -v $t >/dev/null || { say "$t missing: run make deps-screens"; exit 1; }; done
[ -x "$HEARTH" ] || { say "$HEARTH missing: run make build"; exit 1; }
mkdir -p "$OUT"

if [ -z "${HOME_DIR:-}" ]; then
	HOME_DIR=$OUT/vault
	if [ ! -e "$HOME_DIR/.seeded-$N" ]; then
		rm -rf "$HOME_DIR"
		HEARTH_PASSPHRASE="$PASS" go run ./scripts/seedhistory -home "$HOME_DIR" -n "$N" >&2
		touch "$HOME_DIR/.seeded-$N"
	fi
fi

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

free_display() {
	for n in $(seq 142 190); do
		[ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] || { echo ":$n"; return; }
	done
	echo ":191"
}
export DISPLAY=${RSS_DISPLAY:-$(free_display)}
Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done

# cpu PID: the user and system CPU time the process has used, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# mappings PID: resident kB of the mappings grouped by what they hold.
mappings() {
	awk '
	/^[0-9a-f]+-[0-9a-f]+ / {
		name = $6
		if (name == "") name = "anon"
		else if (name ~ /libLLVM/) name = "libLLVM"
		else if (name ~ /_dri\.so|libgallium|swrast/) name = "mesa-dri"
		else if (name ~ /\/build\/hearth$/) name = "hearth-binary"
		else if (name ~ /\.sst$/) name = "badger-sst"
		else if (name ~ /\.vlog$/) name = "badger-vlog"
		else if (name ~ /\.mem$/) name = "badger-memtable"
		else if (name ~ /\.so/) name = "other-libs"
		else if (name ~ /^\[/) name = name
		else name = "other-files"
		next
	}
	$1 == "Rss:" { rss[name] += $2 }
	END { for (n in rss) printf "%s=%d ", n, rss[n] }' "/proc/$1/smaps"
}

# snapshot PID PHASE RUN: one line of figures, then the app's own report.
snapshot() {
	local pid=$1 phase=$2 run=$3
	echo "$phase run=$run VmRSS=$(kb "$pid" VmRSS) VmHWM=$(kb "$pid" VmHWM) RssAnon=$(kb "$pid" RssAnon) RssFile=$(kb "$pid" RssFile) Threads=$(kb "$pid" Threads) $(mappings "$pid")"
	# The app writes to the one path it was given; point it at this phase.
	ln -sf "$phase-$run.pprof" "$OUT/profile.pprof"
	kill -USR1 "$pid"
	sleep 2
}

for run in $(seq "$RUNS"); do
	log=$OUT/app-$run.log
	HEARTH_TIMING=1 HEARTH_MEMPROFILE="$OUT/profile.pprof" "$HEARTH" --home "$HOME_DIR" 2>"$log" &
	app=$!
	pids+=($app)
	win=
	for _ in $(seq 200); do
		win=$(xdotool search --pid "$app" --name Hearth 2>/dev/null | head -1) && [ -n "$win" ] && break
		sleep 0.1
	done
	[ -n "$win" ] || { say "the window did not appear: $(cat "$log")"; exit 1; }
	sleep 3
	snapshot "$app" locked "$run"
	xdotool type --delay 15 "$PASS"
	xdotool key Return
	for _ in $(seq 300); do grep -q "hearth timing" "$log" && break; sleep 0.1; done
	echo "unlock run=$run CPU from start to the latest messages drawn: $(( $(cpu "$app") * 1000 / $(getconf CLK_TCK) )) ms"
	grep -q "hearth timing" "$log" || { say "no timing line: $(cat "$log")"; exit 1; }
	# The resident memory once a second while the app idles, online.
	lo= hi=
	cpu0=$(cpu "$app")
	for _ in $(seq "$SETTLE"); do
		sleep 1
		r=$(kb "$app" VmRSS)
		[ -z "$lo" ] || [ "$r" -lt "$lo" ] && lo=$r
		[ -z "$hi" ] || [ "$r" -gt "$hi" ] && hi=$r
	done
	echo "idle run=$run VmRSS over ${SETTLE}s: min=$lo max=$hi; CPU $(( ($(cpu "$app") - cpu0) * 1000 / $(getconf CLK_TCK) )) ms"
	snapshot "$app" unlocked "$run"
	grep "hearth timing\|hearth memory" "$log" | sed "s/^/run=$run /"
	kill "$app"
	wait "$app" 2>/dev/null || true
done
