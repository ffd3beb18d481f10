#!/usr/bin/env bash
# The default model's scaling, from BENCH (a build/bench): samples/s at 1, 2, 4, ... threads
# up to the cores (and at the cores), the ms of each part of a step at 1 thread and at all
# cores, and one single-threaded run per core at once against one alone (the sweep's way).
# With PER_RUN_FILE, the mean samples/s of a run among those is written there.
# Used by tools/bench.sh (make bench) and experiments/device_run.sh.
# usage: tools/bench_scaling.sh BENCH [PER_RUN_FILE]
set -euo pipefail
bench=${1:?usage: bench_scaling.sh BENCH [PER_RUN_FILE]}
rounds=${BENCH_ROUNDS:-3}
case "$rounds" in ''|*[!0-9]*) rounds=0;; esac
[ "$rounds" -ge 1 ] || { echo "bench_scaling.sh: BENCH_ROUNDS must be a positive integer, not '${BENCH_ROUNDS:-}'" >&2; exit 2; }
sps() { awk '{print $3}'; }   # samples/s of a build/bench step line
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)   # nproc obeys OMP_NUM_THREADS
echo "scaling, default model (samples/s; speed-up over 1 thread):"
one=$("$bench" step default 1 | sps)
t=1
while [ "$t" -le "$cores" ]; do
  s=$([ "$t" = 1 ] && echo "$one" || "$bench" step default "$t" | sps)
  awk -v t="$t" -v s="$s" -v o="$one" 'BEGIN{printf "  %2d threads: %8.1f  %5.2fx\n", t, s, s/o}'
  if [ "$t" -lt "$cores" ] && [ $((t * 2)) -gt "$cores" ]; then t=$cores; else t=$((t * 2)); fi
done

echo
# fastest of the rounds, part by part: a parallel region waits milliseconds whenever another
# process takes a core for a moment, which one round alone would report as the part's cost
phases() { for r in $(seq "$rounds"); do "$bench" phases default "$1"; done |
           awk '!($3 in m) || $4 < m[$3] {m[$3] = $4} !($3 in o) {o[$3] = n++}
                END {for (p in o) k[o[p]] = p; for (i = 0; i < n; i++) print k[i], m[k[i]]}'; }
echo "parts of a step, default model (ms per step, fastest of $rounds rounds; a part that does not speed up limits the scaling):"
paste <(phases 1) <(phases "$cores") |
  awk -v n="$cores" '{printf "  %-10s 1 thread %8.3f   %2d threads %8.3f   %5.2fx\n", $1, $2, n, $4, ($4 > 0 ? $2 / $4 : 0)}'

echo
echo "sweep throughput: $cores single-threaded runs of the default model at once, one per core:"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq "$cores"); do "$bench" step default 1 > "$tmp/$i" & done
wait
per_run=$(cat "$tmp"/* | awk '{s += $3; n++} END{printf "%.1f", s/n}')
awk -v o="$one" -v e="$per_run" -v n="$cores" 'BEGIN{printf "  per run %.1f samples/s (mean of %d), alone %.1f: %.0f%% of a run alone\n", e, n, o, 100*e/o}'
[ -z "${2:-}" ] || echo "$per_run" > "$2"
