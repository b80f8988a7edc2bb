//! The `rtwire` command.
fn main() {}
