"""Parity of the option set and the error kinds across C, Python, Node and
the command line.

For every option of the core's schema (``rtwire options --json``) this
builds values that must be accepted and values that must be refused, from
the option's kind alone (not from any binding), and gives each to:

- C: the generated named setter ``rtwire_options_set_<c>`` (ctypes on the
  shared library), and the generic text setter ``rtwire_options_set``;
- Python: ``rtwire.sync.connect`` to a closed loopback port;
- Node: ``rtwire.connect`` to the same port (one node process for all);
- the command line: ``rtwire connect --dry-run`` with the option's flag.

Each answer is reduced to ``ok`` (accepted: the connection attempt fails
for another reason, or the setter returns OK) or ``invalid_argument``
(the C status, Python exception class or Node code of that kind). Every
case must get the same answer from every language that can express it, and
the expected one.

The server options (``server_options``, the core's server schema) get the
same treatment through ``rtwire_server_options_*``, ``rtwire.serve`` in
Python and Node, and ``rtwire serve --dry-run`` (see ``check_server``):
every server option must exist in every language, and a refused value must
be refused everywhere with the same kind and the core's message.

Then every error kind must have its own C status name, Python class and
Node code.

Usage: parity.py --cli PATH --lib PATH --node-dir DIR
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import socket
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Optional, Tuple

OK = "ok"
BAD = "invalid_argument"


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ----------------------------------------------------------------- samples

def samples(spec: Dict[str, Any], files: Dict[str, Any]) -> List[Tuple[Any, str, set]]:
    """(value, expected, languages that cannot express it) for one option.
    Values are neutral: numbers, seconds for durations, ("bytes", b) for
    bytes, lists, pairs."""
    k = spec["kind"]
    out: List[Tuple[Any, str, set]] = []
    if k == "bool":
        out += [(True, OK, set()), (False, OK, set())]
    elif k in ("bytes", "count"):
        lo = spec["min"]
        hi = spec.get("max", 1 << 62)
        out += [(lo, OK, set()), (min(hi, 65536), OK, set())]
        if lo > 0:
            out.append((lo - 1, BAD, set()))
        if hi < (1 << 31):
            out.append((hi + 1, BAD, set()))
        out.append((1.5, BAD, {"c"}))
    elif k == "duration":
        out += [(0.25, OK, set()), (5, OK, set())]
        out.append((0, OK if spec["zero"] else BAD, set()))
        out.append((-1, BAD, {"c"}))
    elif k == "choice":
        out += [(w, OK, set()) for w in spec["words"]]
        out.append(("carrier-pigeon", BAD, set()))
    elif k == "text":
        rule = spec["rule"]
        good, bad = {
            "line": ("abc", "a\nb"),
            "headername": ("X-Cursor", "bad name"),
            "name": ("cursor", ""),
            "url": ("http://127.0.0.1:9/send", ""),
            "proxy": ("http://127.0.0.1:9", "a\nb"),
            "secret": ("s3cret", "a b"),
            "socketaddr": ("127.0.0.1:0", "localhost:80"),
        }[rule]
        out += [(good, OK, set()), (bad, BAD, set())]
        if rule == "proxy":
            out += [("none", OK, set()), ("env", OK, set())]
    elif k == "path":
        out += [(files["ca"], OK, set()), ("", BAD, set())]
    elif k == "pem":
        out += [(("bytes", files["ca_pem"]), OK, set()), (("bytes", b"not pem"), BAD, set())]
    elif k == "tokens":
        out += [(["chat.v1"], OK, set()), (["a b"], BAD, set())]
    elif k == "headers":
        out += [([["X-A", "1"]], OK, set()), ([["bad name", "v"]], BAD, set())]
    elif k == "texts":
        out += [(["https://a.example", "https://b.example"], OK, set()), ([""], BAD, set()), (["a\nb"], BAD, set())]
    return out


def companions(spec: Dict[str, Any], files: Dict[str, Any]) -> Dict[str, Any]:
    """Options that must accompany this one for the rules between options
    (a client certificate needs its key; a cursor's destination, its
    source). Reconnecting is off in every case so that each is one attempt."""
    name = spec["name"]
    extra: Dict[str, Any] = {}
    if name != "reconnect.enabled":
        extra["reconnect.enabled"] = False
    pairs = {
        "tls.client_cert_file": ("tls.client_key_file", files["key"]),
        "tls.client_key_file": ("tls.client_cert_file", files["cert"]),
        "tls.client_cert_pem": ("tls.client_key_pem", ("bytes", files["key_pem"])),
        "tls.client_key_pem": ("tls.client_cert_pem", ("bytes", files["cert_pem"])),
    }
    if name in pairs:
        extra[pairs[name][0]] = pairs[name][1]
    if name == "reconnect.max_delay":
        extra["reconnect.initial_delay"] = 0
    if name.startswith("http.cursor.") and name not in ("http.cursor.header", "http.cursor.json_field"):
        extra["http.cursor.header"] = "X-Cursor"
    return extra


# ------------------------------------------------------------- languages

def py_value(spec: Dict[str, Any], v: Any) -> Any:
    if isinstance(v, tuple) and v[0] == "bytes":
        return v[1]
    if spec["kind"] == "headers":
        return [tuple(p) for p in v]
    return v


def run_python(schema: List[Dict[str, Any]], cases: List[Dict[str, Any]], url: str) -> List[Optional[str]]:
    import rtwire
    import rtwire.sync

    by_name = {s["name"]: s for s in schema}
    out: List[Optional[str]] = []
    for case in cases:
        kw: Dict[str, Any] = {}
        groups: Dict[str, Dict[str, Any]] = {"reconnect": {}, "http.cursor": {}}
        for name, v in case["options"].items():
            s = by_name[name]
            if s["python"]:
                kw[s["python"]] = py_value(s, v)
            else:
                group, field = name.rsplit(".", 1)
                groups[group][field] = py_value(s, v)
        try:
            if groups["reconnect"]:
                # A policy turns reconnecting on: one attempt at most, so that
                # a case that retries the first attempt still ends.
                policy = dict(groups["reconnect"])
                if policy.get("retry_initial"):
                    policy.setdefault("max_attempts", 1)
                kw["reconnect"] = rtwire.Reconnect(**policy)
            if groups["http.cursor"]:
                kw["cursor"] = rtwire.Cursor(**groups["http.cursor"])
            kw.setdefault("open_timeout", 2.0)
            conn = rtwire.sync.connect(url, **kw)
            conn.close()
            out.append(OK)
        except rtwire.InvalidArgumentError:
            out.append(BAD)
        except TypeError as e:
            out.append("type: " + str(e))
        except rtwire.Error:
            out.append(OK)
    return out


def run_cli(cli: str, schema: List[Dict[str, Any]], cases: List[Dict[str, Any]]) -> List[Optional[str]]:
    by_name = {s["name"]: s for s in schema}
    out: List[Optional[str]] = []
    for case in cases:
        args = [cli, "connect", "--dry-run"]
        expressible = True
        for name, v in case["options"].items():
            s = by_name[name]
            if not s["cli"]:
                expressible = False
                break
            flag = "--" + s["cli"]
            if s["kind"] == "bool":
                # A flag sets its one value; the other is the default.
                if v == (not s["cli"].startswith("no-")):
                    args.append(flag)
                continue
            if isinstance(v, tuple):
                expressible = False
                break
            if s["kind"] == "duration":
                args.append(f"{flag}={v}s")
            elif s["kind"] == "tokens":
                args += [f"{flag}={t}" for t in v]
            elif s["kind"] == "headers":
                args += [f"{flag}={k}: {val}" for k, val in v]
            else:
                args.append(f"{flag}={v}")
        if not expressible:
            out.append(None)
            continue
        args.append("ws://127.0.0.1:9/")
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            out.append(OK)
        elif "(invalid_argument)" in p.stderr or "invalid value" in p.stderr:
            out.append(BAD)
        else:
            out.append("cli: " + p.stderr.strip())
    return out


def run_c(lib_path: str, schema: List[Dict[str, Any]], cases: List[Dict[str, Any]]) -> List[Optional[str]]:
    lib = ctypes.CDLL(lib_path)
    lib.rtwire_options_new.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    lib.rtwire_options_free.argtypes = [ctypes.c_void_p]
    lib.rtwire_result_name.restype = ctypes.c_char_p
    by_name = {s["name"]: s for s in schema}
    out: List[Optional[str]] = []

    def setter(s: Dict[str, Any], v: Any) -> Optional[Tuple[str, list, list]]:
        k, c = s["kind"], s["c"]
        if k == "bool":
            return f"rtwire_options_set_{c}", [ctypes.c_bool], [bool(v)]
        if k in ("bytes", "count"):
            if v < 0 or v != int(v):
                return None
            return f"rtwire_options_set_{c}", [ctypes.c_size_t], [int(v)]
        if k == "duration":
            if v < 0:
                return None
            return f"rtwire_options_set_{c}_ms", [ctypes.c_uint64], [int(v * 1000)]
        if k in ("choice", "text", "path"):
            return f"rtwire_options_set_{c}", [ctypes.c_char_p], [v.encode()]
        if k == "pem":
            b = v[1]
            return f"rtwire_options_set_{c}", [ctypes.c_char_p, ctypes.c_size_t], [b, len(b)]
        if k == "tokens":
            return f"rtwire_options_add_{c}", [ctypes.c_char_p], [v[0].encode()]
        if k == "headers":
            return f"rtwire_options_add_{c}", [ctypes.c_char_p, ctypes.c_char_p], [v[0][0].encode(), v[0][1].encode()]
        return None

    order = {s["name"]: i for i, s in enumerate(schema)}
    lib.rtwire_options_validate.argtypes = [ctypes.c_void_p]
    lib.rtwire_options_validate.restype = ctypes.c_uint32
    for case in cases:
        opts = ctypes.c_void_p()
        assert lib.rtwire_options_new(ctypes.byref(opts)) == 0
        answer: Optional[str] = OK
        # In schema order, as the C docs ask (a cursor's source first).
        for name, v in sorted(case["options"].items(), key=lambda kv: order[kv[0]]):
            s = by_name[name]
            call = setter(s, v)
            if call is None or not s["c"]:
                answer = None
                break
            fn_name, types, args = call
            fn = getattr(lib, fn_name)
            fn.argtypes = [ctypes.c_void_p] + types
            fn.restype = ctypes.c_uint32
            code = fn(opts, *args)
            if code != 0:
                answer = lib.rtwire_result_name(code).decode()
                break
        if answer == OK:
            code = lib.rtwire_options_validate(opts)
            if code != 0:
                answer = lib.rtwire_result_name(code).decode()
        lib.rtwire_options_free(opts)
        out.append(answer)
    return out


NODE_SCRIPT = r"""
const rtwire = require(process.argv[1])
const { cases, url, schema } = JSON.parse(require('fs').readFileSync(0, 'utf8'))
const byName = new Map(schema.map((s) => [s.name, s]))
function setPath (o, path, v) {
  const parts = path.split('.')
  let cur = o
  for (const p of parts.slice(0, -1)) cur = cur[p] ?? (cur[p] = {})
  cur[parts[parts.length - 1]] = v
}
function nodeValue (s, v) {
  if (Array.isArray(v) && v[0] === 'bytes') return Buffer.from(v[1], 'base64')
  if (s.kind === 'duration') return v * 1000
  return v
}
;(async () => {
  const out = []
  for (const c of cases) {
    const o = {}
    for (const [name, v] of Object.entries(c.options)) {
      const s = byName.get(name)
      if (name === 'reconnect.enabled') continue
      setPath(o, s.node, nodeValue(s, v))
    }
    if (o.reconnect === undefined) {
      o.reconnect = c.options['reconnect.enabled'] ?? true
    } else if (o.reconnect.retryInitial && o.reconnect.maxAttempts === undefined) {
      o.reconnect.maxAttempts = 1 // a policy turns reconnecting on: one attempt at most
    }
    try {
      const conn = await rtwire.connect(url, { openTimeout: 2000, ...o })
      conn.close()
      out.push('ok')
    } catch (e) {
      if (e.code === 'ERR_RTWIRE_INVALID_ARGUMENT') out.push('invalid_argument')
      else if (e instanceof TypeError) out.push('type: ' + e.message)
      else out.push('ok')
    }
  }
  const codes = Object.values(rtwire.errorCodes ?? {})
  process.stdout.write(JSON.stringify({ out, codes }))
})()
"""


def run_node(node_dir: str, schema: List[Dict[str, Any]], cases: List[Dict[str, Any]], url: str) -> Tuple[List[Optional[str]], List[str]]:
    import base64

    def enc(v: Any) -> Any:
        if isinstance(v, tuple):
            return ["bytes", base64.b64encode(v[1]).decode()]
        return v

    payload = {
        "url": url,
        "schema": schema,
        "cases": [{"options": {k: enc(v) for k, v in c["options"].items()}} for c in cases],
    }
    p = subprocess.run(["node", "-e", NODE_SCRIPT, os.path.abspath(node_dir)], input=json.dumps(payload),
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise SystemExit(f"node failed: {p.stderr}")
    r = json.loads(p.stdout)
    return r["out"], r["codes"]


# ---------------------------------------------------------- server options
#
# The same for the server option schema (``server_options`` of ``rtwire
# options --json``): each case's options are given to
# - C: the named ``rtwire_server_options_*`` setter (the generic text setter
#   ``rtwire_server_options_set`` where the named one takes another shape);
# - Python: ``rtwire.serve`` on a free loopback port (started, then closed);
# - Node: ``rtwire.serve()`` likewise;
# - the command line: ``rtwire serve --dry-run``.
# A refused value must be refused by every language with the same error kind
# and the core's message (each language's text contains it).

def server_companions(spec: Dict[str, Any], files: Dict[str, Any]) -> Dict[str, Any]:
    pairs = {"tls_cert": ("tls_key", files["key"]), "tls_key": ("tls_cert", files["cert"])}
    name = spec["name"]
    return {pairs[name][0]: pairs[name][1]} if name in pairs else {}


Answer = Tuple[Optional[str], str]


def run_c_server(lib_path: str, schema: List[Dict[str, Any]], cases: List[Dict[str, Any]]) -> List[Answer]:
    lib = ctypes.CDLL(lib_path)
    lib.rtwire_server_options_new.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    lib.rtwire_server_options_free.argtypes = [ctypes.c_void_p]
    lib.rtwire_server_options_last_error.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rtwire_result_name.restype = ctypes.c_char_p
    by_name = {s["name"]: s for s in schema}
    generic = {"tls_cert", "tls_key", "slow_consumer"}

    def calls(s: Dict[str, Any], v: Any) -> Optional[List[Tuple[str, list, list]]]:
        k, c = s["kind"], s["c"]
        if s["name"] in generic:
            return [("rtwire_server_options_set", [ctypes.c_char_p, ctypes.c_char_p], [s["name"].encode(), str(v).encode()])]
        if k == "bool":
            return [(f"rtwire_server_options_set_{c}", [ctypes.c_bool], [bool(v)])]
        if k in ("bytes", "count"):
            # 0 is C's spelling of off for an option that can be off.
            if v < 0 or v != int(v) or (v == 0 and s["optional"]):
                return None
            return [(f"rtwire_server_options_set_{c}", [ctypes.c_size_t], [int(v)])]
        if k == "duration":
            if v < 0 or (v == 0 and s["optional"]):
                return None
            return [(f"rtwire_server_options_set_{c}_ms", [ctypes.c_uint32], [int(v * 1000)])]
        if k in ("choice", "text", "path"):
            if s["name"] == "token" and v == "":
                return None  # "" is C's spelling of no token
            return [(f"rtwire_server_options_set_{c}", [ctypes.c_char_p], [v.encode()])]
        if k == "texts":
            return [(f"rtwire_server_options_add_{c}", [ctypes.c_char_p], [x.encode()]) for x in v]
        return None

    order = {s["name"]: i for i, s in enumerate(schema)}
    out: List[Answer] = []
    buf = ctypes.create_string_buffer(1024)
    for case in cases:
        opts = ctypes.c_void_p()
        assert lib.rtwire_server_options_new(ctypes.byref(opts)) == 0
        answer: Answer = (OK, "")
        for name, v in sorted(case["options"].items(), key=lambda kv: order[kv[0]]):
            todo = calls(by_name[name], v)
            if todo is None:
                answer = (None, "")
                break
            for fn_name, types, args in todo:
                fn = getattr(lib, fn_name)
                fn.argtypes = [ctypes.c_void_p] + types
                fn.restype = ctypes.c_uint32
                code = fn(opts, *args)
                if code != 0:
                    lib.rtwire_server_options_last_error(opts, buf, len(buf))
                    answer = (lib.rtwire_result_name(code).decode(), buf.value.decode())
                    break
            if answer[0] != OK:
                break
        lib.rtwire_server_options_free(opts)
        out.append(answer)
    return out


def run_python_server(schema: List[Dict[str, Any]], cases: List[Dict[str, Any]]) -> List[Answer]:
    import rtwire

    by_name = {s["name"]: s for s in schema}
    out: List[Answer] = []
    for case in cases:
        kw: Dict[str, Any] = {}
        if any(not by_name[n]["python"] for n in case["options"]):
            out.append((None, ""))
            continue
        for name, v in case["options"].items():
            kw[by_name[name]["python"]] = v
        try:
            server = rtwire.serve("127.0.0.1", 0, **kw)
            server.close()
            out.append((OK, ""))
        except rtwire.InvalidArgumentError as e:
            out.append((BAD, str(e)))
        except TypeError as e:
            out.append(("type: " + str(e), str(e)))
        except rtwire.Error:
            out.append((OK, ""))
    return out


def run_cli_server(cli: str, schema: List[Dict[str, Any]], cases: List[Dict[str, Any]]) -> List[Answer]:
    by_name = {s["name"]: s for s in schema}
    out: List[Answer] = []
    for case in cases:
        args = [cli, "serve", "--dry-run"]
        if "bind" not in case["options"]:
            args.append("--bind=127.0.0.1:0")
        for name, v in case["options"].items():
            s = by_name[name]
            flag = "--" + s["cli"]
            if s["kind"] == "bool":
                if v:
                    args.append(flag)
            elif s["kind"] == "duration":
                args.append(f"{flag}={v}s")
            elif s["kind"] == "texts":
                args += [f"{flag}={t}" for t in v]
            else:
                args.append(f"{flag}={v}")
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            out.append((OK, ""))
        elif "(invalid_argument)" in p.stderr:
            out.append((BAD, p.stderr.strip()))
        else:
            out.append(("cli: " + p.stderr.strip(), p.stderr))
    return out


NODE_SERVER_SCRIPT = r"""
const rtwire = require(process.argv[1])
const { cases, schema } = JSON.parse(require('fs').readFileSync(0, 'utf8'))
const byName = new Map(schema.map((s) => [s.name, s]))
;(async () => {
  const out = []
  for (const c of cases) {
    const o = { port: 0 }
    let expressible = true
    for (const [name, v] of Object.entries(c.options)) {
      const s = byName.get(name)
      if (!s.node) { expressible = false; break }
      o[s.node] = s.kind === 'duration' ? v * 1000 : v
    }
    if (!expressible) { out.push([null, '']); continue }
    try {
      const server = await rtwire.serve(o)
      await server.close()
      out.push(['ok', ''])
    } catch (e) {
      if (e.code === 'ERR_RTWIRE_INVALID_ARGUMENT') out.push(['invalid_argument', e.message])
      else if (e instanceof TypeError) out.push(['type: ' + e.message, e.message])
      else out.push(['ok', ''])
    }
  }
  process.stdout.write(JSON.stringify({ out }))
})()
"""


def run_node_server(node_dir: str, schema: List[Dict[str, Any]], cases: List[Dict[str, Any]]) -> List[Answer]:
    payload = {"schema": schema, "cases": [{"options": c["options"]} for c in cases]}
    p = subprocess.run(["node", "-e", NODE_SERVER_SCRIPT, os.path.abspath(node_dir)], input=json.dumps(payload),
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise SystemExit(f"node failed: {p.stderr}")
    return [(a, m) for a, m in json.loads(p.stdout)["out"]]


def check_server(a: argparse.Namespace, schema: List[Dict[str, Any]], files: Dict[str, Any]) -> int:
    """The server option parity; returns the number of failures."""
    failures = 0
    # Every server option in every language: a C setter in the library, a
    # Python keyword of ``ServerOptions``, a Node name of the addon's schema,
    # a flag of ``rtwire serve`` (``bind``: Python and Node take host/port).
    import rtwire._schema as py_schema

    lib = ctypes.CDLL(a.lib)
    py_keys = set(py_schema.ServerOptions.__annotations__)
    helptext = subprocess.run([a.cli, "serve", "--help"], capture_output=True, text=True, check=True).stdout
    script = "process.stdout.write(JSON.stringify(require(process.argv[1] + '/binding.js').serverOptionSchema().map((s) => s.node)))"
    p = subprocess.run(["node", "-e", script, os.path.abspath(a.node_dir)], capture_output=True, text=True, timeout=60)
    node_names = set(json.loads(p.stdout)) if p.returncode == 0 else set()
    for s in schema:
        c = s["c"]
        setters = [f"rtwire_server_options_set_{c}", f"rtwire_server_options_set_{c}_ms", f"rtwire_server_options_add_{c}"]
        if s["name"] in ("tls_cert", "tls_key"):
            setters = ["rtwire_server_options_set_tls"]
        missing = []
        if not any(hasattr(lib, f) for f in setters):
            missing.append("C")
        if s["name"] != "bind" and s["python"] not in py_keys:
            missing.append("Python")
        if s["name"] != "bind" and s["node"] not in node_names:
            missing.append("Node")
        if not s["cli"] or f"--{s['cli']} " not in helptext:
            missing.append("CLI")
        if missing:
            failures += 1
            print(f"MISSING server option {s['name']} in {', '.join(missing)}")

    cases: List[Dict[str, Any]] = []
    for s in schema:
        for value, expected, cannot in samples(s, files):
            opts = {s["name"]: value}
            opts.update(server_companions(s, files))
            cases.append({"option": s["name"], "value": value, "expected": expected, "cannot": cannot, "options": opts})
    results = {
        "c": run_c_server(a.lib, schema, cases),
        "python": run_python_server(schema, cases),
        "cli": run_cli_server(a.cli, schema, cases),
        "node": run_node_server(a.node_dir, schema, cases),
    }
    compared = 0
    for i, case in enumerate(cases):
        answers = {lang: res[i] for lang, res in results.items() if lang not in case["cannot"] and res[i][0] is not None}
        compared += len(answers)
        if any(ans != case["expected"] for ans, _ in answers.values()):
            failures += 1
            print(f"MISMATCH server {case['option']} = {case['value']!r}: expected {case['expected']}, got {answers}")
            continue
        if case["expected"] == BAD and "python" in answers:
            # The core's message, as Python gives it, is in every language's.
            core = answers["python"][1]
            differ = {lang: m for lang, (_, m) in answers.items() if core not in m}
            if differ:
                failures += 1
                print(f"MESSAGE server {case['option']} = {case['value']!r}: {core!r} not in {differ}")
    print(f"server options: {len(schema)}, cases: {len(cases)}, answers compared: {compared}, mismatches: {failures}")
    for lang, res in results.items():
        answered = sum(r[0] is not None for r in res)
        print(f"  {lang}: {answered} of {len(cases)} cases")
        if answered < len(cases) * 0.6:
            failures += 1
            print(f"TOO FEW server answers from {lang}")
    return failures


# -------------------------------------------------------------------- main

def make_files(tmp: str) -> Dict[str, Any]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("client.example")
    files: Dict[str, Any] = {"ca_pem": ca.cert_pem.bytes()}
    files["cert_pem"] = b"".join(b.bytes() for b in cert.cert_chain_pems)
    files["key_pem"] = cert.private_key_pem.bytes()
    for key, name in (("ca", "ca.pem"), ("cert", "cert.pem"), ("key", "key.pem")):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(files[key + "_pem"] if key != "ca" else files["ca_pem"])
        files[key] = path
    return files


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--node-dir", required=True)
    a = ap.parse_args()

    doc = json.loads(subprocess.run([a.cli, "options", "--json"], capture_output=True, check=True, text=True).stdout)
    schema, kinds = doc["options"], doc["error_kinds"]
    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(tmp)
        cases: List[Dict[str, Any]] = []
        for s in schema:
            for value, expected, cannot in samples(s, files):
                opts = {s["name"]: value}
                opts.update(companions(s, files))
                cases.append({"option": s["name"], "value": value, "expected": expected,
                              "cannot": cannot, "options": opts})
        url = f"ws://127.0.0.1:{closed_port()}/"
        results = {
            "c": run_c(a.lib, schema, cases),
            "python": run_python(schema, cases, url),
            "cli": run_cli(a.cli, schema, cases),
        }
        results["node"], node_codes = run_node(a.node_dir, schema, cases, url)
        server_failures = check_server(a, doc["server_options"], files)

    failures = server_failures
    compared = 0
    for i, case in enumerate(cases):
        answers = {}
        for lang, res in results.items():
            if lang in case["cannot"] or res[i] is None:
                continue
            answers[lang] = res[i]
        compared += len(answers)
        if any(v != case["expected"] for v in answers.values()):
            failures += 1
            shown = case["value"] if not isinstance(case["value"], tuple) else "<bytes>"
            print(f"MISMATCH {case['option']} = {shown!r}: expected {case['expected']}, got {answers}")
    print(f"options: {len(schema)}, cases: {len(cases)}, answers compared: {compared}, mismatches: {failures}")
    for lang, res in results.items():
        answered = sum(r is not None for r in res)
        print(f"  {lang}: {answered} of {len(cases)} cases")
        # A language that can express few cases would make the check hollow.
        if answered < len(cases) * 0.6:
            failures += 1
            print(f"TOO FEW answers from {lang}")

    # Error kinds: one C status name, one Python class, one Node code each.
    import rtwire.exceptions as ex

    lib = ctypes.CDLL(a.lib)
    lib.rtwire_result_name.restype = ctypes.c_char_p
    c_codes: Dict[str, List[int]] = {}
    for code in range(1, 1000):
        n = lib.rtwire_result_name(code).decode()
        if n != "unknown":
            c_codes.setdefault(n, []).append(code)
    py_kinds = set(ex.KIND_TO_CLASS)
    for k in kinds:
        if len(c_codes.get(k, [])) != 1:
            failures += 1
            print(f"C status for {k}: {c_codes.get(k)} (want exactly one)")
        if k not in py_kinds:
            failures += 1
            print(f"MISSING Python class for {k}")
        if node_codes and "ERR_RTWIRE_" + k.upper() not in node_codes:
            failures += 1
            print(f"MISSING Node code ERR_RTWIRE_{k.upper()}")
    py_classes = {ex.KIND_TO_CLASS[k] for k in kinds if k in py_kinds}
    if len(py_classes) != len(kinds):
        failures += 1
        print("two error kinds share a Python class")
    print(f"error kinds: {len(kinds)} checked in C, Python" + (", Node" if node_codes else " (Node exports no code table)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
