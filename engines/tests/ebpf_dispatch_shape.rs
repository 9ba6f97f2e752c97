//! The dispatch-shape test: builds this crate in release (into its own
//! target directory under the test temp dir, so it never waits on the outer
//! build), emits its assembly, and checks the shape of the interpreters'
//! dispatch in the compiled code rather than assuming it:
//! - `ext` on x86_64 and armv7: every handler of `ebpf::threaded` ends its
//!   dispatch in an indirect jump (`jmp *%reg`, `bx rN`), none calls through
//!   a register, so there are as many dispatch sites as handlers;
//! - `ext-switch`: one indirect jump in its whole run loop.
//!
//! i686 is checked the same way (with the workspace's `.cargo/config.toml`,
//! which builds it non-PIC, see `ebpf::threaded`). A target that is not
//! installed, or a missing cargo, skips its check with a line saying why.
//!
//! Run with `--nocapture` to see the counts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Indirect-branch counts of one function.
#[derive(Clone, Copy, Debug, Default)]
struct Shape {
    /// Indirect jumps (dispatch sites, jump tables).
    jumps: usize,
    /// Calls through a register.
    calls: usize,
    /// Instructions.
    insns: usize,
}

/// How a target spells indirect jumps and calls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isa {
    X86,
    Arm,
}

fn is_indirect_jump(isa: Isa, insn: &str) -> bool {
    let mut words = insn.split_whitespace();
    let (Some(m), rest) = (words.next(), words.collect::<Vec<_>>().join(" ")) else {
        return false;
    };
    match isa {
        Isa::X86 => m.starts_with("jmp") && rest.starts_with('*'),
        Isa::Arm => {
            (m == "bx" && rest != "lr")
                || (matches!(m, "ldr" | "add" | "mov") && rest.starts_with("pc,"))
        }
    }
}

fn is_indirect_call(isa: Isa, insn: &str) -> bool {
    let mut words = insn.split_whitespace();
    let (Some(m), rest) = (words.next(), words.collect::<Vec<_>>().join(" ")) else {
        return false;
    };
    match isa {
        Isa::X86 => m.starts_with("call") && rest.starts_with('*'),
        Isa::Arm => m == "blx" && !rest.starts_with(|c: char| c.is_ascii_alphabetic() && c != 'r'),
    }
}

/// `a::b::c` from a legacy-mangled `_ZN1a1b1c17h<hash>E`, without the hash.
fn demangle(sym: &str) -> Option<String> {
    let mut rest = sym.strip_prefix("_ZN")?;
    let mut parts = Vec::new();
    while let Some(end) = rest.find(|c: char| !c.is_ascii_digit()) {
        if end == 0 {
            break;
        }
        let len: usize = rest[..end].parse().ok()?;
        let part = rest.get(end..end + len)?;
        rest = &rest[end + len..];
        if !(part.len() == 17 && part.starts_with('h')) {
            parts.push(part);
        }
    }
    Some(parts.join("::"))
}

/// The shape of every function in an assembly listing, by demangled name.
fn shapes(asm: &str, isa: Isa) -> BTreeMap<String, Shape> {
    let mut out: BTreeMap<String, Shape> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in asm.lines() {
        if let Some(label) = line.strip_suffix(':')
            && !line.starts_with(['.', '\t', ' '])
        {
            current = demangle(label);
            continue;
        }
        let Some(name) = &current else { continue };
        let insn = line.trim();
        if !line.starts_with('\t') || insn.starts_with('.') || insn.starts_with('@') {
            continue;
        }
        let s = out.entry(name.clone()).or_default();
        s.insns += 1;
        s.jumps += usize::from(is_indirect_jump(isa, insn));
        s.calls += usize::from(is_indirect_call(isa, insn));
    }
    out
}

/// The release assembly of this crate for `target` (None: the host), or
/// why the check must be skipped; panics when the crate fails to build.
fn release_asm(target: Option<&str>) -> Result<String, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    if let Some(t) = target
        && !target_installed(Path::new(&cargo), t)
    {
        return Err(format!(
            "target {t} is not installed (rustup target add {t})"
        ));
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dispatch-shape");
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "rustc",
            "--release",
            "--lib",
            "--offline",
            "-p",
            "bpflab-engines",
        ])
        .arg("--target-dir")
        .arg(&dir);
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    cmd.args(["--", "--emit", "asm"]);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run cargo ({e})"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Only a dependency missing from the offline cache is the
        // machine's fault; any other failure is the crate's.
        let offline = [
            "--offline",
            "failed to download",
            "attempting to make an HTTP request",
        ];
        assert!(
            offline.iter().any(|m| stderr.contains(m)),
            "the release build for {} failed:\n{stderr}",
            target.unwrap_or("the host")
        );
        return Err(format!(
            "dependencies are not in the offline cache:\n{stderr}"
        ));
    }
    let deps = match target {
        Some(t) => dir.join(t).join("release/deps"),
        None => dir.join("release/deps"),
    };
    newest_asm(&deps).ok_or_else(|| format!("no bpflab_engines-*.s under {}", deps.display()))
}

/// Whether the standard library for `target` is installed beside `cargo`'s
/// rustc.
fn target_installed(cargo: &Path, target: &str) -> bool {
    let rustc = cargo
        .parent()
        .map(|d| d.join("rustc"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target)
        .join("lib")
        .is_dir()
}

/// The most recently written `bpflab_engines-*.s` in `deps`.
fn newest_asm(deps: &Path) -> Option<String> {
    let newest = std::fs::read_dir(deps)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.starts_with("bpflab_engines-") && name.ends_with(".s")
        })
        .max_by_key(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        })?;
    std::fs::read_to_string(newest.path()).ok()
}

const HANDLERS: &str = "bpflab_engines::ebpf::threaded::handlers::";
const EXT_RUN: &str = "bpflab_engines::ebpf::threaded::ExtInterpreter::run";
const SWITCH_RUN: &str = "bpflab_engines::ebpf::switch::ExtSwitchInterpreter::run";

/// Prints the shape of `ext` and `ext-switch` on `target` and, if
/// `threaded`, asserts that `ext` is threaded and `ext-switch` is not.
fn check_target(target: Option<&str>, isa: Isa, threaded: bool) {
    let name = target.unwrap_or("host");
    let asm = match release_asm(target) {
        Ok(asm) => asm,
        Err(why) => {
            println!("skipped ({name}): {why}");
            return;
        }
    };
    let all = shapes(&asm, isa);
    let handlers: Vec<(&String, &Shape)> = all
        .iter()
        .filter(|(n, _)| n.starts_with(HANDLERS))
        .collect();
    let shape = |f: &str| all.get(f).copied().unwrap_or_default();
    let (ext, switch) = (shape(EXT_RUN), shape(SWITCH_RUN));
    let handler_jumps: usize = handlers.iter().map(|(_, s)| s.jumps).sum();
    let handler_calls: usize = handlers.iter().map(|(_, s)| s.calls).sum();
    println!(
        "{name}: ext: {} handlers with {handler_jumps} indirect jumps and {handler_calls} indirect calls; \
         ext run: {} indirect jumps, {} indirect calls, {} insns; \
         ext-switch run: {} indirect jumps, {} insns",
        handlers.len(),
        ext.jumps,
        ext.calls,
        ext.insns,
        switch.jumps,
        switch.insns
    );
    assert_eq!(
        switch.jumps, 1,
        "{name}: ext-switch must keep one shared dispatch jump"
    );
    if !threaded {
        return;
    }
    assert!(
        handlers.len() >= 100,
        "{name}: expected a handler per op, found {}",
        handlers.len()
    );
    for (n, s) in &handlers {
        assert_eq!(
            s.calls, 0,
            "{name}: {n} calls through a register: not threaded"
        );
        let terminal = n.ends_with("::Exit");
        assert!(
            terminal || s.jumps >= 1,
            "{name}: {n} has no indirect jump: its dispatch is not a tail call"
        );
    }
    assert!(
        handler_jumps >= handlers.len(),
        "{name}: too few dispatch sites"
    );
}

#[test]
fn ext_is_threaded_on_x86_64() {
    if cfg!(target_arch = "x86_64") {
        check_target(None, Isa::X86, true);
    } else {
        check_target(Some("x86_64-unknown-linux-gnu"), Isa::X86, true);
    }
}

#[test]
fn ext_is_threaded_on_armv7() {
    check_target(Some("armv7-unknown-linux-gnueabihf"), Isa::Arm, true);
}

#[test]
fn ext_is_threaded_on_i686() {
    check_target(Some("i686-unknown-linux-gnu"), Isa::X86, true);
}

#[test]
fn the_parser_sees_indirect_branches() {
    let x86 = "_ZN1a8handlers3Foo17h0123456789abcdefE:\n\tmovq\t(%rdi), %rax\n\tjmpq\t*%rax\n\tcallq\t*8(%rax)\n\tjmp\t.LBB0_1\n";
    let s = shapes(x86, Isa::X86);
    let foo = s.get("a::handlers::Foo").copied().unwrap_or_default();
    assert_eq!((foo.jumps, foo.calls, foo.insns), (1, 1, 4));
    let arm = "_ZN1a3Bar17h0123456789abcdefE:\n\tbx\tr2\n\tbx\tlr\n\tldr\tpc, [pc, r0, lsl #2]\n\tblx\tr3\n\tbl\tfoo\n";
    let bar = shapes(arm, Isa::Arm)
        .get("a::Bar")
        .copied()
        .unwrap_or_default();
    assert_eq!((bar.jumps, bar.calls), (2, 1));
}
