//! Results are never lost or clobbered: runs at the same moment into one
//! folder each keep their files, and a default run leaves a checkout's
//! tracked files (the committed charts above all) as they were.

mod common;

use common::{ONE_CELL, command};
use std::path::Path;
use std::process::Stdio;

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn two_runs_at_once_into_one_folder_keep_both() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            command()
                .args(ONE_CELL)
                .args(["--out", out])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("bpflab starts")
        })
        .collect();
    for child in children {
        let done = child.wait_with_output().unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let names = names(dir.path());
    let csvs: Vec<&String> = names.iter().filter(|n| n.ends_with(".csv")).collect();
    let jsons = names.iter().filter(|n| n.ends_with(".json")).count();
    assert_eq!((csvs.len(), jsons), (2, 2), "{names:?}");
    // Each run its own folder with its report, named after its id.
    for csv in csvs {
        let id = csv.trim_end_matches(".csv");
        let rows =
            bpflab::results::from_csv(&std::fs::read(dir.path().join(csv)).unwrap(), csv).unwrap();
        assert!(rows.iter().all(|r| r.run_id == id), "{csv}");
        assert!(dir.path().join(id).join("report.html").is_file(), "{id}");
    }
}

/// Runs `git` in `dir`; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs (the tests need it)");
    assert!(out.status.success(), "git {args:?}: {:?}", out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_default_run_leaves_the_checkout_clean() {
    // A checkout with the project's .gitignore and committed charts and
    // results, where the run is started as the README says.
    let repo = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(root.join(".gitignore"), repo.path().join(".gitignore")).unwrap();
    for tracked in ["plots/speedup_x86_64.svg", "results/published.csv"] {
        let path = repo.path().join(tracked);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::copy(root.join(tracked), &path).unwrap();
    }
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(
        repo.path(),
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "checkout",
        ],
    );
    let run = command()
        .args(ONE_CELL)
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let results = names(&repo.path().join("results"));
    assert_eq!(
        results.len(),
        4,
        "the run's csv, json and folder: {results:?}"
    );
    assert_eq!(
        git(repo.path(), &["status", "--porcelain"]),
        "",
        "tracked files changed"
    );
}
