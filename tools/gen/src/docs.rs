//! `docs/options.md`: the reference of every connection option, in every
//! language.

use crate::common::{default_text, specs, BANNER};
use crate::Output;

/// The options reference.
pub(crate) fn render() -> Vec<Output> {
    let mut t = format!("<!-- {BANNER} -->\n\n# Connection options\n\n");
    t.push_str(
        "Every option, declared once in core (`rtwire::options::SCHEMA`) and spelled in each \
         language as below. The same values are accepted and refused everywhere: a value out of \
         range is an `invalid_argument` error naming the option (C `RTWIRE_RESULT_INVALID_ARGUMENT`, \
         Python `rtwire.InvalidArgumentError`, Node `ERR_RTWIRE_INVALID_ARGUMENT`); a value of the \
         wrong type is a `TypeError` in Python and Node. Durations are seconds in Python, \
         milliseconds in Node and C (`_ms` setters), and `250ms`/`10s`/`2m` on the command line; \
         sizes are bytes (`64KiB`/`16MiB` on the command line). `rtwire options` prints this table.\n\n",
    );
    t.push_str(
        "| option | default | Python | Node | C | CLI | what |\n|---|---|---|---|---|---|---|\n",
    );
    for s in specs() {
        let py = if s.python.is_empty() {
            format!("`{}` of `{}`", s.field(), py_group(s.group()))
        } else {
            format!("`{}`", s.python)
        };
        let c = if s.c.is_empty() {
            String::new()
        } else if matches!(
            s.kind,
            rtwire::options::Kind::Tokens | rtwire::options::Kind::Headers
        ) {
            format!("`rtwire_options_add_{}`", s.c)
        } else if matches!(s.kind, rtwire::options::Kind::Duration { .. }) {
            format!("`rtwire_options_set_{}_ms`", s.c)
        } else {
            format!("`rtwire_options_set_{}`", s.c)
        };
        let cli = if s.cli.is_empty() {
            String::new()
        } else {
            format!("`--{}`", s.cli)
        };
        let off = s
            .optional
            .map_or(String::new(), |o| format!(" Can be off: {o}."));
        t.push_str(&format!(
            "| `{}` | {} | {} | `{}` | {} | {} | {}{} |\n",
            s.name,
            default_text(s),
            py,
            s.node,
            c,
            cli,
            s.doc.replace('|', "\\|"),
            off
        ));
    }
    vec![Output {
        path: "docs/options.md",
        text: t,
    }]
}

fn py_group(g: &str) -> &'static str {
    match g {
        "reconnect" => "rtwire.Reconnect",
        "http.cursor" => "rtwire.Cursor",
        _ => "?",
    }
}
