//! The guard page is real: reading one byte past a guarded packet kills the
//! process with SIGSEGV (checked in a child, which is this test binary run
//! again on the ignored test below), while reading its last byte works.
//! Without this, tests that rely on guarded packets could pass silently
//! with a guard that guards nothing.

use bpflab_engines::{Meta, Skb};
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const CHILD: &str = "BPFLAB_GUARD_PAGE_CHILD";

#[test]
#[ignore = "run by reading_past_a_guarded_packet_faults in a child process"]
fn read_one_byte_past_the_packet() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let skb = Skb::new_guarded(&[1, 2, 3], &Meta::for_frame(&[])).expect("mapping works");
    let data = skb.data();
    // SAFETY: none: this reads past the slice on purpose; the parent test
    // expects the process to die here.
    let past = unsafe { std::ptr::read_volatile(data.as_ptr().add(data.len())) };
    println!("read {past} past the end: the guard page is missing");
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot start processes")]
fn reading_past_a_guarded_packet_faults() {
    let skb = Skb::new_guarded(&[1, 2, 3], &Meta::for_frame(&[])).expect("mapping works");
    assert!(skb.is_guarded());
    // SAFETY: the last byte of the slice.
    let last = unsafe { std::ptr::read_volatile(skb.data().as_ptr().add(2)) };
    assert_eq!(last, 3);

    let exe = std::env::current_exe().expect("the test binary");
    // An arm32 build under qemu-user cannot start an ARM child itself; it
    // goes through the runner cargo uses (see scripts/cross-test).
    let runner = std::env::var("CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER")
        .ok()
        .filter(|_| cfg!(target_arch = "arm"));
    let mut cmd = match runner.as_deref().map(str::split_whitespace) {
        Some(mut words) => {
            let mut cmd = Command::new(words.next().unwrap_or("qemu-arm"));
            cmd.args(words).arg(&exe);
            cmd
        }
        None => Command::new(&exe),
    };
    let out = cmd
        .args([
            "--exact",
            "read_one_byte_past_the_packet",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("guard page is missing"), "{stdout}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSEGV),
        "the child should die of SIGSEGV: {:?}\n{stdout}",
        out.status
    );
}
