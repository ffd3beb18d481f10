#!/usr/bin/env bash
# Sweep of ./train for issue 5: noise-scale x seeds x depth x dataset, everything else
# fixed. Runs two single-threaded trainings at a time (one per core), skips finished
# runs and resumes interrupted ones, then aggregates (experiments/aggregate.awk) and
# plots (experiments/plots.sh) into results/<name>/.  See README "## Experiments".
set -euo pipefail
caller=$PWD                      # a relative --out is relative to where it was called
cd "$(dirname "$0")/.."          # the repository root: ./train lives here

usage() {
    cat <<'USAGE'
Usage: experiments/sweep.sh [--quick | --full] [flags]
Trains every (dataset, depth, noise-scale, seed) of the grid with ./train --threads 1,
JOBS at a time, into OUT/runs/<dataset>-L<depth>-ns<noise>-s<seed>/, then writes
OUT/summary.csv, table.csv/md (test accuracy), loss_table.csv/md (training loss over
the last quarter), layers.csv/md (claim 2 in numbers) and the PNG plots. Finished runs
are skipped, interrupted ones continued with --resume: rerun the same command to resume.

  --full                 the full sweep (default): noise 0,0.25,0.5,1,2; seeds 1,2,3;
                         depths 16,64; fashion-mnist 4000 updates, repeat 500 updates
  --quick                about 10 minutes on 2 cores: noise 0,0.5,1; seeds 1,2,3;
                         depths 16,64; fashion-mnist and repeat 300 updates at L16,
                         60 at L64
  --name NAME            results go to results/NAME (default: full or quick)
  --out DIR              results directory (overrides --name)
  --noise LIST           comma list of noise scales (must contain 1: the reference)
  --seeds LIST           comma list of seeds
  --depths LIST          comma list of depths L
  --datasets LIST        comma list of fashion-mnist, repeat, majority
  --steps-fm N           fashion-mnist updates at the smallest depth
  --steps-fm-deep N      fashion-mnist updates at the other depths
  --steps-syn N          synthetic-task updates at the smallest depth
  --steps-syn-deep N     synthetic-task updates at the other depths
  --syn-flags "FLAGS"    flags of the synthetic task (default: "--seq-len 16 --vocab 16")
  --train-flags "FLAGS"  extra ./train flags for every run (e.g. a tiny model for tests)
  --jobs N               runs at a time, each with --threads 1 (default 2)
  --dry-run              print the plan and the time estimate, run nothing
  --report               train nothing: table and plots of the runs finished so far
                         (a partial report while a sweep is running or interrupted)
  --help                 this text
Exit status: 0 done, 1 a run or the aggregation failed, 2 bad arguments.
USAGE
}

die_usage() { echo "sweep.sh: $*" >&2; echo "try experiments/sweep.sh --help" >&2; exit 2; }

# ---- defaults: the full sweep ----
mode=full; name=""; out=""
noise="0,0.25,0.5,1,2"; seeds="1,2,3"; depths="16,64"; datasets="fashion-mnist,repeat"
steps_fm=4000; steps_fm_deep=4000; steps_syn=500; steps_syn_deep=500
syn_flags="--seq-len 16 --vocab 16"
train_flags=""; jobs=2; dry=0; report=0
set_quick() {
    mode=quick; noise="0,0.5,1"; seeds="1,2,3"
    steps_fm=300; steps_fm_deep=60; steps_syn=300; steps_syn_deep=60
}
# First pass: the mode, so that explicit flags override its defaults in any order.
for a in "$@"; do
    case "$a" in --quick) set_quick ;; --help|-h) usage; exit 0 ;; esac
done
need() { [ $# -ge 2 ] && [ -n "$2" ] && [[ $2 != --* ]] || die_usage "$1 needs a value"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --quick|--full) [ "$1" = --full ] && [ "$mode" = quick ] && die_usage "--quick and --full together"; shift ;;
        --name) need "$@"; name=$2; shift 2 ;;
        --out) need "$@"; out=$2; shift 2 ;;
        --noise) need "$@"; noise=$2; shift 2 ;;
        --seeds) need "$@"; seeds=$2; shift 2 ;;
        --depths) need "$@"; depths=$2; shift 2 ;;
        --datasets) need "$@"; datasets=$2; shift 2 ;;
        --steps-fm) need "$@"; steps_fm=$2; shift 2 ;;
        --steps-fm-deep) need "$@"; steps_fm_deep=$2; shift 2 ;;
        --steps-syn) need "$@"; steps_syn=$2; shift 2 ;;
        --steps-syn-deep) need "$@"; steps_syn_deep=$2; shift 2 ;;
        --syn-flags) [ $# -ge 2 ] || die_usage "--syn-flags needs a value"; syn_flags=$2; shift 2 ;;
        --train-flags) [ $# -ge 2 ] || die_usage "--train-flags needs a value"; train_flags=$2; shift 2 ;;
        --jobs) need "$@"; jobs=$2; shift 2 ;;
        --dry-run) dry=1; shift ;;
        --report) report=1; shift ;;
        *) die_usage "unknown argument '$1'" ;;
    esac
done

# ---- validate (bad arguments: exit 2 before anything is created) ----
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_num() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
check_list() {  # flag, list, checker
    local f=$1 l=$2 c=$3 x
    [[ $l =~ ^[^,]+(,[^,]+)*$ ]] || die_usage "$f: '$l' is not a comma list"
    for x in ${l//,/ }; do $c "$x" || die_usage "$f: '$x' is not valid"; done
}
pos_int() { is_uint "$1" && [ "$1" -gt 0 ]; }
known_ds() { case "$1" in fashion-mnist|repeat|majority) return 0 ;; *) return 1 ;; esac; }
check_list --noise "$noise" is_num
check_list --seeds "$seeds" pos_int
check_list --depths "$depths" pos_int
check_list --datasets "$datasets" known_ds
for v in steps_fm steps_fm_deep steps_syn steps_syn_deep jobs; do
    pos_int "${!v}" || die_usage "--${v//_/-}: '${!v}' is not a positive integer"
done
# noise 1 is the reference of every difference in the table
has_one=0; for x in ${noise//,/ }; do awk -v x="$x" 'BEGIN{exit !(x+0==1)}' && has_one=1; done
[ $has_one = 1 ] || die_usage "--noise must contain 1 (the reference of the differences)"
if [ -z "$out" ]; then out="results/${name:-$mode}"; elif [[ $out != /* ]]; then out="$caller/$out"; fi
[ -x ./train ] || { echo "sweep.sh: ./train is missing: run make train first" >&2; exit 1; }

min_depth=$(tr , '\n' <<<"$depths" | sort -n | head -1)

# ---- the plan: one line per run, "name<TAB>dataset<TAB>depth<TAB>noise<TAB>seed<TAB>steps" ----
plan=$(
for ds in ${datasets//,/ }; do for L in ${depths//,/ }; do for ns in ${noise//,/ }; do for s in ${seeds//,/ }; do
    if [ "$ds" = fashion-mnist ]; then st=$steps_fm; [ "$L" = "$min_depth" ] || st=$steps_fm_deep
    else st=$steps_syn; [ "$L" = "$min_depth" ] || st=$steps_syn_deep; fi
    printf '%s-L%s-ns%s-s%s\t%s\t%s\t%s\t%s\t%s\n' "$ds" "$L" "$ns" "$s" "$ds" "$L" "$ns" "$s" "$st"
done; done; done; done)

finished() { [ -f "$1/summary.json" ] && grep -q '"status": *"finished"' "$1/summary.json"; }

# ---- time estimate, from measured ms per update with --threads 1 while the other core
# also trains (this machine, d 64, 16 tokens, batch 128): about 2.75 ms per layer for
# Fashion-MNIST and for repeat --seq-len 16 (43.5 and 42.5 ms/update at L 16, 177 to
# 182 at L 64, in the full sweep of 2026-11-23; twice that on a busier day). The final
# evaluation costs about 30 updates' time on Fashion-MNIST (10,000 test images), 6 on
# the 2,000 synthetic ones. A tiny --train-flags model is far faster: an upper bound.
# estimate OUT PLAN JOBS -> "seconds todo": the runs of PLAN not finished in OUT/runs
estimate() {
    local rn ds L ns s st
    while IFS=$'\t' read -r rn ds L ns s st; do
        finished "$1/runs/$rn" || echo "$ds $L $st"
    done <<<"$2" | awk -v jobs="$3" '
        { ms = 2.75 * $2; t += ms * ($3 + ($1 == "fashion-mnist" ? 30 : 6)) / 1000 }
        END { printf "%d %d", t / jobs + 0.5, NR }'
}
hms() { printf '%dh%02dm%02ds' $(($1 / 3600)) $(($1 % 3600 / 60)) $(($1 % 60)); }
read -r est todo <<<"$(estimate "$out" "$plan" "$jobs")"
total=$(wc -l <<<"$plan")
echo "sweep: $mode -> $out: $total runs ($((total - todo)) finished, $todo to run), $jobs at a time"
echo "sweep: noise {$noise} x seeds {$seeds} x depth {$depths} x {$datasets}"
echo "sweep: steps fashion-mnist $steps_fm (L $min_depth) / $steps_fm_deep (deeper), synthetic $steps_syn / $steps_syn_deep"
echo "sweep: expected time about $(hms "$est") (estimate from measured ms/update)"
[ $dry = 1 ] && { echo "$plan" | cut -f1,6 | sed 's/^/  /'; exit 0; }

# ---- one run (called by xargs, JOBS in parallel). Logs "skipped"/"resumed"/"started". ----
run_one() {
    local rn=$1 ds=$2 L=$3 ns=$4 s=$5 st=$6 dir="$OUT/runs/$1" log="$OUT/logs/$1.log" rc=0
    if finished "$dir"; then echo "skipped  $rn (finished)"; return 0; fi
    local dsflags="--dataset $ds"; [ "$ds" = fashion-mnist ] || dsflags="$dsflags $SYN_FLAGS"
    if [ -f "$dir/config.json" ] && [ -f "$dir/optimizer.safetensors" ]; then
        echo "resumed  $rn"
        ./train --resume --run-dir "$dir" >>"$log" 2>&1 || rc=$?   # keep the first part
    else
        # no checkpoint yet (killed before the first save): start over in place
        echo "started  $rn"
        local force=""; [ -d "$dir" ] && force=--force
        # shellcheck disable=SC2086  # flag strings are meant to split into words
        ./train $dsflags --layers "$L" --noise-scale "$ns" --seed "$s" --steps "$st" \
            --eval-every "$st" --cluster-every $(( st >= 10 ? st / 10 : 1 )) \
            $TRAIN_FLAGS --threads 1 --run-dir "$dir" $force >"$log" 2>&1 || rc=$?
    fi
    if [ $rc != 0 ] || ! finished "$dir"; then echo "FAILED   $rn (exit $rc, log $log)"; return 1; fi
    # progress: runs finished of the plan, and the estimate for the rest (the runs still
    # going count in full, so it errs long)
    local left todo
    read -r left todo <<<"$(estimate "$OUT" "$PLAN" "$JOBS")"
    echo "finished $rn ($(tail -1 "$dir/eval.csv" | cut -d, -f3))" \
         "[$((TOTAL - todo))/$TOTAL, $(hms $(( $(date +%s) - START ))) so far, about $(hms "$left") left]"
}

# ---- every run of the plan, JOBS at a time; exits 1 if any did not finish ----
run_all() {
    mkdir -p "$out/runs" "$out/logs"
    echo "$plan" > "$out/plan.tsv"
    export -f run_one finished estimate hms
    export OUT="$out" SYN_FLAGS="$syn_flags" TRAIN_FLAGS="$train_flags" PLAN="$plan" JOBS="$jobs" \
           TOTAL="$total"
    # single-threaded BLAS inside each run (./train --threads 1 also does this)
    export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
    local start rc=0 elapsed
    start=$(date +%s)
    export START=$start
    # cheapest runs first (updates x depth), and within a setting noise 1 (the reference)
    # then 0, so that an interrupted sweep has whole settings and the main contrast finished
    echo "$plan" | awk -F'\t' '{ print $3 * $6 "\t" ($4 == 1 ? 0 : $4 == 0 ? 1 : 2) "\t" NR "\t" $0 }' \
        | sort -t$'\t' -k1,1n -k2,2n -k3,3n | cut -f4- \
        | tr '\t' ' ' | xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' _ \
        | tee -a "$out/sweep.log" || rc=$?
    elapsed=$(( $(date +%s) - start ))
    printf 'sweep: runs took %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60)) | tee -a "$out/sweep.log"
    [ $rc = 0 ] || { echo "sweep: some runs did not finish (interrupted or failed; see $out/logs):" \
                          "rerun the same command to resume" >&2; exit 1; }
}

# ---- per finished run (empty for the others: only --report gets here with some) the
# final test accuracy and the mean training loss over the last quarter of the updates
# (train.csv's batch losses, logged every --log-every); then the tables and the plots ----
report() {
    local rn ds L ns s st acc loss
    {
        echo "dataset,depth,noise,seed,test_acc,steps,name,train_loss_end"
        while IFS=$'\t' read -r rn ds L ns s st; do
            acc=""; loss=""
            if finished "$out/runs/$rn"; then
                acc=$(tail -1 "$out/runs/$rn/eval.csv" | cut -d, -f3)
                loss=$(awk -F, -v st="$st" 'NR > 1 && 4 * $1 > 3 * st { l += $3; n++ }
                    END { if (n) printf "%.6f", l / n }' "$out/runs/$rn/train.csv")
            fi
            echo "$ds,$L,$ns,$s,$acc,$st,$rn,$loss"
        done <<<"$plan"
    } > "$out/summary.csv"
    awk -f experiments/aggregate.awk "$out/summary.csv" > "$out/table.csv"
    bash experiments/table_md.sh "$out/table.csv" > "$out/table.md"
    awk -v value=train_loss_end -f experiments/aggregate.awk "$out/summary.csv" > "$out/loss_table.csv"
    bash experiments/table_md.sh "$out/loss_table.csv" loss > "$out/loss_table.md"
    bash experiments/plots.sh "$out"
    bash experiments/layers_table.sh "$out" > "$out/layers.md"
    echo "sweep: wrote $out/summary.csv, table.csv/md, loss_table.csv/md, layers.csv/md and plots"
    cat "$out/table.md"
}

if [ $report = 1 ]; then
    [ "$todo" -lt "$total" ] || { echo "sweep.sh: no finished run in $out/runs yet" >&2; exit 1; }
    echo "sweep: report of the $((total - todo)) finished runs; the $todo others are left out"
else
    run_all
fi
report
