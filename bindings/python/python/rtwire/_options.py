"""The keyword arguments shared by ``rtwire.connect`` and
``rtwire.sync.connect`` (``ConnectOptions``, generated from the core's option
schema), turned into checked native options."""

from __future__ import annotations

from ._rtwire import Options
from ._schema import ConnectOptions


def make_options(url: object, options: ConnectOptions) -> Options:
    """Checks ``url`` and the options (``TypeError`` for a wrong type or an
    unknown keyword, ``InvalidArgumentError`` for a value the core refuses,
    naming the keyword) and builds the native options."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    return Options(**options)
