#!/bin/bash
# exp/eval_only.sh NAME [CRAFT_SECONDS]: score runs/NAME's poison on the evaluation zoos.
NAME=$1
cd "$(dirname "$0")/.."
A=.build/release/amnesia
R=runs/$NAME
P=$(ls $R/craft/*/poison.safetensors)
CRAFT=${2:-$(cat $R/craft_seconds 2>/dev/null)}
$A evaluate --poison $P --zoo fashion-lenet-eval --reports-dir $R/eval > $R/eval.log 2>&1 || { echo "$NAME eval failed"; tail -3 $R/eval.log; }
$A evaluate --poison $P --zoo fashion-lenet-foreign --reports-dir $R/foreign > $R/foreign.log 2>&1 || { echo "$NAME foreign failed"; tail -3 $R/foreign.log; }
python3 scripts/report_row.py $NAME $R/eval $R/foreign ${CRAFT:+--craft-seconds $CRAFT} | tee $R/row.md
