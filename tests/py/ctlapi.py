"""ctlapi: the control API from the tests (docs/api.md): frames of a 32-bit big-endian
length and one JSON object, one request, one response."""
import json
import socket
import struct


class Closed(Exception):
    """The controller went away (killed, restarting)."""


class Api:
    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise Closed("connection closed")
            buf += chunk
        return buf

    def call(self, **req):
        return self.raw(json.dumps(req).encode())

    def raw(self, body):
        """One frame of these bytes, whatever they are; the response, parsed strictly
        (invalid UTF-8 raises)."""
        try:
            self.s.sendall(struct.pack(">I", len(body)) + body)
            n = struct.unpack(">I", self._recv(4))[0]
            return json.loads(self._recv(n))
        except (OSError, struct.error) as e:
            raise Closed(str(e))

    def all(self, op, field, **args):
        """Every object of a paged listing."""
        out, after = [], None
        while True:
            r = self.call(op=op, **args, **({"after": after} if after else {}))
            if not r["ok"]:
                raise RuntimeError(r["error"])
            out += r[field]
            if not r.get("more"):
                return out
            after = r["next"]

    def close(self):
        self.s.close()
