/*
 * How a remote kernel starts on the node: ipykernel, with one change. Every ipykernel opens a
 * TCP listener on 127.0.0.1 for output from forked children (its IOPub "pipe"), which any user
 * logged in to the node can connect to and flood. When the kernel's channels are ipc sockets in
 * the job's private directory, this puts that pipe there too, beside them (`<prefix>-pipe0`), so
 * the kernel has no TCP listener at all; a forked child still reaches it (the mapping is
 * inherited). Only the calls made from ipykernel.iostream are changed; anything else the user's
 * code binds is left alone. If ipykernel changes how it makes the pipe, the kernel still starts,
 * with the pipe on TCP as stock ipykernel has it.
 *
 * Run as `python -c KERNEL_BOOTSTRAP -f CONNECTION_FILE`.
 */
export const KERNEL_BOOTSTRAP = String.raw`
import json, sys
if sys.path and sys.path[0] == "":
    del sys.path[0]

def _hpclab_pipe_prefix():
    try:
        with open(sys.argv[sys.argv.index("-f") + 1]) as f:
            info = json.load(f)
    except (ValueError, IndexError, OSError) as e:
        sys.stderr.write("hpclab: cannot read the connection file (%s); the IOPub pipe stays on TCP\n" % e)
        return None
    return info["ip"] + "-pipe" if info.get("transport") == "ipc" else None

_prefix = _hpclab_pipe_prefix()
if _prefix:
    import zmq
    _pipes = {}
    _bind_random, _connect = zmq.Socket.bind_to_random_port, zmq.Socket.connect

    def _bind_to_random_port(self, addr, *args, **kwargs):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if addr == "tcp://127.0.0.1" and caller.startswith("ipykernel.iostream"):
            fake = 70000 + len(_pipes)  # never a TCP port, so it cannot be taken for one
            path = "%s%d" % (_prefix, len(_pipes))
            self.bind("ipc://" + path)
            _pipes[fake] = path
            return fake
        return _bind_random(self, addr, *args, **kwargs)

    def _connect_mapped(self, addr):
        text = addr.decode() if isinstance(addr, bytes) else addr
        port = text.rsplit(":", 1)[-1]
        if text.startswith("tcp://127.0.0.1:") and port.isdigit() and int(port) in _pipes:
            return _connect(self, "ipc://" + _pipes[int(port)])
        return _connect(self, addr)

    zmq.Socket.bind_to_random_port = _bind_to_random_port
    zmq.Socket.connect = _connect_mapped

from ipykernel import kernelapp
kernelapp.launch_new_instance()
`;
