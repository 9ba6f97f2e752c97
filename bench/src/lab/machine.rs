//! What a result row says about where it was measured.

use std::process::Command;

/// The machine and toolchain of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// Host name.
    pub host: String,
    /// CPU model as the kernel reports it.
    pub cpu_model: String,
    /// Architecture in the thread's words: x86_64, i386, arm32 (others as
    /// Rust names them).
    pub arch: String,
    /// Operating system and kernel release.
    pub os: String,
    /// The compiler that built this binary.
    pub rustc: String,
    /// Why this binary seems to run under emulation (qemu-user), if it does:
    /// then timings say nothing about any hardware.
    pub emulation: Option<String>,
}

impl Machine {
    /// This machine.
    pub fn detect() -> Machine {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let mut host = read("/proc/sys/kernel/hostname");
        if host.is_empty() {
            host = "unknown".into();
        }
        let release = read("/proc/sys/kernel/osrelease");
        let cpuinfo = read("/proc/cpuinfo");
        Machine {
            host,
            cpu_model: cpu_model(&cpuinfo),
            emulation: emulation(std::env::consts::ARCH, &cpuinfo),
            arch: thread_arch(std::env::consts::ARCH).to_string(),
            os: format!("{} {release}", std::env::consts::OS)
                .trim()
                .to_string(),
            rustc: env!("BPFLAB_RUSTC").to_string(),
        }
    }
}

/// The architecture name the thread's tables use.
pub fn thread_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86" => "i386",
        "arm" => "arm32",
        other => other,
    }
}

/// The CPU model line of `/proc/cpuinfo` (x86 `model name`, Arm `Hardware`
/// or `Processor`), or `unknown`.
pub fn cpu_model(cpuinfo: &str) -> String {
    ["model name", "Hardware", "Processor", "cpu model"]
        .iter()
        .find_map(|key| {
            cpuinfo.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Whether a binary built for `rust_arch` runs on a CPU of another family,
/// judged from `/proc/cpuinfo`: qemu-user passes the host's file through,
/// so an arm32 binary that sees an x86 CPU (or the reverse) is emulated.
/// Returns the reason, or `None` when the CPU matches or cannot be told.
pub fn emulation(rust_arch: &str, cpuinfo: &str) -> Option<String> {
    let has = |key: &str| {
        cpuinfo
            .lines()
            .any(|l| l.split_once(':').is_some_and(|(k, _)| k.trim() == key))
    };
    let cpu_is_x86 = has("vendor_id") || has("flags");
    let cpu_is_arm = has("CPU implementer") || has("CPU architecture");
    let built_x86 = matches!(rust_arch, "x86" | "x86_64");
    let built_arm = matches!(rust_arch, "arm" | "aarch64");
    let (binary, cpu) = match (built_x86, built_arm, cpu_is_x86, cpu_is_arm) {
        (false, true, true, false) => (thread_arch(rust_arch), "an x86"),
        (true, false, false, true) => (thread_arch(rust_arch), "an Arm"),
        _ => return None,
    };
    Some(format!(
        "this {binary} binary runs on {cpu} CPU (per /proc/cpuinfo): emulated, e.g. by qemu-user"
    ))
}

/// Whether a command is on PATH and runs.
pub fn has_command(name: &str, arg: &str) -> bool {
    Command::new(name)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_from_cpuinfo() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(cpu_model(x86), "Intel(R) Xeon(R) CPU @ 2.20GHz");
        let arm =
            "processor\t: 0\nmodel name\t: ARMv7 Processor rev 10 (v7l)\nHardware\t: BCM2835\n";
        assert_eq!(cpu_model(arm), "ARMv7 Processor rev 10 (v7l)");
        assert_eq!(
            cpu_model("Hardware\t: Marvell Armada 370/XP\n"),
            "Marvell Armada 370/XP"
        );
        assert_eq!(cpu_model(""), "unknown");
    }

    #[test]
    fn emulation_is_a_cpu_family_mismatch() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2\n";
        let arm = "processor\t: 0\nCPU implementer\t: 0x41\nCPU architecture: 7\n";
        assert!(
            emulation("arm", x86)
                .unwrap()
                .contains("arm32 binary runs on an x86 CPU")
        );
        assert!(emulation("aarch64", x86).is_some());
        assert!(emulation("x86_64", arm).unwrap().contains("an Arm CPU"));
        assert_eq!(
            emulation("x86", x86),
            None,
            "i386 binaries run natively on x86_64"
        );
        assert_eq!(emulation("x86_64", x86), None);
        assert_eq!(emulation("arm", arm), None);
        assert_eq!(emulation("arm", ""), None, "unknown: not claimed");
        assert_eq!(emulation("riscv64", x86), None);
    }

    #[test]
    fn thread_names() {
        assert_eq!(thread_arch("x86"), "i386");
        assert_eq!(thread_arch("arm"), "arm32");
        assert_eq!(thread_arch("x86_64"), "x86_64");
        assert_eq!(thread_arch("aarch64"), "aarch64");
    }
}
