//! Records what the result rows say about the binary: the compiler
//! version (`rustc` column) and the source it was built from (`commit`
//! column: the git commit, `-dirty` with uncommitted changes to tracked
//! files, `unknown` outside a git checkout).

use std::process::Command;

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = output(Command::new(rustc).arg("--version")).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BPFLAB_RUSTC={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");

    let git = |args: &[&str]| output(Command::new("git").args(["-C", ".."]).args(args));
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(hash) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{hash}-dirty") } else { hash }
        }
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=BPFLAB_COMMIT={commit}");
    // Rerun when the commit moves or any source changes (cargo scans these
    // folders whole), so `-dirty` follows the tree.
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
        println!("cargo:rerun-if-changed={git_dir}/index");
    }
    for dir in [
        "src",
        "../engines/src",
        "../scenarios/src",
        "../scenarios/programs",
    ] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
