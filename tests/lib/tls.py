"""tls: a test CA and a server certificate for 127.0.0.1, made with the `openssl` command line.

    certs = tls.make_certs(folder)   # certs.ca, certs.cert, certs.key (PEM files)
    ctx = tls.client_context(certs.ca)

ECDSA P-256 keys (quick to make); the server certificate names IP 127.0.0.1 and localhost.
Standard library only (and the openssl program).
"""
from __future__ import annotations

import os
import ssl
import subprocess
from dataclasses import dataclass


@dataclass
class Certs:
    ca: str    # the CA's certificate: what a client trusts (--ca-cert)
    cert: str  # the server's certificate, signed by the CA
    key: str   # the server's key


def _openssl(*args: str, cwd: str) -> None:
    p = subprocess.run(["openssl", *args], cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {p.stderr}")


def make_certs(folder: str, days: int = 2) -> Certs:
    os.makedirs(folder, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", str(days),
             "-subj", "/CN=regsweep test CA", cwd=folder)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=folder)
    with open(os.path.join(folder, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", str(days), "-extfile", "server.ext", cwd=folder)
    return Certs(*(os.path.join(folder, n) for n in ("ca.crt", "server.crt", "server.key")))


def client_context(ca: str) -> ssl.SSLContext:
    """An SSL context that trusts only `ca`."""
    return ssl.create_default_context(cafile=ca)
