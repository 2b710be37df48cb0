#!/bin/bash
B=/work/exp/build/ci/bench
for r in $(seq 1 8); do
  for mode in solo nosolo; do
    if [ $mode = nosolo ]; then export EMBER_NO_SOLO=1; else unset EMBER_NO_SOLO; fi
    EMBER_SOLO_LOG=1 EMBER_STALL_LOG=1 $B/bench_pipeline --name mlp/epoch/b64 --threads 2 --min-time-ms 1 2>/tmp/vc/err_$mode.txt > /tmp/vc/m.json
    m=$(python3 -c "import json; d=json.load(open('/tmp/vc/m.json')); r=d['results'][0]; print('%.1f %.1f %.1f'%(r['median_ms'],r['min_ms'],r['max_ms']))")
    echo "$r $mode mlp2t=$m stalls=$(grep -c stall /tmp/vc/err_$mode.txt) solos=$(grep -c solo /tmp/vc/err_$mode.txt) solo_ms=$(awk '/^solo/{s+=$2}END{print s/1000}' /tmp/vc/err_$mode.txt)"
  done
done
