#!/bin/bash
# tests/fuzz/run.sh - "make fuzz": run libFuzzer targets for a while each.
#
#   run.sh [-s SECONDS] -S SRCDIR -B BUILDDIR TARGET...
#
# For each TARGET: copy SRCDIR/corpus/TARGET to BUILDDIR/run/TARGET/corpus
# (a scratch copy: the committed corpus is never written, unless FUZZ_SAVE=1,
# which merges the new inputs back with -merge=1), then run
# BUILDDIR/fuzz_TARGET on it for SECONDS (default 60) with its dictionary
# (SRCDIR/dict/TARGET.dict) if there is one. Crash inputs go to
# BUILDDIR/run/TARGET/ (crash-*, leak-*, timeout-*, oom-*); the output is in
# BUILDDIR/run/TARGET/fuzz.log. Prints one summary line per target (execs,
# execs/s, cov, ft, corpus) and fails if any target found a problem.
#
# Environment: FUZZ_JOBS (default 1: parallel jobs per target),
# FUZZ_MAX_LEN (default 8192), FUZZ_SAVE=1, FUZZ_ARGS (more libFuzzer flags).
set -u
secs=60 src="" bld=""
while getopts 's:S:B:' o; do
	case $o in
	s) secs=$OPTARG ;;
	S) src=$OPTARG ;;
	B) bld=$OPTARG ;;
	*) echo "usage: run.sh [-s SECONDS] -S SRCDIR -B BUILDDIR TARGET..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$src" ] && [ -n "$bld" ] && [ $# -gt 0 ] || { echo "run.sh: missing arguments" >&2; exit 2; }

failed=()
for t in "$@"; do
	prog=$bld/fuzz_$t work=$bld/run/$t
	[ -x "$prog" ] || { echo "run.sh: $prog not built" >&2; failed+=("$t"); continue; }
	rm -rf "$work" && mkdir -p "$work/corpus" || exit 1
	cp -p "$src/corpus/$t"/* "$work/corpus/" 2>/dev/null
	dict=()
	[ -f "$src/dict/$t.dict" ] && dict=("-dict=$src/dict/$t.dict")
	echo "==> fuzz_$t: ${secs}s on a copy of corpus/$t ($(ls "$work/corpus" | wc -l) inputs)"
	# shellcheck disable=SC2086 # FUZZ_ARGS are words
	(cd "$work" && ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
		"$prog" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len="${FUZZ_MAX_LEN:-8192}" -print_final_stats=1 \
		-jobs="${FUZZ_JOBS:-1}" -workers="${FUZZ_JOBS:-1}" \
		-artifact_prefix="$work/" "${dict[@]}" ${FUZZ_ARGS:-} "$work/corpus" \
		> "$work/fuzz.log" 2>&1)
	rc=$?
	# with -jobs the output is in fuzz-N.log files
	cat "$work"/fuzz-*.log >> "$work/fuzz.log" 2>/dev/null
	last=$(grep -E '^#[0-9]+' "$work/fuzz.log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -n 1)
	cov=$(printf '%s\n' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(printf '%s\n' "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
	found=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	echo "    execs=${execs:-?} execs/s=${speed:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?} exit=$rc problems=$found"
	if [ "$rc" != 0 ] || [ "$found" -gt 0 ]; then
		failed+=("$t")
		grep -E -A 30 '^==[0-9]+==ERROR|broken promise|^SUMMARY' "$work/fuzz.log" | head -n 60
		find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -printf '    reproducer: %p\n'
	fi
	if [ "${FUZZ_SAVE:-0}" = 1 ]; then
		"$prog" -merge=1 "$src/corpus/$t" "$work/corpus" > "$work/merge.log" 2>&1 &&
			echo "    merged into $src/corpus/$t ($(ls "$src/corpus/$t" | wc -l) inputs)"
	fi
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "make fuzz: problems found by: ${failed[*]}" >&2
	exit 1
fi
echo "make fuzz: no problems found"
