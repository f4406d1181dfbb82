"""udp_client: an independent SHOP/1-over-UDP client for the end-to-end tests, written from
docs/PROTOCOL.md §7 alone (it shares no code or constants with the C sources).

Owns: the 32-byte datagram header (pack/unpack, strict parsing of what the server sends),
anonymous requests with address-token (RETRY) handling and paging, the TLS login over
pyOpenSSL (verified against the data dir's ca.crt for "localhost") that yields a session id
and the exported packet keys, sealing and opening with ChaCha20-Poly1305, the replay check of
the server's packet numbers, and authenticated requests with retransmission and the TLS
fallback. Debian's python3 standard library plus python3-openssl and python3-cryptography.
Every socket wait is bounded.
"""

import os
import select
import socket
import struct
import time

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from OpenSSL import SSL
from OpenSSL._util import lib as _ssl_lib

from harness import HarnessError, Reply

# --------------------------------------------------------------------------------------------
# Wire constants (PROTOCOL.md §7.1, §7.3)

MAGIC = b"NSU\x01"              # "NSU" and version 1
TYPE_REQUEST = 1
TYPE_REPLY = 2
TYPE_RETRY = 3
FLAG_MORE = 0x01
FLAG_TOKEN = 0x02
HEADER_LEN = 32
TOKEN_LEN = 24
TAG_LEN = 16
MAX_DATAGRAM = 1200
EXPORTER_LABEL = b"EXPORTER-netshop-udp-v1"
EXPORTER_LEN = 88

HEADER_STRUCT = struct.Struct(">4sBBHQQQ")   # magic, type, flags, page, session, pn, request id
assert HEADER_STRUCT.size == HEADER_LEN

REPLY_WAIT = 2.0        # default wait for one reply datagram
SILENCE_WAIT = 0.5      # how long "no reply" is waited for


class ProtocolViolation(HarnessError):
    """The server sent a datagram that PROTOCOL.md §7 does not allow."""


# --------------------------------------------------------------------------------------------
# Header and datagram codec

class Header:
    """The 32 header bytes as fields. `raw` keeps the exact bytes when parsed."""

    __slots__ = ("magic", "type", "flags", "page", "session_id", "pn", "request_id", "raw")

    def __init__(self, type, flags=0, page=0, session_id=0, pn=0, request_id=0, magic=MAGIC):
        self.magic = magic
        self.type = type
        self.flags = flags
        self.page = page
        self.session_id = session_id
        self.pn = pn
        self.request_id = request_id
        self.raw = None

    def pack(self):
        return HEADER_STRUCT.pack(self.magic, self.type, self.flags, self.page, self.session_id,
                                  self.pn, self.request_id)

    def __repr__(self):
        return ("Header(type=%d, flags=0x%02x, page=%d, session=%016x, pn=%d, request=%016x)"
                % (self.type, self.flags, self.page, self.session_id, self.pn, self.request_id))


def pack_header(type, flags=0, page=0, session_id=0, pn=0, request_id=0, magic=MAGIC):
    """The 32 header bytes (big-endian fields)."""
    return Header(type, flags, page, session_id, pn, request_id, magic).pack()


def unpack_header(data):
    """Header from the first 32 bytes of data (no validity checks). Raises ProtocolViolation
    when data is shorter than a header."""
    if len(data) < HEADER_LEN:
        raise ProtocolViolation("datagram of %d bytes is shorter than a header" % len(data))
    h = Header(*HEADER_STRUCT.unpack_from(data, 0)[1:], magic=data[:4])
    h.raw = bytes(data[:HEADER_LEN])
    return h


def build_datagram(header, payload=b"", token=None):
    """header (Header or bytes) + [L token] + payload. Sets FLAG_TOKEN in a Header when a token
    is given; bytes headers are used exactly as given."""
    if isinstance(header, Header):
        if token is not None:
            header.flags |= FLAG_TOKEN
        hb = header.pack()
    else:
        hb = bytes(header)
    tok = b"" if token is None else bytes([len(token)]) + bytes(token)
    return hb + tok + bytes(payload)


class Datagram:
    """A parsed server datagram: header, token (bytes or None), payload (bytes)."""

    def __init__(self, header, token, payload, raw):
        self.header = header
        self.token = token
        self.payload = payload
        self.raw = raw

    def __repr__(self):
        return "Datagram(%r, token=%r, %d payload bytes)" % (self.header, self.token,
                                                             len(self.payload))


def parse_server_datagram(data):
    """Strictly parses a datagram from the server (§7.1): magic and version, type 2 or 3, only
    known flag bits, TOKEN with L == 24 and only on a retry, size <= 1200. Raises
    ProtocolViolation on anything else."""
    if len(data) > MAX_DATAGRAM:
        raise ProtocolViolation("server datagram of %d bytes (limit %d)" % (len(data), MAX_DATAGRAM))
    h = unpack_header(data)
    if h.magic != MAGIC:
        raise ProtocolViolation("bad magic/version %r" % h.magic)
    if h.type not in (TYPE_REPLY, TYPE_RETRY):
        raise ProtocolViolation("server sent datagram type %d" % h.type)
    if h.flags & ~(FLAG_MORE | FLAG_TOKEN):
        raise ProtocolViolation("unknown flag bits 0x%02x" % h.flags)
    if h.request_id == 0:
        raise ProtocolViolation("reply with request id 0")
    rest = data[HEADER_LEN:]
    token = None
    if h.flags & FLAG_TOKEN:
        if not rest or rest[0] != TOKEN_LEN or len(rest) < 1 + TOKEN_LEN:
            raise ProtocolViolation("bad token length in %r" % bytes(rest[:1]))
        token = bytes(rest[1:1 + TOKEN_LEN])
        rest = rest[1 + TOKEN_LEN:]
    if h.type == TYPE_RETRY:
        if token is None or rest or h.flags != FLAG_TOKEN:
            raise ProtocolViolation("retry must carry exactly flag TOKEN, a token and no payload: "
                                    "%r, %d payload bytes" % (h, len(rest)))
    elif token is not None:
        raise ProtocolViolation("reply carries a token: %r" % h)
    return Datagram(h, token, bytes(rest), bytes(data))


def parse_reply_text(payload):
    """Reply(rows, final, raw lines) from a reply payload: LF-terminated UTF-8 lines, data lines
    "* f1\\tf2...", exactly one final OK/ERR line, last. Raises ProtocolViolation otherwise."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolViolation("reply text is not UTF-8: %r" % payload[:200])
    if not text.endswith("\n"):
        raise ProtocolViolation("reply text does not end with LF: %r" % text[-200:])
    lines = text[:-1].split("\n")
    rows, raw = [], []
    for i, line in enumerate(lines):
        raw.append((line + "\n").encode())
        if "\r" in line or "\0" in line:
            raise ProtocolViolation("reply line contains CR or NUL: %r" % line)
        if line.startswith("* "):
            if i == len(lines) - 1:
                raise ProtocolViolation("reply text has no final line: %r" % text[-200:])
            rows.append(line[2:].split("\t"))
        elif line == "OK" or line.startswith("OK ") or line.startswith("ERR "):
            if i != len(lines) - 1:
                raise ProtocolViolation("final line %r is followed by more lines" % line)
            return Reply(rows, line, raw)
        else:
            raise ProtocolViolation("reply line is neither data nor OK/ERR: %r" % line)
    raise ProtocolViolation("empty reply text")


def new_request_id(rng=None):
    """A random non-zero 64-bit request id."""
    while True:
        rid = rng.getrandbits(64) if rng is not None else int.from_bytes(os.urandom(8), "big")
        if rid:
            return rid


# --------------------------------------------------------------------------------------------
# UDP socket

class UdpEndpoint:
    """A UDP socket on 127.0.0.1 (a fresh source port) that talks to one server address.
    Datagrams from any other address are ignored."""

    def __init__(self, port, host="127.0.0.1", source="127.0.0.1"):
        self.server = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source, 0))
        self.sent = []          # bytes of every datagram sent
        self.received = []      # bytes of every datagram received

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def send(self, data):
        self.sock.sendto(bytes(data), self.server)
        self.sent.append(bytes(data))

    def recv(self, timeout):
        """The next datagram (bytes) from the server within timeout seconds, or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            data, addr = self.sock.recvfrom(65536)
            if addr != self.server:
                continue
            self.received.append(data)
            return data

    def recv_all(self, quiet):
        """Every datagram that arrives until none has come for `quiet` seconds."""
        out = []
        while True:
            d = self.recv(quiet)
            if d is None:
                return out
            out.append(d)

    def recv_burst(self, first_timeout, quiet):
        """The first datagram within first_timeout seconds, then every datagram that follows
        until none has come for `quiet` seconds ([] if the first never came)."""
        first = self.recv(first_timeout)
        return [] if first is None else [first] + self.recv_all(quiet)

    def drain(self):
        """Discards whatever is queued now."""
        self.recv_all(0.001)


# --------------------------------------------------------------------------------------------
# Anonymous requests

class AnonExchange:
    """What one anonymous request produced: the request bytes, the server's first datagram
    (parsed), the token it offered (if a retry), and the final reply datagram."""

    def __init__(self):
        self.request = None
        self.first = None
        self.token = None
        self.reply = None
        self.requests = []      # every request datagram sent (bytes)


class AnonClient:
    """Anonymous SHOP/1 over UDP (§7.2). Handles RETRY by resending with the token, keeps the
    last token for later requests, pages through long replies."""

    def __init__(self, port, timeout=REPLY_WAIT, host="127.0.0.1"):
        self.ep = UdpEndpoint(port, host)
        self.timeout = timeout
        self.token = None

    def close(self):
        self.ep.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def datagram(self, text, page=0, request_id=None, token=None, flags=0):
        """The bytes of an anonymous request (text is str or bytes)."""
        payload = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        h = Header(TYPE_REQUEST, flags=flags, page=page, request_id=request_id or new_request_id())
        return build_datagram(h, payload, token)

    def _await(self, request_id):
        """The next valid server datagram answering request_id (others are skipped), or raise."""
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            data = self.ep.recv(max(0.0, left)) if left > 0 else None
            if data is None:
                raise HarnessError("no UDP reply within %.1f s to request %016x"
                                   % (self.timeout, request_id))
            d = parse_server_datagram(data)
            if d.header.request_id != request_id:
                continue
            if d.header.session_id != 0 or d.header.pn != 0:
                raise ProtocolViolation("anonymous reply with session %016x pn %d"
                                        % (d.header.session_id, d.header.pn))
            return d

    def exchange(self, text, page=0, use_token=True, request_id=None):
        """Sends one request (with the kept token if use_token), follows one RETRY, returns an
        AnonExchange whose .reply is the type-2 datagram."""
        ex = AnonExchange()
        rid = request_id or new_request_id()
        tok = self.token if use_token else None
        ex.request = self.datagram(text, page, rid, tok)
        ex.requests.append(ex.request)
        self.ep.send(ex.request)
        d = self._await(rid)
        ex.first = d
        if d.header.type == TYPE_RETRY:
            ex.token = d.token
            self.token = d.token
            again = self.datagram(text, page, rid, d.token)
            ex.requests.append(again)
            self.ep.send(again)
            d = self._await(rid)
            if d.header.type != TYPE_REPLY:
                raise HarnessError("request with a fresh token answered by %r" % d)
        ex.reply = d
        if d.header.page != page:
            raise ProtocolViolation("asked for page %d, reply carries page %d" % (page, d.header.page))
        return ex

    def request(self, text, page=0):
        """Reply (rows, final) of one page."""
        return parse_reply_text(self.exchange(text, page).reply.payload)

    def request_all(self, text, max_pages=200):
        """(pages, Reply): every page's reply datagram, and the rows of all pages with the last
        page's final line. Checks MORE / `OK MORE n` on every page but the last."""
        return fetch_all_pages(lambda page: self.exchange(text, page).reply, max_pages)


def fetch_all_pages(get_page, max_pages=200):
    """Pages 0, 1, ... via get_page(page) -> reply Datagram (already opened: .payload is the
    text) until one without MORE. Returns (list of (Datagram, Reply), merged Reply)."""
    pages = []
    rows = []
    raw = []
    for page in range(max_pages):
        d = get_page(page)
        r = parse_reply_text(d.payload)
        pages.append((d, r))
        more = bool(d.header.flags & FLAG_MORE)
        if more:
            if r.final != "OK MORE %d" % (page + 1):
                raise ProtocolViolation("page %d has MORE but final line %r" % (page, r.final))
            rows += r.rows
            raw += r.raw[:-1]
            continue
        if r.final.startswith("OK MORE"):
            raise ProtocolViolation("page %d ends with %r but has no MORE flag" % (page, r.final))
        rows += r.rows
        raw += r.raw
        return pages, Reply(rows, r.final, raw)
    raise HarnessError("more than %d pages" % max_pages)


# --------------------------------------------------------------------------------------------
# TLS login with pyOpenSSL (the keying-material exporter)

class TlsSession:
    """A SHOP/1 TLS connection made with pyOpenSSL, verified against ca for host name "localhost"
    (chain and name checked by OpenSSL during the handshake). request() returns harness Reply
    objects; login() returns the session id and the exported UDP keys."""

    def __init__(self, port, ca, host="localhost", timeout=5.0):
        self.timeout = timeout
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        ctx.load_verify_locations(ca)
        ctx.set_verify(SSL.VERIFY_PEER, lambda conn, cert, errno, depth, ok: bool(ok))
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setblocking(False)
        self.conn = SSL.Connection(ctx, self.sock)
        self.conn.set_tlsext_host_name(host.encode())
        param = _ssl_lib.SSL_get0_param(self.conn._ssl)
        name = host.encode()
        if _ssl_lib.X509_VERIFY_PARAM_set1_host(param, name, len(name)) != 1:
            raise HarnessError("cannot set the host name to verify")
        self.conn.set_connect_state()
        self._io(self.conn.do_handshake)
        self.buf = b""
        self.eof = False
        self.session_id = None
        self.keys = None
        self.greeting = self.read_line().decode("utf-8").rstrip("\n")
        if not self.greeting.startswith("OK SHOP/1"):
            raise HarnessError("greeting %r" % self.greeting)

    def _io(self, fn, *args):
        """Runs a pyOpenSSL call on the non-blocking socket, waiting (bounded) as it asks."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return fn(*args)
            except SSL.WantReadError:
                want = ([self.sock], [])
            except SSL.WantWriteError:
                want = ([], [self.sock])
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("TLS: no progress within %.1f s" % self.timeout)
            select.select(want[0], want[1], [], left)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def send_line(self, line):
        data = line.encode("utf-8") + b"\n"
        while data:
            n = self._io(self.conn.send, data)
            data = data[n:]

    def _fill(self):
        try:
            chunk = self._io(self.conn.recv, 65536)
        except (SSL.ZeroReturnError, SSL.SysCallError):
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk
        return chunk

    def read_line(self):
        while b"\n" not in self.buf:
            if self.eof or not self._fill():
                raise HarnessError("TLS connection closed (pending %r)" % self.buf[:200])
        i = self.buf.index(b"\n")
        line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
        return line

    def read_reply(self):
        raw = []
        while True:
            line = self.read_line()
            raw.append(line)
            if line.startswith(b"OK") or line.startswith(b"ERR "):
                return parse_reply_text(b"".join(raw))

    def request(self, line):
        self.send_line(line)
        return self.read_reply()

    def login(self, user, password=None):
        """LOGIN over this connection; sets and returns (session_id, SessionKeys)."""
        r = self.request("LOGIN %s %s" % (user, user if password is None else password))
        prefix = "OK logged in as %s session " % user
        if not r.final.startswith(prefix):
            raise HarnessError("LOGIN %s: %r" % (user, r.final))
        hexid = r.final[len(prefix):]
        if len(hexid) != 16 or hexid != hexid.lower() or any(c not in "0123456789abcdef" for c in hexid):
            raise ProtocolViolation("session id %r is not 16 lowercase hex digits" % hexid)
        self.session_id = int(hexid, 16)
        self.keys = self.export_keys(self.session_id)
        return self.session_id, self.keys

    def export_keys(self, session_id):
        material = self.conn.export_keying_material(EXPORTER_LABEL, EXPORTER_LEN,
                                                    session_id.to_bytes(8, "big"))
        return SessionKeys(material)

    def tls_version(self):
        return self.conn.get_protocol_version_name()


# --------------------------------------------------------------------------------------------
# Packet protection (§7.3)

class SessionKeys:
    """The 88 exported bytes split into the two directions' key and IV."""

    def __init__(self, material):
        if len(material) != EXPORTER_LEN:
            raise HarnessError("exported %d bytes, want %d" % (len(material), EXPORTER_LEN))
        self.material = bytes(material)
        self.c2s_key = self.material[0:32]
        self.c2s_iv = self.material[32:44]
        self.s2c_key = self.material[44:76]
        self.s2c_iv = self.material[76:88]


def nonce(iv, pn):
    """The direction's IV XOR the packet number as a 12-byte big-endian integer."""
    return bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big")))


def seal(key, iv, header_bytes, plaintext, token_bytes=b""):
    """header || [token] || ChaCha20-Poly1305(plaintext) with the header (and token) as AAD; the
    packet number is read from the header bytes."""
    pn = struct.unpack_from(">Q", header_bytes, 16)[0]
    aad = bytes(header_bytes) + bytes(token_bytes)
    return aad + ChaCha20Poly1305(key).encrypt(nonce(iv, pn), bytes(plaintext), aad)


def open_sealed(key, iv, header_bytes, body, token_bytes=b""):
    """The plaintext of body (ciphertext + tag), or None if authentication fails."""
    pn = struct.unpack_from(">Q", header_bytes, 16)[0]
    aad = bytes(header_bytes) + bytes(token_bytes)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce(iv, pn), bytes(body), aad)
    except Exception:
        return None


class ReplayWindow:
    """Accepts each packet number once, within 64 below the highest seen (like DTLS)."""

    SIZE = 64

    def __init__(self):
        self.highest = 0
        self.bits = 0       # bit i: highest - i seen

    def check(self, pn):
        if pn == 0:
            return False
        if pn > self.highest:
            return True
        diff = self.highest - pn
        return diff < self.SIZE and not (self.bits >> diff) & 1

    def accept(self, pn):
        if pn > self.highest:
            shift = pn - self.highest
            self.bits = ((self.bits << shift) | 1) & ((1 << self.SIZE) - 1)
            self.highest = pn
        else:
            self.bits |= 1 << (self.highest - pn)


class SealedClient:
    """Authenticated SHOP/1 over UDP for one session: seals requests with the client-to-server
    key and numbers them 1, 2, ...; opens replies with the server-to-client key, checking the
    header (type 2, session, request id) and the server's packet numbers for replays."""

    def __init__(self, port, session_id, keys, timeout=REPLY_WAIT, host="127.0.0.1", source="127.0.0.1"):
        self.ep = UdpEndpoint(port, host, source)
        self.session_id = session_id
        self.keys = keys
        self.timeout = timeout
        self.next_pn = 1
        self.window = ReplayWindow()
        self.replayed = 0           # server datagrams dropped as replays
        self.unauthenticated = 0    # server datagrams that failed to open

    def close(self):
        self.ep.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def take_pn(self):
        pn = self.next_pn
        self.next_pn += 1
        return pn

    def header(self, request_id, page=0, pn=None, flags=0, session_id=None, type=TYPE_REQUEST):
        return Header(type, flags=flags, page=page,
                      session_id=self.session_id if session_id is None else session_id,
                      pn=self.take_pn() if pn is None else pn, request_id=request_id)

    def datagram(self, text, request_id=None, page=0, pn=None, key=None, iv=None, token=None, **hdr):
        """The sealed bytes of a request (a new packet number unless pn is given), with an address
        token after the header (flag TOKEN, authenticated with the header) when one is given."""
        payload = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        h = self.header(request_id or new_request_id(), page, pn, **hdr)
        tok = b""
        if token is not None:
            h.flags |= FLAG_TOKEN
            tok = bytes([len(token)]) + bytes(token)
        return seal(key or self.keys.c2s_key, iv or self.keys.c2s_iv, h.pack(), payload, tok)

    def open_reply(self, data):
        """A Datagram whose payload is the opened text, or None (dropped: fails to open, a
        replay, or not for this session). Raises ProtocolViolation on malformed datagrams."""
        d = parse_server_datagram(data)
        h = d.header
        if h.type != TYPE_REPLY:
            raise ProtocolViolation("authenticated request answered with type %d" % h.type)
        if h.session_id != self.session_id:
            raise ProtocolViolation("reply for session %016x, ours is %016x"
                                    % (h.session_id, self.session_id))
        if len(d.payload) < TAG_LEN:
            raise ProtocolViolation("sealed reply of %d payload bytes" % len(d.payload))
        text = open_sealed(self.keys.s2c_key, self.keys.s2c_iv, h.raw, d.payload)
        if text is None:
            self.unauthenticated += 1
            return None
        if not self.window.check(h.pn):
            self.replayed += 1
            return None
        self.window.accept(h.pn)
        return Datagram(h, None, text, d.raw)

    def await_reply(self, request_id, timeout):
        """The opened reply to request_id within timeout seconds, or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            data = self.ep.recv(left)
            if data is None:
                return None
            d = self.open_reply(data)
            if d is not None and d.header.request_id == request_id:
                return d

    def send_text(self, text, request_id=None, page=0, **kw):
        """Seals and sends one request; returns (request_id, bytes sent)."""
        rid = request_id or new_request_id()
        data = self.datagram(text, rid, page, **kw)
        self.ep.send(data)
        return rid, data

    def exchange(self, text, page=0, request_id=None, timeout=None):
        """One request, one try: the opened reply Datagram, or raise when none comes."""
        rid, _ = self.send_text(text, request_id, page)
        d = self.await_reply(rid, self.timeout if timeout is None else timeout)
        if d is None:
            raise HarnessError("no UDP reply to %r within %.1f s" % (text, self.timeout))
        if d.header.page != page:
            raise ProtocolViolation("asked for page %d, reply carries page %d" % (page, d.header.page))
        return d

    def request(self, text, page=0):
        return parse_reply_text(self.exchange(text, page).payload)

    def request_all(self, text, max_pages=200):
        return fetch_all_pages(lambda page: self.exchange(text, page), max_pages)

    def expect_silence(self, wait=SILENCE_WAIT):
        """Every datagram that arrives within wait seconds (the caller asserts it is empty)."""
        return self.ep.recv_all(wait)

    def request_with_retries(self, text, request_id=None, first_wait=0.05, tries=8):
        """Sends text under one request id, retransmitting with a new packet number and a
        doubling wait (first_wait, 2x, ...) up to `tries` sends. Returns (Reply or None, sends)."""
        rid = request_id or new_request_id()
        wait = first_wait
        for attempt in range(1, tries + 1):
            self.send_text(text, rid)
            d = self.await_reply(rid, wait)
            if d is not None:
                return parse_reply_text(d.payload), attempt
            wait *= 2
        return None, tries


def fallback_request_id(request_id):
    """The BUY request id the server gives a UDP BUY without its own id (§7.3)."""
    return "udp.%016x" % request_id
