//! `bpflab`: run, inspect and measure BPF filters on every engine.
//!
//! Every user error is reported as one line on stderr with exit code 2;
//! clap's usage errors are cut to their first paragraph, joined on one
//! line, and use the same code.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Output piped into `head` and closed early ends bpflab quietly, as it
    // does any Unix filter, instead of a panic on the failed write (Rust
    // ignores SIGPIPE by default).
    // SAFETY: restoring a signal's default disposition at startup, before
    // any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let args = match <bpflab::cli::Cli as clap::Parser>::try_parse() {
        Ok(args) => args,
        Err(err) if !err.use_stderr() => err.exit(),
        Err(err) => {
            let text = err.to_string();
            // The first paragraph: the message, and for a missing argument
            // the indented lines that name it.
            let first = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            let first = if first.is_empty() {
                "invalid arguments"
            } else {
                &first
            };
            eprintln!("bpflab: {}", printable(first.trim_start_matches("error: ")));
            return ExitCode::from(2);
        }
    };
    // Set only when `scripts/layouts` relinks this binary with its
    // functions in a shuffled order; read here, in the binary's own crate,
    // so relinking recompiles this file alone.
    let build = bpflab::cli::Build {
        layout: option_env!("BPFLAB_LAYOUT"),
    };
    match bpflab::cli::dispatch(args, build) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("bpflab: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line.
fn one_line(err: &anyhow::Error) -> String {
    let text = err
        .chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ");
    printable(&text)
}

/// `text` as one printable line. Errors quote what a user gave (a line of
/// a file, an argument), so control characters and Unicode line breaks
/// are escaped: no terminal or tool may see a second line.
fn printable(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => line.push(' '),
            '\t' => line.push(c),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                line.extend(c.escape_default())
            }
            c => line.push(c),
        }
    }
    line
}
