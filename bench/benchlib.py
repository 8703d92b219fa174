"""What the benchmarks share (run.py on a folder, s3.py on S3): one timed child (wall time,
peak RSS), the cache of generated stores, medians and lower bounds, speed-up ratios, the
machine's facts, the registry's summary line. Standard library only.
"""

import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GC_LINE = re.compile(rb"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible")
GC_FIELDS = ("marked", "eligible_blobs", "eligible_manifests")
ELIGIBLE_BLOB = re.compile(rb"blob eligible for deletion: sha256:([0-9a-f]{64})")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# -- one timed child ---------------------------------------------------------

GNU_TIME = "/usr/bin/time"


def gnu_time_available():
    try:
        p = subprocess.run([GNU_TIME, "--version"], capture_output=True, text=True)
        return "GNU" in (p.stdout + p.stderr)
    except OSError:
        return False


def run_child(cmd, timeout=None, stdout_path=None, rss_via="python", env=None):
    """Runs cmd; returns dict(seconds, rss_kib, rc, timed_out, cpu_seconds, stderr).

    Wall time is measured here. Peak RSS: with rss_via="time", GNU time forks
    the command from its own small process and reports %M; with "python",
    os.wait4's ru_maxrss of the child, which Linux reports as the maximum of
    the command's peak and the RSS this Python process had when it forked
    (exec keeps the old high-water mark): a floor of about that size, which
    resolve_rss_via() measures by running `true`. env: the child's environment
    (None: this process's).
    """
    out = open(stdout_path, "wb") if stdout_path else open(os.devnull, "wb")
    err = tempfile.TemporaryFile()
    tfile = None
    argv = cmd
    if rss_via == "time":
        fd, tfile = tempfile.mkstemp(prefix="regsweep-bench-time-")
        os.close(fd)
        argv = [GNU_TIME, "-q", "-o", tfile, "-f", "%M %x"] + cmd
    done = threading.Event()
    lock = threading.Lock()
    killed = []
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             start_new_session=True, env=env)

        def kill(sig):
            with lock:
                if not done.is_set():  # the child is not reaped yet: pid is ours
                    killed.append(sig)
                    try:
                        os.killpg(p.pid, sig)
                    except ProcessLookupError:
                        pass

        # SIGINT first: GNU time ignores it, so it still reports the peak RSS
        # of the command it ran; SIGKILL if the group is still there later.
        timers = [threading.Timer(timeout, kill, (signal.SIGINT,)),
                  threading.Timer(timeout + 5, kill, (signal.SIGKILL,))] if timeout else []
        for timer in timers:
            timer.start()
        # wait without reaping, so the timer can never signal a recycled pid
        os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
        t1 = time.perf_counter()
        with lock:
            done.set()
        for timer in timers:
            timer.cancel()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = rc = os.waitstatus_to_exitcode(status)
        rss = ru.ru_maxrss
        if tfile:
            with open(tfile) as f:
                fields = f.read().split()
            if len(fields) >= 2 and signal.SIGKILL not in killed:
                rss, rc = int(fields[0]), int(fields[1])
            elif killed:
                rss = None  # GNU time was killed too: only its own RSS is known
        err.seek(0)
        return {"seconds": t1 - t0, "rss_kib": rss, "rc": rc, "timed_out": bool(killed),
                "cpu_seconds": ru.ru_utime + ru.ru_stime,  # with its waited-for children
                "stderr": err.read()[-4000:].decode(errors="replace")}
    finally:
        out.close()
        err.close()
        if tfile:
            os.unlink(tfile)


def add_common_arguments(p, runs):
    """The options every benchmark takes (runs: the default of --runs)."""
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", type=int, default=runs, help="timed rounds (default %d)" % runs)
    p.add_argument("--regsweep", default=os.environ.get("REGSWEEP",
                   os.path.join(REPO, "build", "regsweep")),
                   help="regsweep binary (default build/regsweep, or $REGSWEEP)")
    p.add_argument("--jobs", "-j", type=int, help="pass -j N to regsweep")
    p.add_argument("--registry", default="docker-registry", help="registry binary")
    p.add_argument("--workdir", default=os.path.join(HERE, "work"),
                   help="cache of generated stores and outputs (default bench/work)")
    p.add_argument("--rss-via", choices=["auto", "time", "python"], default="auto",
                   help="peak RSS from GNU time (/usr/bin/time, exact) or from os.wait4 "
                   "(floor of this script's own RSS); auto: GNU time if installed")
    p.add_argument("--json", action="store_true", help="print the results as JSON")


def resolve_rss_via(p, choice, notes):
    """(rss_via, floor KiB): --rss-via made definite, and what `true` measures with it."""
    rss_via = choice
    if rss_via == "auto":
        rss_via = "time" if gnu_time_available() else "python"
    elif rss_via == "time" and not gnu_time_available():
        p.error("--rss-via time: no GNU time at %s (Debian package `time`)" % GNU_TIME)
    floor = run_child(["true"], rss_via=rss_via)["rss_kib"]
    if rss_via == "python":
        notes.append("peak RSS from os.wait4: values at or below %.1f MiB are this script's "
                     "own RSS, not the command's (install GNU time for exact figures)"
                     % (floor / 1024))
    return rss_via, floor


def snapshot(binary, outdir, name):
    """A copy of binary in outdir, run instead of it: the build tree may be rebuilt while
    the rounds run."""
    snap = os.path.join(outdir, name)
    shutil.copy2(binary, snap)
    return snap


def tool_version(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout or p.stderr).strip().splitlines()[0] if p.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


# -- the store -----------------------------------------------------------------

def gen_key(preset, seed):
    with open(os.path.join(HERE, "gen_store.py"), "rb") as f:
        h = hashlib.sha256(f.read()).hexdigest()[:10]
    return "%s-seed%d-%s" % (preset, seed, h)


def ensure_store(workdir, preset, seed, label=None, gen_args=()):
    """Generates the preset's store once; reuses it while gen_store.py is unchanged.
    Returns (root, summary, generated now). preset None: gen_store.py's defaults; gen_args:
    more of its options, in which case `label` names the store (it must say what they are:
    it is the cache key with the seed and gen_store.py's hash)."""
    label = label or preset
    key = gen_key(label, seed)
    d = os.path.join(workdir, key)
    summary = os.path.join(d, "summary.json")
    if os.path.exists(summary):
        log("store: reusing %s" % d)
        with open(summary) as f:
            return os.path.join(d, "root"), json.load(f), False
    os.makedirs(workdir, exist_ok=True)
    stale = [x for x in os.listdir(workdir) if x.startswith(label + "-seed") and x != key]
    if stale:  # not removed here: deleting ~200k inodes can take minutes
        log("store: stale stores of an older gen_store.py, remove them to free space: "
            + " ".join(os.path.join(workdir, x) for x in stale))
    tmp = d + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    log("store: generating %s in %s" % ("preset " + preset if preset else label, d))
    t0 = time.monotonic()
    subprocess.run([sys.executable, os.path.join(HERE, "gen_store.py"),
                    os.path.join(tmp, "root")] + (["--preset", preset] if preset else [])
                   + list(gen_args) + ["--seed", str(seed),
                    "--summary", os.path.join(tmp, "summary.json.part")], check=True,
                   stdout=sys.stderr)
    os.rename(os.path.join(tmp, "summary.json.part"), os.path.join(tmp, "summary.json"))
    os.rename(tmp, d)
    with open(summary) as f:
        gen = json.load(f)
    gen["generation_wall_seconds"] = round(time.monotonic() - t0, 3)
    return os.path.join(d, "root"), gen, True


def registry_said(output):
    """{marked, eligible_blobs, eligible_manifests} of garbage-collect's summary line
    (bytes), or None."""
    m = GC_LINE.search(output)
    return dict(zip(GC_FIELDS, map(int, m.groups()))) if m else None


def registry_eligible_blobs(output):
    """The hex digests of the blobs garbage-collect's output (bytes) lists as eligible."""
    return {m.decode() for m in ELIGIBLE_BLOB.findall(output)}


def registry_expected(gen, key):
    """What the generator predicts 2.8.2's garbage-collect says (key: gc or gc_m), or None."""
    return gen.get("expect", {}).get("registry_2.8.2", {}).get(key)


# -- figures -------------------------------------------------------------------

def rss_median(res):
    """Median peak RSS in MiB; a command killed at the timeout gives its peak
    so far (a lower bound), or None if it could not be measured."""
    vals = [r["rss_kib"] for r in res if r["rss_kib"] is not None]
    return round(statistics.median(vals) / 1024, 1) if vals else None


def median_or_bound(res, timeout):
    if not res:
        return None, False
    if any(r["timed_out"] for r in res):
        return float(timeout), True
    return statistics.median(r["seconds"] for r in res), False


def summarize(label, argv, res, timeout):
    """The figures of one command's runs (res: run_child's results)."""
    med, bound = median_or_bound(res, timeout)
    return {
        "label": label, "argv": argv, "runs": len(res),
        "seconds": [round(r["seconds"], 4) for r in res],
        "rss_kib": [r["rss_kib"] for r in res],
        "median_seconds": round(med, 4), "lower_bound": bound,
        "median_rss_mib": rss_median(res),
        "rss_lower_bound": any(r["timed_out"] for r in res),
    }


def speedup(commands, slow, fast, label, digits=2):
    """How many times faster command `fast` is than `slow` (summaries as summarize()
    makes them): {value, at_least, label}, or None when it cannot be told (one is missing,
    or `fast` timed out)."""
    s, f = commands.get(slow), commands.get(fast)
    if not s or not f or not s["median_seconds"] or not f["median_seconds"] or f["lower_bound"]:
        return None
    return {"value": round(s["median_seconds"] / f["median_seconds"], digits),
            "at_least": s["lower_bound"], "label": label}


def rss_ratio(commands, a, b, label):
    """Peak RSS of command a over b's: {value, at_most, label} (an upper bound when b's peak
    is a lower bound: b timed out), or None."""
    x, y = commands.get(a), commands.get(b)
    if not x or not y or not x["median_rss_mib"] or not y["median_rss_mib"]:
        return None
    return {"value": round(x["median_rss_mib"] / y["median_rss_mib"], 3), "at_least": False,
            "at_most": y["rss_lower_bound"], "label": label}


def format_ratio(v):
    bound = ">= " if v.get("at_least") else "<= " if v.get("at_most") else ""
    return "%s%s" % (bound, v["value"])


def format_seconds(c):
    return ("> %g" % c["median_seconds"]) if c["lower_bound"] else "%.3f" % c["median_seconds"]


def format_rss(c):
    return "-" if c["median_rss_mib"] is None else (
        (">= " if c["rss_lower_bound"] else "") + "%.1f" % c["median_rss_mib"])


def machine(load_start):
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    except OSError:
        cpu = None
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()]}


def format_machine(m):
    return "machine: %d CPUs (%s), kernel %s, load %s -> %s" % (
        m["nproc"], m["cpu"], m["kernel"], " ".join(map(str, m["loadavg_start"])),
        " ".join(map(str, m["loadavg_end"])))


def save_and_print(report, path, as_json, print_text):
    """Writes the report as JSON to `path`, then prints it: JSON on stdout with --json, else
    through `print_text`. Returns the exit code (0)."""
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    if as_json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print_text(report)
    return 0
