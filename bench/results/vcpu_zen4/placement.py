import subprocess, time, os, re, sys
B = '/work/main/build/ci/bench/bench_matmul'
def cpustat():
    d = {}
    for l in open('/proc/stat'):
        if re.match(r'cpu\d', l):
            f = l.split(); d[f[0]] = list(map(int, f[1:]))
    return d
for run in range(int(sys.argv[1])):
    s0 = cpustat()
    p = subprocess.Popen([B, '--name', 'matmul/1024x1024@1024x1024', '--threads', '2'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []
    while p.poll() is None:
        try:
            row = []
            for t in sorted(os.listdir(f'/proc/{p.pid}/task')):
                st = open(f'/proc/{p.pid}/task/{t}/stat').read().rsplit(')', 1)[1].split()
                row.append((st[0], int(st[36])))  # state, processor
            samples.append(row)
        except Exception:
            pass
        time.sleep(0.02)
    err = p.stderr.read()
    s1 = cpustat()
    m = re.findall(r't=2\s+median\s+([\d.]+)', err)
    same = sum(1 for r in samples if len(r) >= 2 and len({c for s, c in r if s == 'R'}) == 1 and sum(1 for s, c in r if s == 'R') >= 2)
    both = sum(1 for r in samples if sum(1 for s, c in r if s == 'R') >= 2)
    delta = {c: [a - b for a, b in zip(s1[c], s0[c])] for c in s1}
    # fields: user nice system idle iowait irq softirq steal
    info = ' '.join(f"{c}: busy {d[0]+d[2]} idle {d[3]} steal {d[7]}" for c, d in sorted(delta.items()))
    print(f"run {run}: t=2 median {m} ms; samples {len(samples)}, both running {both}, both running on one cpu {same}; {info}", flush=True)
