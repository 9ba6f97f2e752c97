//! `bpflab dump --format`: the classic program written in every form the
//! readers take, read back as the same program; the binary form kept off
//! terminals; and the native listings' jump targets in the address column's
//! style.

mod common;

use bpflab_engines::classic::Insn;
use bpflab_engines::classic::read::{self, Format};
use common::{assert_user_error, bpflab, command, scenario_program};
use std::path::Path;

/// `bpflab dump ARGS`: exit code, raw stdout, stderr.
fn dump_raw(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = command()
        .arg("dump")
        .args(args)
        .output()
        .expect("the bpflab binary runs");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn program(path: &Path) -> Vec<Insn> {
    read::read(&std::fs::read(path).unwrap(), None, Some(path)).unwrap()
}

#[test]
fn every_format_reads_back_as_the_same_program() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["fprog1", "fprog2"] {
        let source = scenario_program(name);
        let want = program(&source);
        for format in Format::ALL {
            let fmt = format.to_string();
            let (code, out, err) =
                dump_raw(&["--prog", source.to_str().unwrap(), "--format", &fmt]);
            assert_eq!(code, 0, "{name} {fmt}: {err}");
            assert_eq!(
                read::read(&out, Some(format), None).unwrap(),
                want,
                "{name} {fmt}"
            );
            // What dump wrote is a program file dump reads: detected by its
            // text, or for bin by the name; and written again the same.
            let path = dir.path().join(format!("{name}.{fmt}"));
            std::fs::write(&path, &out).unwrap();
            assert_eq!(program(&path), want, "{name} {fmt} detected");
            let (code, again, err) =
                dump_raw(&["--prog", path.to_str().unwrap(), "--format", &fmt]);
            assert_eq!(code, 0, "{name} {fmt} again: {err}");
            assert_eq!(again, out, "{name} {fmt} again");
            // --in-format names the input's form whatever the file's name.
            let any = dir.path().join("prog.any");
            std::fs::write(&any, &out).unwrap();
            let (code, dd, err) = dump_raw(&[
                "--prog",
                any.to_str().unwrap(),
                "--in-format",
                &fmt,
                "--format",
                "dd",
            ]);
            assert_eq!(code, 0, "{name} --in-format {fmt}: {err}");
            assert_eq!(dd, read::write(&want, Format::Dd).unwrap(), "{name} {fmt}");
        }
    }
}

#[test]
fn the_default_view_is_the_d_form() {
    for name in ["fprog1", "fprog2"] {
        let prog = scenario_program(name);
        let prog = prog.to_str().unwrap();
        let plain = bpflab(&["dump", "--prog", prog]);
        assert_eq!(plain.code, 0, "{}", plain.stderr);
        let d = bpflab(&["dump", "--prog", prog, "--format", "d"]);
        assert_eq!(plain.stdout, d.stdout);
        let old = bpflab(&["dump", "--prog", prog, "--engine", "old"]);
        assert_eq!(plain.stdout, old.stdout);
    }
    // fprog2's `tax` carries k (libpcap sets it); the note keeps it.
    let run = bpflab(&[
        "dump",
        "--prog",
        scenario_program("fprog2").to_str().unwrap(),
    ]);
    assert!(run.stdout.contains("(017) tax ; k=5\n"), "{}", run.stdout);
}

#[test]
fn format_writes_the_classic_program_whatever_the_engine() {
    let prog = scenario_program("fprog1");
    let prog = prog.to_str().unwrap();
    let want = bpflab(&["dump", "--prog", prog, "--format", "ddd"]);
    assert_eq!(want.code, 0, "{}", want.stderr);
    for engine in ["ext", "ext-switch", "old-jit", "ext-jit"] {
        let run = bpflab(&[
            "dump", "--prog", prog, "--engine", engine, "--format", "ddd",
        ]);
        if engine.ends_with("jit") && !cfg!(target_arch = "x86_64") {
            assert_user_error(&run, "not available");
            continue;
        }
        assert_eq!(run.code, 0, "{engine}: {}", run.stderr);
        assert_eq!(run.stdout, want.stdout, "{engine}");
    }
}

// The arm32 build runs under qemu-arm through cargo's runner, which
// `script` would not use: the x86 builds run it natively.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
#[test]
fn binary_is_refused_on_a_terminal() {
    // `script` (util-linux, on every Debian) gives the command a
    // pseudo-terminal for stdout.
    let probe = std::process::Command::new("script")
        .args(["-qec", "true", "/dev/null"])
        .output()
        .expect("`script` (util-linux) is needed to give dump a terminal");
    assert!(probe.status.success(), "`script` fails here: {probe:?}");
    let bin = env!("CARGO_BIN_EXE_bpflab");
    let prog = scenario_program("fprog1");
    let line = format!("{bin} dump --prog {} --format bin", prog.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("--format bin writes raw bytes"), "{text}");
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
}

#[test]
fn unknown_format_is_one_line() {
    let prog = scenario_program("fprog1");
    let run = bpflab(&["dump", "--prog", prog.to_str().unwrap(), "--format", "hex"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("expected d, dd, ddd, comma or bin"),
        "{}",
        run.stderr
    );
}

#[test]
fn native_jump_targets_read_like_addresses() {
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    for engine in ["old-jit", "ext-jit"] {
        let prog = scenario_program("fprog2");
        let run = bpflab(&["dump", "--prog", prog.to_str().unwrap(), "--engine", engine]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        // `  014a: bytes   mnemonic operands`
        let rows: Vec<(&str, &str)> = run
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("  ")?.split_once(": "))
            .collect();
        let addresses: Vec<&str> = rows.iter().map(|(a, _)| *a).collect();
        let mut jumps = 0;
        for (at, rest) in &rows {
            assert!(
                !rest.contains("h,") && !rest.ends_with('h'),
                "{engine} {at}: {rest}"
            );
            let text = rest.get(25..).unwrap_or("").trim();
            let mut words = text.split_whitespace();
            let mnemonic = words.next().unwrap_or("");
            let target = words.last().unwrap_or("");
            // Direct branches; `call rax` and the like have no target here.
            let direct = !target.is_empty() && target.bytes().all(|b| b.is_ascii_hexdigit());
            if (mnemonic.starts_with('j') || mnemonic == "call") && direct {
                assert!(
                    addresses.contains(&target),
                    "{engine} {at}: `{text}` jumps to no address of the column"
                );
                jumps += 1;
            }
        }
        assert!(jumps > 10, "{engine}: {jumps} jumps");
    }
}
