"""Kernel figures for bench/kernel.js, one kernel per run, printed as one JSON line:
start (start_kernel → ready), execute round trips of trivial cells (shell request → reply),
pipelined throughput, and (remote only) restart within the allocation."""
import json, statistics, sys, time
from jupyter_client.manager import KernelManager

name, cells, restart = sys.argv[1], int(sys.argv[2]), sys.argv[3] == '1'


def rtt(kc):
    t0 = time.perf_counter()
    msg_id = kc.execute('1', silent=True, store_history=False)
    while True:
        reply = kc.get_shell_msg(timeout=30)
        if reply['parent_header'].get('msg_id') == msg_id:
            return (time.perf_counter() - t0) * 1000


def pipelined(kc, n):
    t0 = time.perf_counter()
    ids = {kc.execute('1', silent=True, store_history=False) for _ in range(n)}
    while ids:
        ids.discard(kc.get_shell_msg(timeout=60)['parent_header'].get('msg_id'))
    return n / (time.perf_counter() - t0)


km = KernelManager(kernel_name=name)
t0 = time.perf_counter()
km.start_kernel()
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=180)
start_ms = (time.perf_counter() - t0) * 1000
for _ in range(20):  # warm up: first cells pay for imports and connection set-up
    rtt(kc)
samples = sorted(rtt(kc) for _ in range(cells))
out = {
    'start_ms': round(start_ms),
    'p50_ms': round(statistics.median(samples), 3),
    'p99_ms': round(samples[min(len(samples) - 1, int(0.99 * len(samples)))], 3),
    'pipelined_per_s': round(pipelined(kc, max(50, cells // 2))),
}
if restart:
    t0 = time.perf_counter()
    km.restart_kernel()
    kc.wait_for_ready(timeout=120)
    out['restart_ms'] = round((time.perf_counter() - t0) * 1000)
km.shutdown_kernel()
print(json.dumps(out), flush=True)
