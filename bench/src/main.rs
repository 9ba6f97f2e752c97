//! `bpflab`: run, inspect and measure BPF filters on every engine.
//!
//! Every user error is reported as one line on stderr with exit code 2;
//! clap's usage errors are cut to their first paragraph and tips (a
//! similar argument or subcommand), joined on one line, and use the same
//! code.

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
            let first = first.trim_start_matches("error: ");
            eprintln!("bpflab: {}", printable(&with_tips(first, &text)));
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

/// `first` with clap's tips from `text` (`tip: a similar argument
/// exists: '--engines'`) in brackets after it: the rest of clap's output
/// (usage, help pointer) is dropped, but a tip says what was meant.
fn with_tips(first: &str, text: &str) -> String {
    let tips: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("tip:"))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if tips.is_empty() {
        first.to_string()
    } else {
        format!("{first} ({})", tips.join("; "))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tips_join_the_first_line() {
        let text = "error: unexpected argument '--engine' found\n\n  \
                    tip: a similar argument exists: '--engines'\n\nUsage: bpflab run\n";
        assert_eq!(
            with_tips("unexpected argument '--engine' found", text),
            "unexpected argument '--engine' found (a similar argument exists: '--engines')"
        );
        assert_eq!(with_tips("bad", "error: bad\n\nUsage: x\n"), "bad");
    }
}
