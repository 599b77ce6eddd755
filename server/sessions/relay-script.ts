/*
 * The relay: runs on the compute node in the user's own job step (`srun --jobid=J --overlap`),
 * and carries byte streams between its stdin/stdout (framed, many channels: see
 * transport/relay/frames.ts) and unix sockets named in ONE private directory of the job. It
 * connects only: nothing listens, no TCP, no abstract sockets, no path outside the directory.
 *
 * Python 3.6+ standard library only (it runs before, and without, any environment activation),
 * started as `python3 -I -S -c RELAY_SOURCE SOCKET_DIR [IDLE_EXIT_SECONDS]`. Exit codes: 0 the
 * companion went away (stdin closed, or no frame for IDLE_EXIT seconds: an orphan after a
 * login-node reboot), 2 usage, 3 the directory is not a 0700 directory of the user, 4 the
 * handshake came through changed, 5 a malformed frame.
 */
export const RELAY_SOURCE = String.raw`
import errno, json, os, re, selectors, signal, socket, stat, struct, sys, time

MAGIC = b"\x00HPCLAB-RELAY/1\n"
PATTERN = bytes(range(256))
HDR = struct.Struct(">BII")
HELLO, OPEN, OPENED, DATA, EOF, CLOSE, ERROR, CREDIT, PING, PONG, PAD, DIAL = range(12)
SECRET = re.compile(r"[0-9a-f]{64}\Z")
PIPE_HIGH = 1 << 20
MAX_PAYLOAD = 65536
WINDOW = 256 * 1024
OUT_HIGH = 1 << 20
ACK_DELAY = 0.0005
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")

def die(code, msg):
    sys.stderr.write("hpclab-relay: %s\n" % msg)
    sys.stderr.flush()
    os._exit(code)

def check_dir(d):
    try:
        st = os.lstat(d)
    except OSError as e:
        die(3, "cannot stat %s: %s" % (d, e.strerror))
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        die(3, "%s must be a directory of yours with mode 0700" % d)

class Chan:
    __slots__ = ("id", "sock", "wbuf", "credit", "eof_in", "eof_out", "pending_credit")
    def __init__(self, cid, sock):
        self.id, self.sock = cid, sock
        self.wbuf = bytearray()
        self.credit = WINDOW
        self.pending_credit = 0
        self.eof_in = False
        self.eof_out = False

def main():
    if len(sys.argv) not in (2, 3):
        die(2, "usage: relay SOCKET_DIR [IDLE_EXIT_SECONDS]")
    sdir = sys.argv[1]
    idle_exit = float(sys.argv[2]) if len(sys.argv) == 3 else 60.0
    check_dir(sdir)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    fin, fout = 0, 1
    got = b""
    while len(got) < len(MAGIC) + 256:
        b = os.read(fin, len(MAGIC) + 256 - len(got))
        if not b:
            die(4, "stdin closed during the handshake")
        got += b
    if got != MAGIC + PATTERN:
        die(4, "the stream is not 8-bit clean (the handshake came through changed)")
    os.set_blocking(fin, False)
    os.set_blocking(fout, False)
    sel = selectors.DefaultSelector()
    out = bytearray(MAGIC + PATTERN)
    hello = json.dumps({"version": 1, "pid": os.getpid(), "python": sys.version.split()[0],
                        "launchHost": os.environ.get("SLURM_LAUNCH_NODE_IPADDR", "")}).encode()
    out += HDR.pack(HELLO, 0, len(hello)) + hello
    inbuf = bytearray()
    chans = {}
    last_in = [time.monotonic()]

    def send(t, cid, payload=b""):
        out.extend(HDR.pack(t, cid, len(payload)))
        out.extend(payload)

    def close_chan(ch, tell):
        if ch.id not in chans:
            return
        del chans[ch.id]
        try:
            sel.unregister(ch.sock)
        except (KeyError, ValueError):
            pass
        ch.sock.close()
        if tell:
            send(CLOSE, ch.id)

    def update(ch):
        ev = 0
        if not ch.eof_in and ch.credit > 0 and len(out) < OUT_HIGH:
            ev |= selectors.EVENT_READ
        if ch.wbuf:
            ev |= selectors.EVENT_WRITE
        registered = ch.sock in sel.get_map()
        if ev and registered:
            sel.modify(ch.sock, ev, ch)
        elif ev:
            sel.register(ch.sock, ev, ch)
        elif registered:
            sel.unregister(ch.sock)

    def connect_unix(name):
        # A socket of the user's, by name, in the job's directory: the socket, or the reason why not.
        if not NAME.match(name):
            return None, b"bad-name"
        path = os.path.join(sdir, name)
        try:
            st = os.lstat(path)
            if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid():
                return None, b"not-a-socket"
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
            except OSError:
                s.close()
                raise
            s.setblocking(False)
        except OSError as e:
            return None, errno.errorcode.get(e.errno, "EIO").encode()
        return s, None

    def open_chan(cid, name):
        if cid in chans:
            return send(ERROR, cid, b"bad-name")
        s, why = connect_unix(name)
        if s is None:
            return send(ERROR, cid, why)
        ch = Chan(cid, s)
        chans[cid] = ch
        send(OPENED, cid)
        update(ch)

    # The bulk lane: a socket of the job joined to a connection the relay makes itself, out to
    # the companion's hub on the login node (the host srun runs on), bytes copied both ways here
    # and not through stdio. The node still listens on nothing.
    peer, pbuf, peof = {}, {}, set()

    def pforget(s):
        if s in sel.get_map():
            sel.unregister(s)
        peer.pop(s, None)
        pbuf.pop(s, None)
        peof.discard(s)
        s.close()

    def pdrop(c):
        other = peer.get(c)
        pforget(c)
        if other is not None:
            pforget(other)

    def pupdate(c):
        other = peer.get(c)
        if other is None:
            return
        ev = 0
        if c not in peof and len(pbuf[other]) < PIPE_HIGH:
            ev |= selectors.EVENT_READ
        if pbuf[c]:
            ev |= selectors.EVENT_WRITE
        registered = c in sel.get_map()
        if ev and registered:
            sel.modify(c, ev, "pipe")
        elif ev:
            sel.register(c, ev, "pipe")
        elif registered:
            sel.unregister(c)

    def pfinish(c):
        other = peer[c]
        if other in peof and not pbuf[c]:
            try:
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            if c in peof and not pbuf[other]:
                pdrop(c)
                return True
        return False

    def on_pipe(c, mask):
        other = peer.get(c)
        if other is None:
            return
        if mask & selectors.EVENT_WRITE and pbuf[c]:
            try:
                n = c.send(pbuf[c])
                del pbuf[c][:n]
            except BlockingIOError:
                pass
            except OSError:
                return pdrop(c)
            if pfinish(c):
                return
        if mask & selectors.EVENT_READ and c not in peof:
            try:
                b = c.recv(262144)
            except BlockingIOError:
                b = None
            except OSError:
                return pdrop(c)
            if b == b"":
                peof.add(c)
                if pfinish(other):
                    return
            elif b:
                pbuf[other] += b
        pupdate(c)
        pupdate(other)

    def dial(cid, p):
        try:
            req = json.loads(p.decode("utf-8"))
            name, port, secret = req["name"], int(req["port"]), req["secret"]
            if not (0 < port < 65536 and isinstance(secret, str) and SECRET.match(secret)):
                raise ValueError("bad request")
        except (ValueError, KeyError, TypeError):
            return send(ERROR, cid, b"bad-dial")
        host = os.environ.get("SLURM_LAUNCH_NODE_IPADDR", "")
        if not host:
            return send(ERROR, cid, b"no-launch-host")
        local, why = connect_unix(name)
        if local is None:
            return send(ERROR, cid, why)
        try:
            out_sock = socket.create_connection((host, port), timeout=3.0)
            out_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            out_sock.sendall((secret + "\n").encode())
            out_sock.setblocking(False)
        except OSError as e:
            local.close()
            return send(ERROR, cid, errno.errorcode.get(e.errno, "ETIMEDOUT").encode())
        peer[local], peer[out_sock] = out_sock, local
        pbuf[local], pbuf[out_sock] = bytearray(), bytearray()
        send(OPENED, cid)
        pupdate(local)
        pupdate(out_sock)

    def on_frame(t, cid, p):
        ch = chans.get(cid)
        if t == OPEN:
            open_chan(cid, p.decode("ascii", "replace"))
        elif t == DIAL:
            dial(cid, p)
        elif t == DATA and ch:
            ch.wbuf += p
            update(ch)
        elif t == CREDIT and ch and len(p) == 4:
            ch.credit += struct.unpack(">I", p)[0]
            update(ch)
        elif t == EOF and ch:
            ch.eof_out = True
            if not ch.wbuf:
                try:
                    ch.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    close_chan(ch, True)
        elif t == CLOSE and ch:
            close_chan(ch, False)
        elif t == PING:
            send(PONG, 0, p)

    # An answer owed to the companion's last burst (see the mux: Slurm's step I/O keeps Nagle on,
    # so a second message waits for an ACK that only data going the other way brings at once).
    # Sent only when nothing else goes out within ACK_DELAY: a reply carries the ACK as well.
    ack_due = None
    while True:
        if ack_due is not None and (out or time.monotonic() >= ack_due):
            if not out:
                out.extend(HDR.pack(PAD, 0, 1) + b"\n")
            ack_due = None
        if out and out[-1] != 10:
            out.extend(HDR.pack(PAD, 0, 1) + b"\n")
        for fd in (fin, fout):
            if fd in sel.get_map():
                sel.unregister(fd)
        if len(out) < OUT_HIGH * 4:
            sel.register(fin, selectors.EVENT_READ, "in")
        if out:
            sel.register(fout, selectors.EVENT_WRITE, "out")
        for ch in list(chans.values()):
            update(ch)
        wait = min(5.0, idle_exit) if ack_due is None else max(0.0, ack_due - time.monotonic())
        events = sel.select(timeout=wait)
        if time.monotonic() - last_in[0] > idle_exit:
            die(0, "no word from the companion for %g s: exiting" % idle_exit)
        for key, mask in events:
            if key.data == "in":
                try:
                    b = os.read(fin, 262144)
                except BlockingIOError:
                    continue
                if not b:
                    os._exit(0)
                last_in[0] = time.monotonic()
                inbuf += b
                real = False
                while len(inbuf) >= HDR.size:
                    t, cid, n = HDR.unpack_from(inbuf)
                    if n > MAX_PAYLOAD:
                        die(5, "a frame of %d bytes" % n)
                    if len(inbuf) < HDR.size + n:
                        break
                    p = bytes(inbuf[HDR.size:HDR.size + n])
                    del inbuf[:HDR.size + n]
                    on_frame(t, cid, p)
                    real = real or t != PAD
                # A frame cut in two by Slurm's 1 KiB messages waits for its second half, which
                # waits for an ACK: answer a partial frame too; only padding alone is not answered.
                if (real or inbuf) and ack_due is None:
                    ack_due = time.monotonic() + ACK_DELAY
            elif key.data == "pipe":
                on_pipe(key.fileobj, mask)
            elif key.data == "out":
                # Frames added since the loop's top (an answer to what came in just now) must end
                # with a newline too: Slurm passes step output on a line at a time.
                if out[-1] != 10:
                    out.extend(HDR.pack(PAD, 0, 1) + b"\n")
                try:
                    n = os.write(fout, out)
                except BlockingIOError:
                    continue
                except OSError:
                    os._exit(0)
                del out[:n]
            else:
                ch = key.data
                if ch.id not in chans:
                    continue
                if mask & selectors.EVENT_WRITE and ch.wbuf:
                    try:
                        n = ch.sock.send(ch.wbuf)
                        del ch.wbuf[:n]
                        ch.pending_credit += n
                        # Granted in quarters of the window, not per write: an extra small write
                        # here would be a second Slurm message, held back by Nagle (see the mux).
                        if ch.pending_credit >= WINDOW // 4:
                            send(CREDIT, ch.id, struct.pack(">I", ch.pending_credit))
                            ch.pending_credit = 0
                        if not ch.wbuf and ch.eof_out:
                            ch.sock.shutdown(socket.SHUT_WR)
                    except BlockingIOError:
                        pass
                    except OSError:
                        close_chan(ch, True)
                        continue
                if mask & selectors.EVENT_READ:
                    try:
                        b = ch.sock.recv(min(MAX_PAYLOAD, ch.credit))
                    except BlockingIOError:
                        continue
                    except OSError:
                        b = None
                    if b is None:
                        close_chan(ch, True)
                        continue
                    if not b:
                        ch.eof_in = True
                        send(EOF, ch.id)
                        if ch.eof_out and not ch.wbuf:
                            close_chan(ch, True)
                        continue
                    ch.credit -= len(b)
                    send(DATA, ch.id, b)

main()
`;

/** The relay's argv after the interpreter: isolated mode (no PYTHON* variables, no user site). */
export function relayArgs(socketDir: string, idleExitSeconds?: number): string[] {
  return [
    '-I',
    '-S',
    '-c',
    RELAY_SOURCE,
    socketDir,
    ...(idleExitSeconds === undefined ? [] : [String(idleExitSeconds)])
  ];
}
