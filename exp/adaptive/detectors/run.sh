#!/bin/sh
# Issue 14 (session 6): a plain and a spectral-adaptive poison (300 iterations each), both
# scored on the 32 held-out victims of fashion-lenet-eval undefended, diluted into 1,000
# clean images, and under both feature-space detectors on that mix.
# Usage (from the repository root): exp/adaptive/detectors/run.sh REPORTS_DIR
set -eu
reports=${1:-runs/detectors}
defenses="--defense dilution:clean=1000 --defense spectral:clean=1000,fraction=0.15 --defense clustering:clean=1000,max_share=0.35"
for name in plain spectral; do
    /usr/bin/time -f "$name: %e s" .build/release/amnesia craft exp/adaptive/detectors/$name.yaml --reports-dir "$reports/craft"
    poison=$(ls "$reports"/craft/detectors-$name-*/poison.safetensors)
    .build/release/amnesia evaluate --poison "$poison" --zoo fashion-lenet-eval --reports-dir "$reports/eval-$name" $defenses
done
