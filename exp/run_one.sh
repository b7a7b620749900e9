#!/bin/bash
# exp/run_one.sh NAME SPEC: craft SPEC (its crafting zoo), then score the poison on the
# 32-victim default-recipe evaluation zoo and on the foreign-recipe zoo; print a table row.
NAME=$1; SPEC=$2
cd "$(dirname "$0")/.."
A=.build/release/amnesia
R=runs/$NAME
mkdir -p $R
start=$(date +%s.%N)
$A craft $SPEC --reports-dir $R/craft > $R/craft.log 2>&1 || { echo "$NAME craft failed"; tail -3 $R/craft.log; exit 1; }
end=$(date +%s.%N)
CRAFT=$(python3 -c "print($end-$start)"); echo $CRAFT > $R/craft_seconds
P=$(ls $R/craft/*/poison.safetensors)
$A evaluate --poison $P --zoo fashion-lenet-eval --reports-dir $R/eval > $R/eval.log 2>&1 || { echo "$NAME eval failed"; tail -3 $R/eval.log; }
$A evaluate --poison $P --zoo fashion-lenet-foreign --reports-dir $R/foreign > $R/foreign.log 2>&1 || { echo "$NAME foreign failed"; tail -3 $R/foreign.log; }
python3 scripts/report_row.py $NAME $R/eval $R/foreign --craft-seconds $CRAFT | tee $R/row.md
