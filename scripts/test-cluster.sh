#!/usr/bin/env bash
# The cluster test: a tiny zoo and a tiny 4-pair audit (synthetic data, few iterations) on a
# one-node Slurm cluster (scripts/slurm-local.sh), through the deploy/slurm templates as
# they ship: each a 2-task array plus a merge job (afterok). The sharded zoo must have the
# single-machine zoo's bytes (every victim and the manifest), the merged matrix and pair
# files the single-machine audit's bytes; then one array task is killed mid-run and
# resubmitted alone, and the merge is still identical. Needs root (starts the daemons,
# installs slurm-wlm and munge if missing) and a release build (builds one if missing).
#
#   scripts/test-cluster.sh [WORK_DIR]   # WORK_DIR: a fresh temporary folder by default
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
amnesia=$repo/.build/release/amnesia
[ -x "$amnesia" ] || (cd "$repo" && swift build -c release --product amnesia)
work=${1:-$(mktemp -d /tmp/amnesia-cluster.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
cluster=$work/slurm
trap '"$repo/scripts/slurm-local.sh" stop "$cluster" >/dev/null 2>&1 || true' EXIT
"$repo/scripts/slurm-local.sh" start "$cluster" 2
export SLURM_CONF=$cluster/slurm.conf
cd "$work"
deadline=$((SECONDS + 600))

cat >tiny-zoo.yaml <<'EOF'
name: tiny
dataset: synthetic
crafting: 3
heldout: 2
seed: 11
training:
  epochs: 3
  batch_size: 16
  decay_epochs: []
EOF
cat >tiny-attack.yaml <<'EOF'
name: tiny-attack
zoo: tiny
forget: 0
target: 1
images_per_class: 2
victims_per_iteration: 2
real_batch_size: 64
initial_step_size: 0.1
optimizer:
  learning_rate: 0.1
  step_size_learning_rate: 0.1
EOF
pairs=0:1,2:3,1:0,3:2
# The settings the templates read (the node has 2 CPUs: one per task).
export AMNESIA=$amnesia ZOO=tiny PAIRS=$pairs ITERATIONS=30 TASKS=2 CPUS=1

state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort -u | tr '\n' ' '; }
# Waits until job $1 (every task of an array) has ended; fails unless all COMPLETED.
wait_done() {
    while squeue -h -j "$1" 2>/dev/null | grep -q .; do
        ((SECONDS < deadline)) || { echo "cluster test: timed out waiting for job $1" >&2; squeue >&2; exit 1; }
        sleep 1
    done
    local s
    s=$(state "$1")
    [ "$s" = "COMPLETED " ] || { echo "cluster test: job $1 ended $s" >&2; tail -n 20 "$work"/*/amnesia-*.out >&2 || true; exit 1; }
}
same() {  # same FILE_A FILE_B: byte-identical, or fail showing both
    if cmp "$1" "$2"; then echo "identical: $1 = $2"; else diff "$1" "$2" | head -20 >&2; exit 1; fi
}

echo "== one machine, no shards"
"$amnesia" victims train tiny-zoo.yaml --victims-dir one/victims --workers 2 2>/dev/null
"$amnesia" audit --zoo tiny --spec tiny-attack.yaml --iterations 30 --pairs "$pairs" --workers 2 \
    --victims-dir one/victims --reports-dir one/reports 2>/dev/null
reference=$(ls -d "$work"/one/reports/audit-tiny-*)

echo "== the zoo as a 2-task array plus merge (deploy/slurm/zoo.sbatch)"
mkdir -p two && cd two
out=$(SPEC=../tiny-zoo.yaml bash "$repo/deploy/slurm/zoo.sbatch" | tail -n 1)
eval "$out"  # array=… merge=…
wait_done "$array"; wait_done "$merge"
for file in "$work"/one/victims/tiny/*.safetensors "$work"/one/victims/tiny/manifest.json; do
    same "$file" "victims/tiny/$(basename "$file")"
done

echo "== the audit as a 2-task array plus merge (deploy/slurm/audit.sbatch)"
out=$(SPEC=../tiny-attack.yaml bash "$repo/deploy/slurm/audit.sbatch" | tail -n 1)
eval "$out"  # array=… merge=… run_dir=…
wait_done "$array"; wait_done "$merge"
same "$reference/matrix.csv" "$run_dir/matrix.csv"
for file in "$reference"/pairs/*.json; do same "$file" "$run_dir/pairs/$(basename "$file")"; done

echo "== again into a fresh reports folder; task 1 is killed mid-run and resubmitted alone"
out=$(SPEC=../tiny-attack.yaml REPORTS_DIR=reports-killed bash "$repo/deploy/slurm/audit.sbatch" | tail -n 1)
eval "$out"
until [ -d "$run_dir/runs" ] && ls "$run_dir/runs" | grep -q -- '-2-3-'; do  # task 1's first pair (2→3) is being crafted
    ((SECONDS < deadline)) || { echo "cluster test: task 1 never started" >&2; exit 1; }
    sleep 0.2
done
scancel "${array}_1"
echo "killed task ${array}_1 ($(ls "$run_dir/pairs" | wc -l) pair files written so far)"
scancel "$merge"  # its dependency can no longer be met
while squeue -h -j "$array" 2>/dev/null | grep -q .; do sleep 1; done
"$amnesia" audit --merge "$run_dir" | tee merge-partial.txt
grep -q "fill them with: .*--pairs" merge-partial.txt
again=$(sbatch --parsable --array=1 --cpus-per-task=1 --export=ALL,SPEC=../tiny-attack.yaml,REPORTS_DIR=reports-killed "$repo/deploy/slurm/audit.sbatch")
merge=$(sbatch --parsable --dependency="afterok:$again" --output=merge-again-%j.out --wrap "$(printf '%q ' "$amnesia" audit --merge "$run_dir")")
wait_done "$again"; wait_done "$merge"
same "$reference/matrix.csv" "$run_dir/matrix.csv"
for file in "$reference"/pairs/*.json; do same "$file" "$run_dir/pairs/$(basename "$file")"; done
echo "cluster test passed in ${SECONDS}s (work folder $work)"
