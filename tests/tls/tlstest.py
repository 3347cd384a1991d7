"""TLS helpers for the tests: certificates made with the openssl command
line for each run (no key is ever committed), TLS clients that say which
certificate a server presents for a server name, and a small TLS server
standing for a passthrough backend.
"""
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import threading

OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")


def openssl(*args):
    r = subprocess.run([OPENSSL] + list(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr.decode(errors="replace")))


class Certs:
    """Certificates and keys in <directory>, one pair per name."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def make(self, name, cn, sans=(), kind="ec", days=30, expired=False):
        """Writes <name>.crt and <name>.key; returns the certificate's DER."""
        crt, key = self.path(name + ".crt"), self.path(name + ".key")
        newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else \
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        san = ",".join("DNS:" + s for s in (sans or (cn,)))
        if expired:
            # notAfter yesterday: openssl 3.0 signs with a negative validity
            csr = self.path(name + ".csr")
            ext = self.path(name + ".ext")
            with open(ext, "w") as f:
                f.write("subjectAltName=%s\n" % san)
            openssl("req", "-new", *newkey, "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn)
            openssl("x509", "-req", "-in", csr, "-signkey", key, "-days", "-1", "-out", crt,
                    "-extfile", ext)
        else:
            openssl("req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", crt, "-days", str(days),
                    "-subj", "/CN=" + cn, "-addext", "subjectAltName=" + san)
        return self.der(name)

    def bundle(self, name, out=None):
        """Writes certificate then key into one PEM file; returns its path."""
        out = out or self.path(name + ".pem")
        with open(out, "w") as f:
            f.write(open(self.path(name + ".crt")).read())
            f.write(open(self.path(name + ".key")).read())
        return out

    def der(self, name):
        return ssl.PEM_cert_to_DER_cert(open(self.path(name + ".crt")).read())

    def serial(self, name):
        r = subprocess.run([OPENSSL, "x509", "-noout", "-serial", "-in", self.path(name + ".crt")],
                           stdout=subprocess.PIPE, check=True)
        return r.stdout.decode().strip().split("=", 1)[1]


def client_context(cafile=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def served_cert(port, sni, timeout=5.0, ctx=None):
    """The DER certificate 127.0.0.1:<port> presents for server name <sni>
    (None: no SNI)."""
    ctx = ctx or client_context()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with ctx.wrap_socket(s, server_hostname=sni) as t:
            return t.getpeercert(binary_form=True)


class SNIConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with another server name (curl --resolve)."""

    def __init__(self, port, sni, context, timeout=5.0):
        super().__init__("127.0.0.1", port, context=context, timeout=timeout)
        self.sni = sni

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.sni)


def https_request(port, host, path="/", method="GET", cafile=None, timeout=5.0):
    """Returns (status, lower-cased headers, body, DER of the certificate)."""
    c = SNIConnection(port, host, client_context(cafile), timeout)
    try:
        c.connect()
        der = c.sock.getpeercert(binary_form=True)
        c.request(method, path, headers={"Host": host})
        r = c.getresponse()
        body = r.read().decode(errors="replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body, der
    finally:
        c.close()


class TLSServer:
    """A TLS server on 127.0.0.1 with its own certificate, answering every
    connection with one fixed HTTP response: the backend of a passthrough
    service. Runs in a thread until stop()."""

    def __init__(self, certfile, keyfile, body):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certfile, keyfile)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.body = body.encode()
        self.served = 0
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(5)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as t:
                    t.recv(65536)
                    t.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" %
                              (len(self.body), self.body))
                    self.served += 1
            except (OSError, ssl.SSLError):
                pass

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()
