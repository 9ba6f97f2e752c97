//! Hostile command-line input, as tables: huge and endless files, binary
//! garbage, absurd counts and numbers, truncated hex and bytecode,
//! unreadable paths. Each case must end as the project's rule says: exit
//! 2, one printable line on stderr naming the file or argument, no panic,
//! and no file left in the output folders of `run` and `plot`. Each run is
//! bounded in time and, where `sh` can set it, in memory, so a reader or
//! an allocation that is not bounded fails here instead of hanging.
#![cfg(unix)]

mod common;

use bpflab_scenarios::file::{MAX_FILE_BYTES, MAX_PCAP_BYTES, MAX_TOTAL_PACKET_BYTES};
use std::ffi::{OsStr, OsString};
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The program file limit of `bench/src/input.rs` (a private item).
const MAX_PROGRAM_FILE_BYTES: u64 = 4 << 20;

/// Longer than any refusal takes, even in a debug build under qemu.
const DEADLINE: Duration = Duration::from_secs(120);

/// Address space for one run (`ulimit -v`, KiB): far above what a refusal
/// needs, below what an unbounded read or allocation reaches.
const MEMORY_KIB: u64 = 1 << 20;

/// One hostile invocation.
struct Case {
    args: Vec<OsString>,
    needles: Vec<String>,
    /// Folders that must hold no file afterwards.
    outputs: Vec<PathBuf>,
}

/// A scratch folder holding `fprog1.dd` and `good.csv`, and the cases
/// that use it.
struct Lab {
    dir: tempfile::TempDir,
    cases: Vec<Case>,
}

impl Lab {
    fn new() -> Self {
        let lab = Lab {
            dir: tempfile::tempdir().unwrap(),
            cases: Vec::new(),
        };
        let published = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/published.csv");
        lab.file("good.csv", std::fs::read(published).unwrap());
        lab.file(
            "fprog1.dd",
            std::fs::read(common::scenario_program("fprog1")).unwrap(),
        );
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn shown(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A file of `len` bytes that takes no disk space.
    fn sparse(&self, name: &str, len: u64) {
        let file = std::fs::File::create(self.path(name)).unwrap();
        file.set_len(len).unwrap();
    }

    /// A scenario file `name` running `program` on one `[[packet]]` of
    /// `packet`, with `extra` at the end.
    fn scenario(&self, name: &str, program: &str, packet: &str, extra: &str) {
        let text = format!(
            "name = \"h\"\n[program]\nfile = \"{program}\"\n[[packet]]\n{packet}\nexpect = 0\n{extra}"
        );
        self.file(name, text);
    }

    /// Adds every row of `rows`: `ARGS => NEEDLE | NEEDLE...`, the
    /// arguments split at blanks (see [`Lab::add`]), then what the error
    /// line must contain.
    fn table(&mut self, rows: &[impl AsRef<str>]) {
        for row in rows {
            let (args, needles) = row.as_ref().split_once(" => ").unwrap();
            let args: Vec<&str> = args.split_whitespace().collect();
            let needles: Vec<&str> = needles.split(" | ").map(str::trim).collect();
            self.add(&args, &needles);
        }
    }

    /// Adds `bpflab ARGS`, where `@NAME` is the scratch file NAME.
    fn add(&mut self, args: &[&str], needles: &[&str]) {
        let args = args
            .iter()
            .map(|a| match a.strip_prefix('@') {
                Some(name) => self.path(name).into_os_string(),
                None => a.into(),
            })
            .collect();
        self.add_os(args, needles);
    }

    /// Adds `bpflab ARGS`, filled in: `exec` runs `fprog1.dd` on the
    /// thread's packet unless told otherwise; `run` is quick, quiet and on
    /// `old`; `run` and `plot` write into fresh folders unless told where.
    fn add_os(&mut self, mut args: Vec<OsString>, needles: &[&str]) {
        let given = |args: &[OsString], option: &str| {
            args.iter()
                .any(|a| a.to_string_lossy().split('=').next() == Some(option))
        };
        let mut outputs = Vec::new();
        let mut fresh = |args: &mut Vec<OsString>, option: &str| {
            if !given(args, option) {
                let out = self.dir.path().join(format!("out-{}", self.cases.len()));
                let out = out.join(option.trim_start_matches('-'));
                args.extend([option.into(), out.clone().into()]);
                outputs.push(out);
            }
        };
        match args[0].to_str() {
            Some("exec") => {
                if !given(&args, "--prog") && !given(&args, "--bytecode") {
                    args.extend(["--prog".into(), self.path("fprog1.dd").into()]);
                }
                if !given(&args, "--hex") {
                    args.extend(["--hex".into(), common::THREAD_PACKET_HEX.into()]);
                }
            }
            Some("run") => {
                args.extend(["--quick", "-q", "--engines", "old"].map(OsString::from));
                fresh(&mut args, "--out");
                fresh(&mut args, "--plots");
            }
            Some("plot") => fresh(&mut args, "--out"),
            _ => {}
        }
        let needles = needles.iter().map(|n| n.to_string()).collect();
        self.cases.push(Case {
            args,
            needles,
            outputs,
        });
    }

    /// Runs every case; panics with every failure at once.
    fn check(&self) {
        let failures: Vec<String> = self
            .cases
            .iter()
            .filter_map(|case| {
                let line: Vec<_> = case.args.iter().map(|a| a.to_string_lossy()).collect();
                let line: String = line.join(" ").chars().take(160).collect();
                let line = line.replace(&self.dir.path().display().to_string(), "$TMP");
                check_case(case)
                    .err()
                    .map(|e| format!("bpflab {line}\n    {e}"))
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            self.cases.len(),
            failures.join("\n")
        );
    }
}

/// `n` pseudo-random bytes (xorshift), not UTF-8: the first is 0xff.
fn garbage(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut bytes: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    if let Some(first) = bytes.first_mut() {
        *first = 0xff;
    }
    bytes
}

/// `first`, then `n` pseudo-random printable ASCII characters.
fn printable(n: usize, seed: u64, first: &str) -> String {
    let rest = garbage(n, seed)
        .into_iter()
        .map(|b| char::from(b' ' + b % 95));
    first.chars().chain(rest).collect()
}

/// Takes every permission from `path`; false (with the reason printed)
/// when it still reads, as it does for root.
fn make_unreadable(path: &Path) -> bool {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable = std::fs::read(path).is_ok();
    if readable {
        println!("skipped: {} reads with mode 000 (root?)", path.display());
    }
    !readable
}

/// Makes folder `path` read-only; false (with the reason printed) when
/// this user still writes in it, as root does.
fn make_unwritable(path: &Path) -> bool {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o555)).unwrap();
    let writable = std::fs::write(path.join("probe"), "").is_ok();
    if writable {
        println!(
            "skipped: {} is writable with mode 555 (root?)",
            path.display()
        );
    }
    !writable
}

/// The command for one run: the binary under `ulimit -v` when it runs
/// natively, else as the common helper starts it (qemu-arm).
fn command(args: &[OsString]) -> std::process::Command {
    let runner = std::env::var_os("CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER");
    if runner.is_some() || !Path::new("/bin/sh").exists() {
        let mut cmd = common::command();
        cmd.args(args);
        return cmd;
    }
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_bpflab"))
        .args(args);
    cmd
}

/// Runs one case and checks the rule.
fn check_case(case: &Case) -> Result<(), String> {
    let mut child = command(&case.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start bpflab: {e}"))?;
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {DEADLINE:?}: killed"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let shown: String = stderr.chars().take(300).collect();
    if status.code() != Some(2) {
        return Err(format!("{status}, not exit 2; stderr: {shown}"));
    }
    if stderr.contains("panicked") || !stdout.is_empty() {
        return Err(format!("a panic or output: {shown} {stdout}"));
    }
    let line = stderr.strip_suffix('\n').unwrap_or("");
    let breaks = |c: char| c.is_control() && c != '\t' || matches!(c, '\u{2028}' | '\u{2029}');
    let message = line.strip_prefix("bpflab: ").unwrap_or("");
    if message.trim().is_empty() || line.contains(breaks) || line.len() > 4096 {
        return Err(format!("not one printable `bpflab: ` line: {shown:?}"));
    }
    if let Some(needle) = case.needles.iter().find(|n| !line.contains(n.as_str())) {
        return Err(format!("`{needle}` is not in: {line}"));
    }
    if let Some(file) = case.outputs.iter().find_map(|out| first_file(out)) {
        return Err(format!("left behind: {}", file.display()));
    }
    Ok(())
}

/// Any file under `dir` (which may not exist).
fn first_file(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
        let path = entry.path();
        if path.is_dir() {
            first_file(&path)
        } else {
            Some(path)
        }
    })
}

#[test]
fn huge_and_endless_files_are_refused_with_a_bounded_read() {
    let mut lab = Lab::new();
    lab.sparse("big.dd", MAX_PROGRAM_FILE_BYTES + 1);
    lab.sparse("big.bin", MAX_PROGRAM_FILE_BYTES + 8);
    lab.sparse("big.toml", MAX_FILE_BYTES + 1);
    lab.sparse("big.pcap", MAX_PCAP_BYTES + 1);
    lab.scenario("s-big.toml", "fprog1.dd", "pcap = \"big.pcap\"", "");
    lab.sparse("big.csv", bpflab::plot::MAX_CSV_BYTES + 1);
    // Builders make 64 KiB from a few bytes of TOML: the file's size does
    // not bound what its packets hold.
    let padded = "[[packet]]\nbuilder = { pad = 65535 }\nexpect = 0\n";
    let many = padded.repeat(MAX_TOTAL_PACKET_BYTES / 65_535 + 1);
    let text = format!("name = \"h\"\n[program]\nfile = \"fprog1.dd\"\n{many}");
    lab.file("s-many.toml", text);
    lab.table(&[
        "exec --prog @big.dd => big.dd: too large for a program file: 4194305 bytes",
        "exec --prog @big.bin => big.bin: too large for a program file",
        "run --scenario @big.toml => big.toml: the scenario file is 1048577 bytes; at most",
        "run --scenario @s-big.toml => s-big.toml:5: | big.pcap is 67108865 bytes; at most",
        "run --scenario @s-many.toml => s-many.toml:3076: packet 1025: | in all",
        "plot @big.csv => big.csv: too large for a result CSV: 16777217 bytes",
    ]);
    if Path::new("/dev/zero").exists() {
        lab.scenario("s-zprog.toml", "/dev/zero", "hex = \"00\"", "");
        lab.scenario("s-zpcap.toml", "fprog1.dd", "pcap = \"/dev/zero\"", "");
        lab.table(&[
            "exec --prog /dev/zero => /dev/zero: too large for a program file: more than",
            "exec --prog /dev/zero --format bin => /dev/zero: too large for a program file",
            "dump --prog /dev/zero => /dev/zero: too large for a program file",
            "run --scenario /dev/zero => /dev/zero: the scenario file gives more than",
            "run --scenario @s-zprog.toml => s-zprog.toml:3: | /dev/zero gives more than",
            "run --scenario @s-zpcap.toml => s-zpcap.toml:5: | /dev/zero gives more than",
            "plot /dev/zero => /dev/zero: too large for a result CSV: more than",
        ]);
    } else {
        println!("skipped: no /dev/zero here");
    }
    lab.check();
}

#[test]
fn binary_garbage_in_every_format_is_refused() {
    let mut lab = Lab::new();
    lab.file("garbage.dd", garbage(4096, 1));
    lab.file("garbage.bin", garbage(4097, 2));
    lab.file("odd.dd", garbage(4095, 3));
    lab.file("even.bin", garbage(4096, 4));
    // One 3 MiB line: the error quotes it cut short (the line limit above).
    let mut oneline = b"{ 0x28, 0, 0, ".to_vec();
    oneline.extend(std::iter::repeat_n(b'x', 3 << 20));
    lab.file("oneline.dd", oneline);
    lab.file("text.dd", printable(2000, 5, "{"));
    lab.file("text.comma", printable(2000, 6, "3,"));
    lab.file("text.ddd", format!("2\n{}\n", printable(2000, 7, "6 ")));
    lab.file("words.txt", "hello world\n");
    // A line the error quotes, with control characters and U+2028.
    lab.file(
        "ctl.dd",
        "{ 0x6, 0, 0, 0 },\nbad\r\x0b\x1b[2Jline\u{2028}more\0\n",
    );
    lab.file("garbage.toml", garbage(3000, 8));
    lab.file("text.toml", printable(3000, 9, "name = "));
    lab.file("garbage.pcap", garbage(5000, 10));
    lab.scenario("s-gpcap.toml", "fprog1.dd", "pcap = \"garbage.pcap\"", "");
    // A pcap header (Ethernet), then a record claiming 4 GiB.
    let mut pcap = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0].to_vec();
    for word in [0, 0, 65535, 1, 0, 0, u32::MAX, u32::MAX] {
        pcap.extend(u32::to_le_bytes(word));
    }
    lab.file("claims.pcap", [pcap, vec![0; 64]].concat());
    lab.scenario("s-claims.toml", "fprog1.dd", "pcap = \"claims.pcap\"", "");
    lab.scenario("s-gprog.toml", "garbage.dd", "hex = \"00\"", "");
    lab.file("garbage.csv", garbage(3000, 11));
    lab.file("text.csv", printable(3000, 12, "run_id,"));
    lab.table(&[
        "exec --prog @garbage.dd => garbage.dd: not text",
        "exec --prog @garbage.dd --format dd => garbage.dd:1: not UTF-8 text",
        "exec --prog @garbage.dd --format ddd => garbage.dd:1: not UTF-8 text",
        "exec --prog @garbage.dd --format comma => garbage.dd:1: not UTF-8 text",
        "exec --prog @garbage.bin => garbage.bin: byte 4096: 1 trailing bytes",
        "exec --prog @odd.dd --format bin => odd.dd: byte 4088: 7 trailing bytes",
        "exec --prog @even.bin => even.bin: ",
        "exec --prog @text.dd => text.dd:1: expected `{ code, jt, jf, k },`",
        "exec --prog @text.comma => text.comma:1: instruction 0",
        "exec --prog @text.ddd => text.ddd:2: ",
        "exec --prog @words.txt => words.txt:1: cannot tell the format",
        "exec --prog @oneline.dd => oneline.dd:1: expected | xxxxxxxxx...`",
        r"exec --prog @ctl.dd => ctl.dd:2: expected | found `bad\r\u{b}\u{1b}[2Jline\u{2028}",
        "dump --prog @garbage.bin => garbage.bin: byte 4096",
        "run --scenario @garbage.toml => garbage.toml:1: not UTF-8 text",
        "run --scenario @text.toml => text.toml:1: ",
        "run --scenario @s-gpcap.toml => s-gpcap.toml:5: | garbage.pcap: not a pcap file",
        "run --scenario @s-claims.toml => s-claims.toml:5: | claims.pcap: record 1",
        "run --scenario @s-gprog.toml => s-gprog.toml:3: | garbage.dd: not text",
        "plot @garbage.csv => garbage.csv:1: not a CSV header",
        "plot @text.csv => text.csv:1: ",
    ]);
    lab.check();
}

#[test]
fn programs_of_no_or_too_many_instructions_are_refused() {
    let mut lab = Lab::new();
    lab.file("long.dd", "{ 0x6, 0, 0, 0x00000000 },\n".repeat(4097));
    lab.file("long.ddd", format!("4097\n{}", "6 0 0 0\n".repeat(4097)));
    lab.file("long.bin", [6u8, 0, 0, 0, 0, 0, 0, 0].repeat(4097));
    lab.file("empty.dd", "");
    lab.file("comments.dd", "# nothing\n\n// here\n");
    lab.file("empty.bin", "");
    lab.file("zero.ddd", "0\n");
    lab.file("huge.ddd", "99999999999999999999999\n6 0 0 0\n");
    lab.file("big.ddd", "4294967296\n6 0 0 0\n");
    lab.scenario("s-empty.toml", "empty.dd", "hex = \"00\"", "");
    lab.scenario("s-long.toml", "long.bin", "hex = \"00\"", "");
    lab.table(&[
        "exec --prog @long.dd => long.dd: | 4097 instructions",
        "exec --prog @long.ddd => long.ddd: | 4097 instructions",
        "exec --prog @long.bin => long.bin: | 4097 instructions",
        "exec --prog @empty.dd => empty.dd: no instructions",
        "exec --prog @comments.dd => comments.dd: no instructions",
        "exec --prog @empty.bin => empty.bin: the program is empty",
        "exec --prog @zero.ddd => zero.ddd: the program is empty",
        "exec --bytecode 0 => --bytecode: the program is empty",
        "exec --prog @huge.ddd => huge.ddd:1: expected the instruction count",
        "exec --prog @big.ddd => big.ddd:2: the count says 4294967296 instructions",
        "run --scenario @s-empty.toml => s-empty.toml:3: | empty.dd: no instructions",
        "run --scenario @s-long.toml => s-long.toml:3: | 4097 instructions",
    ]);
    let comma = format!("4097{}", ",6 0 0 0".repeat(4097));
    lab.add(
        &["exec", "--bytecode", &comma],
        &["--bytecode: ", "4097 instructions"],
    );
    lab.check();
}

#[test]
fn truncated_hex_and_bytecode_are_refused() {
    let mut lab = Lab::new();
    lab.scenario("s-hex.toml", "fprog1.dd", "hex = \"0\"", "");
    lab.table(&[
        "exec --hex abc => --hex #1: odd number of hex digits",
        "exec --hex 7 => --hex #1: odd number of hex digits",
        "exec --hex 00:1 => --hex #1: odd number of hex digits",
        "exec --hex 00 --hex 0 => --hex #2: odd number of hex digits",
        "exec --hex 0:0 => --hex #1: lone hex digit at character 1",
        "exec --hex zz => --hex #1: character 1 `z` is not a hex digit",
        "exec --hex 0x10 => --hex #1: character 2 `x` is not a hex digit",
        "exec --hex é1 => --hex #1: character 1 `é` is not a hex digit",
        "exec --hex 00\u{7f} => --hex #1: character 3 `\\u{7f}` is not a hex digit",
        "run --scenario @s-hex.toml => s-hex.toml:5: packet 1: hex: odd number",
    ]);
    lab.add(
        &["exec", "--hex", "0 0"],
        &["--hex #1: lone hex digit at character 1"],
    );
    // Comma-form programs have blanks inside: rows of their own.
    for (code, needle) in [
        ("3,6 0 0 0", "the count says 3 instructions, found 1"),
        ("2,6 0 0 0,", "the count says 2 instructions, found 1"),
        ("1,6 0 0", "expected 4 fields"),
        ("1,6 0 0 0 0", "expected 4 fields"),
        ("1,6 0 0 x", "k `x` is not a number"),
        ("x,6 0 0 0", "expected the instruction count, found `x`"),
        ("1,6 0 0 99999999999", "k 99999999999 is out of range"),
        ("1,65536 0 0 0", "code 65536 is out of range"),
        ("1,6 256 0 0", "jt 256 is out of range"),
        ("", "no program"),
        ("1,6 0 0 0\n1,6 0 0 0", "the comma form is one line"),
        ("1,21 0 0 0", "instruction 0"),
    ] {
        lab.add(&["exec", "--bytecode", code], &["--bytecode: ", needle]);
    }
    let needle = "--bytecode: line 1: expected the instruction count, found `-1`";
    lab.add(&["exec", "--bytecode=-1,6 0 0 0"], &[needle]);
    lab.check();
}

#[test]
fn absurd_numbers_are_refused_before_anything_is_allocated() {
    let mut lab = Lab::new();
    lab.table(&[
        "exec --len 99999999999 => --len 99999999999 is too large",
        "exec --len 1048577 => --len 1048577 is too large (at most 1048576 bytes)",
        "exec --len=-1 => invalid value '-1' for '--len <N>'",
        "exec --len -1 => '-1'",
        "exec --len 18446744073709551616 => for '--len <N>': number too large",
        "exec --meta mark=0x1ffffffff => --meta: `mark=0x1ffffffff`: mark is at most 0xffffffff",
        "exec --meta nh=0x100000000 => --meta: `nh=0x100000000`: nh is at most 0xffffffff",
        "exec --meta mac=4294967296 => --meta: `mac=4294967296`: mac is at most 0xffffffff",
        "exec --meta nh=-1 => --meta: `nh=-1`: `-1` is not a number",
        "exec --meta mac=99999999999999999999 => --meta: `mac=99999999999999999999`: | number",
        "exec --meta nh= => --meta: `nh=`: `` is not a number",
        "exec --meta mac=0x => --meta: `mac=0x`: `0x` is not a number",
        "exec --meta pkttype=8 => --meta: `pkttype=8`: pkttype is at most 0x7",
    ]);
    // --skbs: at most 1 Mi skbs, and at most 1 GiB of skb buffers in miss
    // mode (2 KiB each), both checked before anything is allocated.
    let miss = "--skbs 600000: miss mode would allocate 1171 MiB of skb buffers";
    lab.table(&[
        "run --skbs 0 => --skbs 0: a scenario needs at least one skb",
        "run --skbs 18446744073709551616 => for '--skbs <N>': number too large",
        "run --skbs 100000000000 => --skbs 100000000000: at most 1048576",
        "run --skbs 1048577 => --skbs 1048577: at most 1048576",
        "run --skbs=-1 => invalid value '-1' for '--skbs <N>'",
        &format!("run --skbs 600000 => {miss}"),
        &format!("run --skbs 600000 --modes hit,miss => {miss}"),
    ]);
    for (name, skbs) in [
        ("s-0.toml", "0"),
        ("s-neg.toml", "-1"),
        ("s-u64.toml", "99999999999999999999"),
        ("s-1mi.toml", "1048577"),
    ] {
        let run = format!("[run]\nskbs = {skbs}\n");
        lab.scenario(name, "fprog1.dd", "hex = \"00\"", &run);
    }
    let pad = "builder = { pad = 65535 }";
    lab.scenario("s-20k.toml", "fprog1.dd", pad, "[run]\nskbs = 20000\n");
    lab.scenario(
        "s-pad.toml",
        "fprog1.dd",
        "builder = { pad = 99999999999 }",
        "",
    );
    lab.table(&[
        "run --scenario @s-0.toml => s-0.toml:8: [run] skbs 0: between 1 and 1048576",
        "run --scenario @s-neg.toml => s-neg.toml:8: `skbs`: invalid value: integer `-1`",
        "run --scenario @s-u64.toml => s-u64.toml:8: `skbs`: ",
        "run --scenario @s-1mi.toml => s-1mi.toml:8: [run] skbs 1048577: between 1 and",
        "run --scenario @s-20k.toml => s-20k.toml: [run] skbs 20000: miss mode would allocate",
        "run --scenario @s-pad.toml => s-pad.toml:5: packet 1: builder: `pad` is at most 65535",
    ]);
    lab.check();
}

#[test]
fn unreadable_paths_are_refused() {
    let mut lab = Lab::new();
    std::fs::create_dir(lab.path("folder")).unwrap();
    lab.file("file.dd", "{ 0x6, 0, 0, 0 },\n");
    for (name, why) in [
        ("missing", "No such file"),
        ("folder", "Is a directory"),
        ("file.dd/x", "Not a directory"),
    ] {
        let shown = lab.shown(name);
        let tag = name.replace('/', "-");
        lab.scenario(&format!("s-{tag}.toml"), &shown, "hex = \"00\"", "");
        let pcap = format!("pcap = \"{shown}\"");
        lab.scenario(&format!("p-{tag}.toml"), "fprog1.dd", &pcap, "");
        lab.table(&[
            format!("exec --prog @{name} => cannot read {shown}: {why}"),
            format!("dump --prog @{name} => cannot read {shown}: {why}"),
            format!("run --scenario @{name} => {shown}: cannot read the scenario file: {why}"),
            format!("run --scenario @s-{tag}.toml => cannot read program file {shown}: {why}"),
            format!("run --scenario @p-{tag}.toml => cannot read pcap file {shown}: {why}"),
            format!("plot @{name} => {shown}: cannot be read: {why}"),
            // A good file first: no chart before every input is checked.
            format!("plot @good.csv @{name} => {shown}: cannot be read: {why}"),
        ]);
    }

    lab.file("locked.dd", std::fs::read(lab.path("fprog1.dd")).unwrap());
    lab.file("locked.toml", "name = \"x\"\n");
    lab.file("locked.csv", std::fs::read(lab.path("good.csv")).unwrap());
    let locked = ["locked.dd", "locked.toml", "locked.csv"];
    if locked.iter().all(|f| make_unreadable(&lab.path(f))) {
        lab.table(&[
            "exec --prog @locked.dd => locked.dd: Permission denied",
            "run --scenario @locked.toml => locked.toml: cannot read the scenario file: Permission",
            "plot @locked.csv => locked.csv: cannot be read: Permission denied",
        ]);
    }

    // Not UTF-8: the error shows the name with U+FFFD.
    let bad = |ext: &str| {
        let name = OsStr::from_bytes(b"bad\xff").to_os_string();
        lab.path("x").with_file_name(name).with_extension(ext)
    };
    let (bad_dd, bad_toml, bad_csv) = (bad("dd"), bad("toml"), bad("csv"));
    std::fs::write(&bad_dd, "{ 0x6, 0, 0 },\n").unwrap();
    for (command, path, needle) in [
        ("exec --prog", bad_dd, "bad\u{fffd}.dd:1: expected 4 fields"),
        (
            "run --scenario",
            bad_toml,
            "bad\u{fffd}.toml: cannot read the scenario file",
        ),
        ("plot", bad_csv, "bad\u{fffd}.csv: cannot be read"),
    ] {
        let mut args: Vec<OsString> = command.split(' ').map(OsString::from).collect();
        args.push(path.into_os_string());
        lab.add_os(args, &[needle]);
    }

    // Output folders that are files, lie under a file, or are read-only.
    lab.file("plain", "x");
    let folder = |name: &str| format!("output folder {} cannot be created", lab.shown(name));
    let (plain, under, locked) = (
        folder("plain"),
        folder("plain/sub"),
        folder("read-only/sub"),
    );
    lab.table(&[
        format!("run --out @plain => {plain}: File exists"),
        format!("run --plots @plain => {plain}: File exists"),
        format!("run --out @plain/sub => {under}: Not a directory"),
        format!("plot @good.csv --out @plain => {plain}: File exists"),
        format!("plot @good.csv --out @plain/sub => {under}: Not a directory"),
    ]);
    std::fs::create_dir(lab.path("read-only")).unwrap();
    if make_unwritable(&lab.path("read-only")) {
        let denied = format!("output folder {} is not writable", lab.shown("read-only"));
        lab.table(&[
            format!("run --out @read-only => {denied}"),
            format!("plot @good.csv --out @read-only => {denied}"),
            format!("plot @good.csv --out @read-only/sub => {locked}: Permission denied"),
        ]);
    }
    lab.check();
    // Writable again, so that the scratch folder can be removed.
    let writable = std::fs::Permissions::from_mode(0o755);
    let _ = std::fs::set_permissions(lab.path("read-only"), writable);
}
