"""tokenserver: a token server of distribution's token specification, for the registry's
`auth.token` (as docker_auth serves one): GET /token?service=S&scope=S... with basic auth
answers {"token", "access_token", "expires_in", "issued_at"}, an RS256 JWT whose header carries
the signing certificate as `x5c` (how registry 2.8 finds the key) and whose `access` claim
grants what the ACL allows of what was asked.

    ts = TokenServer(folder, users={"alice": ("pw", [("repository", "team/*", "*")])})
    ts.start()
    Registry(root, extra_config=ts.registry_auth())

An ACL entry is (type, name glob, actions): actions "*" or a list ("pull", "push"). A user not
in `users` or with a wrong password gets 401; `deny_next = N` makes the next N tokens grant
nothing (a token the registry refuses mid-run, as an expired or revoked one); a scope the ACL does not cover is granted with
fewer (or no) actions, as docker_auth does, and the registry answers 401 insufficient_scope.
Runs in a thread of the test process; stopped at exit (httpserver.py). Debian's python3-jwt and
python3-cryptography.
"""
from __future__ import annotations

import base64
import datetime
import fnmatch
import json
import os
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from httpserver import LocalHTTPServer

SERVICE = "regsweep-test-registry"
ISSUER = "regsweep-test-token-issuer"


def _signing_pair(folder: str):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "regsweep test token signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = os.path.join(folder, "token-signer.pem")
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


class TokenServer(LocalHTTPServer):
    def __init__(self, folder: str, users: dict, expires_in: int = 300):
        os.makedirs(folder, exist_ok=True)
        self.users = users
        self.expires_in = expires_in
        self.key, self.cert, self.rootcertbundle = _signing_pair(folder)
        self.x5c = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.requests: list = []  # (user, [scopes asked], status)
        self.issued: list = []    # every token given (a test checks that none is printed)
        self.deny_next = 0        # the next N tokens grant nothing: the registry answers 401 mid-run

    @property
    def realm(self) -> str:
        return self.base_url + "/token"

    def registry_auth(self) -> dict:
        """The registry's config section (extra_config) that sends clients here."""
        return {"auth": {"token": {"realm": self.realm, "service": SERVICE, "issuer": ISSUER,
                                   "rootcertbundle": self.rootcertbundle}}}

    def granted(self, user: str, scope: str) -> dict | None:
        parts = scope.split(":")
        if len(parts) < 3:
            return None
        type_, name, asked = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
        allowed: set = set()
        for t, glob, actions in self.users[user][1]:
            if t == type_ and fnmatch.fnmatchcase(name, glob):
                allowed |= set(asked) if actions == "*" else set(actions) & set(asked)
        return {"type": type_, "name": name, "actions": sorted(allowed)}

    def issue(self, user: str, scopes: list) -> dict:
        now = int(time.time())
        access = [g for g in (self.granted(user, s) for s in scopes) if g]
        if self.deny_next > 0:
            self.deny_next -= 1
            access = []
        claims = {"iss": ISSUER, "sub": user, "aud": SERVICE, "exp": now + self.expires_in, "nbf": now - 10,
                  "iat": now, "jti": uuid.uuid4().hex, "access": access}
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": self.x5c})
        self.issued.append(token)
        return {"token": token, "access_token": token, "expires_in": self.expires_in,
                "issued_at": datetime.datetime.fromtimestamp(now, datetime.timezone.utc).isoformat()}

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: stderr is the suite's log
                pass

            def _answer(self, status: int, doc: dict):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="regsweep-test-token"')
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                scopes = query.get("scope", [])
                user = None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    try:
                        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    except ValueError:
                        user = password = None
                    if user not in owner.users or owner.users[user][0] != password:
                        user = None
                if url.path != "/token" or query.get("service") != [SERVICE] or user is None:
                    owner.requests.append((user, scopes, 401))
                    return self._answer(401, {"details": "authentication required"})
                owner.requests.append((user, scopes, 200))
                self._answer(200, owner.issue(user, scopes))

        self.serve(Handler)
        return self
