//! `bpflab`: run, inspect and measure BPF filters on every engine.
//!
//! Every user error is reported as one line on stderr with exit code 2;
//! clap's usage errors are cut to their first line and use the same code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match <bpflab::cli::Cli as clap::Parser>::try_parse() {
        Ok(args) => args,
        Err(err) if !err.use_stderr() => err.exit(),
        Err(err) => {
            let text = err.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("bpflab: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match bpflab::cli::dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bpflab: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line.
fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}
