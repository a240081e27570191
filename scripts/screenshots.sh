#!/usr/bin/env bash
# Takes pictures of the real desktop app for build/screenshots/.
#
# It makes a demo: a vault for "you" with a circle whose two other members,
# ash and sage, run as `hearthd serve` on loopback, and some history (posts
# of every scope, a content warning, a reply, reactions). Then it starts
# build/hearth on that vault under a virtual X server, drives it with
# xdotool (typing, shortcuts, clicks) and writes one PNG per step with
# ImageMagick's `import`.
#
# Adding a screen: write a function step_NAME that brings the unlocked main
# window to the screen to show (the window is 960x760 at the top left, with
# nothing open), and add NAME to STEPS. Each step starts from a fresh unlock
# and is locked again afterwards, which also closes any dialog it opened.
#
# Usage: scripts/screenshots.sh   (make screenshots runs deps-screens and
# build first). Needs build/hearth and build/hearthd.
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=(unlock chat members invite join settings
	facil-members facil-guidelines facil-events facil-schedule facil-post-actions
	facil-library facil-reports facil-insights facil-circle-settings facil-open-pack
	light chat-light large-text chat-large)

OUT=build/screenshots
DEMO=build/screens-demo
# A display no other X server holds (a lock file stays a moment after one
# stops).
free_display() {
	for n in $(seq 94 140); do
		[ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] || { echo ":$n"; return; }
	done
	echo ":141"
}
DISPLAY_NUM=${SCREENSHOT_DISPLAY:-$(free_display)}
PASS="a quiet evening demo"
HEARTHD=build/hearthd
HEARTH=build/hearth
export LANG=en_US.UTF-8 HEARTH_PASSPHRASE="$PASS"

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

say() { echo "screenshots: $*"; }

# serve HOME: runs `hearthd serve` in HOME until the script ends.
serve() {
	local home=$1 fifo
	fifo=$(mktemp -u) && mkfifo "$fifo"
	"$HEARTHD" --home "$home" serve >"$fifo" 2>"$home.log" &
	pids+=($!)
	local line
	read -r -t 60 line <"$fifo" || true
	rm -f "$fifo"
	[ "$line" = ready ] || { say "hearthd serve in $home did not start: $(cat "$home.log")"; exit 1; }
	echo $!
}

# hd HOME ARGS...: a hearthd command in HOME.
hd() { local home=$1; shift; "$HEARTHD" --home "$home" "$@"; }

make_demo() {
	rm -rf "$DEMO" && mkdir -p "$DEMO"
	local you=$DEMO/you ash=$DEMO/ash sage=$DEMO/sage
	for h in "$you" "$ash" "$sage"; do hd "$h" init >/dev/null; done
	CIRCLE=$(hd "$you" circle create --name "Tuesday evening circle" --nick river)
	printf '# Our agreements\n\n- What is said here stays here.\n- Speak from your own experience.\n- No advice unless someone asks for it.\n' >"$DEMO/guidelines.md"
	hd "$you" guidelines set --circle "$CIRCLE" --file "$DEMO/guidelines.md" >/dev/null
	hd "$you" guidelines accept --circle "$CIRCLE" >/dev/null
	local you_pid
	you_pid=$(serve "$you")
	local code
	code=$(hd "$you" invite --circle "$CIRCLE" --uses 2)
	hd "$ash" join --nick ash "$code" >/dev/null
	hd "$sage" join --nick sage "$code" >/dev/null
	serve "$ash" >/dev/null
	serve "$sage" >/dev/null

	local first m2 m3
	first=$(hd "$ash" post --circle "$CIRCLE" "Hi all. This week was a lot. I kept thinking about what we said on Tuesday.")
	m2=$(hd "$you" post --circle "$CIRCLE" --scope future "Welcome to everyone reading this later: this circle meets on Tuesdays, and you can read back from here.")
	hd "$sage" post --circle "$CIRCLE" --reply-to "$first" "Same here. It helped to hear I am not the only one." >/dev/null
	m3=$(hd "$sage" post --circle "$CIRCLE" --scope resource "A breathing exercise that works for me: in for four, hold for four, out for six. Repeat five times.")
	hd "$ash" post --circle "$CIRCLE" --cw "self-harm" "Some nights the urge comes back. Writing it here instead of acting on it." >/dev/null
	hd "$you" post --circle "$CIRCLE" "Thank you for trusting us with that, ash. We are here." >/dev/null
	hd "$you" react --circle "$CIRCLE" --message "$first" --reaction "I hear you" >/dev/null
	hd "$sage" react --circle "$CIRCLE" --message "$first" --reaction "I hear you" >/dev/null
	hd "$ash" react --circle "$CIRCLE" --message "$m3" --reaction "Thank you" >/dev/null
	hd "$ash" react --circle "$CIRCLE" --message "$m2" --reaction "Sending strength" >/dev/null
	# What the facilitation screens show: a post hidden by the facilitator
	# (you) and reported by sage, a resource, a session, a retention setting.
	local spam
	spam=$(hd "$ash" post --circle "$CIRCLE" "Buy cheap pills at example dot com")
	hd "$sage" report --circle "$CIRCLE" --post "$spam" --reason "This looks like spam." >/dev/null
	hd "$you" hide --circle "$CIRCLE" --post "$spam" --reason "advertising" >/dev/null
	hd "$you" resource add --circle "$CIRCLE" --title "Crisis lines" \
		--text "If you are in danger, call your local emergency number." --link "https://findahelpline.com" >/dev/null
	hd "$you" event add --circle "$CIRCLE" --title "Tuesday check-in" \
		--start "$(date -d 'next tuesday' +%Y-%m-%d)T18:30" --zone Europe/Berlin --duration 90 \
		--where "In Hearth" --description "A gentle round: how was your week?" >/dev/null
	hd "$you" retention --circle "$CIRCLE" --days 30 >/dev/null
	# Let the last records reach every member, then free "you" for the app.
	sleep 2
	kill "$you_pid" && wait "$you_pid" 2>/dev/null || true
}

start_x() {
	Xvfb "$DISPLAY_NUM" -screen 0 1000x800x24 -nolisten tcp >/dev/null 2>&1 &
	pids+=($!)
	export DISPLAY=$DISPLAY_NUM
	for _ in $(seq 100); do xdotool getmouselocation >/dev/null 2>&1 && return; sleep 0.1; done
	say "Xvfb did not start on $DISPLAY_NUM"
	exit 1
}

start_app() {
	"$HEARTH" --home "$DEMO/you" 2>"$DEMO/hearth.log" &
	APP=$!
	pids+=($APP)
	for _ in $(seq 100); do
		WIN=$(xdotool search --pid "$APP" --name Hearth 2>/dev/null | head -1) && [ -n "$WIN" ] && break
		sleep 0.1
	done
	[ -n "${WIN:-}" ] || { say "the app's window did not appear: $(head -5 "$DEMO/hearth.log")"; exit 1; }
	sleep 1.5
}

# shoot NAME [WAIT]: a picture of the app's window (dialogs included).
shoot() { sleep "${2:-1}"; import -window "$WIN" "$OUT/$1.png"; say "wrote $OUT/$1.png"; }
key() { xdotool key --clearmodifiers "$@"; }
click() { xdotool mousemove "$1" "$2" click 1; }

unlock() {
	xdotool type --delay 15 "$PASS"
	key Return
	sleep 3 # key derivation, then the circle goes online
	# Taller than the app's 640, so that a screen holds more of the history.
	xdotool windowsize "$WIN" 960 760
	sleep 0.5
}
lock() { key ctrl+l; sleep 1; }

step_unlock() { :; } # the locked screen as it starts
# The history scrolled up a little, so that posts of every scope show.
step_chat() { xdotool mousemove 600 350 click --repeat 3 --delay 50 4; }
# The settings with the light theme chosen (it stays chosen: it is saved).
step_light() {
	key ctrl+comma
	sleep 1
	click 400 220 # Light
}
step_chat-light() { step_chat; }
# A larger text size, chosen with the keyboard in the Text size list.
step_large-text() {
	key ctrl+comma
	sleep 1
	click 535 259 # Text size
	sleep 0.5
	key Down Down Down Return
}
step_chat-large() { :; }
step_members() { key ctrl+m; }
step_invite() {
	key ctrl+i
	sleep 1
	key Tab Tab Tab space # Make code
}
step_join() {
	key ctrl+j
	sleep 1
	xdotool type --delay 10 "hearth1-abcd-efgh-ijkl"
	key Tab
	xdotool type --delay 10 "fern"
	key Return
}
step_settings() { key ctrl+comma; }
# The facilitation and consent screens, each on its Ctrl+Shift shortcut.
step_facil-members() { key ctrl+shift+m; }
step_facil-guidelines() { key ctrl+shift+g; }
step_facil-events() { key ctrl+shift+e; }
step_facil-schedule() { key ctrl+shift+s; }
step_facil-post-actions() { key ctrl+shift+p; }
step_facil-library() { key ctrl+shift+b; }
step_facil-reports() { key ctrl+shift+r; }
step_facil-insights() { key ctrl+shift+i; }
step_facil-circle-settings() { key ctrl+shift+k; }
step_facil-open-pack() { key ctrl+shift+o; }

main() {
	for t in Xvfb xdotool import; do command -v $t >/dev/null || { say "$t missing: run make deps-screens"; exit 1; }; done
	[ -x "$HEARTH" ] && [ -x "$HEARTHD" ] || { say "run make build first"; exit 1; }
	mkdir -p "$OUT"
	say "making the demo circle"
	make_demo
	start_x
	start_app
	for s in "${STEPS[@]}"; do
		if [ "$s" = unlock ]; then
			shoot unlock 0
			continue
		fi
		unlock
		"step_$s"
		shoot "$s" 2
		lock
	done
	say "done: $(ls "$OUT" | wc -l) pictures in $OUT"
}

main "$@"
