//! `bpflab dump`: a program in `tcpdump -d` form; for engines that convert
//! it, the classic and eBPF programs side by side with the map from each
//! classic pc to its first eBPF pc; for the JITs, the native code
//! disassembled with each classic or eBPF instruction's address marked.

use crate::input;
use bpflab_engines::Filter;
use bpflab_engines::classic::{self, Format, Program};
use bpflab_engines::ebpf::convert::Converted;
use clap::Args;
use std::path::PathBuf;

/// Options of `bpflab dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The program file.
    #[arg(long, value_name = "FILE")]
    prog: PathBuf,
    /// The program file's format, when not detected (dd, ddd, comma, bin).
    #[arg(long, value_name = "FMT")]
    format: Option<Format>,
    /// Show what this engine runs (ext, ext-switch: the conversion; old-jit,
    /// ext-jit: the native code).
    #[arg(long, default_value = "old", value_name = "NAME")]
    engine: String,
}

/// Runs `bpflab dump`.
pub fn run(args: &DumpArgs) -> anyhow::Result<()> {
    let engine = input::engine(&args.engine)?;
    let program = input::load_program(&args.prog, args.format)?;
    let filter = Filter::attach(program, engine)?;
    let original = filter.original();
    match (filter.native_code(), filter.converted()) {
        (Some((code, offsets)), converted) => {
            // Each marked instruction: the eBPF one for ext-jit, else classic.
            let labels: Vec<String> = match converted {
                Some(c) => c
                    .insns
                    .iter()
                    .enumerate()
                    .map(|(pc, i)| format!("{pc:4}: {i}"))
                    .collect(),
                None => original
                    .insns()
                    .iter()
                    .enumerate()
                    .map(|(pc, i)| format!("({pc:03}) {}", i.disasm(pc).replace('\t', " ")))
                    .collect(),
            };
            print!("{}", native::listing(code, offsets, &labels)?);
        }
        (None, Some(converted)) => print!("{}", side_by_side(original, converted)),
        (None, None) => print!("{}", classic::listing(original.insns())),
    }
    Ok(())
}

/// Native code listings (only x86_64 has JITs).
mod native {
    /// The code disassembled, each instruction's first byte marked with its
    /// label (`offsets[i]` is where instruction `i` starts).
    #[cfg(target_arch = "x86_64")]
    pub fn listing(code: &[u8], offsets: &[usize], labels: &[String]) -> anyhow::Result<String> {
        use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};
        let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
        let mut formatter = IntelFormatter::new();
        let mut insn = Instruction::default();
        let mut text = String::new();
        let mut out = format!("{} bytes of x86_64 code\n", code.len());
        while decoder.can_decode() {
            decoder.decode_out(&mut insn);
            let at = insn.ip() as usize;
            for (i, label) in labels.iter().enumerate() {
                if offsets.get(i) == Some(&at) {
                    out.push_str(&format!("                                  ; {label}\n"));
                }
            }
            text.clear();
            formatter.format(&insn, &mut text);
            let bytes: Vec<String> = code[at..at + insn.len()]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            out.push_str(&format!("  {at:04x}: {:<24} {text}\n", bytes.join(" ")));
        }
        Ok(out)
    }

    /// No JIT runs here, so there is no native code to show.
    #[cfg(not(target_arch = "x86_64"))]
    pub fn listing(_code: &[u8], _offsets: &[usize], _labels: &[String]) -> anyhow::Result<String> {
        anyhow::bail!("no disassembler for this architecture")
    }
}

/// Width of the classic column.
const LEFT: usize = 44;

/// The classic program beside its conversion: each classic instruction on
/// the line of its first eBPF instruction, then the pc map.
pub fn side_by_side(program: &Program, converted: &Converted) -> String {
    let insns = program.insns();
    let ebpf: Vec<String> = converted
        .insns
        .iter()
        .enumerate()
        .map(|(pc, insn)| format!("{pc:4}: {insn}"))
        .collect();
    let mut out = format!(
        "{:<LEFT$}| {}\n",
        "classic (tcpdump -d)", "eBPF (converted)"
    );
    let mut next_ebpf = 0;
    let mut emit = |left: &str, upto: usize, out: &mut String| {
        let mut left = left.to_string();
        while next_ebpf < upto.min(ebpf.len()) {
            out.push_str(&format!("{left:<LEFT$}| {}\n", ebpf[next_ebpf]));
            left.clear();
            next_ebpf += 1;
        }
        if !left.is_empty() {
            out.push_str(&format!("{left}\n"));
        }
    };
    // The prologue comes before the first classic instruction's code.
    emit("", converted.pc_map.first().copied().unwrap_or(0), &mut out);
    for (pc, insn) in insns.iter().enumerate() {
        let end = converted.pc_map.get(pc + 1).copied().unwrap_or(ebpf.len());
        // Tabs (between jt and jf) would break the column.
        let left = format!("({pc:03}) {}", insn.disasm(pc)).replace('\t', " ");
        emit(&left, end, &mut out);
    }
    let map: Vec<String> = converted
        .pc_map
        .iter()
        .enumerate()
        .map(|(c, e)| format!("{c}->{e}"))
        .collect();
    out.push_str(&format!(
        "\n{} classic -> {} eBPF instructions; pc map (classic -> first eBPF): {}\n",
        insns.len(),
        ebpf.len(),
        map.join(" ")
    ));
    out
}
