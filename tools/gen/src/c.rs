//! `ffi/src/options_gen.rs`: one named C setter per option with a C name,
//! each calling the generic helper of `ffi/src/options.rs`. cbindgen copies
//! their rustdoc into `include/rtwire.h`.

use rtwire::options::{Kind, Spec};

use crate::common::{default_text, specs, BANNER};
use crate::Output;

/// The files this layer generates from the schema.
pub(crate) fn render() -> Vec<Output> {
    let mut t = format!(
        "// {BANNER}\n\n\
         //! The named option setters of the C API, one per option of the schema\n\
         //! (`docs/options.md`). Each converts its C argument and calls the helper\n\
         //! of [`crate::options`], where the value is checked by core.\n\n\
         use std::ffi::c_char;\n\n\
         use rtwire::options::Value;\n\n\
         use crate::options::{{count, rtwire_options, set, set_arg, Arg}};\n\
         use crate::rtwire_result;\n"
    );
    for s in specs().filter(|s| !s.c.is_empty()) {
        t.push('\n');
        t.push_str(&setter(s));
    }
    vec![Output {
        path: "ffi/src/options_gen.rs",
        text: t,
    }]
}

/// The C parameters after `opts`, and the argument given to the helper.
struct Shape {
    params: &'static [(&'static str, &'static str)],
    /// What the helper is given: a `Value` for `set`, an `Arg` for `set_arg`.
    value: &'static str,
    /// Whether the setter takes pointers (then it is `unsafe` and calls
    /// `set_arg`).
    pointers: bool,
}

fn shape(kind: Kind) -> Shape {
    let plain = |params, value| Shape {
        params,
        value,
        pointers: false,
    };
    let ptr = |params, value| Shape {
        params,
        value,
        pointers: true,
    };
    match kind {
        Kind::Bool => plain(&[("value", "bool")], "Value::Bool(value)"),
        Kind::Bytes { .. } | Kind::Count { .. } => plain(&[("value", "usize")], "count(value)"),
        Kind::Duration { .. } => plain(&[("ms", "u64")], "Value::Millis(ms as f64)"),
        Kind::Choice(_) | Kind::Text(_) | Kind::Path => {
            ptr(&[("value", "*const c_char")], "Arg::Text(value)")
        }
        Kind::Pem => ptr(
            &[("pem", "*const u8"), ("len", "usize")],
            "Arg::Pem(pem, len)",
        ),
        Kind::Tokens => ptr(&[("value", "*const c_char")], "Arg::Item(value)"),
        Kind::Headers => ptr(
            &[("name", "*const c_char"), ("value", "*const c_char")],
            "Arg::Header(name, value)",
        ),
        other => panic!("no C setter shape for {other:?}"),
    }
}

/// The name of the C function that sets `spec`: `rtwire_options_add_<c>`
/// for lists, `rtwire_options_set_<c>_ms` for durations, else
/// `rtwire_options_set_<c>`.
fn c_name(spec: &Spec) -> String {
    match spec.kind {
        Kind::Tokens | Kind::Headers => format!("rtwire_options_add_{}", spec.c),
        Kind::Duration { .. } => format!("rtwire_options_set_{}_ms", spec.c),
        _ => format!("rtwire_options_set_{}", spec.c),
    }
}

fn setter(s: &Spec) -> String {
    let sh = shape(s.kind);
    let name = c_name(s);
    let mut out = String::new();
    for line in doc(s, &sh) {
        if line.is_empty() {
            out.push_str("///\n");
        } else {
            out.push_str(&format!("/// {line}\n"));
        }
    }
    out.push_str("#[no_mangle]\n");
    let unsafety = if sh.pointers { "unsafe " } else { "" };
    let params: Vec<String> = std::iter::once("opts: *mut rtwire_options".to_string())
        .chain(sh.params.iter().map(|(n, ty)| format!("{n}: {ty}")))
        .collect();
    let head = format!("pub {unsafety}extern \"C\" fn {name}(");
    let tail = ") -> rtwire_result {";
    let one_line = format!("{head}{}{tail}", params.join(", "));
    // As rustfmt lays it out (max_width 100).
    if one_line.len() <= 100 {
        out.push_str(&one_line);
        out.push('\n');
    } else {
        out.push_str(&head);
        out.push('\n');
        for p in &params {
            out.push_str(&format!("    {p},\n"));
        }
        out.push_str(tail);
        out.push('\n');
    }
    if sh.pointers {
        out.push_str("    // SAFETY: the pointers are as this function's contract says.\n");
        out.push_str(&format!(
            "    unsafe {{ set_arg(opts, \"{}\", {}) }}\n",
            s.name, sh.value
        ));
    } else {
        out.push_str(&format!("    set(opts, \"{}\", {})\n", s.name, sh.value));
    }
    out.push_str("}\n");
    out
}

/// The rustdoc of a setter, as lines.
fn doc(s: &Spec, sh: &Shape) -> Vec<String> {
    let mut lines = wrap(s.doc);
    lines.push(String::new());
    let unset = format!("`rtwire_options_unset(opts, \"{}\")`", s.name);
    let mut about = match s.kind {
        Kind::Bytes { min } => format!("In bytes, at least {min}."),
        Kind::Count { min, max } => format!("From {min} to {max}."),
        Kind::Duration { zero: false } => "In milliseconds, more than 0.".into(),
        Kind::Duration { zero: true } => "In milliseconds; 0 is allowed.".into(),
        Kind::Choice(words) => format!(
            "One of {} (any case).",
            words
                .iter()
                .map(|w| format!("`\"{w}\"`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Kind::Text(_) | Kind::Path => "The string is copied.".into(),
        Kind::Pem => "`len` bytes of PEM text (with a `-----BEGIN ` line), copied.".into(),
        Kind::Tokens => "Each call appends one; the string is copied.".into(),
        Kind::Headers => "Each call adds one header; both strings are copied.".into(),
        _ => String::new(),
    };
    about.push_str(&format!(
        " Default: {}. Option `{}` (text: `rtwire_options_set(opts, \"{}\", ...)`).",
        default_text(s),
        s.name,
        s.name
    ));
    match (s.optional, sh.pointers) {
        (Some(off), true) => about.push_str(&format!(" NULL (as {unset}) unsets it: {off}.")),
        (Some(off), false) => {
            about.push_str(&format!(" {unset} switches it off: {off}."));
            let zero_ok = match s.kind {
                Kind::Count { min, .. } => min == 0,
                Kind::Duration { zero } => zero,
                _ => false,
            };
            if zero_ok {
                about.push_str(" 0 means zero, not off.");
            }
        }
        (None, true) => about.push_str(" NULL is refused."),
        (None, false) => {}
    }
    lines.extend(wrap(&about));
    lines.push(String::new());
    let codes = if sh.pointers {
        "Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE, RTWIRE_RESULT_NULL_ARGUMENT or \
         RTWIRE_RESULT_INVALID_ARGUMENT (the reason in rtwire_options_last_error())."
    } else {
        "Returns RTWIRE_RESULT_OK, RTWIRE_RESULT_INVALID_HANDLE or RTWIRE_RESULT_INVALID_ARGUMENT \
         (the reason in rtwire_options_last_error())."
    };
    lines.extend(wrap(codes));
    if sh.pointers {
        lines.push(String::new());
        lines.push("# Safety".into());
        let contract = match s.kind {
            Kind::Pem => "`pem` is NULL or points to `len` readable bytes.",
            Kind::Headers => "`name` and `value` are NULL or NUL-terminated strings.",
            _ => "`value` is NULL or a NUL-terminated string.",
        };
        lines.push(contract.into());
    }
    lines
}

/// `text` cut into lines of at most 76 characters, at spaces outside
/// backtick spans (a longer span gets a line of its own).
fn wrap(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut open = false;
    for w in text.split_whitespace() {
        match words.last_mut() {
            Some(last) if open => {
                last.push(' ');
                last.push_str(w);
            }
            _ => words.push(w.to_string()),
        }
        if w.matches('`').count() % 2 == 1 {
            open = !open;
        }
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in words {
        if !line.is_empty() && line.len() + 1 + word.len() > 76 {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
