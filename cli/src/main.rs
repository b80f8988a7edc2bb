//! The `rtwire` command: connect to real-time endpoints from a terminal or a
//! script, run the demo, drive an Autobahn fuzzing server.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod autobahn;
mod connect;
mod demo;
mod options;
mod refusing_proxy;
mod render;
mod serve;

/// rtwire: one client for WebSocket and the HTTP real-time transports.
#[derive(Debug, Parser)]
#[command(name = "rtwire", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect to URL: stdin lines are sent as messages, incoming messages go
    /// to stdout. End of stdin closes with 1000. Exit status 0 on a clean
    /// close, 1 otherwise (with a one-line message on stderr).
    Connect(connect::Args),
    /// List every connection option: canonical name, flag, default and
    /// what it does (`--json`: the whole schema, with the names in every
    /// language).
    Options(options::ListArgs),
    /// Run the embedded server on a port (Ctrl-C stops it).
    Serve(serve::Args),
    /// Run the demo: the embedded server on a free loopback port, a client
    /// per transport, one cut, and every client resuming with nothing lost.
    Demo(demo::Args),
    /// Run every case of an Autobahn testsuite fuzzing server against the
    /// rtwire client (echoing each message back), then ask it to write its
    /// reports.
    AutobahnClient(autobahn::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Options(a) = &cli.command {
        return match options::list(a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(msg) => {
                eprintln!("rtwire: {msg}");
                ExitCode::FAILURE
            }
        };
    }
    let rt = match rtwire::runtime::build("rtwire", rtwire::runtime::threads(2)) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rtwire: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Connect(a) => connect::run(a).await,
            Command::Serve(a) => serve::run(a).await,
            Command::Demo(a) => demo::run(a).await,
            Command::AutobahnClient(a) => autobahn::run(a).await,
            Command::Options(_) => Ok(()),
        }
    });
    // Do not wait for background tasks (e.g. stdin readers) on the way out.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("rtwire: {msg}");
            ExitCode::FAILURE
        }
    }
}
