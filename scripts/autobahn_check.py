#!/usr/bin/env python3
"""Compares an Autobahn run (its index.json) with tests/autobahn/expected.json.

    scripts/autobahn_check.py target/autobahn/servers/index.json --set ci|full

Fails (exit 1) when the number of cases is not the set's, when a case is
FAILED or UNIMPLEMENTED, or when a case is anything but OK without being
listed as informational or allowed to be non-strict.
"""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("index")
    ap.add_argument("--set", choices=["ci", "full"], default="ci")
    ap.add_argument("--agent", default="rtwire")
    a = ap.parse_args()
    with open(os.path.join(ROOT, "tests", "autobahn", "expected.json")) as f:
        want = json.load(f)
    with open(a.index) as f:
        cases = json.load(f)[a.agent]
    problems = []
    count = want[f"{a.set}_cases"]
    if len(cases) != count:
        problems.append(f"{len(cases)} cases ran, {count} expected")
    info = set(want["informational"])
    lenient = set(want["non_strict_allowed"]["cases"])
    for case, r in sorted(cases.items(), key=lambda kv: [int(x) for x in kv[0].split(".")]):
        b, c = r["behavior"], r["behaviorClose"]
        ok = {"OK"}
        if case in info:
            ok.add("INFORMATIONAL")
        if case in lenient:
            ok.add("NON-STRICT")
        if b not in ok or c not in ok | {"OK"}:
            problems.append(f"{case}: behavior {b}, close {c} (expected {'/'.join(sorted(ok))})")
    name = os.path.basename(os.path.dirname(os.path.abspath(a.index)))
    if problems:
        print(f"autobahn {name}: {len(problems)} unexpected result(s):")
        for p in problems:
            print("  " + p)
        return 1
    print(f"autobahn {name}: all {len(cases)} cases as expected (tests/autobahn/expected.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
