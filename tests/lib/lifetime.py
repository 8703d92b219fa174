"""lifetime: what the tests start (registries, S3 proxies, S3 servers) is stopped when the
process ends, at exit and on SIGTERM (meson's timeout, a run killed), in one order: what uses
a server stops before it (the registry before the proxy before radosgw).

    lifetime.on_exit(stop_all_registries, order=lifetime.REGISTRIES)
    lifetime.arm()           # when something is started: SIGTERM runs the hooks too

die_with_parent(): a preexec_fn under which the child gets SIGTERM if this process dies first
(PR_SET_PDEATHSIG; it fires when the starting *thread* ends, so start children from the main
thread). Standard library only.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import signal
import threading

REGISTRIES, PROXIES, S3_SERVERS = 10, 20, 30

_HOOKS: list = []  # (order, sequence, fn)
_LOCK = threading.Lock()


def on_exit(fn, order: int = 0) -> None:
    """Call fn() when the process ends (lowest order first; a failing hook does not stop the
    others)."""
    with _LOCK:
        _HOOKS.append((order, len(_HOOKS), fn))


def stop_each(live: set) -> None:
    """Stops every one of `live` (registries, proxies, servers: anything with stop()), going on
    past one that fails to stop."""
    for thing in list(live):
        try:
            thing.stop()
        except Exception:
            pass


@atexit.register
def run_exit_hooks() -> None:
    with _LOCK:
        hooks = sorted(_HOOKS)
    for _order, _seq, fn in hooks:
        try:
            fn()
        except Exception:
            pass


def _on_sigterm(signum, frame):
    run_exit_hooks()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def arm() -> None:
    """Run the hooks on SIGTERM too, unless the program handles SIGTERM itself (then its
    handler is expected to exit through sys.exit, which runs them) or this is not the main
    thread."""
    try:
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        pass


def die_with_parent():  # runs in the child before exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass
