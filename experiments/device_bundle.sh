#!/usr/bin/env bash
# make device-bundle: fills device/ (git-ignored) with what experiments/device_run.sh needs on
# a many-core machine that has none of our packages and no package registry:
#   train.gz, bench.gz   ./train and build/bench, static, stripped, gzipped (the static
#                        OpenBLAS holds every CPU's kernels: 27 MB each unpacked)
#   fashion-mnist/       the dataset's four IDX files, as Debian installs them
#   reference.txt        this machine's samples/s for one single-threaded run of the default
#                        model, so that device_run.sh can scale the sweep's time estimates
#                        (they come from the records made here)
#   commit               the commit the programs were built from
# device/ plus the repository's working tree: about 48 MB to copy to that machine.
set -euo pipefail
cd "$(dirname "$0")/.."
data=/usr/share/datasets/fashion-mnist
tmp=device.tmp
rm -rf "$tmp"
mkdir -p "$tmp/fashion-mnist"
for prog in train bench; do
  strip -o "$tmp/$prog" "build/static/$prog"
  gzip -9 "$tmp/$prog"
done
cp "$data"/*-ubyte.gz "$tmp/fashion-mnist/"
# best of 3: the speed of a quiet core here (another program running beside it slows it)
best=0
for _ in 1 2 3; do
  s=$(build/bench step default 1 | awk '{print $3}')
  best=$(awk -v a="$best" -v b="$s" 'BEGIN{print (b > a ? b : a)}')
done
echo "$best" > "$tmp/reference.txt"
git describe --always --dirty > "$tmp/commit"
rm -rf device
mv "$tmp" device
echo "device/: $(du -sh device | cut -f1) ($(cat device/commit); default model here: $best samples/s a core)"
echo "copy the working tree with device/ to the machine; there: bash experiments/device_run.sh 540"
