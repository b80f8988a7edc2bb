//! The connection flags of `rtwire connect`, made from the option schema,
//! and the server flags of `rtwire serve`, made from the server option
//! schema (one flag per option that has a `cli` name), and `rtwire
//! options`, which lists them.

use clap::{Arg, ArgAction, ArgMatches, Command};
use rtwire::options::{Kind, Spec, Value, SCHEMA, SERVER_SCHEMA};
use rtwire::server::ServerOptions;
use rtwire::Options;

/// Short flags and old spellings kept for the flags that had them.
fn extras(flag: &str) -> (Option<char>, &'static [&'static str]) {
    match flag {
        "transport" => (Some('t'), &[]),
        "header" => (Some('H'), &[]),
        "protocol" => (Some('p'), &[]),
        "ca-file" => (None, &["cacert"]),
        "poll-interval" => (None, &["interval"]),
        "cursor-query" => (None, &["cursor-param"]),
        _ => (None, &[]),
    }
}

fn value_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text(rtwire::options::TextRule::SocketAddr) => "IP:PORT",
        Kind::Bytes { .. } => "SIZE",
        Kind::Count { .. } => "N",
        Kind::Duration { .. } => "DURATION",
        Kind::Choice(_) => "WORD",
        Kind::Path => "FILE",
        Kind::Headers => "K:V",
        _ => "TEXT",
    }
}

/// A boolean option's flag sets it to this value (`--no-reconnect`: false).
fn flag_value<T>(spec: &Spec<T>) -> bool {
    !spec.cli.starts_with("no-")
}

fn flagged<T>(schema: &'static [Spec<T>]) -> impl Iterator<Item = &'static Spec<T>> {
    schema.iter().filter(|s| !s.cli.is_empty())
}

/// The flags given for the options of `schema`: (position on the command
/// line, canonical name, text), in schema order (a cursor's source before
/// its destination), then in the order given.
fn given_flags<T>(
    schema: &'static [Spec<T>],
    m: &ArgMatches,
) -> Vec<(usize, &'static str, String)> {
    let mut given = Vec::new();
    for s in flagged(schema) {
        if matches!(s.kind, Kind::Bool) {
            if m.get_flag(s.cli) {
                let i = m.index_of(s.cli).unwrap_or(0);
                given.push((i, s.name, flag_value(s).to_string()));
            }
            continue;
        }
        let (Some(vals), Some(idx)) = (m.get_many::<String>(s.cli), m.indices_of(s.cli)) else {
            continue;
        };
        for (v, i) in vals.zip(idx) {
            given.push((i, s.name, v.clone()));
        }
    }
    let order = |name: &str| schema.iter().position(|s| s.name == name);
    given.sort_by_key(|(i, name, _)| (order(name), *i));
    given
}

/// One flag per option of `schema` with a `cli` name, its help from the
/// schema's docs and the default `base` has.
fn augment<T>(schema: &'static [Spec<T>], base: &T, mut cmd: Command) -> Command {
    for s in flagged(schema) {
        let (short, aliases) = extras(s.cli);
        let mut help = s.doc.to_string();
        if let Kind::Choice(words) = s.kind {
            help.push_str(&format!(" [one of: {}]", words.join(", ")));
        }
        if !matches!(s.kind, Kind::Bool) {
            help.push_str(&format!(" [default: {}]", value_text(s, s.get(base))));
        }
        let mut arg = Arg::new(s.cli)
            .long(s.cli)
            .help(help)
            .visible_aliases(aliases.iter().copied());
        if let Some(c) = short {
            arg = arg.short(c);
        }
        arg = match s.kind {
            Kind::Bool => arg.action(ArgAction::SetTrue),
            _ => arg.action(ArgAction::Append).value_name(value_name(s.kind)),
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

/// The connection options as flags (help from the schema's docs).
#[derive(Debug, Clone, Default)]
pub struct OptionArgs {
    /// (canonical name, text) in the order given; booleans as "true"/"false".
    given: Vec<(usize, &'static str, String)>,
}

impl OptionArgs {
    /// The options: each flag's text through [`Options::set_text`], in
    /// schema order (a cursor's source before its destination), then
    /// [`Options::validate`].
    ///
    /// # Errors
    /// The core's message, naming the option.
    pub fn options(&self) -> Result<Options, rtwire::Error> {
        let mut o = Options::new();
        for (_, name, text) in &self.given {
            o.set_text(name, text)?;
        }
        o.validate()?;
        Ok(o)
    }
}

impl clap::FromArgMatches for OptionArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut a = OptionArgs::default();
        a.update_from_arg_matches(m)?;
        Ok(a)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        self.given = given_flags(SCHEMA, m);
        Ok(())
    }
}

impl clap::Args for OptionArgs {
    fn augment_args(cmd: Command) -> Command {
        augment(SCHEMA, &Options::default(), cmd)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// The address `rtwire serve` listens on unless `--bind` says otherwise
/// (the core's default picks a free port; a command line wants a known
/// one).
pub const SERVE_BIND: &str = "127.0.0.1:8080";

/// The server options as flags of `rtwire serve` (help from the server
/// schema's docs).
#[derive(Debug, Clone, Default)]
pub struct ServerArgs {
    /// (position, canonical name, text), in schema order.
    given: Vec<(usize, &'static str, String)>,
}

impl ServerArgs {
    /// The server options: `bind` at [`SERVE_BIND`], then each flag's text
    /// through [`ServerOptions::set_text`], in schema order, then
    /// [`ServerOptions::validate`].
    ///
    /// # Errors
    /// The core's message, naming the option.
    pub fn options(&self) -> Result<ServerOptions, rtwire::Error> {
        let mut o = serve_base();
        for (_, name, text) in &self.given {
            o.set_text(name, text)?;
        }
        o.validate()?;
        Ok(o)
    }
}

/// The server options `rtwire serve` starts from.
fn serve_base() -> ServerOptions {
    let mut o = ServerOptions::new();
    o.set_text("bind", SERVE_BIND).expect("a valid address");
    o
}

impl clap::FromArgMatches for ServerArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut a = ServerArgs::default();
        a.update_from_arg_matches(m)?;
        Ok(a)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        self.given = given_flags(SERVER_SCHEMA, m);
        Ok(())
    }
}

impl clap::Args for ServerArgs {
    fn augment_args(cmd: Command) -> Command {
        augment(SERVER_SCHEMA, &serve_base(), cmd)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// A default as a person reads it.
pub fn default_text<T: Default>(s: &Spec<T>) -> String {
    value_text(s, s.default_value())
}

/// A value of option `s` as a person reads it.
fn value_text<T>(s: &Spec<T>, v: Value) -> String {
    match v {
        Value::Off => format!("off ({})", s.optional.unwrap_or("none")),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) if matches!(s.kind, Kind::Bytes { .. }) => {
            let n = n as u64;
            match n {
                n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
                n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
                n => n.to_string(),
            }
        }
        Value::Int(n) => n.to_string(),
        Value::Duration(d) if d.subsec_millis() == 0 => format!("{}s", d.as_secs()),
        Value::Duration(d) => format!("{}ms", d.as_millis()),
        Value::Text(t) => t,
        Value::List(l) if l.is_empty() => "none".into(),
        Value::Pairs(l) if l.is_empty() => "none".into(),
        other => format!("{other:?}"),
    }
}

/// Arguments of `rtwire options`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print the schemas as JSON: `options`, one object per connection
    /// option with its names in every language, kind, range, default and
    /// documentation, `server_options`, the same for every server option,
    /// and `error_kinds`, the stable names of every error kind.
    #[arg(long)]
    json: bool,
}

fn kind_json(k: Kind) -> serde_json::Value {
    use serde_json::json;
    let mut o = json!({ "kind": k.name() });
    match k {
        Kind::Bytes { min } => o["min"] = json!(min),
        Kind::Count { min, max } => {
            o["min"] = json!(min);
            o["max"] = json!(max);
        }
        Kind::Duration { zero } => o["zero"] = json!(zero),
        Kind::Choice(w) => o["words"] = json!(w),
        Kind::Text(rule) => o["rule"] = json!(format!("{rule:?}").to_lowercase()),
        _ => {}
    }
    o
}

/// One option of a schema as JSON: its names in every language, kind,
/// range, default and documentation.
fn spec_json<T: Default>(s: &Spec<T>) -> serde_json::Value {
    let mut o = kind_json(s.kind);
    let m = o.as_object_mut().expect("an object");
    m.insert("name".into(), s.name.into());
    m.insert("python".into(), s.python.into());
    m.insert("node".into(), s.node.into());
    m.insert("cli".into(), s.cli.into());
    m.insert("c".into(), s.c.into());
    m.insert("optional".into(), s.optional.is_some().into());
    m.insert("default".into(), value_json(&s.default_value()));
    m.insert("doc".into(), s.doc.into());
    o
}

fn value_json(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Off => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Int(n) => json!(n),
        Value::Duration(d) => json!(d.as_secs_f64()),
        Value::Text(t) => json!(t),
        Value::List(l) => json!(l),
        Value::Pairs(p) => json!(p),
        other => json!(format!("{other:?}")),
    }
}

/// Runs `rtwire options`.
pub fn list(a: &ListArgs) -> Result<(), String> {
    if a.json {
        let all: Vec<_> = SCHEMA.iter().map(spec_json).collect();
        let server: Vec<_> = SERVER_SCHEMA.iter().map(spec_json).collect();
        let kinds: Vec<_> = rtwire::ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        println!(
            "{}",
            serde_json::json!({ "options": all, "server_options": server, "error_kinds": kinds })
        );
        return Ok(());
    }
    println!("connection options (rtwire connect):");
    print_specs(SCHEMA);
    println!("\nserver options (rtwire serve):");
    print_specs(SERVER_SCHEMA);
    Ok(())
}

fn print_specs<T: Default>(schema: &'static [Spec<T>]) {
    for s in schema {
        let flag = if s.cli.is_empty() {
            String::new()
        } else {
            format!("--{}", s.cli)
        };
        println!("{:<28} {:<26} default {}", s.name, flag, default_text(s));
        println!("    {}", s.doc);
    }
}
