#!/bin/sh
# Run every test: the unit test binaries given as arguments, then each
# numbered script in tests/ (t*.sh with sh, t*.py with python3).  Each
# script prints "ok - NAME" / "not ok - NAME" lines (a skip says why);
# this runner adds them up and ends with the closing line
# "N passed, N failed".  Exit status is non-zero if anything failed.
# With $TESTS set (words such as "t0310 jdoc"), only the unit binaries and
# scripts whose names contain one of its words run.
set -u
cd "$(dirname "$0")/.."

: "${ZTWATCH:?ZTWATCH must name the binary under test}"
: "${ZTMINT:?ZTMINT must name the minting tool}"
export ZTWATCH ZTMINT

passed=0
failed=0
skipped=0
failures=""
log=$(mktemp)
TESTS=${TESTS:-}

# Whether $1 is picked by $TESTS (all are when it is empty).
picked() {
	[ -z "$TESTS" ] && return 0
	for w in $TESTS; do
		case "$1" in *"$w"*) return 0 ;; esac
	done
	return 1
}

trap 'rm -f "$log"' EXIT

count() {
	# $1: name of the suite, output in $log, exit status $2
	p=$(grep -c '^ok - ' "$log")
	f=$(grep -c '^not ok - ' "$log")
	s=$(grep -c '^skip - ' "$log")
	t=$(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1 \2/p' "$log" | tail -n 1)
	if [ -n "$t" ]; then
		p=$(echo "$t" | cut -d' ' -f1)
		f=$(echo "$t" | cut -d' ' -f2)
	fi
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1		# a crash or a non-zero exit with no failure line
		echo "not ok - $1 exited with status $2"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failures="$failures $1"
	echo "# $1: $p passed, $f failed${s:+, $s skipped}"
}

for bin in "$@"; do
	name=$(basename "$bin")
	picked "$name" || continue
	echo "# unit: $name"
	"$bin" >"$log" 2>&1
	rc=$?
	grep -E '^(FAIL|  )' "$log" | head -n 40
	count "$name" "$rc"
done

for t in tests/t[0-9]*.sh tests/t[0-9]*.py; do
	[ -f "$t" ] || continue
	picked "$t" || continue
	echo "# script: $t"
	case "$t" in
	*.sh)	timeout 300 bash "$t" >"$log" 2>&1 ;;
	*.py)	timeout 300 python3 "$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	grep -E '^(not ok|skip) - |^#   ' "$log" | head -n 60
	count "$t" "$rc"
done

echo
[ -n "$failures" ] && echo "failed suites:$failures"
echo "$passed passed, $failed failed, $skipped skipped${TESTS:+ (only: $TESTS)}"
if [ -n "$TESTS" ] && [ $((passed + failed + skipped)) -eq 0 ]; then
	echo "no test matches: $TESTS" >&2
	exit 1
fi
[ "$failed" -eq 0 ]
