#!/bin/bash
# Session 6's issue-13 queue: one run after another (the machine has 2 cores).
cd "$(dirname "$0")/.."
for n in relabsnap-s1 relabsnap-rw3 relabsnap-vpi8 relabsnap-kl relabsnap-val; do
  [ -f runs/$n/row.md ] && continue
  bash exp/run_one.sh $n exp/specs/$n.yaml
done
