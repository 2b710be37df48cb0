set -e
cd /work/main/bench/results/conv_tile_zen4
for r in 1 2 3 4 5; do for side in base new; do
  if [ $side = base ]; then K=/tmp/bk_base; P=/tmp/bp_base; else K=/tmp/bk_new2; P=/tmp/bp_new2; fi
  echo "$side r$r $(date -u +%H:%M:%S) $(uptime | sed 's/.*load/load/')" >> load.txt
  $K --filter 'conv2d/fwd/256x6x14x14' --filter 'conv2d/fwd+bwd/256x6x14x14' --threads 1,2 > ${side}_bench_kernels_r$r.json 2>/dev/null
  $P --name lenet/epoch --threads 1,2 > ${side}_bench_pipeline_r$r.json 2>/dev/null
done; done
echo "done $(date -u +%H:%M:%S) $(uptime | sed 's/.*load/load/')" >> load.txt
