#!/usr/bin/env bash
# make bench: the C trainer and PyTorch on the same model, batch and data, side by side.
# Each side at its best thread count (1 or 2 here), fastest of BENCH_ROUNDS (3) alternating
# rounds; the sgemm peak at C's thread count.
# Then, for the default model: samples/s at 1, 2, 4, ... threads up to the cores (scaling), the
# ms of each part of a step at 1 thread and at all cores,
# one single-threaded run per core at once against one alone (the sweep's way), and, with
# BENCH_BASELINE=<git revision>, that revision's build/bench against this one, alternating.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${BENCH_THREADS:-1 2}"
ROUNDS="${BENCH_ROUNDS:-3}"   # rounds of C and PyTorch, alternating: a slow minute of a shared host hits both
case "$ROUNDS" in ''|*[!0-9]*) ROUNDS=bad;; esac
[ "$ROUNDS" != bad ] && [ "$ROUNDS" -ge 1 ] || { echo "bench: BENCH_ROUNDS must be a positive integer, not '${BENCH_ROUNDS:-}'" >&2; exit 2; }
PY=/usr/bin/python3

fastest() { sort -k3 -g -r | head -n 1; }   # the line with the most samples/s

have_torch=1
$PY -c "import torch" 2>/dev/null || have_torch=0
echo "machine: $(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo '?'), torch $($PY -c 'import torch; print(torch.__version__)' 2>/dev/null || echo 'not installed')"
echo "batch 128, Fashion-MNIST, one training step = batch + forward + backward + gradient norm + Adam, as ./train does"
echo "each side: its fastest of $ROUNDS rounds x threads {$THREADS}, the rounds of C and PyTorch alternating; sgemm peak: best of $ROUNDS"
echo
printf '| %-7s | %-22s | %-9s | %-8s | %-22s | %-9s | %-8s | %-9s | %-16s |\n' config "C samples/s (threads)" "C GFLOP/s" "C RSS MB" "PyTorch samples/s (thr)" "PT GFLOP/s" "PT RSS MB" "C/PyTorch" "C / sgemm peak"
printf '|%s|\n' "---------|------------------------|-----------|----------|-------------------------|-------------|-----------|-----------|------------------"
declare -A peak
for t in $THREADS; do
  peak[$t]=$(for r in $(seq "$ROUNDS"); do build/bench sgemm "$t"; done | sort -k3 -g -r | head -n 1 | awk '{print $3}')
done
for cfg in default deep wide; do
  c_lines=""; p_lines=""
  for r in $(seq "$ROUNDS"); do
    for t in $THREADS; do
      c_lines+="$(build/bench step "$cfg" "$t")"$'\n'
      [ "$have_torch" = 0 ] || p_lines+="$($PY tools/bench_torch.py "$cfg" "$t")"$'\n'
    done
  done
  read -r _ ct cs cg _ cr <<<"$(printf '%s' "$c_lines" | fastest)"
  if [ "$have_torch" = 1 ]; then
    read -r _ pt ps pg _ pr <<<"$(printf '%s' "$p_lines" | fastest)"
    ratio=$(awk -v a="$cs" -v b="$ps" 'BEGIN{printf "%.2fx", a/b}')
  else
    pt="-"; ps="skipped"; pg="-"; pr="-"; ratio="-"
  fi
  share=$(awk -v g="$cg" -v p="${peak[$ct]}" 'BEGIN{printf "%.0f%% of %.0f", 100*g/p, p}')
  printf '| %-7s | %-22s | %-9s | %-8s | %-23s | %-11s | %-9s | %-9s | %-16s |\n' "$cfg" "$cs ($ct)" "$cg" "$cr" "$ps ($pt)" "$pg" "$pr" "$ratio" "$share"
done
echo
for t in $THREADS; do
  fma=$(build/bench fma "$t" | awk '{print $3}')
  echo "sgemm peak (best of 1024^3 and 2048^3) with $t thread(s): ${peak[$t]} GFLOP/s;" \
       "FMA peak (12 chains of 8-wide FMAs in registers): $fma GFLOP/s, sgemm at $(awk -v a="${peak[$t]}" -v b="$fma" 'BEGIN{printf "%.0f", (b > 0 ? 100*a/b : 0)}')% of it"
done
[ "$have_torch" = 1 ] || echo "PyTorch side skipped: python3-torch is not installed (apt-get install python3-torch)"

sps() { awk '{print $3}'; }   # samples/s of a build/bench step line
echo
tools/bench_scaling.sh build/bench

if [ -n "${BENCH_BASELINE:-}" ]; then
  base=$(mktemp -d)
  trap 'git worktree remove --force "$base" 2>/dev/null; rm -rf "$base"' EXIT   # also on a failed build
  git worktree add -q --detach "$base" "$BENCH_BASELINE"
  make -C "$base" -s build/bench >/dev/null
  echo
  echo "against $BENCH_BASELINE (best of 5 alternating runs, 1 thread, then 2; samples/s):"
  for cfg in default deep wide; do
    for t in 1 2; do
      b=0; c=0
      for rep in 1 2 3 4 5; do
        x=$("$base/build/bench" step "$cfg" "$t" | sps); b=$(awk -v a="$b" -v x="$x" 'BEGIN{print (x > a ? x : a)}')
        x=$(build/bench step "$cfg" "$t" | sps); c=$(awk -v a="$c" -v x="$x" 'BEGIN{print (x > a ? x : a)}')
      done
      awk -v cfg="$cfg" -v t="$t" -v b="$b" -v c="$c" 'BEGIN{printf "  %-7s %d thread(s): baseline %8.1f  this %8.1f  this/baseline %.3f\n", cfg, t, b, c, c/b}'
    done
  done
fi
