//! `bindings/node/options.d.ts`: the options object of `connect` as
//! TypeScript interfaces, one property per Node path of the schema, typed by
//! kind and documented (unit, what `null` means, default).
//!
//! The Node spellings are those of `bindings/node/lib/options.js`: a path
//! shared by a file option and a PEM option (`ca`) takes either; an option
//! that can be off takes `null` or `false`, and `true` for its default when
//! that is not off; a group (`reconnect`) takes an object of its members or
//! a boolean.

use rtwire::options::{Kind, Spec, TextRule, Value, SERVER_SCHEMA};

use crate::common::{default_text, specs, BANNER_BOTH};
use crate::Output;

/// Node paths whose PEM option also takes a list of PEM texts, joined (as
/// `tls.connect` does for `ca`).
const PEM_LISTS: &[&str] = &["ca"];

/// The type of request headers.
const HEADERS: &str =
    "Record<string, string | number | ReadonlyArray<string>> | Iterable<readonly [string, string]>";

/// The files this layer generates from the schema.
pub(crate) fn render() -> Vec<Output> {
    let mut t = format!(
        "// {BANNER_BOTH}\n//\n// The options of `connect`, one per option of the core's schema, and those\n\
         // of `serve` from its server option schema (`ServerOptions`).\n"
    );
    t.push_str(
        "// The full tables, with every language's names: docs/options.md, docs/server-options.md.\n\n",
    );
    for s in specs() {
        if let Kind::Choice(words) = s.kind {
            t.push_str(&format!(
                "/** A value of `{}` (case-insensitive). */\nexport type {} = {}\n\n",
                s.node,
                pascal(leaf(s.node)),
                words
                    .iter()
                    .map(|w| format!("'{w}'"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
    }
    for g in groups() {
        t.push_str(&format!(
            "/** The members of `{g}` (`options.{g}.*`). */\nexport interface {} {{\n",
            interface(&g)
        ));
        for key in keys(&format!("{g}.")) {
            property(&mut t, &format!("{g}.{key}"), &key);
        }
        t.push_str("}\n\n");
    }
    t.push_str(
        "/**\n * Options of `connect`. Durations are in milliseconds, sizes in bytes; a value\n \
         * out of range rejects with `ERR_RTWIRE_INVALID_ARGUMENT`, one of the wrong\n \
         * type throws a `TypeError` (`ERR_INVALID_ARG_TYPE`).\n */\nexport interface ConnectOptions {\n",
    );
    for key in keys("") {
        property(&mut t, &key, &key);
    }
    t.push_str("}\n");
    server(&mut t);
    vec![Output {
        path: "bindings/node/options.d.ts",
        text: t,
    }]
}

/// The server options of `serve()` (`ServerOptions`), one property per
/// server option with a Node name.
fn server(t: &mut String) {
    let specs: Vec<_> = SERVER_SCHEMA
        .iter()
        .filter(|s| !s.node.is_empty())
        .collect();
    t.push('\n');
    for s in &specs {
        if let Kind::Choice(words) = s.kind {
            t.push_str(&format!(
                "/** A value of `{}` (case-insensitive). */\nexport type {} = {}\n\n",
                s.node,
                pascal(leaf(s.node)),
                words
                    .iter()
                    .map(|w| format!("'{w}'"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
    }
    t.push_str(
        "/**\n * The options of `serve()` from the server option schema (`ServeOptions` adds\n \
         * `host`, `port` and the application's). Durations are in milliseconds, sizes\n \
         * in bytes; a value out of range throws a `RangeError` with the core's message\n \
         * and `code` `ERR_RTWIRE_INVALID_ARGUMENT`, one of the wrong type a `TypeError`\n \
         * (`ERR_INVALID_ARG_TYPE`).\n */\nexport interface ServerOptions {\n",
    );
    for s in specs {
        let mut doc = vec![format!("{}{}{}", s.doc, unit(s.kind), range(s.kind))];
        if let Some(off) = s.optional {
            let t = if matches!(s.kind, Kind::Count { .. }) {
                "`null`, `false` or `Infinity`"
            } else if s.default_value() == Value::Off {
                "`null` or `false`"
            } else {
                "`null` or `false` (`true`: the default)"
            };
            doc.push(format!("{t}: {off}."));
        }
        doc.push(format!("@default {}", default_text(s)));
        t.push_str("  /**\n");
        for (i, para) in doc.iter().enumerate() {
            if i > 0 {
                t.push_str("   *\n");
            }
            for line in wrap(&para.replace("*/", "*\\/"), 76) {
                t.push_str(&format!("   * {line}\n"));
            }
        }
        t.push_str("   */\n");
        t.push_str(&format!(
            "  {}?: {}\n",
            s.node,
            union(&[value_type(s, s.node)])
        ));
    }
    t.push_str("}\n");
}

/// The last part of a node path.
fn leaf(node: &str) -> &str {
    node.rsplit_once('.').map_or(node, |(_, l)| l)
}

/// `jsonField` → `JsonField`.
fn pascal(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

fn interface(group: &str) -> String {
    format!("{}Options", pascal(group))
}

/// The groups of node paths (`keepalive`, `reconnect`, `cursor`), in
/// schema order.
fn groups() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in specs() {
        if let Some((g, _)) = s.node.rsplit_once('.') {
            if !out.iter().any(|x| x == g) {
                out.push(g.to_string());
            }
        }
    }
    out
}

/// The keys under `prefix` (`""` for the options object), in schema order.
fn keys(prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in specs() {
        if let Some(rest) = s.node.strip_prefix(prefix) {
            let key = rest.split('.').next().unwrap_or(rest).to_string();
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// The specs spelled `node`.
fn at(node: &str) -> Vec<&'static Spec> {
    specs().filter(|s| s.node == node).collect()
}

/// The TypeScript type of a value of `s` at `node`.
fn value_type<T: Default>(s: &Spec<T>, node: &str) -> String {
    let mut ty = match s.kind {
        Kind::Bool => "boolean".to_string(),
        Kind::Bytes { .. } | Kind::Count { .. } | Kind::Duration { .. } => "number".into(),
        Kind::Choice(_) => pascal(leaf(node)),
        Kind::Text(TextRule::Url | TextRule::Proxy) => "string | URL".into(),
        Kind::Text(_) | Kind::Path => "string".into(),
        Kind::Pem if PEM_LISTS.contains(&node) => {
            "string | Uint8Array | Array<string | Uint8Array>".into()
        }
        Kind::Pem => "string | Uint8Array".into(),
        Kind::Tokens => "string | string[]".into(),
        Kind::Texts => "string[]".into(),
        Kind::Headers => HEADERS.into(),
        _ => "unknown".into(),
    };
    if s.optional.is_some() && s.kind != Kind::Bool {
        ty.push_str(if s.default_value() == Value::Off {
            " | false | null"
        } else {
            " | boolean | null"
        });
    }
    ty
}

/// What a number of this kind counts, for the docs.
fn unit(kind: Kind) -> &'static str {
    match kind {
        Kind::Duration { zero: true } => " In milliseconds (0 allowed).",
        Kind::Duration { .. } => " In milliseconds.",
        Kind::Bytes { .. } => " In bytes.",
        _ => "",
    }
}

/// The accepted range of a number, for the docs.
fn range(kind: Kind) -> String {
    match kind {
        Kind::Bytes { min } if min > 1 => format!(" At least {min}."),
        Kind::Count { min, max } if max < u32::MAX.into() => format!(" From {min} to {max}."),
        _ => String::new(),
    }
}

/// Appends the property `key` for node path `node` (an option, a group, or
/// both) to the interface being written.
fn property(t: &mut String, node: &str, key: &str) {
    let specs = at(node);
    let group = groups().iter().any(|g| g == node);
    let mut doc = Vec::new();
    let mut types = Vec::new();
    if let [s, rest @ ..] = specs.as_slice() {
        doc.push(format!("{}{}{}", s.doc, unit(s.kind), range(s.kind)));
        if let Some(pem) = rest.iter().find(|p| p.kind == Kind::Pem) {
            let list = if PEM_LISTS.contains(&node) {
                ", or a list of them"
            } else {
                ""
            };
            doc.push(format!(
                "With PEM text (a string holding `-----BEGIN `, a `Buffer` or `Uint8Array`{list}): {} Any other string is a file path.",
                pem.doc
            ));
        }
        if let Some(off) = s.optional {
            let t = if matches!(s.kind, Kind::Count { .. }) {
                "`null`, `false` or `Infinity`"
            } else if s.default_value() == Value::Off {
                "`null` or `false`"
            } else {
                "`null` or `false` (`true`: the default)"
            };
            doc.push(format!("{t}: {off}."));
        }
        types.push(value_type(s, node));
        types.extend(rest.iter().map(|r| value_type(r, node)));
    }
    if group {
        let members = keys(&format!("{node}."));
        if specs.is_empty() {
            let off = specs_under(node)
                .find_map(|s| s.optional)
                .map_or(String::new(), |o| format!(" `false`: {o}."));
            doc.push(format!(
                "An object `{{ {} }}` (see `{}`); `true` keeps the defaults.{off}",
                members.join(", "),
                interface(node)
            ));
        } else {
            doc.push(format!(
                "An object `{{ {} }}` sets its members and turns it on.",
                members.join(", ")
            ));
        }
        types.push("boolean".into());
        types.push(interface(node));
    }
    if let Some(s) = specs.first() {
        doc.push(format!("@default {}", default_text(s)));
    }
    t.push_str("  /**\n");
    for (i, para) in doc.iter().enumerate() {
        if i > 0 {
            t.push_str("   *\n");
        }
        for line in wrap(&para.replace("*/", "*\\/"), 76) {
            t.push_str(&format!("   * {line}\n"));
        }
    }
    t.push_str("   */\n");
    t.push_str(&format!("  {key}?: {}\n", union(&types)));
}

/// The specs under group `node`, in schema order.
fn specs_under(node: &str) -> impl Iterator<Item = &'static Spec> + '_ {
    specs().filter(move |s| {
        s.node
            .strip_prefix(node)
            .is_some_and(|r| r.starts_with('.'))
    })
}

/// The union of `types`, each member once.
fn union(types: &[String]) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for t in types {
        for p in split_union(t) {
            if !parts.contains(&p) {
                parts.push(p);
            }
        }
    }
    // `boolean` covers `false`; off values last.
    if parts.contains(&"boolean") {
        parts.retain(|p| *p != "false");
    }
    parts.sort_by_key(|p| matches!(*p, "false" | "null"));
    parts.join(" | ")
}

/// The members of a union type, splitting only at the top level.
fn split_union(t: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    let b = t.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'<' | b'(' | b'[' | b'{' => depth += 1,
            b'>' | b')' | b']' | b'}' => depth -= 1,
            b'|' if depth == 0 => {
                out.push(t[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(t[start..].trim());
    out
}

/// `text` in lines of at most `width` characters (longer words stay whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
