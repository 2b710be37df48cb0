#!/bin/bash
# The 1-thread MLP b64 epoch's samples inside a parallel job (ember::detail::run_pieces on the
# stack: work that 2 threads share) and outside one (work the caller does alone at any count).
perf record -q -o perfd.data -F 1000 --call-graph dwarf,16384 \
  build/ci/bench/bench_pipeline --name mlp/epoch/b64 --threads 1 --min-time-ms 1 > /dev/null
perf script -i perfd.data -F ip,sym 2>/dev/null | awk '
/^$/ { if (n) flush(); n=0; inpar=0; ep=0; leaf=""; op=""; next }
{ n++; $1=""; s=substr($0,2); if (n==1) leaf=substr(s,1,60); if (s ~ /run_pieces/) inpar=1; if (s ~ /Trainer::epoch/) ep=1;
  if (op=="" && s ~ /ember::(nn::functional::|nn::[A-Z][a-zA-Z]*::forward|optim::|datasets::|autograd::|Tensor::|ops::|core::)/ && s !~ /kernels/) op=substr(s,1,70) ; next }
function flush() { if (!ep) { other++; return } tot++; if (inpar) par++; else { ser++; L[leaf]++; O[op]++ } }
END { flush(); printf "epoch samples %d: in run_pieces %d (%.1f%%), not %d (%.1f%%); outside epoch %d\n", tot, par, 100*par/tot, ser, 100*ser/tot, other;
 for (k in L) print "L", L[k], k; for (k in O) print "O", O[k], k }'
