"""The peer of hpclab's session start: what researchers script by hand on the login node.
Submit a job that starts a Jupyter server and writes its port to a file, poll squeue until the
job runs, wait for the port file, then poll the server until it answers. Prints the milliseconds
from submit to a server that answers, and cancels the job. Usage: hand-run-lab.py PARTITION"""
import json, os, subprocess, sys, tempfile, time, urllib.request

partition = sys.argv[1]
work = tempfile.mkdtemp(prefix='.hand-lab.', dir=os.path.expanduser('~'))
script = os.path.join(work, 'job.sh')
with open(script, 'w') as f:
    f.write('#!/bin/bash\n'
            'port=$(python3 -c "import socket; s=socket.socket(); s.bind((\'0.0.0.0\', 0)); print(s.getsockname()[1])")\n'
            f'echo "$port" > {work}/port.tmp && mv {work}/port.tmp {work}/port\n'
            'exec python3 -m jupyter_server --no-browser --ip=0.0.0.0 --port=$port --ServerApp.port_retries=0 --ServerApp.token=hand-run-token\n')
t0 = time.time()
job = subprocess.run(['sbatch', '--parsable', '-p', partition, '-t', '10', '-o', os.path.join(work, 'log'), script], capture_output=True, text=True, check=True).stdout.strip().split(';')[0]
try:
    while subprocess.run(['squeue', '-h', '-j', job, '-o', '%T'], capture_output=True, text=True).stdout.strip() != 'RUNNING':
        time.sleep(0.2)
    running = time.time()
    node = subprocess.run(['squeue', '-h', '-j', job, '-o', '%N'], capture_output=True, text=True).stdout.strip()
    addr = subprocess.run(['scontrol', 'show', 'node', '-o', node], capture_output=True, text=True).stdout.split('NodeAddr=')[1].split()[0]
    while not os.path.exists(os.path.join(work, 'port')):
        time.sleep(0.2)
    port = open(os.path.join(work, 'port')).read().strip()
    while True:
        try:
            urllib.request.urlopen(f'http://{addr}:{port}/api/status?token=hand-run-token', timeout=2).read()
            break
        except Exception:
            time.sleep(0.2)
    print(json.dumps({'ms': round((time.time() - t0) * 1000), 'pending_ms': round((running - t0) * 1000)}))
finally:
    subprocess.run(['scancel', job])
    subprocess.run(['rm', '-rf', work])
