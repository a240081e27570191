#!/usr/bin/env bash
# Screenshots of Hearth's facilitation and consent screens.
#
#   scripts/screenshots-facil.sh capture OUTDIR
#       With DISPLAY set and the Hearth window open, unlocked, on a circle
#       where this member is a facilitator: opens each screen by its
#       keyboard shortcut and writes OUTDIR/facil-*.png.
#   scripts/screenshots-facil.sh demo [OUTDIR]
#       Builds hearth and hearthd, makes a demo circle (the app's member
#       facilitates; a second member runs as hearthd serve on loopback),
#       starts the app under Xvfb, unlocks it, and captures as above into
#       OUTDIR (default build/screenshots).
#
# The functions facil_prepare and facil_capture can also be sourced by
# another screenshot script.

set -euo pipefail

# The screens, in order: file name and the shortcut that opens it.
FACIL_SCREENS=(
	"facil-members ctrl+shift+m"
	"facil-guidelines-editor ctrl+shift+g"
	"facil-events ctrl+shift+e"
	"facil-event-schedule ctrl+shift+s"
	"facil-post-actions ctrl+shift+p"
	"facil-library ctrl+shift+b"
	"facil-reports ctrl+shift+r"
	"facil-insights ctrl+shift+i"
	"facil-circle-settings ctrl+shift+k"
	"facil-open-pack ctrl+shift+o"
)

# facil_window prints the id of the Hearth window: the one of process
# $FACIL_APP_PID when set (so that another Hearth on the same display is
# never driven), else the first one on the display.
facil_window() {
	if [[ -n ${FACIL_APP_PID:-} ]]; then
		xdotool search --sync --pid "$FACIL_APP_PID" --name '^Hearth$' | head -n1
	else
		xdotool search --sync --name '^Hearth$' | head -n1
	fi
}

# facil_close closes the dialogs on show (Ctrl+Shift+W, a main menu
# shortcut, so it works whichever widget has the focus).
facil_close() {
	local win=$1
	xdotool key --window "$win" ctrl+shift+w
	sleep 0.3
	xdotool key --window "$win" ctrl+shift+w
	sleep 0.5
}

# facil_capture OUTDIR: one PNG per screen, plus the chat with its hidden
# post.
facil_capture() {
	local out=$1 win
	mkdir -p "$out"
	win=$(facil_window)
	xdotool windowactivate --sync "$win" 2>/dev/null || xdotool windowfocus --sync "$win"
	facil_close "$win"
	import -window "$win" "$out/facil-chat-hidden-post.png"
	for s in "${FACIL_SCREENS[@]}"; do
		local name=${s%% *} keys=${s#* }
		xdotool key --window "$win" "$keys"
		sleep 1.5
		import -window "$win" "$out/$name.png"
		echo "screenshots: $out/$name.png"
		facil_close "$win"
	done
}

# hd HOME ARGS...: hearthd on a demo home.
hd() {
	local home=$1
	shift
	HEARTH_PASSPHRASE="$DEMO_PASS" "$HEARTHD" --home "$home" "$@"
}

# facil_prepare APP_HOME MEMBER_HOME CIRCLE: while both homes serve, gives
# the circle what the screens show: posts of every scope, an event, a
# resource, a retention setting, and a post hidden by the facilitator
# (the app's member).
facil_prepare() {
	local app=$1 mem=$2 circle=$3 hidden
	hd "$app" post --circle "$circle" --scope future "Welcome, everyone. This circle meets on Tuesdays."
	hd "$mem" post --circle "$circle" "Hard week. Sleep has been the worst part."
	hd "$app" post --circle "$circle" "Thank you for saying it. What helped a little, even once?"
	hd "$mem" post --circle "$circle" --scope resource "Breathing 4-7-8 before bed helped me"
	hidden=$(hd "$mem" post --circle "$circle" "Buy cheap pills at example dot com")
	hd "$app" hide --circle "$circle" --message "$hidden" --reason "advertising"
	hd "$app" resource add --circle "$circle" --title "Crisis lines" --text "If you are in danger, call your local emergency number." --link "https://findahelpline.com"
	hd "$app" event schedule --circle "$circle" --title "Tuesday check-in" \
		--start "$(date -d 'next tuesday' +%Y-%m-%d)T18:30" --zone Europe/Berlin --duration 90 \
		--where "In Hearth" --description "A gentle round: how was your week?"
	hd "$app" retention --circle "$circle" --days 30
	# Reports exist only where the hearthd in use has the command.
	if hd "$mem" report --help >/dev/null 2>&1; then
		hd "$mem" report --circle "$circle" --message "$hidden" --reason "This looks like spam." || true
	fi
}

# facil_cleanup stops what facil_demo started and removes its homes.
facil_cleanup() {
	local p
	for p in "${FACIL_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${FACIL_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$FACIL_ROOT"
}

facil_demo() {
	local out=${1:-build/screenshots}
	local app mem circle code
	FACIL_PIDS=()
	FACIL_ROOT=$(mktemp -d)
	local root=$FACIL_ROOT
	app=$root/app
	mem=$root/member
	DEMO_PASS="a quiet place to talk"
	go build -o "$root/hearth" ./cmd/hearth
	CGO_ENABLED=0 go build -o "$root/hearthd" ./cmd/hearthd
	HEARTHD=$root/hearthd
	trap facil_cleanup EXIT
	trap 'exit 1' INT TERM

	hd "$app" init >/dev/null
	hd "$mem" init >/dev/null
	circle=$(hd "$app" circle create --name "Tuesday evening" --nick river)
	HEARTH_PASSPHRASE="$DEMO_PASS" "$HEARTHD" --home "$app" serve >"$root/app.log" 2>&1 &
	FACIL_PIDS+=($!)
	until grep -q ready "$root/app.log"; do sleep 0.2; done
	code=$(hd "$app" invite --circle "$circle")
	hd "$mem" join --nick willow "$code" >/dev/null
	HEARTH_PASSPHRASE="$DEMO_PASS" "$HEARTHD" --home "$mem" serve >"$root/mem.log" 2>&1 &
	FACIL_PIDS+=($!)
	until grep -q ready "$root/mem.log"; do sleep 0.2; done
	facil_prepare "$app" "$mem" "$circle"
	sleep 2
	kill "${FACIL_PIDS[0]}"
	wait "${FACIL_PIDS[0]}" 2>/dev/null || true

	# The app on the facilitator's home, under an Xvfb of its own: Xvfb
	# picks a free display and writes its number to fd 3.
	Xvfb -displayfd 3 -screen 0 1280x800x24 3>"$root/display" >/dev/null 2>&1 &
	FACIL_PIDS+=($!)
	until [[ -s $root/display ]]; do
		kill -0 "${FACIL_PIDS[-1]}" 2>/dev/null || { echo "screenshots: Xvfb did not start" >&2; return 1; }
		sleep 0.2
	done
	export DISPLAY=:$(head -n1 "$root/display")
	LANG=en_US.UTF-8 "$root/hearth" --home "$app" >"$root/hearth.log" 2>&1 &
	FACIL_PIDS+=($!)
	FACIL_APP_PID=$!
	local win
	win=$(facil_window)
	sleep 2
	xdotool windowactivate --sync "$win" 2>/dev/null || true
	xdotool type --window "$win" --delay 20 "$DEMO_PASS"
	xdotool key --window "$win" Return
	sleep 6
	facil_capture "$out"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	case ${1:-} in
	capture) facil_capture "${2:?usage: $0 capture OUTDIR}" ;;
	demo) facil_demo "${2:-}" ;;
	*)
		echo "usage: $0 capture OUTDIR | demo [OUTDIR]" >&2
		exit 2
		;;
	esac
fi
