#!/bin/bash
# tests/fuzz/test_corpus.sh - every fuzz target over its committed corpus
# (tests/fuzz/corpus/NAME: seeds and crash reproducers), through the
# replay_NAME programs that "make check" builds in every configuration.
# One check per target: the program ran every input without a broken
# promise (abort), a sanitizer report or a crash.
. "$top_srcdir/tests/lib.sh"

for t in reply ehlo config policy sasl session msgreq; do
	prog=$top_builddir/tests/fuzz/replay_$t
	dir=$top_srcdir/tests/fuzz/corpus/$t
	n=$(find "$dir" -maxdepth 1 -type f | wc -l)
	out=$(timeout -k 5 300 "$prog" "$dir" 2>&1); rc=$?
	if [ "$rc" = 0 ] && [ "$n" -gt 0 ] && printf '%s\n' "$out" | grep -q "^ok 1 - .*: $n inputs"; then
		tap_ok 0 "$t: $n corpus inputs run clean"
	else
		tap_ok 1 "$t: $n corpus inputs run clean" "$(printf 'exit %s\n%s' "$rc" "$(printf '%s' "$out" | tail -n 40)")"
	fi
done
tap_done
