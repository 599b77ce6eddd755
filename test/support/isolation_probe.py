"""What another cluster user can reach of a job: run as that user, on the login host or the
compute host. Connects to every TCP listener given (HTTP GET of the Lab's status, a ZMQ SUB
subscribed to everything, a raw read) and to every unix socket this host's /proc lists, tries to
list every /tmp/hpclab.* directory, and prints one JSON object: what answered, what it read, and
whether the secret was in it."""
import glob, json, os, socket, sys, time

import zmq

secret = os.environ["HPCLAB_TEST_SECRET"].encode()
session = os.environ.get("HPCLAB_TEST_SESSION", "")
targets = json.loads(sys.argv[1])  # [[host, port], ...]
report = {"user": os.getuid(), "tcp": [], "unix": [], "dirs": [], "secretSeen": False, "http200": []}


def saw(data):
    if secret in data:
        report["secretSeen"] = True
    return len(data)


def raw_read(connect, request):
    """Connects, sends request, and reads for a second: bytes received, or the error's name."""
    s = connect()
    try:
        s.settimeout(1.0)
        if request:
            s.sendall(request)
        got = b""
        end = time.time() + 1.0
        while time.time() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            got += chunk
        saw(got)
        return got
    finally:
        s.close()


def http(connect, host):
    out = {}
    for path in ("/hpclab/node/%s/api/status" % session, "/api/status", "/api/kernels"):
        try:
            got = raw_read(connect, ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
            status = got.split(b"\r\n", 1)[0].decode("latin1")
            out[path] = status
            if " 200 " in status + " ":
                report["http200"].append([host, path])
        except OSError as e:
            out[path] = type(e).__name__
    return out


def zmq_sub(addr, seconds=2.0):
    """Subscribes to everything at addr for a while: how many bytes of messages arrived."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    n = 0
    try:
        s.connect(addr)
        end = time.time() + seconds
        while time.time() < end:
            if s.poll(100):
                n += sum(saw(f) for f in s.recv_multipart())
    except zmq.ZMQError as e:
        return type(e).__name__ + ": " + str(e)
    finally:
        s.close()
    return n


for host, port in targets:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    connect = lambda: socket.create_connection((host, port), timeout=1.0)
    entry = {"host": host, "port": port}
    try:
        entry["raw"] = len(raw_read(connect, b""))
        entry["http"] = http(connect, host)
    except OSError as e:
        entry["raw"] = type(e).__name__
    entry["zmq"] = zmq_sub("tcp://%s:%d" % (host if family == socket.AF_INET else "[%s]" % host, port))
    report["tcp"].append(entry)

# Every named unix socket on this host (as /proc/net/unix lists them: readable by anyone).
paths = set()
with open("/proc/net/unix") as f:
    next(f)
    for line in f:
        parts = line.split()
        if len(parts) >= 8 and parts[7].startswith("/"):
            paths.add(parts[7])
for path in sorted(paths):
    entry = {"path": path}
    def connect(path=path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(1.0)
        s.connect(path)
        return s
    try:
        entry["raw"] = len(raw_read(connect, b""))
        if "/hpclab." in path:
            entry["http"] = http(connect, "localhost")
            entry["zmq"] = zmq_sub("ipc://" + path, 1.0)
    except OSError as e:
        entry["raw"] = type(e).__name__
    report["unix"].append(entry)

for d in glob.glob("/tmp/hpclab.*"):
    try:
        report["dirs"].append({"dir": d, "listed": os.listdir(d)})
    except OSError as e:
        report["dirs"].append({"dir": d, "error": type(e).__name__})

print(json.dumps(report))
