#!/bin/bash
# Runs the lines of exp/queue.txt one after another (one heavy job at a time); lines can
# be appended while it runs. Each line is a shell command.
cd /work/wt-strength
n=0
while true; do
  line=$(sed -n "$((n+1))p" exp/queue.txt)
  if [ -z "$line" ]; then sleep 5; continue; fi
  n=$((n+1))
  [ "$line" = "STOP" ] && break
  echo "[$(date +%T)] START $line"
  bash -c "$line"
  echo "[$(date +%T)] END $line"
done
