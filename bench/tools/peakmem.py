#!/usr/bin/env python3
"""peakmem.py — run a command and report its wall time and peak memory, sampled from outside.

usage: peakmem.py [--interval SEC] [--json FILE] -- COMMAND [ARGS...]

A separate sampler (this process) reads /proc/<pid>/status of the command and of all its descendants every
--interval seconds (default 0.02) and keeps the maximum of the summed
  RssAnon  — anonymous resident memory: heap, thread stacks, anonymous mmaps. Pages of mapped files (an
             output file written through a mapping, the page cache) are NOT counted: that is "file" memory.
  VmRSS    — all resident memory including file-backed pages (reported for context).
Sampling can miss a spike shorter than the interval; with 20 ms it catches any allocation that is touched for
longer than that. The command's exit code is passed through; the report goes to stderr as one JSON line and to
--json FILE if given:
  {"rc": 0, "wall_s": 12.3, "peak_anon_kib": 123456, "peak_rss_kib": 234567, "samples": 615, "interval_s": 0.02}
"""
import json
import os
import subprocess
import sys
import time


def status_kib(pid):
    """(RssAnon, VmRSS) of one process in KiB, or None once it has gone."""
    anon = rss = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"RssAnon:"):
                    anon = int(line.split()[1])
                elif line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return anon, rss


def descendants(pid):
    """pid and every process below it, via /proc/<pid>/task/<tid>/children (no /proc scan)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return out


def main(argv):
    interval, json_path = 0.02, None
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--interval":
            interval = float(argv.pop(0))
        elif opt == "--json":
            json_path = argv.pop(0)
        else:
            print(f"peakmem.py: unknown option {opt}", file=sys.stderr)
            return 2
    if not argv or len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1:]
    t0 = time.monotonic()
    child = subprocess.Popen(cmd)
    peak_anon = peak_rss = samples = 0
    while child.poll() is None:
        anon = rss = 0
        for p in descendants(child.pid):
            s = status_kib(p)
            if s:
                anon, rss = anon + s[0], rss + s[1]
        peak_anon, peak_rss, samples = max(peak_anon, anon), max(peak_rss, rss), samples + 1
        time.sleep(interval)
    wall = time.monotonic() - t0
    rep = {"rc": child.returncode, "wall_s": round(wall, 3), "peak_anon_kib": peak_anon,
           "peak_rss_kib": peak_rss, "samples": samples, "interval_s": interval}
    line = json.dumps(rep)
    print(line, file=sys.stderr)
    if json_path:
        with open(json_path, "w") as f:
            f.write(line + "\n")
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
