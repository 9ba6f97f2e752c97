//! `bpflab exec`, `dump` and `engines` end to end: the built binary, its
//! output and its exit codes.

mod common;

use bpflab_engines::classic::read::{self, Format};
use common::{THREAD_PACKET_HEX, assert_user_error, bpflab, scenario_program};
use std::path::Path;

fn exec_lines(prog: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["exec", "--prog", prog.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = bpflab(&args);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    run.stdout.lines().map(str::to_string).collect()
}

#[test]
fn thread_programs_on_the_thread_packet_at_each_length() {
    // fprogs.md: zero-padded to each length.
    let table = [
        (
            "fprog1",
            [(10, 0), (30, 0), (38, 65535), (60, 65535), (100, 65535)],
        ),
        (
            "fprog2",
            [(10, 0), (30, 0), (38, 0), (60, 65535), (100, 65535)],
        ),
    ];
    for engine in bpflab_engines::Engine::available() {
        for (name, rows) in table {
            for (len, want) in rows {
                let len = len.to_string();
                let out = exec_lines(
                    &scenario_program(name),
                    &[
                        "--engine",
                        engine.name(),
                        "--len",
                        &len,
                        "--hex",
                        THREAD_PACKET_HEX,
                    ],
                );
                assert_eq!(out, [want.to_string()], "{engine} {name} len {len}");
            }
        }
    }
}

#[test]
fn one_line_per_packet_in_order() {
    let out = exec_lines(
        &scenario_program("fprog1"),
        &[
            "--hex",
            THREAD_PACKET_HEX,
            "--hex",
            "",
            "--hex",
            THREAD_PACKET_HEX,
        ],
    );
    assert_eq!(out, ["65535", "0", "65535"]);
}

#[test]
fn every_file_format_gives_the_same_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(scenario_program("fprog2")).unwrap();
    let insns = read::read(&text, None, None).unwrap();
    for format in Format::ALL {
        let path = dir.path().join(format!("prog.{format}"));
        std::fs::write(&path, read::write(&insns, format).unwrap()).unwrap();
        let out = exec_lines(&path, &["--len", "60", "--hex", THREAD_PACKET_HEX]);
        assert_eq!(out, ["65535"], "{format}");
        // An explicit --format works too, whatever the name.
        let renamed = dir.path().join("prog.any");
        std::fs::write(&renamed, read::write(&insns, format).unwrap()).unwrap();
        let fmt = format.to_string();
        let out = exec_lines(
            &renamed,
            &["--format", &fmt, "--len", "38", "--hex", THREAD_PACKET_HEX],
        );
        assert_eq!(out, ["0"], "{format}");
    }
}

/// Writes a `-ddd` program to a temporary file.
fn ddd(dir: &Path, name: &str, insns: &[(u16, u8, u8, u32)]) -> std::path::PathBuf {
    let mut text = format!("{}\n", insns.len());
    for (c, jt, jf, k) in insns {
        text.push_str(&format!("{c} {jt} {jf} {k}\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const SKF_AD: u32 = 0xffff_f000;

#[test]
fn metadata_reaches_ancillary_loads() {
    let dir = tempfile::tempdir().unwrap();
    let ld_ret = |off: u32| [(0x20, 0, 0, SKF_AD + off), (0x16, 0, 0, 0)];
    let cases = [
        (0, "", "2048"),
        (0, "protocol=0x86dd", "34525"),
        (4, "pkttype=3", "3"),
        (8, "", "2"),
        (8, "ifindex=7", "7"),
        (8, "dev=none", "0"),
        (20, "mark=0xdeadbeef", "3735928559"),
        (24, "queue=5", "5"),
        (28, "hatype=772", "772"),
        (32, "rxhash=99", "99"),
        (36, "cpu=1", "1"),
        (44, "vlan_tci=0x1234", "4660"),
        (48, "vlan_present=1", "1"),
        (60, "vlan_tpid=0x88a8", "34984"),
    ];
    for (off, meta, want) in cases {
        let prog = ddd(dir.path(), &format!("anc{off}"), &ld_ret(off));
        let mut extra = vec!["--hex", THREAD_PACKET_HEX];
        if !meta.is_empty() {
            extra.extend(["--meta", meta]);
        }
        assert_eq!(exec_lines(&prog, &extra), [want], "{meta}");
    }
    // nh moves the SKF_NET_OFF window: ldb [net + 0].
    let prog = ddd(
        dir.path(),
        "net",
        &[(0x30, 0, 0, 0xfff0_0000), (0x16, 0, 0, 0)],
    );
    assert_eq!(exec_lines(&prog, &["--hex", THREAD_PACKET_HEX]), ["69"]);
    assert_eq!(
        exec_lines(&prog, &["--meta", "nh=0", "--hex", THREAD_PACKET_HEX]),
        ["16"]
    );
}

#[test]
fn len_pads_and_cuts() {
    let dir = tempfile::tempdir().unwrap();
    let prog = ddd(dir.path(), "len", &[(0x80, 0, 0, 0), (0x16, 0, 0, 0)]);
    assert_eq!(exec_lines(&prog, &["--len", "0", "--hex", "aabb"]), ["0"]);
    assert_eq!(
        exec_lines(&prog, &["--len", "1500", "--hex", "aa"]),
        ["1500"]
    );
    assert_eq!(exec_lines(&prog, &["--hex", "aa bb:cc"]), ["3"]);
}

#[test]
fn dump_prints_tcpdump_d() {
    let run = bpflab(&[
        "dump",
        "--prog",
        scenario_program("fprog1").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // fprog1 as tcpdump -d lists it.
    let want = include_str!("../../scenarios/programs/fprog1.d");
    assert_eq!(run.stdout, want);
}

#[test]
fn dump_shows_the_conversion_side_by_side() {
    let prog = scenario_program("fprog1");
    for engine in ["ext", "ext-switch"] {
        let run = bpflab(&["dump", "--prog", prog.to_str().unwrap(), "--engine", engine]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert!(lines[0].starts_with("classic (tcpdump -d)"), "{}", lines[0]);
        // The prologue stands alone, then each classic instruction beside
        // its first eBPF instruction; LDX MSH expands to six.
        assert!(lines[1].ends_with("|    0: w0 ^= w0"), "{}", lines[1]);
        let msh = lines
            .iter()
            .position(|l| l.starts_with("(017) ldxb"))
            .unwrap();
        assert!(lines[msh].ends_with("|   21: r8 = r0"), "{}", lines[msh]);
        assert!(
            lines[msh + 5].ends_with("|   26: r0 = r8"),
            "{}",
            lines[msh + 5]
        );
        assert!(lines[msh + 6].starts_with("(018) ldh      [x + 14]"));
        assert!(run.stdout.contains("24 classic -> 35 eBPF instructions"));
        assert!(run.stdout.contains("0->3 1->4 2->5"));
    }
}

#[test]
fn dump_marks_each_instruction_in_the_native_code() {
    let prog = scenario_program("fprog1");
    let prog = prog.to_str().unwrap();
    for (engine, first, later) in [
        (
            "old-jit",
            "; (000) ldh      [12]",
            "; (017) ldxb     4*([14]&0xf)",
        ),
        (
            "ext-jit",
            ";    0: w0 ^= w0",
            ";   27: r0 = *(u16 *)skb[r7 + 14]",
        ),
    ] {
        let run = bpflab(&["dump", "--prog", prog, "--engine", engine]);
        if !cfg!(target_arch = "x86_64") {
            assert_user_error(&run, "not available");
            continue;
        }
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout.contains("bytes of x86_64 code"),
            "{}",
            run.stdout
        );
        let at = |needle: &str| {
            run.stdout
                .find(needle)
                .unwrap_or_else(|| panic!("{engine}: no `{needle}` in {}", run.stdout))
        };
        assert!(at(first) < at(later));
        // Every marker is followed by the instruction at its address.
        assert!(run.stdout.contains("  0000: "));
    }
}

#[test]
fn engines_lists_old_as_available() {
    let run = bpflab(&["engines"]);
    assert_eq!(run.code, 0);
    let old = run.stdout.lines().find(|l| l.starts_with("old ")).unwrap();
    assert!(old.contains("available"), "{old}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let fprog1 = scenario_program("fprog1");
    let fprog1 = fprog1.to_str().unwrap();
    let hex = THREAD_PACKET_HEX;

    let missing = dir.path().join("missing.dd");
    let run = bpflab(&["exec", "--prog", missing.to_str().unwrap(), "--hex", hex]);
    assert_user_error(&run, "cannot read");

    let malformed = dir.path().join("bad.dd");
    std::fs::write(&malformed, "{ 0x28, 0, 0, 12 },\n{ 0x6, 0, 0 },\n").unwrap();
    let run = bpflab(&["exec", "--prog", malformed.to_str().unwrap(), "--hex", hex]);
    assert_user_error(&run, "bad.dd:2: expected 4 fields");

    let bin = dir.path().join("odd.bin");
    std::fs::write(&bin, [6u8, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap();
    let run = bpflab(&["exec", "--prog", bin.to_str().unwrap(), "--hex", hex]);
    assert_user_error(&run, "odd.bin: byte 8:");

    let unchecked = ddd(dir.path(), "nojump.ddd", &[(0x15, 5, 0, 1), (6, 0, 0, 0)]);
    let run = bpflab(&["exec", "--prog", unchecked.to_str().unwrap(), "--hex", hex]);
    assert_user_error(&run, "instruction 0");
    assert!(run.stderr.contains("jump target 6"), "{}", run.stderr);

    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, [0xffu8, 0x00, 0x13, 0x37]).unwrap();
    let run = bpflab(&["exec", "--prog", garbage.to_str().unwrap(), "--hex", hex]);
    assert_user_error(&run, "not text");

    let too_long = dir.path().join("long.ddd");
    let insns = vec![(6u16, 0u8, 0u8, 0u32); 4097];
    let too_long = ddd(
        dir.path(),
        too_long.file_name().unwrap().to_str().unwrap(),
        &insns,
    );
    let run = bpflab(&["exec", "--prog", too_long.to_str().unwrap(), "--hex", hex]);
    assert_user_error(&run, "4097 instructions");

    for (args, needle) in [
        (vec!["--hex", "abc"], "--hex #1: odd number"),
        (vec!["--hex", "00", "--hex", "0g"], "--hex #2: character 2"),
        (
            vec!["--hex", hex, "--meta", "colour=1"],
            "unknown key `colour`",
        ),
        (
            vec!["--hex", hex, "--meta", "queue=70000"],
            "queue is at most",
        ),
        (
            vec!["--hex", hex, "--engine", "fast"],
            "unknown engine `fast` (engines: old,",
        ),
        (
            vec!["--hex", hex, "--engine", "ext-jt"],
            "unknown engine `ext-jt`: did you mean `ext-jit`? (engines: old,",
        ),
        (
            vec!["--hex", hex, "--len", "99999999999"],
            "--len 99999999999 is too large",
        ),
        (
            vec!["--hex", hex, "--format", "xml"],
            "unknown format `xml`",
        ),
    ] {
        let mut full = vec!["exec", "--prog", fprog1];
        full.extend(args);
        assert_user_error(&bpflab(&full), needle);
    }
    // clap usage errors also exit 2.
    assert_eq!(bpflab(&["exec", "--prog", fprog1]).code, 2);
    assert_eq!(bpflab(&["frobnicate"]).code, 2);
}
