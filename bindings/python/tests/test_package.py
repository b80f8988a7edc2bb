"""Package-level checks: the ErrorKind → exception parity table, version,
typing files."""

from __future__ import annotations

import builtins
import os
import re
from importlib import metadata

import rtwire
from rtwire import _rtwire

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_every_error_kind_has_its_own_class() -> None:
    kinds = _rtwire.ERROR_KINDS
    assert len(kinds) >= 13 and len(set(kinds)) == len(kinds)
    seen = set()
    for kind in kinds:
        err = _rtwire.error_for_kind(kind, f"a {kind} error")
        cls = rtwire.KIND_TO_CLASS[kind]
        assert type(err) is cls, (kind, type(err))
        assert cls is not rtwire.Error and issubclass(cls, rtwire.Error)
        assert err.kind == kind and str(err) == f"a {kind} error"
        seen.add(cls)
    assert len(seen) == len(kinds)
    assert set(rtwire.KIND_TO_CLASS) == set(kinds)
    exported = {
        v for v in vars(rtwire).values() if isinstance(v, type) and issubclass(v, rtwire.Error)
    }
    assert exported == seen | {rtwire.Error}


def test_builtin_bases() -> None:
    assert issubclass(rtwire.TimeoutError, builtins.TimeoutError)
    assert issubclass(rtwire.InvalidArgumentError, ValueError)
    assert issubclass(rtwire.InvalidUrlError, ValueError)
    assert issubclass(rtwire.ConnectError, ConnectionError)
    assert issubclass(rtwire.ConcurrencyError, RuntimeError)
    assert not issubclass(rtwire.ConcurrencyError, rtwire.Error)


def test_version_is_the_crates() -> None:
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        m = re.search(r'\[workspace\.package\][^\[]*?version\s*=\s*"([^"]+)"', f.read())
    assert m is not None
    assert rtwire.__version__ == m.group(1) == rtwire.CORE_VERSION
    assert metadata.version("rtwire") == m.group(1)


def test_typing_files_are_shipped() -> None:
    pkg = os.path.dirname(rtwire.__file__)
    assert os.path.exists(os.path.join(pkg, "py.typed"))
    assert os.path.exists(os.path.join(pkg, "_rtwire.pyi"))
