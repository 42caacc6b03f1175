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
trap 'rm -f "$log"' EXIT
TESTS=${TESTS:-}

# Whether $1 is picked by $TESTS (all are when it is empty); the words are
# names, not patterns (set -f).
picked() {
	[ -z "$TESTS" ] && return 0
	set -f
	for w in $TESTS; do
		case "$1" in *"$w"*) set +f; return 0 ;; esac
	done
	set +f
	return 1
}

# Every word must name something: a typo would otherwise pass quietly.
set -f
for w in $TESTS; do
	set +f
	found=0
	for t in "$@" tests/t[0-9]*.sh tests/t[0-9]*.py; do
		case "$(basename "$t")" in *"$w"*) found=1 ;; esac
	done
	if [ "$found" -eq 0 ]; then
		echo "no test matches '$w'" >&2
		exit 1
	fi
	set -f
done
set +f

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
[ "$failed" -eq 0 ]
