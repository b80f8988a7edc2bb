//! `bindings/python/python/rtwire/_schema.py`: the keyword arguments of
//! `rtwire.connect`/`rtwire.sync.connect`, `rtwire.Reconnect` and
//! `rtwire.Cursor` as `TypedDict`s, typed by kind and documented.

use rtwire::options::{Kind, Spec, TextRule, Value, SERVER_SCHEMA};

use crate::common::{default_text, specs, BANNER_BOTH};
use crate::Output;

/// The keywords of `rtwire.connect` that take a group object: the keyword,
/// the schema group, the class, and what the keyword means when the schema
/// has no option of that name.
const GROUPS: [(&str, &str, &str, &str); 2] = [
    ("reconnect", "reconnect", "Reconnect", ""),
    (
        "cursor",
        "http.cursor",
        "Cursor",
        "Long polling and streaming: where the cursor is read from and sent back. Default: `None` (no cursor).",
    ),
];

const HEAD: &str = r#""""The keyword arguments of ``rtwire.connect`` and ``rtwire.sync.connect``
(``ConnectOptions``), ``rtwire.Reconnect`` (``ReconnectOptions``) and
``rtwire.Cursor`` (``CursorOptions``), from the option schema of the core,
and those of ``rtwire.serve`` (``ServerOptions``), from its server option
schema. docs/options.md and docs/server-options.md have the tables of
every option in every language."""

from __future__ import annotations

import os
import sys
from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union

from ._rtwire import Cursor, Reconnect

if sys.version_info >= (3, 11):
    from typing import TypedDict, Unpack
else:
    from typing_extensions import TypedDict, Unpack

__all__ = ["ConnectOptions", "ReconnectOptions", "CursorOptions", "ServerOptions", "Unpack"]
"#;

/// The files this layer generates from the schema.
pub(crate) fn render() -> Vec<Output> {
    let mut t = format!("# {BANNER_BOTH}\n{HEAD}");
    t.push_str(&class(
        "ConnectOptions",
        "The keyword arguments of ``rtwire.connect`` and ``rtwire.sync.connect``.",
        &connect_keys(),
    ));
    for (_, group, class_name, _) in GROUPS {
        let keys: Vec<Key> = specs()
            .filter(|s| s.group() == group && s.python.is_empty())
            .map(|s| key(s, s.field()))
            .collect();
        t.push_str(&class(
            &format!("{class_name}Options"),
            &format!("The keyword arguments of ``rtwire.{class_name}``."),
            &keys,
        ));
    }
    let keys: Vec<Key> = SERVER_SCHEMA
        .iter()
        .filter(|s| !s.python.is_empty())
        .map(|s| key(s, s.python))
        .collect();
    t.push_str(&class(
        "ServerOptions",
        "The keyword arguments of ``rtwire.serve`` from the server option schema.",
        &keys,
    ));
    vec![Output {
        path: "bindings/python/python/rtwire/_schema.py",
        text: t,
    }]
}

/// One key of a `TypedDict`: its name, type and documentation.
struct Key {
    name: String,
    ty: String,
    doc: String,
}

/// The keys of `ConnectOptions` in schema order, a group keyword without an
/// option of its own where its group's options are.
fn connect_keys() -> Vec<Key> {
    let mut keys = Vec::new();
    let mut done = Vec::new();
    for s in specs() {
        if !s.python.is_empty() {
            keys.push(key(s, s.python));
            continue;
        }
        let Some(&(kw, group, class_name, doc)) = GROUPS.iter().find(|g| g.1 == s.group()) else {
            continue;
        };
        if done.contains(&group) || specs().any(|s| s.python == kw) {
            continue;
        }
        done.push(group);
        keys.push(Key {
            name: kw.into(),
            ty: format!("Optional[{class_name}]"),
            doc: doc.into(),
        });
    }
    keys
}

fn key<T: Default>(s: &Spec<T>, name: &str) -> Key {
    let group = GROUPS.iter().find(|g| g.0 == name);
    let base = match s.kind {
        Kind::Bool => "bool",
        Kind::Bytes { .. } | Kind::Count { .. } => "int",
        Kind::Duration { .. } => "float",
        Kind::Text(TextRule::Proxy) => "Union[str, bool]",
        Kind::Choice(_) | Kind::Text(_) => "str",
        Kind::Path => "Union[str, os.PathLike[str]]",
        Kind::Pem => "Union[str, bytes]",
        Kind::Tokens | Kind::Texts => "Sequence[str]",
        Kind::Headers => "Union[Mapping[str, str], Iterable[Tuple[str, str]]]",
        _ => "object",
    };
    let ty = match (group, s.optional) {
        (Some(g), _) => format!("Union[{base}, {}]", g.2),
        (None, Some(_)) => format!("Optional[{base}]"),
        (None, None) => base.to_string(),
    };
    let mut doc = s.doc.to_string();
    if matches!(s.kind, Kind::Duration { .. }) {
        doc.push_str(" In seconds.");
    }
    if let Some(g) = group {
        doc.push_str(&format!(" Or an `rtwire.{}`.", g.2));
    }
    if matches!(s.kind, Kind::Text(TextRule::Proxy)) {
        doc.push_str(" `True`: `env`; `False`: none.");
    }
    doc.push_str(&format!(" Default: {}.", py_default(s)));
    Key {
        name: name.into(),
        ty,
        doc,
    }
}

/// The default as Python spells it, kept on one line: `True`, `None` (what
/// that means), `10 s`, `64 MiB`, `"auto"`.
fn py_default<T: Default>(s: &Spec<T>) -> String {
    let text = match s.default_value() {
        Value::Bool(b) => if b { "`True`" } else { "`False`" }.to_string(),
        Value::Off => format!("`None` ({})", s.optional.unwrap_or("none")),
        _ => default_text(s),
    };
    let off = s.optional.filter(|_| s.default_value() != Value::Off);
    let off = off.map_or(String::new(), |o| format!("; `None`: {o}"));
    (text + &off).replace(' ', "\u{a0}")
}

fn class(name: &str, doc: &str, keys: &[Key]) -> String {
    let mut t = format!("\n\nclass {name}(TypedDict, total=False):\n    \"\"\"{doc}\"\"\"\n");
    for k in keys {
        t.push_str(&format!("\n    {}: {}\n", k.name, k.ty));
        t.push_str(&docstring(&k.doc));
    }
    t
}

/// A docstring indented by four spaces, wrapped at 88 columns; Markdown
/// code spans become reST literals.
fn docstring(text: &str) -> String {
    let text = format!("\"\"\"{}\"\"\"", text.replace('`', "``"));
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        match lines.last_mut() {
            Some(last) if last.len() + 1 + word.len() <= 88 => {
                last.push(' ');
                last.push_str(word);
            }
            _ => lines.push(format!("    {word}")),
        }
    }
    lines.join("\n").replace('\u{a0}', " ") + "\n"
}
