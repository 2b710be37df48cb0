#!/bin/bash
B=/work/main/build/ci/bench
for r in $(seq 1 14); do
  s0=$(awk '/^cpu /{print $9}' /proc/stat)
  perf stat -x, -e task-clock,cycles,instructions,context-switches,cpu-migrations -o /tmp/vc/ps.txt \
    $B/bench_pipeline --name mlp/epoch/b64 --threads 2 --min-time-ms 1 2>/dev/null > /tmp/vc/m.json
  s1=$(awk '/^cpu /{print $9}' /proc/stat)
  m=$(python3 -c "import json; d=json.load(open('/tmp/vc/m.json')); r=d['results'][0]; print('%.1f %.1f'%(r['median_ms'],r['min_ms']))")
  ps=$(grep -v '^#' /tmp/vc/ps.txt | awk -F, 'NF>2{printf "%s=%s ", $3, $1}')
  echo "$r mlp2t=$m steal=$((s1-s0)) $ps"
done
