//! The thread's two filter programs, kept as `tcpdump -dd` data files under
//! `scenarios/programs/` and embedded at build time, so that every scenario,
//! test and benchmark runs exactly the bytes the thread measured.
//!
//! Each file's comment header records where it came from; the tcpdump
//! expression is read from its `# expression:` line rather than repeated in
//! code, so the file stays the one place that says what the program is.
//! `fprog1.d` beside them is fprog1 as `tcpdump -d` lists it: the tests
//! read it back and compare `bpflab dump` with it.

use bpflab_engines::classic::read::{Format, read};
use bpflab_engines::classic::{Program, check};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// What the programs return for a packet they keep: its first 65535
/// bytes (tcpdump's snap length), i.e. all of it.
pub const ACCEPT: u32 = 0xffff;

/// What the programs return for a packet they drop.
pub const REJECT: u32 = 0;

/// One value for each of the thread's programs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PerProgram<T> {
    /// The value for [`ScenarioProgram::Fprog1`].
    pub fprog1: T,
    /// The value for [`ScenarioProgram::Fprog2`].
    pub fprog2: T,
}

impl<T> PerProgram<T> {
    /// The value for `program`.
    pub fn get(&self, program: ScenarioProgram) -> &T {
        match program {
            ScenarioProgram::Fprog1 => &self.fprog1,
            ScenarioProgram::Fprog2 => &self.fprog2,
        }
    }
}

/// One of the programs the thread measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScenarioProgram {
    /// `port 22` (24 instructions).
    Fprog1,
    /// `tcp port 22 and` a non-empty TCP payload (30 instructions).
    Fprog2,
}

/// A program name that is not one of [`ScenarioProgram::ALL`].
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("unknown program `{0}` (expected fprog1 or fprog2)")]
pub struct UnknownProgram(pub String);

impl ScenarioProgram {
    /// Every program, in the thread's order.
    pub const ALL: [ScenarioProgram; 2] = [ScenarioProgram::Fprog1, ScenarioProgram::Fprog2];

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            ScenarioProgram::Fprog1 => "fprog1",
            ScenarioProgram::Fprog2 => "fprog2",
        }
    }

    /// The program with this name.
    pub fn from_name(name: &str) -> Option<ScenarioProgram> {
        ScenarioProgram::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The embedded `tcpdump -dd` file, comment header included.
    pub fn dd_text(self) -> &'static str {
        match self {
            ScenarioProgram::Fprog1 => include_str!("../programs/fprog1.dd"),
            ScenarioProgram::Fprog2 => include_str!("../programs/fprog2.dd"),
        }
    }

    /// The file's path relative to the `scenarios` crate, for messages.
    pub fn file_name(self) -> &'static str {
        match self {
            ScenarioProgram::Fprog1 => "programs/fprog1.dd",
            ScenarioProgram::Fprog2 => "programs/fprog2.dd",
        }
    }

    /// The tcpdump expression the program was compiled from, as the file's
    /// `# expression:` line gives it.
    pub fn expression(self) -> &'static str {
        header_field(self.dd_text(), "expression")
            .next()
            .unwrap_or_else(|| panic!("{} has no `# expression:` line", self.file_name()))
    }

    /// The tcpdump command line the file was produced with.
    pub fn command(self) -> &'static str {
        header_field(self.dd_text(), "command")
            .next()
            .unwrap_or_else(|| panic!("{} has no `# command:` line", self.file_name()))
    }

    /// The file's `# source:` lines joined with spaces: where it comes from.
    pub fn source(self) -> String {
        header_field(self.dd_text(), "source")
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The program, read and checked. The files are embedded and tested,
    /// so a failure here is a broken build, not bad input.
    pub fn program(self) -> Program {
        let insns = read(self.dd_text().as_bytes(), Some(Format::Dd), None)
            .unwrap_or_else(|e| panic!("embedded {} does not read: {e}", self.file_name()));
        check(insns)
            .unwrap_or_else(|e| panic!("embedded {} fails the checker: {e}", self.file_name()))
    }
}

/// The values of the `# key: value` comment lines for `key`, in file order.
fn header_field<'a>(text: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.lines().filter_map(move |line| {
        let rest = line.trim().strip_prefix('#')?.trim_start();
        let value = rest.strip_prefix(key)?.strip_prefix(':')?;
        Some(value.trim())
    })
}

impl fmt::Display for ScenarioProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ScenarioProgram {
    type Err = UnknownProgram;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScenarioProgram::from_name(s).ok_or_else(|| UnknownProgram(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in ScenarioProgram::ALL {
            assert_eq!(ScenarioProgram::from_name(p.name()), Some(p));
            assert_eq!(p.to_string().parse::<ScenarioProgram>(), Ok(p));
        }
        assert_eq!(ScenarioProgram::from_name("fprog3"), None);
        assert_eq!(
            "FPROG1".parse::<ScenarioProgram>(),
            Err(UnknownProgram("FPROG1".into()))
        );
    }

    #[test]
    fn programs_read_and_check_with_the_thread_lengths() {
        assert_eq!(ScenarioProgram::Fprog1.program().len(), 24);
        assert_eq!(ScenarioProgram::Fprog2.program().len(), 30);
    }

    #[test]
    fn programs_start_and_end_as_the_thread_shows() {
        for p in ScenarioProgram::ALL {
            let prog = p.program();
            let insns = prog.insns();
            let first = insns[0];
            assert_eq!((first.code, first.jt, first.jf, first.k), (0x28, 0, 0, 12));
            let last = insns[insns.len() - 1];
            assert_eq!((last.code, last.k), (0x06, 0));
            let accept = insns[insns.len() - 2];
            assert_eq!((accept.code, accept.k), (0x06, 0xffff));
        }
    }

    #[test]
    fn expressions_come_from_the_file_headers() {
        assert_eq!(ScenarioProgram::Fprog1.expression(), "port 22");
        assert_eq!(
            ScenarioProgram::Fprog2.expression(),
            "tcp port 22 and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)"
        );
        for p in ScenarioProgram::ALL {
            assert!(p.command().starts_with("tcpdump -i eth0 "));
            assert!(p.command().contains(p.expression()));
            assert!(p.source().contains("libpcap 1.10.3"), "{}", p.source());
        }
    }

    #[test]
    fn per_program_picks_by_program() {
        let v = PerProgram {
            fprog1: "a",
            fprog2: "b",
        };
        assert_eq!(*v.get(ScenarioProgram::Fprog1), "a");
        assert_eq!(*v.get(ScenarioProgram::Fprog2), "b");
    }

    #[test]
    fn header_fields_need_the_exact_key() {
        let text =
            "# expression: a\n#expressions: b\n# source: x\n{ 0x6, 0, 0, 0 },\n# source: y\n";
        assert_eq!(header_field(text, "expression").collect::<Vec<_>>(), ["a"]);
        assert_eq!(header_field(text, "source").collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(header_field(text, "name").count(), 0);
    }
}
