#!/bin/sh
# Issue 14: craft the same-budget non-adaptive poison and one adaptive poison per defense
# (300 iterations each), then score every poison under the four defenses and undefended
# on fashion-lenet's 8 held-out victims. Usage (from the repository root):
#   exp/adaptive/run_all.sh VICTIMS_DIR REPORTS_DIR
set -eu
victims=${1:-victims}; reports=${2:-reports}
defenses="--defense dilution:clean=1000 --defense step_cap:max=0.02 --defense dp_sgd:clip=1,noise=0.5 --defense filter:fraction=0.2"
for name in step-cap none dilution dp-sgd filter filter-nopenalty; do
    /usr/bin/time -f "$name: %e s" .build/release/amnesia run exp/adaptive/$name.yaml --victims-dir "$victims" --reports-dir "$reports" $defenses
done
