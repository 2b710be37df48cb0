#!/bin/bash
B=/work/exp/build/ci/bench
for r in $(seq 1 12); do
    EMBER_POOL_LOG=1 $B/bench_pipeline --name mlp/epoch/b64 --threads 2 --min-time-ms 1 2>/tmp/vc/err.txt > /tmp/vc/m.json
    m=$(python3 -c "import json; d=json.load(open('/tmp/vc/m.json')); r=d['results'][0]; print('%.1f %.1f %.1f'%(r['median_ms'],r['min_ms'],r['max_ms']))")
    echo "$r mlp2t=$m $(grep pool /tmp/vc/err.txt)"
done
