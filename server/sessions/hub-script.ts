/*
 * The bulk lane's meeting point on the login node (see node-channels.ts). A job's relay step
 * carries everything through srun's stdio, which moves about 20 MB/s; for a Lab's HTTP streams
 * the relay instead dials out, from the node, to this hub, and the companion reaches the hub
 * through its SSH connection: the node still listens on nothing.
 *
 * The hub listens on a TCP port of the login node, which any cluster user can connect to, so a
 * connection is kept only if its first line is a secret the companion has just allowed (over
 * the hub's stdin, never a command line): 64 hex characters, single use, valid for 30 s. Two
 * connections with the same secret (the companion's, the relay's) are joined and their bytes
 * copied both ways; anything else is closed after 5 s at most.
 *
 * Python 3.6+ standard library only, run as `python3 -I -S -c HUB_SOURCE ADDRESS`. It prints one line,
 * `{"port": N}`, once it listens, and exits when its stdin closes (the companion went away).
 */
export const HUB_SOURCE = String.raw`
import hmac, json, os, re, selectors, signal, socket, sys, time

SECRET = re.compile(rb"[0-9a-f]{64}\n\Z")
ALLOW_FOR = 30.0
GREET_WITHIN = 5.0
CHUNK = 262144
HIGH = 1 << 20

def main():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    # Only on the address the nodes reach this host at (srun's, as the relay reports it), not on
    # every interface of a login node that may face the internet.
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    lsock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind((host, 0))
    lsock.listen(64)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, "listen")
    os.set_blocking(0, False)
    sel.register(0, selectors.EVENT_READ, "stdin")
    sys.stdout.write(json.dumps({"port": lsock.getsockname()[1]}) + "\n")
    sys.stdout.flush()
    allowed = {}   # secret -> expiry
    waiting = {}   # secret -> the first connection that presented it (not selected meanwhile)
    greeting = {}  # conn -> [bytes so far, deadline]
    peer = {}      # conn -> the conn it is joined to
    wbuf = {}      # conn -> bytes to write to it
    eof = set()    # conns whose reading side has ended
    parked = {}    # conn -> [secret, deadline]: a secret not allowed (yet: the ALLOW may be on its way)
    stdin_buf = b""

    def forget(s):
        if s in sel.get_map():
            sel.unregister(s)
        greeting.pop(s, None)
        parked.pop(s, None)
        wbuf.pop(s, None)
        eof.discard(s)
        peer.pop(s, None)
        s.close()

    def drop(c):
        other = peer.get(c)
        forget(c)
        if other is not None:
            forget(other)

    def update(c):
        other = peer.get(c)
        if other is None:
            return
        ev = 0
        if c not in eof and len(wbuf[other]) < HIGH:
            ev |= selectors.EVENT_READ
        if wbuf[c]:
            ev |= selectors.EVENT_WRITE
        registered = c in sel.get_map()
        if ev and registered:
            sel.modify(c, ev, "pipe")
        elif ev:
            sel.register(c, ev, "pipe")
        elif registered:
            sel.unregister(c)

    def finish_write(c):
        # Its peer said all it had and all of it is written: pass the end on; both ended: close.
        other = peer[c]
        if other in eof and not wbuf[c]:
            try:
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            if c in eof and not wbuf[other]:
                drop(c)
                return True
        return False

    def join(c, secret):
        # c presented an allowed secret: wait for the other side, or join the two.
        first = waiting.pop(secret, None)
        if first is None:
            waiting[secret] = c
            return
        del allowed[secret]
        peer[c], peer[first] = first, c
        wbuf[c], wbuf[first] = bytearray(), bytearray()
        update(c)
        update(first)

    while True:
        now = time.monotonic()
        for c, (_, deadline) in list(parked.items()):
            if deadline < now:
                forget(c)
        for s, expiry in list(allowed.items()):
            if expiry < now:
                del allowed[s]
                stale = waiting.pop(s, None)
                if stale is not None:
                    forget(stale)
        for c, (_, deadline) in list(greeting.items()):
            if deadline < now:
                forget(c)
        for key, mask in sel.select(timeout=1.0):
            kind, c = key.data, key.fileobj
            if kind == "listen":
                try:
                    conn, _ = lsock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                greeting[conn] = [b"", time.monotonic() + GREET_WITHIN]
                sel.register(conn, selectors.EVENT_READ, "greet")
            elif kind == "stdin":
                try:
                    b = os.read(0, 4096)
                except BlockingIOError:
                    continue
                if not b:
                    sys.exit(0)
                stdin_buf += b
                while b"\n" in stdin_buf:
                    line, stdin_buf = stdin_buf.split(b"\n", 1)
                    if line.startswith(b"ALLOW ") and SECRET.match(line[6:] + b"\n"):
                        secret = line[6:].decode()
                        allowed[secret] = time.monotonic() + ALLOW_FOR
                        for c, (s, _) in list(parked.items()):
                            if s == secret and secret in allowed:
                                del parked[c]
                                join(c, secret)
            elif kind == "greet":
                if c not in greeting:
                    continue
                try:
                    b = c.recv(65 - len(greeting[c][0]))
                except BlockingIOError:
                    continue
                except OSError:
                    b = b""
                if not b:
                    forget(c)
                    continue
                greeting[c][0] += b
                got = greeting[c][0]
                if len(got) < 65:
                    continue
                greeting_deadline = greeting.pop(c)[1]
                if not SECRET.match(got):
                    forget(c)
                    continue
                secret = got[:64].decode("ascii")
                sel.unregister(c)
                if any(hmac.compare_digest(s, secret) for s in allowed):
                    join(c, secret)
                else:
                    # The companion's ALLOW travels on another channel and may come a moment
                    # later; a secret nobody allows is dropped at the greeting deadline.
                    parked[c] = [secret, greeting_deadline]
            else:
                other = peer.get(c)
                if other is None:
                    continue
                if mask & selectors.EVENT_WRITE and wbuf[c]:
                    try:
                        n = c.send(wbuf[c])
                        del wbuf[c][:n]
                    except BlockingIOError:
                        pass
                    except OSError:
                        drop(c)
                        continue
                    if finish_write(c):
                        continue
                if mask & selectors.EVENT_READ and c not in eof:
                    try:
                        b = c.recv(CHUNK)
                    except BlockingIOError:
                        b = None
                    except OSError:
                        drop(c)
                        continue
                    if b == b"":
                        eof.add(c)
                        if finish_write(other):
                            continue
                    elif b:
                        wbuf[other] += b
                update(c)
                update(other)

main()
`;

/** The hub's argv after the interpreter: isolated mode (no PYTHON* variables, no user site). */
export function hubArgs(address: string): string[] {
  return ['-I', '-S', '-c', HUB_SOURCE, address];
}
