#!/usr/bin/env bash
# Runs every fuzz target in the module for a short while, one at a time
# (go test -fuzz takes a single package and a single target), and prints a
# summary. Usage: scripts/fuzz.sh [fuzztime]   (default 4s)
# A target that finds a failure leaves its input in the package's
# testdata/fuzz/FuzzXxx/, where plain `go test` replays it from then on.
set -euo pipefail

fuzztime=${1:-4s}
go=${GO:-go}
cd "$(dirname "$0")/.."

ok=()
failed=()
while IFS=' ' read -r pkg dir; do
	# Only compile test binaries for packages whose tests declare a fuzz target.
	grep -qs '^func Fuzz' "$dir"/*_test.go || continue
	names=$("$go" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for name in $names; do
		echo "fuzz: $pkg $name ($fuzztime)"
		if "$go" test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg"; then
			ok+=("$pkg.$name")
		else
			failed+=("$pkg.$name")
		fi
	done
done < <("$go" list -f '{{.ImportPath}} {{.Dir}}' ./...)

echo
echo "fuzz summary: ${#ok[@]} passed, ${#failed[@]} failed (each for $fuzztime)"
for t in "${failed[@]}"; do
	echo "  FAILED $t"
done
[ "${#failed[@]}" -eq 0 ]
