#!/usr/bin/env bash
# On a many-core Linux x86-64 machine with python3 and none of our packages:
# runs, within SECONDS, the scaling bench of the default model and then the map sweep, one
# single-threaded run per core, from the bundle that `make device-bundle` left in device/.
# What it writes, under OUT_DIR (default ./device-out):
#   device-map.tar.gz   the records the sweep finished (results/map/runs/NAME/), to unpack
#                       in the repository: tar xzf device-map.tar.gz --skip-old-files
#   scaling.txt         samples/s at 1, 2, 4, ... threads, the parts of a step at 1 thread and
#                       at all cores, and one run per core at once against one alone
#   sweep.txt           the sweep's output
# Runs the time limit cuts off save a checkpoint there (runs/PLAN/), which a later call resumes.
# usage: bash experiments/device_run.sh SECONDS [PLAN]
set -uo pipefail
cd "$(dirname "$0")/.."
limit=${1:?usage: device_run.sh SECONDS [PLAN]}
plan=${2:-map}
case "$limit" in ''|*[!0-9]*) echo "device_run.sh: SECONDS must be a whole number of seconds, not '$limit'"; exit 2;; esac
[ -f "experiments/plans/$plan.json" ] || { echo "device_run.sh: no plan experiments/plans/$plan.json"; exit 2; }
start=$(date +%s)
dest=${OUT_DIR:-device-out}
mkdir -p "$dest"
bin=$(mktemp -d)
for prog in train bench; do
  gzip -dc "device/$prog.gz" > "$bin/$prog" && chmod +x "$bin/$prog" || { echo "device/$prog.gz: missing (make device-bundle)"; exit 1; }
done
# the runs' config.json names the data directory: the same path as on our machines
data=/usr/share/datasets/fashion-mnist
if ! ls "$data"/train-images-idx3-ubyte* >/dev/null 2>&1; then
  mkdir -p "$data" && cp device/fashion-mnist/* "$data/" || { echo "cannot install the dataset in $data"; exit 1; }
fi
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)   # nproc obeys OMP_NUM_THREADS
# OpenBLAS cannot see such a virtual machine's processor model and would take a kernel 3.5x slower
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export SWEEP_ORIGIN=${SWEEP_ORIGIN:-$(hostname), $cores cores}
marker=$(mktemp)
work=$(mktemp -d)

{
  echo "machine: $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE, bundle $(cat device/commit)"
  bash tools/bench_scaling.sh "$bin/bench" "$work/per-run"
} 2>&1 | tee "$dest/scaling.txt"

# the sweep's estimates come from records made on our 2-core machine: scale them by how much
# slower a run is here when every core runs one (never below 1), with a margin of 20%
slow=$(awk -v r="$(cat device/reference.txt)" -v h="$(cat "$work/per-run" 2>/dev/null || echo 0)" \
  'BEGIN{f = (h > 0 ? r / h : 2); if (f < 1) f = 1; printf "%.2f", 1.2 * f}')
left=$((limit - ($(date +%s) - start) - 30))   # 30 s to stop the runs and pack (no report there)
echo "sweep: ${left}s, estimates x$slow" | tee "$dest/sweep.txt"
if [ "$left" -gt 30 ]; then
  PYTHONUNBUFFERED=1 python3 experiments/sweep.py --plan "$plan" --jobs "$cores" --nice 0 \
    --binary "$bin/train" --time-limit "${left}s" --slowdown "$slow" --no-report 2>&1 | tee -a "$dest/sweep.txt"
fi
mapfile -t new < <(find "results/$plan/runs" -mindepth 1 -maxdepth 1 -type d -newer "$marker" ! -name '*.tmp' 2>/dev/null)
if [ "${#new[@]}" -gt 0 ]; then
  tar czf "$dest/device-$plan.tar.gz" "${new[@]}"
  echo "packed ${#new[@]} records into $dest/device-$plan.tar.gz" | tee -a "$dest/sweep.txt"
else
  echo "no new record" | tee -a "$dest/sweep.txt"
fi
rm -rf "$bin" "$work" "$marker"
