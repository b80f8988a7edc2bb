"""The keywords of ``rtwire.connect``, ``rtwire.Reconnect`` and
``rtwire.Cursor`` come from the core's option schema: every option is checked
here by its kind (its default is accepted, a value of the wrong type is a
``TypeError``, one out of range an ``InvalidArgumentError``, both naming the
keyword)."""

from __future__ import annotations

import inspect
import math
import re
import typing
from typing import Any, Callable, Dict, List

import pytest

import rtwire
from rtwire import _rtwire

SCHEMA: List[Dict[str, Any]] = _rtwire.option_schema()
KINDS = {"bool", "bytes", "count", "duration", "choice", "text", "path", "pem", "tokens", "headers"}
CLASSES: Dict[str, Callable[..., Any]] = {"reconnect": rtwire.Reconnect, "http.cursor": rtwire.Cursor}
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def keyword(spec: Dict[str, Any]) -> str:
    return str(spec["python"] or spec["field"])


def build(spec: Dict[str, Any], value: Any) -> Any:
    """Options (or the group object) with the option set to ``value``."""
    if spec["python"]:
        return _rtwire.Options(**{spec["python"]: value})
    kw = {spec["field"]: value}
    if spec["group"] == "http.cursor" and (spec["field"] not in ("header", "json_field") or value is None):
        # A cursor needs where it is read from.
        kw["json_field" if spec["field"] == "header" else "header"] = "X-Cursor"
    return CLASSES[spec["group"]](**kw)


def wrong_type(spec: Dict[str, Any]) -> Any:
    return {
        "bool": 1,
        "bytes": "1",
        "count": True,
        "duration": "1",
        "choice": 1,
        "text": 1,
        "path": 1,
        "pem": 1,
        "tokens": "a",
        "headers": 5,
    }[spec["kind"]]


def out_of_range(spec: Dict[str, Any]) -> List[Any]:
    kind = spec["kind"]
    if kind in ("bytes", "count"):
        return [spec["min"] - 1, 1.5, math.nan]
    if kind == "duration":
        return [-1, -1.0, math.inf, math.nan] + ([] if spec["zero"] else [0, 0.0])
    if kind == "choice":
        return ["carrier-pigeon"]
    if kind == "text":
        return {"HeaderName": ["bad name", ""], "Name": [""]}.get(spec["rule"], ["a\nb"])
    if kind == "path":
        return ["", "a\0b"]
    if kind == "pem":
        return ["not pem", b"not pem"]
    if kind == "tokens":
        return [["a b"]]
    if kind == "headers":
        return [{"bad name": "v"}, [("X-A", "a\nb")]]
    return []


def test_schema_is_exposed() -> None:
    names = [s["name"] for s in SCHEMA]
    assert len(names) == len(set(names)) >= 40
    for s in SCHEMA:
        assert s["kind"] in KINDS, s
        assert isinstance(s["optional"], bool) and s["doc"].endswith(".")
        assert s["python"] or s["group"] in CLASSES, s["name"]
    assert {"read_buffer_size", "certdata", "keydata", "rtwire_protocol"} <= {s["python"] for s in SCHEMA}


@pytest.mark.parametrize("spec", SCHEMA, ids=[s["name"] for s in SCHEMA])
def test_every_option_by_kind(spec: Dict[str, Any]) -> None:
    kw = keyword(spec)
    # The default is accepted, and is what the option then holds.
    got = build(spec, spec["default"])
    if spec["python"]:
        assert got.get(spec["name"]) == spec["default"]
    elif spec["default"] is not None:
        assert getattr(got, spec["field"]) == spec["default"]
    if spec["optional"]:
        build(spec, None)
    with pytest.raises(TypeError, match=re.escape(kw)):
        build(spec, wrong_type(spec))
    for bad in out_of_range(spec):
        with pytest.raises(rtwire.InvalidArgumentError, match=re.escape(kw)):
            build(spec, bad)


def test_values_reach_the_options() -> None:
    key = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
    o = _rtwire.Options(read_buffer_size=65536, certdata=PEM, keydata=key.encode(), ping_interval=None)
    assert o.get("limits.read_buffer_size") == 65536
    assert o.get("tls.client_cert_pem") == PEM.encode()
    assert o.get("tls.client_key_pem") == key.encode()
    assert o.get("keepalive.interval") is None
    assert "read_buffer_size: 65536" in repr(o)
    o = _rtwire.Options(
        headers={"X-A": "1"},
        subprotocols=("a", "b"),
        open_timeout=2,
        proxy=False,
        reconnect=rtwire.Reconnect(max_attempts=3),
        cursor=rtwire.Cursor(json_field="c", send_header="X-After"),
    )
    assert o.get("headers") == [("X-A", "1")] and o.get("subprotocols") == ["a", "b"]
    assert o.get("open_timeout") == 2.0 and o.get("proxy") is None
    assert o.get("reconnect.enabled") is True and o.get("reconnect.max_attempts") == 3
    assert o.get("http.cursor.json_field") == "c" and o.get("http.cursor.send_header") == "X-After"
    assert _rtwire.Options(proxy=True).get("proxy") == "env"
    assert _rtwire.Options(reconnect=False).get("reconnect.enabled") is False
    with pytest.raises(KeyError):
        o.get("no_such_option")


def test_group_objects() -> None:
    r = rtwire.Reconnect(initial_delay=1, max_attempts=None)
    assert (r.initial_delay, r.max_delay, r.max_attempts, r.retry_initial) == (1.0, 30.0, None, False)
    assert repr(r) == "Reconnect(initial_delay=1.0, max_delay=30.0, retry_initial=False)"
    with pytest.raises(TypeError, match="unexpected keyword argument 'delay'"):
        rtwire.Reconnect(delay=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="reconnect"):
        rtwire.connect("ws://127.0.0.1:1/", reconnect=rtwire.Cursor(header="X"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cursor"):
        rtwire.connect("ws://127.0.0.1:1/", cursor=r)  # type: ignore[arg-type]


def test_unknown_keyword() -> None:
    for connect in (rtwire.connect, rtwire.sync.connect):
        with pytest.raises(TypeError, match=r"connect\(\) got an unexpected keyword argument 'disable_ping'"):
            connect("ws://127.0.0.1:1/", disable_ping=True)  # type: ignore[call-arg]


def test_one_parameter_set() -> None:
    hints_async = typing.get_type_hints(rtwire.connect.__init__)
    hints_sync = typing.get_type_hints(rtwire.sync.connect)
    assert hints_async["options"] == hints_sync["options"]
    assert typing.get_args(hints_sync["options"]) == (rtwire.ConnectOptions,)
    assert inspect.signature(rtwire.sync.connect).parameters["options"].kind is inspect.Parameter.VAR_KEYWORD
    keys = set(rtwire.ConnectOptions.__annotations__)
    assert keys == {s["python"] for s in SCHEMA if s["python"]} | {"cursor"}
    groups = {"reconnect": rtwire.ReconnectOptions, "http.cursor": rtwire.CursorOptions}
    for group, td in groups.items():
        assert set(td.__annotations__) == {s["field"] for s in SCHEMA if s["group"] == group and not s["python"]}
