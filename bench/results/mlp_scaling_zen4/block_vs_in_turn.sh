#!/bin/bash
# Alternating rounds: bench_pipeline of 251360a (each thread count's epochs in one block) and of
# 183a7f0 (in turn), both built with `cmake --preset ci`, copied to /tmp/block and /tmp/inturn.
for r in $(seq -w 1 8); do
  /tmp/block/bench_pipeline --name mlp/epoch/b64 --name mlp/epoch/b256 > block_mlp_r$r.json 2>/dev/null
  /tmp/inturn/bench_pipeline --name mlp/epoch/b64 --name mlp/epoch/b256 > in_turn_mlp_r$r.json 2>/dev/null
done
