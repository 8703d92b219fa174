#!/usr/bin/env python3
"""Online mode against a sequential client on the same running registry (issue 19, "Fast").

Two generated stores (gen_store.py, cached in bench/work/), each served by the real registry
(`docker-registry serve`, plain HTTP on 127.0.0.1, a free port, its access log counting the
requests), one case each:

  tags   one repository with --tags tags (5,000)
         regsweep --registry URL ls REPO            (CREATED: reads each image's config too)
         regsweep --registry URL ls REPO --json
         skopeo list-tags, then skopeo inspect --raw per tag, one at a time
  repos  --repos repositories (100) with --repo-tags tags each (4)
         regsweep --registry URL ls
         regsweep --registry URL ls --json
         GET /v2/_catalog, then skopeo list-tags per repository and inspect --raw per tag

The sequential client is the seed tools' way: one request after another, one skopeo process
per tag. With --sample N (default 500) it inspects N tags spread evenly over the case's tags
and the whole run is projected: its listing phase as measured, plus the mean time (and
requests) of an inspect times the number of tags. --sample 0 inspects every tag.

A warm-up round, then --runs rounds in rotated order; medians. Wall time, peak RSS (regsweep),
requests by kind (from the registry's access log), the CPU time of regsweep and of the registry
(/proc/PID/stat) during each command, the speed-up of regsweep over the
sequential client (target: 10x). Results: bench/work/results-online.json. Every process runs
with an environment built from nothing (HOME a fresh temporary folder; no AWS_*, no proxy, no
Docker credentials). The registries are stopped at exit, on an error, Ctrl-C or SIGTERM.
Standard library only; needs docker-registry and skopeo.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import benchlib
from benchlib import (REPO, add_common_arguments, ensure_store, format_machine, log, machine,
                      resolve_rss_via, run_child, snapshot, summarize, tool_version)

sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
import lifetime  # noqa: E402  (tests/lib: exit hooks, at exit and on SIGTERM)
import registry as reglib  # noqa: E402  (tests/lib: the registry process, stopped at exit)

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TARGET = 10.0
ACCESS_LOG = {"log": {"level": "warn", "accesslog": {"disabled": False}}}
LOG_LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3}) ')


def clean_env(home):
    """Nothing of ours: the machine's AWS_*, proxies or Docker credentials stay out."""
    return {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", "HOME": home, "TMPDIR": home,
            "XDG_STATE_HOME": os.path.join(home, "state"),
            "XDG_CONFIG_HOME": os.path.join(home, "config"),
            "XDG_RUNTIME_DIR": os.path.join(home, "run"),
            "DOCKER_CONFIG": os.path.join(home, "docker")}


def store_shapes(a):
    """(case, label, gen_store options): the label says the shape and hashes the options (the
    cache key, with the seed and gen_store.py's hash)."""
    common = ["--layers", "3", "--orphans", "0", "--uploads", "0", "--mirrors", "0",
              "--deleted", "0", "--multiarch", "0.2"]
    tags = common + ["--repos", "1", "--tags", str(a.tags), "--shared-layers", "10",
                     "--untagged", "0", "--no-nested"]
    repos = common + ["--repos", str(a.repos), "--tags", str(a.repo_tags),
                      "--shared-layers", "30", "--untagged", "1", "--nested"]
    out = []
    for case, shape, args in (("tags", "1x%d" % a.tags, tags),
                              ("repos", "%dx%d" % (a.repos, a.repo_tags), repos)):
        h = hashlib.sha256(" ".join(args).encode()).hexdigest()[:6]
        out.append((case, "online-%s-%s" % (shape, h), args))
    return out


# -- requests, from the registry's access log ---------------------------------------

def kind_of(method, path):
    p = path.split("?", 1)[0]
    if p in ("/v2/", "/v2"):
        k = "ping"
    elif p.endswith("/_catalog"):
        k = "catalog"
    elif p.endswith("/tags/list"):
        k = "tags"
    elif "/manifests/" in p:
        k = "manifest"
    elif "/blobs/" in p:
        k = "blob"
    else:
        k = "other"
    return "%s %s" % (method, k)


class AccessLog:
    """Counts the requests the registry logged since a mark."""

    def __init__(self, path):
        self.path = path

    def mark(self):
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def since(self, mark):
        counts = {}
        with open(self.path, "rb") as f:
            f.seek(mark)
            data = f.read().decode("utf-8", "replace")
        for m in LOG_LINE.finditer(data):
            k = kind_of(m.group(1), m.group(2))
            counts[k] = counts.get(k, 0) + 1
            if not m.group(3).startswith("2"):
                counts["status " + m.group(3)] = counts.get("status " + m.group(3), 0) + 1
        counts["total"] = sum(v for k, v in counts.items() if not k.startswith("status "))
        return counts


def cpu_seconds(pid):
    """User + system CPU time of a running process (the registry), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def add_counts(a, b, scale=1.0):
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v * scale
    return {k: round(v) for k, v in out.items()}


# -- the sequential client ------------------------------------------------------------

def skopeo_ref(reg, repo, tag=None):
    return "docker://%s/%s%s" % (reg.host, repo, ":" + tag if tag else "")


def catalog(reg):
    """GET /v2/_catalog, paged as the registry pages it (the seed menu's first request)."""
    names, url = [], reg.url + "/v2/_catalog?n=1000"
    while url:
        with urllib.request.urlopen(url, timeout=30) as r:
            names += json.load(r).get("repositories") or []
            link = r.headers.get("Link")
        m = re.match(r'<([^>]+)>', link or "")
        url = (reg.url + m.group(1) if m.group(1).startswith("/") else m.group(1)) if m else None
    return names


def sequential(a, reg, alog, repos, env, sample, timeout, raw=True):
    """The seed tools' way, one request after another: (the catalog, when repos is None), skopeo
    list-tags per repository, skopeo inspect --raw per tag (or a sample of the tags; raw False:
    skopeo inspect, which reads the config too, and of an index its linux/amd64 child). Returns
    its figures, the whole run projected from the sample."""
    sk = [a.skopeo]
    tls = ["--tls-verify=false"]
    mark0 = alog.mark()
    cpu0 = cpu_seconds(reg.proc.pid)
    t0 = time.perf_counter()
    if repos is None:
        repos = catalog(reg)
    refs = []
    for repo in repos:
        p = subprocess.run(sk + ["list-tags"] + tls + [skopeo_ref(reg, repo)], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("skopeo list-tags %s: exit %d: %s"
                               % (repo, p.returncode, p.stderr.decode(errors="replace")[-500:]))
        refs += [(repo, t) for t in json.loads(p.stdout)["Tags"] or []]
    t_list = time.perf_counter() - t0
    cpu1 = cpu_seconds(reg.proc.pid)
    mark1 = alog.mark()
    todo = refs
    if sample and len(refs) > sample:  # spread evenly over the repositories and tags
        todo = [refs[i * len(refs) // sample] for i in range(sample)]
    per = []
    for repo, tag in todo:
        s = time.perf_counter()
        p = subprocess.run(sk + ["inspect"] + (["--raw"] if raw else []) + tls
                           + [skopeo_ref(reg, repo, tag)],
                           env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        per.append(time.perf_counter() - s)
        if p.returncode != 0 or not p.stdout.lstrip().startswith(b"{"):
            raise RuntimeError("skopeo inspect %s:%s: exit %d: %s"
                               % (repo, tag, p.returncode,
                                  p.stderr.decode(errors="replace")[-500:]))
    total = time.perf_counter() - t0
    cpu2 = cpu_seconds(reg.proc.pid)
    list_req, insp_req = alog.since(mark0), alog.since(mark1)
    list_req = {k: list_req.get(k, 0) - insp_req.get(k, 0) for k in list_req}
    list_req = {k: v for k, v in list_req.items() if v}
    sampled = len(todo) < len(refs)
    t_insp = total - t_list
    projected = t_list + t_insp / len(todo) * len(refs) if todo else t_list
    return {"seconds": total, "list_seconds": t_list, "inspected": len(todo), "tags": len(refs),
            "repositories": len(repos), "sampled": sampled,
            "inspect_mean_seconds": statistics.mean(per) if per else None,
            "projected_seconds": projected,
            "registry_cpu_seconds": (cpu1 - cpu0) + ((cpu2 - cpu1) / len(todo) * len(refs)
                                                     if todo else 0),
            "requests_measured": add_counts(list_req, insp_req),
            "requests": add_counts(list_req, insp_req, len(refs) / len(todo) if todo else 0)}


# -- one case -------------------------------------------------------------------------

def check_output(case, path, gen, notes):
    """What regsweep's --json listed, against what the generator wrote."""
    try:
        with open(path) as f:
            repos = json.load(f)["repositories"]
    except (OSError, ValueError, KeyError) as e:
        notes.append("%s: regsweep's --json output unreadable: %s" % (case, e))
        return None
    got = {"repositories": len(repos), "tags": sum(len(r["tags"]) for r in repos)}
    want = {"repositories": gen["repositories"], "tags": gen["tags"]}
    if got != want:
        notes.append("WARNING %s: regsweep --json listed %s, the generator wrote %s"
                     % (case, got, want))
    return got


def run_case(a, case, reg, gen, outdir, env, rss_via, notes):
    alog = AccessLog(reg.log_path)
    rs = [a.regsweep, "--registry", reg.url] + (["-j", str(a.jobs)] if a.jobs else [])
    if case == "tags":
        repo = "app0"
        cmds = [("regsweep_ls", "regsweep ls REPO", rs + ["ls", repo]),
                ("regsweep_ls_json", "regsweep ls REPO --json", rs + ["ls", repo, "--json"])]
        seqs = [("sequential", "skopeo list-tags, inspect --raw/tag", True),
                ("sequential_config", "skopeo list-tags, inspect/tag (+config)", False)]
        seq_repos = [repo]
    else:
        cmds = [("regsweep_ls", "regsweep ls", rs + ["ls"]),
                ("regsweep_ls_json", "regsweep ls --json", rs + ["ls", "--json"])]
        seqs = [("sequential", "catalog, skopeo list-tags/repo, inspect --raw", True)]
        seq_repos = None
    cmds = [c for c in cmds if "%s:%s" % (case, c[0]) not in a.skip and c[0] not in a.skip]
    seqs = [x for x in seqs if x[0] not in a.skip and "%s:%s" % (case, x[0]) not in a.skip]
    seq_of = {x[0]: x for x in seqs}

    results = {c[0]: [] for c in cmds}
    requests = {}
    seq_runs = {x[0]: [] for x in seqs}
    log("%s: warm-up round" % case)
    for name, label, argv in cmds:
        mark = alog.mark()
        r = run_child(argv, a.timeout, os.path.join(outdir, "out-online-%s-%s.txt" % (case, name)),
                      rss_via, env=env)
        requests[name] = alog.since(mark)
        if r["rc"] != 0 or r["timed_out"]:
            raise RuntimeError("%s %s failed (exit %s%s): %s" % (
                case, name, r["rc"], ", timed out" if r["timed_out"] else "", r["stderr"][-800:]))
    listed = None
    if any(c[0] == "regsweep_ls_json" for c in cmds):
        listed = check_output(case, os.path.join(outdir, "out-online-%s-regsweep_ls_json.txt"
                                                 % case), gen, notes)
    if seqs:  # one untimed inspect warms skopeo's binary in the page cache
        sequential(a, reg, alog, seq_repos, env, 1, a.timeout)

    order = [c[0] for c in cmds] + [x[0] for x in seqs]
    by_name = {c[0]: c for c in cmds}
    for rnd in range(a.runs):
        k = rnd % len(order)
        rot = order[k:] + order[:k]
        log("%s: round %d/%d: %s" % (case, rnd + 1, a.runs, " ".join(rot)))
        for name in rot:
            if name in seq_of:
                seq_runs[name].append(sequential(a, reg, alog, seq_repos, env, a.sample,
                                                 a.timeout, raw=seq_of[name][2]))
                continue
            c0 = cpu_seconds(reg.proc.pid)
            r = run_child(by_name[name][2], a.timeout, rss_via=rss_via, env=env)
            r["registry_cpu_seconds"] = cpu_seconds(reg.proc.pid) - c0
            if r["rc"] != 0 or r["timed_out"]:
                notes.append("%s %s exit %s in round %d: not counted. stderr: %s"
                             % (case, name, r["rc"], rnd + 1, r["stderr"].strip()[-200:]))
            else:
                results[name].append(r)

    commands = {}
    for name, label, argv in cmds:
        if results[name]:
            c = summarize(label, [x if x != reg.url else "URL" for x in argv], results[name],
                          a.timeout)
            c["requests"] = requests[name]
            c["median_cpu_seconds"] = round(statistics.median(
                x["cpu_seconds"] for x in results[name]), 3)
            c["median_registry_cpu_seconds"] = round(statistics.median(
                x["registry_cpu_seconds"] for x in results[name]), 3)
            commands[name] = c
    sequentials, ratios = {}, {}
    for sname, slabel, raw in seqs:
        runs = seq_runs[sname]
        last = runs[-1]
        seq = {"label": slabel, "runs": len(runs),
               "repositories": last["repositories"], "tags": last["tags"],
               "inspected": last["inspected"], "sampled": last["sampled"],
               "seconds": [round(x["seconds"], 3) for x in runs],
               "list_seconds": [round(x["list_seconds"], 3) for x in runs],
               "inspect_mean_seconds": [round(x["inspect_mean_seconds"], 4) for x in runs
                                        if x["inspect_mean_seconds"] is not None],
               "projected_seconds": [round(x["projected_seconds"], 3) for x in runs],
               "median_registry_cpu_seconds": round(statistics.median(
                   x["registry_cpu_seconds"] for x in runs), 3),
               "median_seconds": round(statistics.median(x["projected_seconds"]
                                                         for x in runs), 3),
               "requests": last["requests"], "requests_measured": last["requests_measured"],
               "argv": [a.skopeo, "inspect"] + (["--raw"] if raw else []) + [
                   "--tls-verify=false", "docker://HOST:PORT/REPO:TAG"]}
        sequentials[sname] = seq
        if seq["sampled"]:
            notes.append("%s %s: skopeo inspected %d of %d tags per round (--sample %d); its "
                         "time and requests for all %d are projected: listing as measured + "
                         "mean inspect x %d" % (case, sname, seq["inspected"], seq["tags"],
                                                a.sample, seq["tags"], seq["tags"]))
        for name, c in commands.items():
            v = round(seq["median_seconds"] / c["median_seconds"], 1)
            ratios["%s_over_%s" % (sname, name)] = {
                "value": v, "projected": seq["sampled"],
                "label": "%s: %s / %s" % (case, sname, c["label"]),
                "target": TARGET, "met": v >= TARGET,
                "requests": {"regsweep": c["requests"].get("total"),
                             "sequential": seq["requests"].get("total")}}
    return {"url": reg.url, "generated": {k: gen[k] for k in (
                "files", "blobs", "manifests", "manifest_media_types", "repositories", "tags",
                "revisions", "generation_seconds", "generation_wall_seconds") if k in gen},
            "listed_by_regsweep": listed, "commands": commands, "sequential": sequentials,
            "ratios": ratios}


def prune_online_note(a, reg, env):
    """Prune online is not measured here; says what this binary does with it (a dry run)."""
    try:
        p = subprocess.run([a.regsweep, "--registry", reg.url, "prune", "--dry-run"], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        said = "exits %d: %s" % (p.returncode, ((p.stderr or p.stdout).decode(
            errors="replace").strip().splitlines() or [""])[0][:300])
    except subprocess.TimeoutExpired:
        said = "did not end in 60 s"
    return ("prune online (`prune --dry-run` over the %d repositories) is not measured by this "
            "benchmark; `regsweep --registry URL prune --dry-run` %s" % (a.repos, said))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="Cases: tags (one repository, --tags tags), repos "
                                "(--repos repositories). See bench/README.md.")
    add_common_arguments(p, runs=3)
    p.add_argument("--tags", type=int, default=5000, help="tags of the one repository "
                   "(default 5000)")
    p.add_argument("--repos", type=int, default=100, help="repositories of the second store "
                   "(default 100)")
    p.add_argument("--repo-tags", type=int, default=4, help="tags per repository there "
                   "(default 4)")
    p.add_argument("--sample", type=int, default=500, help="skopeo inspects at most N tags per "
                   "case and round, spread evenly, and the rest is projected (default 500; 0: "
                   "every tag)")
    p.add_argument("--skopeo", default="skopeo", help="skopeo binary")
    p.add_argument("--timeout", type=float, default=600, help="seconds per command (600)")
    p.add_argument("--skip", action="append", default=[], metavar="NAME",
                   help="skip a case (tags, repos) or a command (regsweep_ls, regsweep_ls_json, "
                   "sequential, sequential_config, or CASE:NAME); repeatable")
    a = p.parse_args(argv)
    if a.runs < 1:
        p.error("--runs must be >= 1")
    if a.tags < 2 or a.repos < 1 or a.repo_tags < 1 or a.sample < 0:
        p.error("--tags >= 2, --repos >= 1, --repo-tags >= 1, --sample >= 0")
    for what, binary in (("--regsweep", a.regsweep), ("--registry", a.registry),
                         ("--skopeo", a.skopeo)):
        path = shutil.which(binary)
        if not path:
            p.error("%s: no executable %s" % (what, binary))
        setattr(a, what[2:], os.path.abspath(path))
    os.environ["REGISTRY_BIN"] = a.registry  # tests/lib/registry.py starts this one

    notes = []
    rss_via, floor = resolve_rss_via(p, a.rss_via, notes)
    load_start = os.getloadavg()
    stores = {}
    for case, label, args in store_shapes(a):
        if case in a.skip:
            continue
        root, gen, _ = ensure_store(a.workdir, None, a.seed, label=label, gen_args=args)
        stores[case] = (root, gen)
    os.makedirs(a.workdir, exist_ok=True)
    a.regsweep_source, a.regsweep = a.regsweep, snapshot(a.regsweep, a.workdir,
                                                         "online-regsweep.snapshot")
    home = tempfile.mkdtemp(prefix="regsweep-online-bench-")
    env = clean_env(home)
    lifetime.on_exit(lambda: shutil.rmtree(home, ignore_errors=True))  # SIGTERM too
    for d in ("state", "config", "run", "docker"):
        os.makedirs(os.path.join(home, d), mode=0o700)
    cases = {}
    try:
        for case, (root, gen) in stores.items():
            outdir = os.path.dirname(root)
            with reglib.serve(root, env=env, extra_config=ACCESS_LOG) as reg:
                log("%s: %s serves %s" % (case, reg.url, root))
                cases[case] = run_case(a, case, reg, gen, outdir, env, rss_via, notes)
                if case == "repos":
                    notes.append(prune_online_note(a, reg, env))
                cases[case]["store"] = root
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if "repos" not in cases:
        notes.append("prune online is not measured by this benchmark")

    report = {
        "machine": machine(load_start),
        "versions": {"registry": tool_version([a.registry, "--version"]),
                     "regsweep": tool_version([a.regsweep, "--version"]),
                     "skopeo": tool_version([a.skopeo, "--version"])},
        "regsweep": a.regsweep_source, "jobs": a.jobs, "runs": a.runs, "sample": a.sample,
        "rss": {"via": rss_via, "floor_mib": round(floor / 1024, 1)},
        "target": TARGET, "cases": cases, "notes": notes,
    }
    return benchlib.save_and_print(report, os.path.join(a.workdir, "results-online.json"),
                                   a.json, print_report)


def format_requests(req):
    if not req:
        return "-"
    parts = ["%s %d" % (k, v) for k, v in sorted(req.items()) if k != "total"]
    return "%d (%s)" % (req.get("total", 0), ", ".join(parts))


def print_report(r):
    print(format_machine(r["machine"]))
    v = r["versions"]
    print("versions: registry %s; regsweep %s; skopeo %s" % (v["registry"], v["regsweep"],
                                                             v["skopeo"]))
    print("regsweep: %s%s; median of %d rounds after a warm-up" % (
        r["regsweep"], " -j %d" % r["jobs"] if r["jobs"] else " (default -j)", r["runs"]))
    for case, c in r["cases"].items():
        g = c["generated"]
        print()
        indexes = sum(n for k, n in g["manifest_media_types"].items()
                      if k.endswith(("index.v1+json", "list.v2+json")))
        print("== %s: %d repositories, %d tags, %d manifests (%d of them indexes), served at %s"
              % (case, g["repositories"], g["tags"], g["manifests"], indexes, c["url"]))
        print("%-48s %9s %8s %8s %8s %8s %8s  %s" % (
            "command", "median s", "min s", "max s", "CPU s", "reg CPU", "peak MiB", "requests"))
        for name, x in c["commands"].items():
            print("%-48s %9.3f %8.3f %8.3f %8.2f %8.2f %8s  %s" % (
                x["label"], x["median_seconds"], min(x["seconds"]), max(x["seconds"]),
                x["median_cpu_seconds"], x["median_registry_cpu_seconds"],
                benchlib.format_rss(x), format_requests(x["requests"])))
        for s in c["sequential"].values():
            label = s["label"] + (" ~%d" % s["inspected"] if s["sampled"] else "")
            print("%-48s %9.3f %8.3f %8.3f %8s %8.2f %8s  %s%s" % (
                label, s["median_seconds"], min(s["projected_seconds"]),
                max(s["projected_seconds"]), "-", s["median_registry_cpu_seconds"], "-",
                "~" if s["sampled"] else "", format_requests(s["requests"])))
            print("  listing %.3f s, %s s per skopeo inspect (mean per round), %d of %d tags "
                  "inspected" % (statistics.median(s["list_seconds"]),
                                 "/".join("%.4f" % x for x in s["inspect_mean_seconds"]),
                                 s["inspected"], s["tags"]))
        for x in c["ratios"].values():
            print("  %-62s %s%.1fx  (target %gx: %s)" % (
                x["label"], "~" if x["projected"] else "", x["value"], x["target"],
                ("likely " if x["projected"] else "") + ("met" if x["met"] else "MISSED")))
    for n in r["notes"]:
        print("note: " + n)


if __name__ == "__main__":
    sys.exit(main())
