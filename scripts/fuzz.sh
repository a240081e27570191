#!/usr/bin/env bash
# Runs every fuzz target in the module for a short while, one at a time
# (go test -fuzz takes a single package and a single target), and prints a
# summary. Usage: scripts/fuzz.sh [fuzztime]   (default 4s)
#
# A target that finds a failure leaves its input in the package's
# testdata/fuzz/FuzzXxx/, where plain `go test` replays it from then on.
#
# Go's fuzzing coordinator (internal/fuzz, Go 1.26) can fail a target with a
# bare "context deadline exceeded" when -fuzztime ends: it tells an expected
# stop from an error by comparing the deadline context's error with that of
# its child, which is cancelled a moment later, and a loaded machine widens
# that moment. Such a run found nothing and wrote no input; it counts as
# passed, and is reported, only if the target's corpus then replays cleanly.
set -euo pipefail

fuzztime=${1:-4s}
go=${GO:-go}
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

ok=()
raced=()
failed=()
while IFS=' ' read -r pkg dir; do
	# Only compile test binaries for packages whose tests declare a fuzz target.
	grep -qs '^func Fuzz' "$dir"/*_test.go || continue
	names=$("$go" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for name in $names; do
		echo "fuzz: $pkg $name ($fuzztime)"
		if "$go" test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg" 2>&1 | tee "$log"; then
			ok+=("$pkg.$name")
		elif grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log" &&
			"$go" test -count=1 -run="^${name}\$" "$pkg"; then
			echo "fuzz: $name stopped on Go's fuzztime deadline race; its corpus replays cleanly"
			raced+=("$pkg.$name")
		else
			failed+=("$pkg.$name")
		fi
	done
done < <("$go" list -f '{{.ImportPath}} {{.Dir}}' ./...)

echo
echo "fuzz summary: $((${#ok[@]} + ${#raced[@]})) passed, ${#failed[@]} failed (each for $fuzztime)"
for t in "${raced[@]}"; do
	echo "  passed after Go's fuzztime deadline race, corpus replayed: $t"
done
for t in "${failed[@]}"; do
	echo "  FAILED $t"
done
[ "${#failed[@]}" -eq 0 ]
