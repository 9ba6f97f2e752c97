//! The thread's published table (`results/published.csv`), embedded so a
//! lab binary copied to another machine still has it.

use super::{Row, from_csv};

/// The published CSV as shipped in the repository.
pub const PUBLISHED_CSV: &str = include_str!("../../../results/published.csv");

/// The published rows.
pub fn published_rows() -> Vec<Row> {
    // The file is part of the build and checked by the tests below.
    from_csv(PUBLISHED_CSV.as_bytes(), "results/published.csv").unwrap_or_default()
}

/// The published ns/call of one cell, `None` where the thread has no
/// figure (TBD, or no such row).
pub fn published_ns(
    rows: &[Row],
    arch: &str,
    engine: &str,
    program: &str,
    mode: &str,
) -> Option<f64> {
    rows.iter()
        .find(|r| r.arch == arch && r.engine == engine && r.program == program && r.mode == mode)
        .and_then(|r| r.ns_per_call)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_of_the_thread_is_there() {
        // The thread's tables, copied by hand: (arch, engine, [fprog1 hit,
        // fprog1 miss, fprog2 hit, fprog2 miss]); None = TBD.
        let thread: [(&str, &str, [Option<f64>; 4]); 10] = [
            (
                "x86_64",
                "old",
                [Some(90.0), Some(101.0), Some(192.0), Some(202.0)],
            ),
            (
                "x86_64",
                "ext",
                [Some(31.0), Some(71.0), Some(47.0), Some(97.0)],
            ),
            (
                "x86_64",
                "old-jit",
                [Some(12.0), Some(34.0), Some(17.0), Some(44.0)],
            ),
            ("x86_64", "ext-jit", [None; 4]),
            (
                "i386",
                "old",
                [Some(107.0), Some(136.0), Some(227.0), Some(252.0)],
            ),
            (
                "i386",
                "ext",
                [Some(40.0), Some(119.0), Some(69.0), Some(172.0)],
            ),
            (
                "arm32",
                "old",
                [Some(202.0), Some(300.0), Some(475.0), Some(540.0)],
            ),
            (
                "arm32",
                "ext",
                [Some(180.0), Some(270.0), Some(330.0), Some(470.0)],
            ),
            (
                "arm32",
                "old-jit",
                [Some(26.0), Some(182.0), Some(37.0), Some(202.0)],
            ),
            ("arm32", "ext-jit", [None; 4]),
        ];
        let rows = published_rows();
        assert_eq!(rows.len(), thread.len() * 4);
        let cells = [
            ("fprog1", "hit"),
            ("fprog1", "miss"),
            ("fprog2", "hit"),
            ("fprog2", "miss"),
        ];
        for (arch, engine, values) in thread {
            for ((program, mode), want) in cells.iter().zip(values) {
                let row = rows
                    .iter()
                    .find(|r| {
                        r.arch == arch
                            && r.engine == engine
                            && r.program == *program
                            && r.mode == *mode
                    })
                    .unwrap_or_else(|| panic!("missing {arch} {engine} {program} {mode}"));
                assert_eq!(row.ns_per_call, want);
                assert_eq!(row.skbs, if *mode == "hit" { 1 } else { 10_000 });
                assert!(row.source.starts_with("published: Alexei Starovoitov"));
            }
        }
        assert_eq!(
            published_ns(&rows, "i386", "old-jit", "fprog1", "hit"),
            None
        );
        assert_eq!(
            published_ns(&rows, "arm32", "old-jit", "fprog2", "miss"),
            Some(202.0)
        );
    }
}
