"""Drives a kernel the way Jupyter does (jupyter_client's KernelManager), printing one JSON line
per step for the test to check: start, run code, interrupt, restart, shutdown."""
import json, os, sys, time
from jupyter_client.manager import KernelManager


def say(**kw):
    print(json.dumps(kw), flush=True)


def run(kc, code, timeout=30):
    msg_id = kc.execute(code)
    out = ''
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            m = kc.get_iopub_msg(timeout=1)
        except Exception:
            continue
        if m['parent_header'].get('msg_id') != msg_id:
            continue
        if m['msg_type'] == 'stream':
            out += m['content']['text']
        if m['msg_type'] == 'error':
            out += m['content']['ename']
        if m['msg_type'] == 'status' and m['content']['execution_state'] == 'idle':
            return out + drain(kc, msg_id)
    return None


def drain(kc, msg_id, seconds=0.5):
    # Right after an interrupt, ipykernel's output thread can publish a cell's stream after
    # its idle status: collect what still comes for this cell.
    out = ''
    end = time.time() + seconds
    while time.time() < end:
        try:
            m = kc.get_iopub_msg(timeout=0.1)
        except Exception:
            continue
        if m['parent_header'].get('msg_id') == msg_id and m['msg_type'] == 'stream':
            out += m['content']['text']
    return out


def run_retrying(kc, code, total=60):
    # After a restart the iopub subscription reconnects through the new tunnel; the first
    # replies can be lost, as with any remote kernel, so ask again until one arrives. Right
    # after an interrupt, ipykernel aborts requests that arrive while it clears its queue
    # (busy/idle with no output and an 'aborted' reply): those are asked again too. The code
    # given here always prints, so empty output means it did not run.
    end = time.time() + total
    while time.time() < end:
        out = run(kc, code, timeout=2)
        if out:
            return out
        time.sleep(0.2)
    return None


km = KernelManager(kernel_name=sys.argv[1])
t0 = time.time()
km.start_kernel()
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=120)
say(step='ready', seconds=round(time.time() - t0, 2), launcher_pid=km.provisioner.process.pid if km.provisioner else None)
say(step='env', out=run(kc, "import os, socket, sys; print(os.environ['SLURM_JOB_ID'], os.environ.get('CUDA_VISIBLE_DEVICES'), socket.gethostname(), sys.prefix)"))
if sys.argv[2] == 'code':
    # Runs the code given as argv[3] and says what it printed.
    say(step='code', out=run(kc, sys.argv[3]))
if sys.argv[2] in ('once', 'code'):
    km.shutdown_kernel()
    say(step='shutdown')
    sys.exit(0)
def report_death(limit):
    # Waits for the launcher (the kernel's process as Jupyter sees it) to exit, and says how.
    t0 = time.time()
    while km.is_alive() and time.time() - t0 < limit:
        time.sleep(0.2)
    say(step='died', code=km.provisioner.process.poll() if km.provisioner else None, seconds=round(time.time() - t0, 2))
    sys.exit(0)


if sys.argv[2] == 'die':
    # The kernel process on the node dies: the launcher must exit non-zero so Jupyter sees it dead.
    kc.execute('import os; os._exit(7)')
    report_death(60)
if sys.argv[2] == 'die-on-go':
    # The test breaks something first (reboots the login node); once it says go (creates the
    # file named last) the kernel process on the node dies, and the launcher must say so.
    say(step='waiting')
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.2)
    kc.execute('import os; os._exit(7)')
    report_death(150)
if sys.argv[2] == 'walltime':
    # Run until the allocation's time limit ends the kernel; the launcher must then exit non-zero.
    report_death(240)
if sys.argv[2] == 'idle':
    # A long cell first (busy: never released), then idle until the test says go (argv[3],
    # once the allocation was released); then a restart, as the message says, gets a new one.
    say(step='busy', out=run(kc, 'import time; time.sleep(8); print("busy done")', timeout=60))
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.2)
    say(step='asleep', alive=km.is_alive())
    t0 = time.time()
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=180)
    say(step='woken', seconds=round(time.time() - t0, 2), out=run_retrying(kc, 'print("awake")', total=120))
    km.shutdown_kernel()
    say(step='shutdown')
    sys.exit(0)
if sys.argv[2] == 'hold':
    # Runs argv[3], holds the kernel until the test says go (creates the file argv[4]), runs
    # argv[3] again (the kernel is still there) and shuts down, as closing a notebook does.
    say(step='code', out=run(kc, sys.argv[3]))
    while not os.path.exists(sys.argv[4]):
        time.sleep(0.2)
    say(step='again', out=run_retrying(kc, sys.argv[3], total=60))
    km.shutdown_kernel()
    say(step='shutdown')
    sys.exit(0)
if sys.argv[2] == 'survive':
    # A cell is running when the test breaks things (kills the companion, drops the link); once
    # it says go (creates the file named last), the kernel must still hold what it had.
    say(step='defined', out=run(kc, 'x = 42; print(x)'))
    kc.execute('import time; time.sleep(8); y = x + 1')
    say(step='executing')
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.2)
    t0 = time.time()
    say(step='after', out=run_retrying(kc, 'print(x, y)', total=120), seconds=round(time.time() - t0, 2))
    km.shutdown_kernel()
    say(step='shutdown')
    sys.exit(0)
if sys.argv[2] == 'secret':
    # Prints a secret every 100 ms from a thread while the test probes as another cluster user;
    # once it says go (creates the file named last), the kernel must still answer.
    secret = os.environ['HPCLAB_TEST_SECRET']
    code = ('import threading, time\n'
            'def _leak():\n'
            '    while True:\n'
            '        print(%r, flush=True)\n'
            '        time.sleep(0.1)\n'
            'threading.Thread(target=_leak, daemon=True).start()\n'
            'time.sleep(0.5)') % secret
    out = run(kc, code) or ''
    say(step='printing', seen=out.count(secret))
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.2)
    say(step='after', out=run_retrying(kc, 'print(6 * 7)'))
    km.shutdown_kernel()
    say(step='shutdown')
    sys.exit(0)
if sys.argv[2] == 'kill':
    say(step='waiting')
    time.sleep(600)
msg_id = kc.execute('import time; time.sleep(100)')
time.sleep(2)
t0 = time.time()
km.interrupt_kernel()
reply = kc.get_shell_msg(timeout=30)
while reply['parent_header'].get('msg_id') != msg_id:  # replies to earlier cells come first
    reply = kc.get_shell_msg(timeout=30)
say(step='interrupt', status=reply['content']['status'], ename=reply['content'].get('ename'), seconds=round(time.time() - t0, 2))
say(step='alive', out=run_retrying(kc, 'print(6 * 7)'))
t0 = time.time()
km.restart_kernel()
kc.wait_for_ready(timeout=60)
ready = round(time.time() - t0, 2)
out = run_retrying(kc, "import os; print(os.environ['SLURM_JOB_ID'])")
say(step='restart', out=out, seconds=round(time.time() - t0, 2), ready=ready)
km.shutdown_kernel()
say(step='shutdown')
