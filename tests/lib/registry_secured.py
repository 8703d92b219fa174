"""registry_secured: the real registry behind TLS and/or authentication (basic from an htpasswd
file, or tokens from tests/lib/tokenserver.py): a registry.Registry whose URL is https:// when
it has a certificate, and that is ready when /v2/ answers at all (200, or 401 asking for
credentials).

    with SecuredRegistry(root, certs=tls.make_certs(d), extra_config=htpasswd.registry_auth(p), env=env) as reg:
        reg.url  # https://127.0.0.1:<port>
"""
from __future__ import annotations

import time
import urllib.error
import urllib.request

from registry import Registry, RegistryError
from tls import Certs, client_context


class SecuredRegistry(Registry):
    def __init__(self, root, certs: Certs | None = None, extra_config: dict | None = None, **kwargs):
        extra = dict(extra_config or {})
        if certs is not None:
            extra["http"] = {"tls": {"certificate": certs.cert, "key": certs.key}}
        super().__init__(root, extra_config=extra, **kwargs)
        self.certs = certs

    @property
    def url(self) -> str:
        return f"{'https' if self.certs else 'http'}://{self.host}"

    def _wait_ready(self):
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            *([urllib.request.HTTPSHandler(context=client_context(self.certs.ca))] if self.certs else []))
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RegistryError(f"registry exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with opener.open(self.url + "/v2/", timeout=2) as r:
                    if r.status == 200:
                        return
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RegistryError(f"registry not ready after {self.start_timeout}s:\n{self.log()}")
