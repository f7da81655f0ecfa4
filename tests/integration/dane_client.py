"""A TLS 1.3 client that sends any dane_clientid bytes, driven through ctypes on the system libssl.

Python's ssl module cannot add a custom extension to the client's Certificate message, and the probe
refuses to send an empty or hand-made ClientName. This client sends exactly the extension_data it is
given (or none), then one raw HTTP request, and reports what came back:

    reply = exchange(("127.0.0.1", port), cert, key, encode_client_name("c301.example.test"),
                     http_request("POST", "/", body, {"X-Dane-Client-Id": "forged"}))
    reply.handshake_done, reply.status, reply.headers, reply.body, reply.error

Thread-safe: every exchange has its own SSL_CTX; ctypes releases the GIL around each OpenSSL call.
"""
import ctypes
import dataclasses
import socket
import struct
import threading

DEFAULT_CODEPOINT = 65498
SSL_EXT_TLS1_3_ONLY = 0x0020
SSL_EXT_TLS1_3_CERTIFICATE = 0x1000
SSL_EXT_TLS1_3_CERTIFICATE_REQUEST = 0x4000
SSL_CTRL_SET_MIN_PROTO_VERSION = 123
TLS1_3_VERSION = 0x0304
SSL_FILETYPE_PEM = 1
SSL_VERIFY_NONE = 0
SSL_ERROR_WANT_READ = 2

_ssl = ctypes.CDLL("libssl.so.3", use_errno=True)
_crypto = ctypes.CDLL("libcrypto.so.3", use_errno=True)

_ADD_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint,
                                 ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t),
                                 ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int), ctypes.c_void_p)


def _declare(library, name, restype, *argtypes):
    function = getattr(library, name)
    function.restype = restype
    function.argtypes = list(argtypes)
    return function


_P = ctypes.c_void_p
_TLS_client_method = _declare(_ssl, "TLS_client_method", _P)
_SSL_CTX_new = _declare(_ssl, "SSL_CTX_new", _P, _P)
_SSL_CTX_free = _declare(_ssl, "SSL_CTX_free", None, _P)
_SSL_CTX_ctrl = _declare(_ssl, "SSL_CTX_ctrl", ctypes.c_long, _P, ctypes.c_int, ctypes.c_long, _P)
_SSL_CTX_set_verify = _declare(_ssl, "SSL_CTX_set_verify", None, _P, ctypes.c_int, _P)
_SSL_CTX_use_certificate_chain_file = _declare(_ssl, "SSL_CTX_use_certificate_chain_file", ctypes.c_int, _P,
                                               ctypes.c_char_p)
_SSL_CTX_use_PrivateKey_file = _declare(_ssl, "SSL_CTX_use_PrivateKey_file", ctypes.c_int, _P, ctypes.c_char_p,
                                        ctypes.c_int)
_SSL_CTX_add_custom_ext = _declare(_ssl, "SSL_CTX_add_custom_ext", ctypes.c_int, _P, ctypes.c_uint, ctypes.c_uint,
                                   _ADD_CALLBACK, _P, _P, _P, _P)
_SSL_new = _declare(_ssl, "SSL_new", _P, _P)
_SSL_free = _declare(_ssl, "SSL_free", None, _P)
_SSL_set_fd = _declare(_ssl, "SSL_set_fd", ctypes.c_int, _P, ctypes.c_int)
_SSL_connect = _declare(_ssl, "SSL_connect", ctypes.c_int, _P)
_SSL_write = _declare(_ssl, "SSL_write", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_int)
_SSL_read = _declare(_ssl, "SSL_read", ctypes.c_int, _P, ctypes.c_void_p, ctypes.c_int)
_SSL_get_error = _declare(_ssl, "SSL_get_error", ctypes.c_int, _P, ctypes.c_int)
_SSL_get1_session = _declare(_ssl, "SSL_get1_session", _P, _P)
_SSL_set_session = _declare(_ssl, "SSL_set_session", ctypes.c_int, _P, _P)
_SSL_session_reused = _declare(_ssl, "SSL_session_reused", ctypes.c_int, _P)
_SSL_SESSION_is_resumable = _declare(_ssl, "SSL_SESSION_is_resumable", ctypes.c_int, _P)
_SSL_SESSION_free = _declare(_ssl, "SSL_SESSION_free", None, _P)
_ERR_get_error = _declare(_crypto, "ERR_get_error", ctypes.c_ulong)
_ERR_clear_error = _declare(_crypto, "ERR_clear_error", None)
_ERR_error_string_n = _declare(_crypto, "ERR_error_string_n", None, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_size_t)

# add_arg (an integer key) -> the extension_data buffer to send for that SSL_CTX.
_extension_data = {}
_extension_lock = threading.Lock()
_next_key = [1]


@_ADD_CALLBACK
def _add_client_name(_ssl_handle, _ext_type, context, out, outlen, _x509, chainidx, _alert, add_arg):
    if context != SSL_EXT_TLS1_3_CERTIFICATE or chainidx != 0:
        return 0
    with _extension_lock:
        buffer = _extension_data.get(add_arg)
    if buffer is None:
        return 0
    out[0] = ctypes.addressof(buffer)
    outlen[0] = len(buffer)
    return 1


def encode_client_name(name):
    """extension_data for a ClientName: one length byte, then the name ("" gives the single byte 0x00)."""
    raw = name.encode() if isinstance(name, str) else bytes(name)
    return bytes([len(raw)]) + raw


def http_request(method, path, body=b"", headers=None):
    lines = [f"{method} {path} HTTP/1.1", "Host: sidecar.test", f"Content-Length: {len(body)}"]
    if body:
        lines.append("Content-Type: application/json")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclasses.dataclass
class Reply:
    handshake_done: bool = False
    status: int = None
    headers: dict = dataclasses.field(default_factory=dict)
    body: bytes = b""
    error: str = ""  # OpenSSL's error string(s), e.g. "... sslv3 alert handshake failure"
    resumed: bool = False  # the server accepted the offered session: no certificate was checked
    resumable: bool = False  # the server gave us a session we could resume (a ticket)


def _openssl_errors():
    texts = []
    while (code := _ERR_get_error()) != 0:
        text = ctypes.create_string_buffer(256)
        _ERR_error_string_n(code, text, len(text))
        texts.append(text.value.decode())
    return "; ".join(texts)


def _failure(ssl, rc, what):
    code = _SSL_get_error(ssl, rc)
    details = _openssl_errors()
    return f"{what}: SSL_get_error {code}" + (f": {details}" if details else "")


def _make_context(cert, key, extension_data, codepoint):
    ctx = _SSL_CTX_new(_TLS_client_method())
    if not ctx:
        raise RuntimeError("SSL_CTX_new failed")
    _SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_3_VERSION, None)
    _SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, None)
    if cert and (_SSL_CTX_use_certificate_chain_file(ctx, str(cert).encode()) != 1 or
                 _SSL_CTX_use_PrivateKey_file(ctx, str(key).encode(), SSL_FILETYPE_PEM) != 1):
        errors = _openssl_errors()
        _SSL_CTX_free(ctx)
        raise RuntimeError(f"cannot load {cert} / {key}: {errors}")
    key_id = None
    if extension_data is not None:
        with _extension_lock:
            key_id = _next_key[0]
            _next_key[0] += 1
            _extension_data[key_id] = ctypes.create_string_buffer(bytes(extension_data), len(extension_data))
        contexts = SSL_EXT_TLS1_3_ONLY | SSL_EXT_TLS1_3_CERTIFICATE_REQUEST | SSL_EXT_TLS1_3_CERTIFICATE
        if _SSL_CTX_add_custom_ext(ctx, codepoint, contexts, _add_client_name, None, key_id, None, None) != 1:
            _SSL_CTX_free(ctx)
            raise RuntimeError("SSL_CTX_add_custom_ext failed")
    return ctx, key_id


def _set_io_timeout(sock, seconds):
    timeval = struct.pack("ll", int(seconds), int((seconds % 1) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


def _parse_http(data, reply):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    reply.status = int(lines[0].split()[1])
    for line in lines[1:]:
        name, _, value = line.partition(":")
        reply.headers[name.strip().lower()] = value.strip()
    reply.body = body


def _response_length(data):
    """Bytes of the first complete response in data, or None (no length: read until the server closes)."""
    if b"\r\n\r\n" not in data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = len(head) + 4 + int(value)
            return length if len(data) >= length else None
    return None


def _read_response(ssl, reply, data=b""):
    """Reads one response into reply, starting with bytes already received; returns the bytes that follow it
    (the next pipelined answers)."""
    chunk = ctypes.create_string_buffer(16384)
    while (length := _response_length(data)) is None:
        rc = _SSL_read(ssl, chunk, len(chunk))
        if rc <= 0:
            if not data:
                reply.error = _failure(ssl, rc, "read")
            break
        data += chunk.raw[:rc]
    if length is None:
        length = len(data)
    if data:
        _parse_http(data[:length], reply)
    return data[length:]


class Session:
    """A TLS session kept from one exchange to offer for resumption in the next."""

    def __init__(self):
        self.handle = None

    def replace(self, handle):
        self.close()
        self.handle = handle

    def close(self):
        if self.handle:
            _SSL_SESSION_free(self.handle)
        self.handle = None


class DaneConnection:
    """One TLS 1.3 connection that sends `extension_data` as dane_clientid (None: no extension) and may carry
    several HTTP requests; use as a context manager. After connect(), .reply holds the handshake's outcome.

        with DaneConnection(address, cert, key, encode_client_name(name)) as connection:
            first = connection.request(http_request("POST", "/", body))
            second = connection.request(http_request("POST", "/", body))
            assert connection.closed_by_server_within(5)
    """

    def __init__(self, address, cert, key, extension_data, codepoint=DEFAULT_CODEPOINT, timeout_s=30, session=None):
        self.address = address
        self.timeout_s = timeout_s
        self.session = session
        self.reply = Reply()
        _ERR_clear_error()
        self._ctx, self._key_id = _make_context(cert, key, extension_data, codepoint)
        self._sock = None
        self._ssl = None
        self._write_error = ""
        self._received = b""  # bytes after the last response read: pipelined answers

    def __enter__(self):
        try:
            self.connect()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_):
        self.close()

    def connect(self):
        """TCP connect and TLS handshake; False (and .reply.error) if the handshake failed."""
        self._sock = socket.create_connection(self.address, timeout=self.timeout_s)
        self._sock.setblocking(True)
        _set_io_timeout(self._sock, self.timeout_s)
        self._ssl = _SSL_new(self._ctx)
        _SSL_set_fd(self._ssl, self._sock.fileno())
        if self.session is not None and self.session.handle:
            _SSL_set_session(self._ssl, self.session.handle)
        rc = _SSL_connect(self._ssl)
        if rc != 1:
            self.reply.error = _failure(self._ssl, rc, "handshake")
            return False
        self.reply.handshake_done = True
        self.reply.resumed = _SSL_session_reused(self._ssl) == 1
        return True

    def request(self, request):
        """Sends `request` (bytes; b"" sends nothing), then reads one HTTP response or the server's verdict
        (an alert, a close). Returns a Reply carrying the handshake's outcome too."""
        self.send(request)
        return self.receive()

    def send(self, request):
        self._write_error = ""
        if request:
            rc = _SSL_write(self._ssl, request, len(request))
            if rc <= 0:
                self._write_error = _failure(self._ssl, rc, "write")

    def receive(self):
        """One HTTP response or the server's verdict, as a Reply carrying the handshake's outcome too."""
        reply = dataclasses.replace(self.reply, headers={}, error=self.reply.error)
        # After a failed write too: the server's alert may be waiting.
        self._received = _read_response(self._ssl, reply, self._received)
        if self._write_error:
            reply.error = f"{self._write_error}; {reply.error}"
        if self.session is not None:  # after the read: TLS 1.3 tickets arrive after the handshake
            self.session.replace(_SSL_get1_session(self._ssl))
            reply.resumable = bool(self.session.handle) and _SSL_SESSION_is_resumable(self.session.handle) == 1
        return reply

    def closed_by_server_within(self, seconds):
        """Waits up to `seconds` for the server to end the connection (close_notify, FIN or reset) without
        sending anything else."""
        _set_io_timeout(self._sock, seconds)
        chunk = ctypes.create_string_buffer(1024)
        rc = _SSL_read(self._ssl, chunk, len(chunk))
        if rc > 0:
            raise AssertionError(f"the server sent data instead of closing: {chunk.raw[:rc]!r}")
        still_open = _SSL_get_error(self._ssl, rc) == SSL_ERROR_WANT_READ  # the receive timeout expired
        _ERR_clear_error()
        return not still_open

    def close(self):
        if self._ssl:
            _SSL_free(self._ssl)
            self._ssl = None
        if self._sock:
            self._sock.close()
            self._sock = None
        if self._ctx:
            _SSL_CTX_free(self._ctx)
            self._ctx = None
        if self._key_id is not None:
            with _extension_lock:
                del _extension_data[self._key_id]
            self._key_id = None


def exchange(address, cert, key, extension_data, request, codepoint=DEFAULT_CODEPOINT, timeout_s=30, session=None):
    """One connection: TLS 1.3 handshake with `extension_data` (None: no extension), send `request` (bytes;
    b"" sends nothing), then read one HTTP response or the server's verdict (an alert, a close).
    With a Session: offer the session it holds, and keep this connection's session in it."""
    with DaneConnection(address, cert, key, extension_data, codepoint, timeout_s, session) as connection:
        if not connection.reply.handshake_done:
            return connection.reply
        return connection.request(request)
