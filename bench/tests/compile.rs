//! `bpflab compile` end to end: with the `libpcap` feature, libpcap
//! compiles the thread's two expressions into exactly the thread's
//! programs; without it, the subcommand says why it cannot.

mod common;

use common::{assert_user_error, bpflab};

#[cfg(not(feature = "libpcap"))]
#[test]
fn without_the_feature_compile_says_why() {
    let run = bpflab(&["compile", "port 22"]);
    assert_user_error(&run, "bpflab was built without the libpcap feature");
    assert!(run.stderr.contains("libpcap-dev"), "{}", run.stderr);
}

#[cfg(feature = "libpcap")]
mod with_libpcap {
    use super::*;
    use common::scenario_program;

    /// The program lines of a scenario file (its comments dropped).
    fn program_lines(name: &str) -> String {
        let text = std::fs::read_to_string(scenario_program(name)).expect("scenario program");
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    fn compiled(args: &[&str]) -> String {
        let run = bpflab(args);
        assert_eq!(run.code, 0, "stderr: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{}", run.stderr);
        run.stdout
    }

    #[test]
    fn port_22_is_fprog1() {
        let out = compiled(&["compile", "port 22"]);
        assert_eq!(out.lines().count(), 24);
        assert_eq!(out, program_lines("fprog1"));
        // Several words are joined, as tcpdump does.
        assert_eq!(compiled(&["compile", "port", "22"]), out);
    }

    #[test]
    fn the_man_page_expression_is_fprog2() {
        let out = compiled(&[
            "compile",
            "tcp port 22 and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)",
        ]);
        assert_eq!(out.lines().count(), 30);
        assert_eq!(out, program_lines("fprog2"));
    }

    #[test]
    fn a_bad_expression_is_one_line_and_exit_2() {
        let run = bpflab(&["compile", "port 22 and"]);
        assert_user_error(&run, "cannot compile `port 22 and`: libpcap: ");
        assert!(run.stderr.contains("syntax error"), "{}", run.stderr);
        assert_user_error(&bpflab(&["compile", "port 99999"]), "cannot compile");
    }
}
