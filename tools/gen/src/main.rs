//! Writes the files generated from the option schema (`rtwire::options::SCHEMA`),
//! or with `--check` fails when a committed one differs from what the schema
//! gives. Run from anywhere in the repository:
//!
//! ```text
//! cargo run -p rtwire-gen            # rewrite the generated files
//! cargo run -p rtwire-gen -- --check # CI: fail on any difference
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod c;
mod common;
mod docs;
mod node;
mod python;

/// One generated file: its path from the repository root, and its text.
pub(crate) struct Output {
    pub(crate) path: &'static str,
    pub(crate) text: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let outputs: Vec<Output> = [
        c::render(),
        python::render(),
        node::render(),
        docs::render(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut stale = Vec::new();
    for o in &outputs {
        let path = root().join(o.path);
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old == o.text {
            continue;
        }
        if check {
            stale.push(o.path);
        } else if let Err(e) = std::fs::write(&path, &o.text) {
            eprintln!("rtwire-gen: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        } else {
            println!("wrote {}", o.path);
        }
    }
    if stale.is_empty() {
        return ExitCode::SUCCESS;
    }
    for p in stale {
        eprintln!("rtwire-gen: {p} differs from the option schema");
    }
    eprintln!("run `cargo run -p rtwire-gen` and commit the result");
    ExitCode::FAILURE
}
