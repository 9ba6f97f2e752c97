//! The default job (`bpflab` with no command, `bpflab run`) end to end.

mod common;

use bpflab_engines::Engine;
use common::bpflab;

#[test]
fn default_job_checks_and_summarises_every_cell() {
    for args in [&[][..], &["run"][..]] {
        let run = bpflab(args);
        assert_eq!(run.code, 0, "stderr: {}", run.stderr);
        assert!(run.stdout.contains("all as expected"), "{}", run.stdout);
        for program in ["fprog1", "fprog2"] {
            for mode in ["hit", "miss"] {
                for engine in Engine::available() {
                    let row = run.stdout.lines().find(|l| {
                        let cols: Vec<&str> = l.split_whitespace().collect();
                        cols.len() > 4
                            && cols[0] == program
                            && cols[1] == engine.name()
                            && cols[2] == mode
                    });
                    let row = row.unwrap_or_else(|| panic!("no row {program} {engine} {mode}"));
                    assert!(row.contains("65535"), "{row}");
                }
            }
        }
    }
}
