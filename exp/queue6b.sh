#!/bin/bash
# Session 6's issue-13 queue, second part: after the running vpi8 variant.
cd "$(dirname "$0")/.."
while pgrep -f "run_one.sh relabsnap-vpi8" > /dev/null; do sleep 20; done
for n in relabwide relabsnap-val; do
  [ -f runs/$n/row.md ] && continue
  bash exp/run_one.sh $n exp/specs/$n.yaml
done
