//! `bpflab dump`: a program in `tcpdump -d` form, and for engines that
//! convert it, the classic and eBPF programs side by side with the map from
//! each classic pc to its first eBPF pc.

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
    /// Show what this engine runs (ext and ext-switch: the conversion).
    #[arg(long, default_value = "old", value_name = "NAME")]
    engine: String,
}

/// Runs `bpflab dump`.
pub fn run(args: &DumpArgs) -> anyhow::Result<()> {
    let engine = input::engine(&args.engine)?;
    let program = input::load_program(&args.prog, args.format)?;
    let filter = Filter::attach(program, engine)?;
    match filter.converted() {
        Some(converted) => print!("{}", side_by_side(filter.original(), converted)),
        None => print!("{}", classic::listing(filter.original().insns())),
    }
    Ok(())
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
