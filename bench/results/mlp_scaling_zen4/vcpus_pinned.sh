#!/bin/bash
# per round: cpu0 alone, cpu1 alone, both at once (two processes), MLP b64 2t
B=/work/main/build/ci/bench
k() { "$@" 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); print('%.3f'%[r for r in d['results'] if r['threads']==1][0]['median_ms'])"; }
for r in $(seq 1 12); do
  a=$(k taskset -c 0 $B/bench_kernels --filter conv2d/fwd/256x6x14x14 --threads 1 --min-time-ms 300)
  b=$(k taskset -c 1 $B/bench_kernels --filter conv2d/fwd/256x6x14x14 --threads 1 --min-time-ms 300)
  k taskset -c 0 $B/bench_kernels --filter conv2d/fwd/256x6x14x14 --threads 1 --min-time-ms 300 > /tmp/vc/c0 &
  k taskset -c 1 $B/bench_kernels --filter conv2d/fwd/256x6x14x14 --threads 1 --min-time-ms 300 > /tmp/vc/c1
  wait
  m=$($B/bench_pipeline --name mlp/epoch/b64 --threads 2 --min-time-ms 1 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); print('%.1f'%d['results'][0]['median_ms'])")
  echo "$r alone0=$a alone1=$b both0=$(cat /tmp/vc/c0) both1=$(cat /tmp/vc/c1) mlp2t=$m"
done
