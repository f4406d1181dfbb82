"""lossy_relay: a test-only relay in front of netshopd that loses UDP datagrams on purpose.

Owns: LossyRelay, which listens on 127.0.0.1 on one random port for UDP (and, by default, TCP
on the same port number), forwards client->server and server->client, and drops UDP datagrams
in each direction with a given probability drawn from seeded random.Random generators (one per
direction, so a run is reproducible), or exactly the Nth datagram of a direction. TCP is
forwarded as a plain byte stream, never lost, so a client given the relay's port can fall
back to TLS through it. Each client address gets its own upstream UDP socket (as a NAT would).
Standard library only; one thread for UDP, two per TCP connection; close() stops everything.
"""

import random
import selectors
import socket
import threading
import time


class LossyRelay:
    """with LossyRelay(server_port, loss_to_server=0.05, loss_to_client=0.05, seed=1) as relay:
           relay.port ...; relay.drop_reply(1); relay.stats()"""

    def __init__(self, server_port, loss_to_server=0.0, loss_to_client=0.0, seed=0,
                 forward_tcp=True, server_host="127.0.0.1"):
        self.server = (server_host, server_port)
        self.loss = {"to_server": float(loss_to_server), "to_client": float(loss_to_client)}
        self.rng = {"to_server": random.Random("%s:to-server" % seed),
                    "to_client": random.Random("%s:to-client" % seed)}
        self.forward_tcp = forward_tcp
        self.lock = threading.Lock()
        self.counts = {"to_server": 0, "to_server_dropped": 0, "to_client": 0,
                       "to_client_dropped": 0, "tcp_connections": 0}
        self.drop_numbers = {"to_server": set(), "to_client": set()}
        self.dropped_log = {"to_server": [], "to_client": []}   # datagram numbers dropped
        self.udp = None
        self.tcp = None
        self.port = None
        self.upstreams = {}         # client address -> upstream UDP socket
        self.clients = {}           # upstream socket fd -> client address
        self.sel = selectors.DefaultSelector()
        self.stopping = False
        self.threads = []
        self.tcp_socks = []
        self.wake_r, self.wake_w = socket.socketpair()

    # -- set-up -----------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        """Binds UDP (and TCP on the same port number) and starts forwarding."""
        for _ in range(50):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            if not self.forward_tcp:
                break
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                tcp.close()
                udp.close()
                continue
            tcp.listen(64)
            self.tcp = tcp
            break
        else:
            raise RuntimeError("lossy_relay: no port free for both UDP and TCP")
        self.udp = udp
        self.port = port
        self.udp.setblocking(False)
        self.sel.register(self.udp, selectors.EVENT_READ, "client")
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        t = threading.Thread(target=self._udp_loop, name="relay-udp", daemon=True)
        t.start()
        self.threads.append(t)
        if self.tcp is not None:
            t = threading.Thread(target=self._tcp_accept_loop, name="relay-tcp", daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def close(self):
        """Stops the threads and closes every socket (bounded: threads are joined <= 2 s)."""
        if self.stopping:
            return
        self.stopping = True
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass
        if self.tcp is not None:
            try:
                self.tcp.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.tcp.close()
        with self.lock:
            socks = list(self.tcp_socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(2.0)
        for s in socks:
            s.close()
        for s in list(self.upstreams.values()):
            s.close()
        self.udp.close()
        self.wake_r.close()
        self.wake_w.close()
        self.sel.close()

    # -- control ----------------------------------------------------------------------------
    def set_loss(self, to_server=None, to_client=None):
        with self.lock:
            if to_server is not None:
                self.loss["to_server"] = float(to_server)
            if to_client is not None:
                self.loss["to_client"] = float(to_client)

    def drop_reply(self, n):
        """Drops exactly the nth datagram (1-based, counted from the relay's start) that the
        server sends towards a client."""
        with self.lock:
            self.drop_numbers["to_client"].add(n)

    def drop_request(self, n):
        """Drops exactly the nth datagram (1-based) a client sends towards the server."""
        with self.lock:
            self.drop_numbers["to_server"].add(n)

    def stats(self):
        with self.lock:
            return dict(self.counts)

    def settle(self, quiet=0.2, timeout=3.0):
        """Waits until the counters have not changed for `quiet` seconds (at most timeout), so
        that datagrams still queued in the relay's sockets are counted; returns stats()."""
        deadline = time.monotonic() + timeout
        last = self.stats()
        calm_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            now = self.stats()
            if now != last:
                last, calm_since = now, time.monotonic()
            elif time.monotonic() - calm_since >= quiet:
                break
        return last

    # -- UDP ----------------------------------------------------------------------------------
    def _decide_drop(self, direction):
        """Counts a datagram of direction; True if it is to be dropped. The generator of the
        direction is drawn once per datagram whatever the outcome, so runs are reproducible."""
        with self.lock:
            self.counts[direction] += 1
            n = self.counts[direction]
            draw = self.rng[direction].random()
            drop = n in self.drop_numbers[direction] or draw < self.loss[direction]
            if drop:
                self.counts[direction + "_dropped"] += 1
                self.dropped_log[direction].append(n)
            return drop

    def _upstream_for(self, client):
        s = self.upstreams.get(client)
        if s is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.connect(self.server)
            s.setblocking(False)
            self.upstreams[client] = s
            self.clients[s.fileno()] = client
            self.sel.register(s, selectors.EVENT_READ, "server")
        return s

    def _udp_loop(self):
        while not self.stopping:
            for key, _ in self.sel.select(timeout=0.5):
                if key.data == "wake":
                    return
                sock = key.fileobj
                for _ in range(64):     # what is queued now, without starving the other side
                    try:
                        if key.data == "client":
                            data, addr = sock.recvfrom(65536)
                        else:
                            data = sock.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:     # e.g. ECONNREFUSED from a closed server port
                        break
                    if key.data == "client":
                        if not self._decide_drop("to_server"):
                            try:
                                self._upstream_for(addr).send(data)
                            except OSError:
                                pass
                    else:
                        if not self._decide_drop("to_client"):
                            try:
                                self.udp.sendto(data, self.clients[sock.fileno()])
                            except OSError:
                                pass

    # -- TCP (forwarded as is) ----------------------------------------------------------------
    def _tcp_accept_loop(self):
        while not self.stopping:
            try:
                down, _ = self.tcp.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.server, timeout=5)
                up.settimeout(None)
            except OSError:
                down.close()
                continue
            with self.lock:
                self.counts["tcp_connections"] += 1
                self.tcp_socks += [down, up]
            for src, dst in ((down, up), (up, down)):
                t = threading.Thread(target=self._pump, args=(src, dst), daemon=True)
                t.start()

    @staticmethod
    def _pump(src, dst):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            try:
                dst.sendall(data)
            except OSError:
                return
