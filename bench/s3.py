#!/usr/bin/env python3
"""regsweep against the registry's own garbage collector on S3 (Ceph RGW on 127.0.0.1).

Generates a store with gen_store.py (cached in bench/work, as run.py does), starts a one-node
RGW (tests/lib/s3server.py), uploads the store once under the prefix `pristine/` of a bucket
(parallel PUTs, boto3) and then, for each --delay-ms, through an s3proxy adding that delay to
every request and counting requests by kind, runs in rotated rounds:

  regsweep_gc_m    regsweep --root s3://B/pristine gc -m --dry-run  --min-age 0s --uploads-older-than 0s
  registry_gc_m    docker-registry garbage-collect -m --dry-run CFG   (storage.s3 on the same prefix)
  regsweep_gc      regsweep ... gc --dry-run ...
  registry_gc      docker-registry garbage-collect --dry-run CFG
  regsweep_sweep   regsweep ... gc -y --registry-stopped ...         (on a fresh copy of pristine/)
  registry_sweep   docker-registry garbage-collect CFG(copy)          (on a fresh copy)
  regsweep_report  regsweep ... report --json
  local_gc_m       regsweep --root LOCAL gc -m --dry-run ...          (the same store on disk)
  direct_gc_m      regsweep_gc_m straight to RGW, no proxy (at 0 ms only: the proxy's own cost)

Wall time, peak RSS (benchlib.run_child), requests by kind as the proxy counted them, ratios
regsweep vs registry, whether both say the same (eligible blobs; the blobs left after the real
sweeps), and the targets. Copies are made server-side (parallel CopyObject), untimed, and
kept (removing them takes as long as making them). A command that runs longer than
--once-over seconds is not run again (one round); one that exceeds --timeout is killed and
reported as a lower bound, with its whole run projected when the same command ran whole at
another delay (see bench/README.md).

Needs boto3, ceph-mon, ceph-osd, radosgw (scripts/setup.sh test) and docker-registry.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import sys
import threading
import time

import benchlib  # noqa: E402
from benchlib import (REPO, add_common_arguments, ensure_store, format_machine, format_ratio,
                      format_rss, format_seconds, log, machine, registry_eligible_blobs,
                      registry_expected, registry_said, resolve_rss_via, rss_ratio, run_child,
                      snapshot, speedup, summarize, tool_version)
from gen_store import PRESETS

sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from registry_s3 import V2, s3_storage  # noqa: E402
from s3proxy import KINDS, S3Proxy  # noqa: E402
from s3server import S3Server, clean_env  # noqa: E402
from yamlconf import write_config  # noqa: E402

PRISTINE = "pristine"
AGE = ["--min-age", "0s", "--uploads-older-than", "0s"]
TARGETS = {  # pair -> (minimum speed-up over the registry, the delay it applies at)
    "gc_m": (30, 20),
    "sweep": (50, 20),
}
PAIRS = (  # (pair, regsweep's command, the registry's, label)
    ("gc_m", "regsweep_gc_m", "registry_gc_m", "gc -m --dry-run"),
    ("gc", "regsweep_gc", "registry_gc", "gc --dry-run"),
    ("sweep", "regsweep_sweep", "registry_sweep", "real gc sweep"),
)


# -- the bucket ------------------------------------------------------------------

class Bucket:
    """The bench's bucket on the RGW: parallel PUTs and copies, one boto3 client per thread
    (straight to the server, never through the proxy: not counted, not delayed)."""

    def __init__(self, server, name, threads):
        self.server, self.name, self.threads = server, name, threads
        self.local = threading.local()

    def client(self):
        if not hasattr(self.local, "c"):
            self.local.c = self.server.client_for(self.server.endpoint)
        return self.local.c

    def parallel(self, fn, items):
        with concurrent.futures.ThreadPoolExecutor(self.threads) as ex:
            for _ in ex.map(fn, items):
                pass

    def upload(self, root, prefix, rels):
        def put(rel):
            with open(os.path.join(root, rel), "rb") as f:
                self.client().put(self.name, prefix + "/" + rel, f.read())
        self.parallel(put, rels)

    def copy(self, src, dst, rels):
        self.parallel(lambda rel: self.client().copy(self.name, src + "/" + rel, dst + "/" + rel),
                      rels)

    def keys(self, prefix):
        return self.client().list_keys(self.name, prefix + "/")

    def blobs(self, prefix):
        """The digests (hex) of the blobs under prefix."""
        head = "%s/%s/blobs/sha256/" % (prefix, V2)
        return {k[len(head):].split("/")[1] for k in self.keys(head.rstrip("/"))
                if k.endswith("/data")}


def store_files(root):
    rels = []
    for d, _, files in os.walk(root):
        rels += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(rels)


# -- the commands ------------------------------------------------------------------

def commands(a, bucket, endpoint, direct, local_root, cfgdir, server):
    """(name, label, argv-maker) for one delay; argv-maker(prefix) gives the command line on
    prefix (the pristine one, or a fresh copy for the sweeps)."""
    rs, reg = a.regsweep, shutil.which(a.registry) or a.registry
    gopt = ["-j", str(a.jobs)] if a.jobs else []

    def regsweep(*args, ep=endpoint):
        return lambda prefix: ([rs, "--root", "s3://%s/%s" % (bucket, prefix), "--s3-endpoint",
                                ep] + gopt + list(args))

    def registry(*args):
        def argv(prefix):
            cfg = os.path.join(cfgdir, "registry-%s.yml" % prefix)
            write_config(cfg, None, extra={"log": {"level": "error"},
                                           "storage": s3_storage(server, bucket, prefix, endpoint)})
            return [reg, "garbage-collect"] + list(args) + [cfg]
        return argv

    cmds = [
        ("regsweep_gc_m", "regsweep gc -m --dry-run",
         regsweep("--json", "gc", "-m", "--dry-run", *AGE)),
        ("registry_gc_m", "registry garbage-collect -m --dry-run", registry("-m", "--dry-run")),
        ("regsweep_gc", "regsweep gc --dry-run", regsweep("--json", "gc", "--dry-run", *AGE)),
        ("registry_gc", "registry garbage-collect --dry-run", registry("--dry-run")),
        ("regsweep_sweep", "regsweep gc -y --registry-stopped",
         regsweep("--json", "gc", "-y", "--registry-stopped", *AGE)),
        ("registry_sweep", "registry garbage-collect", registry()),
        ("regsweep_report", "regsweep report --json", regsweep("report", "--json")),
        ("local_gc_m", "regsweep gc -m --dry-run, on disk",
         lambda prefix: [rs, "--root", local_root] + gopt
         + ["--json", "gc", "-m", "--dry-run"] + AGE),
    ]
    if direct:
        cmds.append(("direct_gc_m", "regsweep gc -m --dry-run, no proxy",
                     regsweep("--json", "gc", "-m", "--dry-run", *AGE, ep=direct)))
    return [c for c in cmds if c[0] not in a.skip]


def is_sweep(name):
    return name.endswith("_sweep")


def regsweep_summary(path):
    """gc --json's summary: (blobs, untagged manifests), or None."""
    try:
        with open(path) as f:
            s = json.load(f)["summary"]
        return s["blobs"]["count"], s["untagged_manifests"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- one delay -----------------------------------------------------------------------

def run_delay(a, delay, ctx):
    """All rounds at one delay; returns its report (a dict)."""
    server, bk, rels, gen = ctx["server"], ctx["bucket"], ctx["rels"], ctx["gen"]
    outdir, env, rss_via = ctx["outdir"], ctx["env"], ctx["rss_via"]
    notes = []
    t_start = time.monotonic()
    load_start = os.getloadavg()[0]
    proxy = S3Proxy(server.endpoint, client=server.client).start()
    proxy.delay_ms = delay
    cfgdir = os.path.join(outdir, "s3-config")
    os.makedirs(cfgdir, exist_ok=True)
    cmds = commands(a, bk.name, proxy.endpoint, server.endpoint if delay == 0 else None,
                    ctx["local_root"], cfgdir, server)
    results = {c[0]: [] for c in cmds}
    counts = {c[0]: [] for c in cmds}
    left = {}  # sweep -> blobs left after its first run
    done = set()  # not run again: timed out, failed, or slower than --once-over
    serial = [0]
    argvs = {}  # name -> the first run's command line

    def run(name, make):
        prefix = PRISTINE
        if is_sweep(name):
            serial[0] += 1
            prefix = "sweep-%dms-%s-%d" % (delay, name, serial[0])
            t0 = time.monotonic()
            bk.copy(PRISTINE, prefix, rels)
            log("  copy of %d objects to %s/ in %.1fs" % (len(rels), prefix, time.monotonic() - t0))
        argv = make(prefix)
        first = not results[name] and name not in done
        argvs.setdefault(name, argv)
        out = os.path.join(outdir, "out-s3-%dms-%s.txt" % (delay, name)) if first else None
        proxy.reset_counts()
        r = run_child(argv, a.timeout, out, rss_via, env=env)
        c = {k: proxy.counts[k] for k in KINDS + ("DELETE_BATCH_KEYS",)}
        log("  %-16s %8.2fs %s%s" % (name, r["seconds"], "TIMED OUT " if r["timed_out"] else "",
                                      " ".join("%s=%d" % (k, v) for k, v in c.items() if v)))
        if r["rc"] != 0 and not r["timed_out"]:
            notes.append("%s failed (exit %d): not counted, not run again. stderr: %s"
                         % (name, r["rc"], r["stderr"].strip()[-500:]))
            done.add(name)
        else:
            results[name].append(r)
            counts[name].append(c)
            if r["timed_out"]:
                notes.append("%s timed out (> %ss): a lower bound, not run again"
                             % (name, a.timeout))
                done.add(name)
            elif r["seconds"] > a.once_over:
                done.add(name)
            if is_sweep(name) and first and not r["timed_out"]:
                left[name] = bk.blobs(prefix)
        return r  # the copy stays: removing it costs as long as making it; RGW holds them

    for rnd in range(a.runs):
        todo = [c for c in cmds if c[0] not in done
                and not (is_sweep(c[0]) and len(results[c[0]]) >= a.sweep_runs)]
        if not todo:
            break
        k = rnd % len(todo)
        order = todo[k:] + todo[:k]
        log("%d ms, round %d/%d: %s" % (delay, rnd + 1, a.runs, " ".join(c[0] for c in order)))
        for name, _label, make in order:
            run(name, make)
    proxy.stop()

    # figures
    cmd_figs = {}
    for name, label, make in cmds:
        if not results[name]:
            continue
        c = summarize(label, argvs[name], results[name], a.timeout)
        c["requests"] = counts[name][0]
        c["requests_total"] = sum(counts[name][0][k] for k in KINDS)
        c["requests_all_runs"] = counts[name]
        whole = ctx["complete"].get(name)
        if c["lower_bound"] and whole and c["requests_total"]:
            # its requests are the same at every delay and made one at a time: the whole run
            # takes about as many times the timeout as it had made of them when it was killed
            c["projected_seconds"] = round(a.timeout * whole / c["requests_total"], 1)
        elif not c["lower_bound"]:
            ctx["complete"][name] = c["requests_total"]
        cmd_figs[name] = c

    ratios, targets = {}, []
    for pair, rn, gn, label in PAIRS:
        s = speedup(cmd_figs, gn, rn, "%s: speed-up of regsweep over the registry" % label)
        if s:
            ratios["%s_speedup" % pair] = s
        if rn in cmd_figs and gn in cmd_figs:
            r, g = cmd_figs[rn], cmd_figs[gn]
            whole = ctx["complete"].get(gn) if g["lower_bound"] else g["requests_total"]
            if whole or g["requests_total"]:  # with the registry's whole run if known
                ratios["%s_requests" % pair] = {
                    "value": round(r["requests_total"] / (whole or g["requests_total"]), 3),
                    "at_most": not whole,
                    "label": "%s: requests, regsweep / registry" % label}
            rr = rss_ratio(cmd_figs, rn, gn, "%s: peak RSS, regsweep / registry" % label)
            if rr:
                ratios["%s_rss" % pair] = rr
            targets.append(requests_target(label, r, g, ctx["complete"].get(gn)))
        proj = None
        if s and s["at_least"] and cmd_figs[gn].get("projected_seconds"):
            proj = round(cmd_figs[gn]["projected_seconds"] / cmd_figs[rn]["median_seconds"], 1)
            ratios["%s_speedup_projected" % pair] = {
                "value": proj, "label": "%s: speed-up, projected (~)" % label}
        if pair in TARGETS:
            targets.append(speed_target(pair, label, s, delay, proj))
    rr = rss_ratio(cmd_figs, "regsweep_gc_m", "local_gc_m",
                   "gc -m --dry-run: peak RSS, on S3 / on disk")
    if rr:
        ratios["gc_m_rss_s3_over_disk"] = rr
        targets.append({"target": "regsweep gc -m --dry-run: peak RSS on S3 <= on disk",
                        "status": "met" if rr["value"] <= 1 else "MISSED",
                        "value": "%.1f MiB on S3, %.1f MiB on disk" % (
                            cmd_figs["regsweep_gc_m"]["median_rss_mib"],
                            cmd_figs["local_gc_m"]["median_rss_mib"])})
    rr = speedup(cmd_figs, "regsweep_gc_m", "direct_gc_m",
                 "gc -m --dry-run: time through the 0 ms proxy / straight to RGW", digits=3)
    if rr:
        ratios["gc_m_proxy_cost"] = rr

    for name, c in cmd_figs.items():
        if not c["lower_bound"]:
            ctx["outputs"].setdefault(name, os.path.join(outdir, "out-s3-%dms-%s.txt"
                                                         % (delay, name)))
    agreement = check_agreement(ctx, gen, left, notes)
    for name, blobs in left.items():
        ctx["left"].setdefault(name, blobs)
    return {"delay_ms": delay, "commands": cmd_figs, "ratios": ratios, "targets": targets,
            "agreement": agreement, "notes": notes,
            "loadavg": [round(load_start, 2), round(os.getloadavg()[0], 2)],
            "wall_seconds": round(time.monotonic() - t_start, 1)}


def speed_target(pair, label, s, delay, projected=None):
    want, at = TARGETS[pair]
    t = {"target": "%s >= %dx faster than the registry's at %d ms" % (label, want, at)}
    if delay < at:
        t.update(status="not at this delay", value=format_ratio(s) + "x" if s else "-")
    elif not s:
        t.update(status="not measured", value="-")
    elif s["value"] >= want:
        t.update(status="met", value=format_ratio(s) + "x")
    elif s["at_least"]:  # the registry timed out: the true speed-up is higher
        t.update(status="unknown (the registry timed out; raise --timeout)" if projected is None
                 else "likely %s (projected ~%gx)" % ("met" if projected >= want else "MISSED",
                                                      projected),
                 value=format_ratio(s) + "x")
    else:
        t.update(status="MISSED", value=format_ratio(s) + "x")
    return t


def requests_target(label, r, g, whole=None):
    """whole: the registry's requests in a run of the same command not cut short (at another
    delay: they do not depend on it)."""
    t = {"target": "%s: fewer requests in total than the registry" % label,
         "value": "%d vs %s%d" % (r["requests_total"], ">= " if g["lower_bound"] else "",
                                  g["requests_total"])}
    theirs = g["requests_total"]
    if g["lower_bound"] and whole:
        theirs = whole
        t["value"] += " (%d in its whole run at another delay)" % whole
    if r["requests_total"] < theirs:
        t["status"] = "met"
    elif g["lower_bound"] and not whole:
        t["status"] = "unknown (the registry timed out)"
    else:
        t["status"] = "MISSED"
    return t


def check_agreement(ctx, gen, left, notes):
    """Whether regsweep and the registry say the same; a WARNING note where they do not. The
    dry runs' answers are taken from this delay's runs, or from another delay's when one was
    cut short here (they do not depend on the delay)."""
    out = {}
    pristine_blobs = ctx["pristine_blobs"]

    def output(name):
        path = ctx["outputs"].get(name)
        if not path or not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def warn(msg):
        notes.append("WARNING: " + msg)

    for pair, key in (("gc", "gc"), ("gc_m", "gc_m")):
        reg = output("registry_" + pair)
        said = registry_said(reg) if reg else None
        mine = regsweep_summary(ctx["outputs"]["regsweep_" + pair]) \
            if output("regsweep_" + pair) is not None else None
        want = registry_expected(gen, key)
        out[pair] = {"registry": said, "regsweep_blobs": mine and mine[0],
                     "regsweep_untagged_manifests": mine and mine[1]}
        if said and want and said["eligible_blobs"] != want["eligible_blobs"]:
            warn("registry %s: %d blobs eligible, the generator expected %d"
                 % (pair, said["eligible_blobs"], want["eligible_blobs"]))
        if pair == "gc" and said and mine and said["eligible_blobs"] != mine[0]:
            warn("gc --dry-run: regsweep would remove %d blobs, the registry %d"
                 % (mine[0], said["eligible_blobs"]))
        if pair == "gc_m" and mine:
            # 2.8.2's -m also deletes the children of tagged indexes (breaking multi-arch
            # tags); regsweep keeps them: compare each with the generator's prediction
            keep = gen.get("expect", {}).get("delete_untagged_keep_children")
            if keep and (mine[0], mine[1]) != (keep["eligible_blobs"], keep["eligible_manifests"]):
                warn("gc -m --dry-run: regsweep would remove %d blobs and %d manifests, the "
                     "generator expected %d and %d (-m keeping the children of tagged indexes)"
                     % (mine[0], mine[1], keep["eligible_blobs"], keep["eligible_manifests"]))
    # the real sweeps: the blobs left
    reg_gc = output("registry_gc")
    eligible = registry_eligible_blobs(reg_gc) if reg_gc else None
    expected = pristine_blobs - eligible if eligible is not None else None
    rl, gl = left.get("regsweep_sweep"), left.get("registry_sweep")
    if gl is None:  # cut short here: what it left in its whole run at another delay
        gl = ctx["left"].get("registry_sweep")
    out["sweep"] = {"pristine_blobs": len(pristine_blobs),
                    "left_regsweep": None if rl is None else len(rl),
                    "left_registry": None if gl is None else len(gl),
                    "left_expected": None if expected is None else len(expected)}
    if rl is not None and gl is not None:
        out["sweep"]["same"] = rl == gl
        if rl != gl:
            warn("real sweeps: %d blobs left by regsweep, %d by the registry; %d only in "
                 "regsweep's, %d only in the registry's" % (len(rl), len(gl), len(rl - gl),
                                                             len(gl - rl)))
    for who, got in (("regsweep", rl), ("the registry", gl)):
        if got is not None and expected is not None and got != expected:
            warn("real sweep by %s left %d blobs; the pristine store minus what `garbage-collect "
                 "--dry-run` listed is %d" % (who, len(got), len(expected)))
    want = registry_expected(gen, "gc")
    if rl is not None and want and len(pristine_blobs) - len(rl) != want["eligible_blobs"]:
        warn("regsweep's sweep removed %d blobs, the generator expected %d"
             % (len(pristine_blobs) - len(rl), want["eligible_blobs"]))
    return out


# -- output --------------------------------------------------------------------------

def print_report(r):
    print(format_machine(r["machine"]))
    s = r["store"]
    print("store:   %s (preset %s): %d objects on S3 (%d blobs, %d manifests, %d repositories, "
          "%d tags), uploaded in %.1fs with %d threads" % (
              s["root"], s["preset"], s["objects"], s["generated"].get("blobs", 0),
              s["generated"].get("manifests", 0), s["generated"].get("repositories", 0),
              s["generated"].get("tags", 0), s["upload_seconds"], r["threads"]))
    print("versions: registry %s; regsweep %s; %s" % (
        r["versions"]["registry"], r["versions"]["regsweep"], r["versions"]["rgw"]))
    print("regsweep -j %s; peak RSS via %s; --timeout %s s, --once-over %s s, --runs %d" % (
        r["jobs"] or "default (32 connections)", "GNU time" if r["rss"]["via"] == "time"
        else "os.wait4", r["timeout"], r["once_over"], r["runs"]))
    print()
    print("targets (at 20 ms per request):")
    for pair, (want, at) in TARGETS.items():
        print("  %s: >= %dx faster than the registry's" % (
            next(p[3] for p in PAIRS if p[0] == pair), want))
    print("  every command pair: fewer requests in total than the registry")
    print("  regsweep gc -m --dry-run: peak RSS on S3 no more than on disk, same store")
    for d in r["delays"]:
        print()
        print("== %d ms per request (s3proxy), %.0f s for this delay, load %.1f -> %.1f" % (
            d["delay_ms"], d["wall_seconds"], d["loadavg"][0], d["loadavg"][1]))
        hdr = ("%-40s %4s %15s %8s " % ("command", "runs", "median s", "peak MiB")
               + " ".join("%7s" % k for k in ("LIST", "GET", "HEAD", "PUT", "COPY", "DELETE"))
               + " %12s %8s" % ("DelObjs/keys", "total"))
        print(hdr)
        print("%-40s (~N: the whole run, projected from the requests made by the timeout)" % "")
        for name, c in d["commands"].items():
            q = c["requests"]
            bound = ">=" if c["lower_bound"] else ""
            secs = format_seconds(c) + (" (~%.0f)" % c["projected_seconds"]
                                        if c.get("projected_seconds") else "")
            print("%-40s %4d %15s %8s " % (c["label"], c["runs"], secs, format_rss(c))
                  + " ".join("%7s" % (q[k] if name not in ("local_gc_m", "direct_gc_m") else "-")
                             for k in ("LIST", "GET", "HEAD", "PUT", "COPY", "DELETE"))
                  + " %12s %8s" % ("%d/%d" % (q["DELETE_BATCH"], q["DELETE_BATCH_KEYS"])
                                   if name not in ("local_gc_m", "direct_gc_m") else "-",
                                   bound + str(c["requests_total"])
                                   if name not in ("local_gc_m", "direct_gc_m") else "-"))
        print()
        for v in d["ratios"].values():
            print("  %-62s %s" % (v["label"], format_ratio(v)))
        print()
        for t in d["targets"]:
            print("  [%s] %s: %s" % (t["status"], t["target"], t["value"]))
        ag = d["agreement"]
        print()
        for pair, why in (("gc", ""), ("gc_m", " (2.8.2's -m also takes the children of "
                                               "tagged indexes; regsweep keeps them)")):
            x = ag.get(pair, {})
            reg = x.get("registry")
            print("  %-5s would remove: regsweep %s blobs, %s untagged manifests; registry %s%s" % (
                pair, x.get("regsweep_blobs"), x.get("regsweep_untagged_manifests"),
                "%d blobs, %d manifests" % (reg["eligible_blobs"], reg["eligible_manifests"])
                if reg else "-", why))
        sw = ag.get("sweep", {})
        print("  sweep blobs left: regsweep %s, registry %s, expected %s (of %s)%s" % (
            sw.get("left_regsweep"), sw.get("left_registry"), sw.get("left_expected"),
            sw.get("pristine_blobs"), "" if "same" not in sw else
            "; same set" if sw["same"] else "; DIFFERENT sets"))
        for n in d["notes"]:
            print("note: " + n)
    for n in r["notes"]:
        print("note: " + n)


# -- main ----------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="s3", choices=sorted(PRESETS),
                   help="store to generate; default s3 (20,119 objects)")
    add_common_arguments(p, runs=3)
    p.add_argument("--delay-ms", default="0,20",
                   help="comma-separated delays added to every request by the proxy "
                   "(default 0,20)")
    p.add_argument("--timeout", type=float, default=360,
                   help="seconds per command (default 360); one that takes longer is killed "
                   "and reported as '> timeout', its ratios as bounds")
    p.add_argument("--once-over", type=float, default=60,
                   help="a command that took longer than this many seconds is not run again "
                   "(default 60)")
    p.add_argument("--sweep-runs", type=int, default=1,
                   help="rounds with the real sweeps (default 1): each needs a fresh copy of "
                   "the store, which takes about as long as uploading it")
    p.add_argument("--threads", type=int, default=16,
                   help="parallel PUTs / copies / deletes for setting up (default 16)")
    p.add_argument("--skip", action="append", default=[], metavar="NAME",
                   help="skip a command: regsweep_gc_m, registry_gc_m, regsweep_gc, registry_gc, "
                   "regsweep_sweep, registry_sweep, regsweep_report, local_gc_m, direct_gc_m")
    a = p.parse_args(argv)
    if a.runs < 1:
        p.error("--runs must be >= 1")
    try:
        delays = [int(x) for x in a.delay_ms.split(",") if x.strip()]
    except ValueError:
        p.error("--delay-ms: comma-separated integers")
    if not os.access(a.regsweep, os.X_OK):
        p.error("no regsweep binary at %s (--regsweep)" % a.regsweep)

    notes = []
    root, gen, _ = ensure_store(a.workdir, a.preset, a.seed)
    outdir = os.path.dirname(root)
    rss_via, floor = resolve_rss_via(p, a.rss_via, notes)
    a.regsweep = snapshot(a.regsweep, outdir, "regsweep.snapshot")
    home = os.path.join(outdir, "s3-home")  # HOME and TMPDIR of every command: no ~/.aws
    os.makedirs(home, exist_ok=True)
    load_start = os.getloadavg()

    log("starting RGW")
    server = S3Server(bucket="bench").start()
    try:
        bk = Bucket(server, server.bucket, a.threads)
        rels = store_files(root)
        t0 = time.monotonic()
        bk.upload(root, PRISTINE, rels)
        upload_s = time.monotonic() - t0
        listed = bk.keys(PRISTINE)
        log("uploaded %d objects to s3://%s/%s/ in %.1fs" % (len(listed), bk.name, PRISTINE,
                                                             upload_s))
        if len(listed) != len(rels):
            p.error("upload: %d objects listed, %d files" % (len(listed), len(rels)))
        ctx = {"server": server, "bucket": bk, "rels": rels, "gen": gen, "outdir": outdir,
               "rss_via": rss_via, "local_root": root, "pristine_blobs": bk.blobs(PRISTINE),
               "complete": {},  # name -> requests of a run that was not cut short
               "outputs": {},  # name -> the output of its first run not cut short
               "left": {},  # sweep -> the blobs its first run not cut short left
               # nothing of ours: the machine's AWS_CA_BUNDLE makes the registry's driver panic
               "env": clean_env(home, AWS_ACCESS_KEY_ID=server.access_key,
                                AWS_SECRET_ACCESS_KEY=server.secret_key)}
        per_delay = [run_delay(a, d, ctx) for d in delays]
    finally:
        server.stop()

    report = {
        "machine": machine(load_start),
        "versions": {"registry": tool_version([a.registry, "--version"]),
                     "regsweep": tool_version([a.regsweep, "--version"]),
                     "rgw": tool_version(["radosgw", "--version"])},
        "store": {"root": root, "preset": a.preset, "objects": len(rels),
                  "upload_seconds": round(upload_s, 1),
                  "generated": {k: gen[k] for k in ("files", "blobs", "manifests", "repositories",
                                                    "tags", "revisions", "expect") if k in gen}},
        "rss": {"via": rss_via, "floor_mib": round(floor / 1024, 1)},
        "runs": a.runs, "timeout": a.timeout, "once_over": a.once_over, "jobs": a.jobs,
        "threads": a.threads, "delays": per_delay, "notes": notes,
    }
    name = "results-s3-%s.json" % "-".join("%dms" % d for d in delays)
    return benchlib.save_and_print(report, os.path.join(outdir, name), a.json, print_report)


if __name__ == "__main__":
    sys.exit(main())
