//! `bpflab dump`: a program in `tcpdump -d` form; for engines that convert
//! it, the classic and eBPF programs side by side with the map from each
//! classic pc to its first eBPF pc; for the JITs, the native code
//! disassembled with each classic or eBPF instruction's address marked.
//! With `--format`, the classic program in any form the readers take, so
//! that a program converts between forms and what `dump` prints reads back.

use crate::input;
use anyhow::{Context, bail};
use bpflab_engines::Filter;
use bpflab_engines::classic::{self, Format, Program};
use bpflab_engines::ebpf::convert::Converted;
use clap::Args;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Options of `bpflab dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The program file.
    #[arg(long, value_name = "FILE")]
    prog: PathBuf,
    /// The program file's format, when not detected (d, dd, ddd, comma, bin).
    #[arg(long, value_name = "FMT")]
    in_format: Option<Format>,
    /// Write the classic program in this form (d, dd, ddd, comma, bin)
    /// instead of the engine's view; whatever the engine, it is the classic
    /// program as attached (never the eBPF or native code). `bin` writes raw
    /// `struct sock_filter` bytes and refuses a terminal.
    #[arg(long, value_name = "FMT")]
    format: Option<Format>,
    /// Show what this engine runs (old: the program in `-d` form; ext,
    /// ext-switch: the conversion; old-jit, ext-jit: the native code).
    #[arg(long, default_value = "old", value_name = "NAME")]
    engine: String,
}

/// Runs `bpflab dump`.
pub fn run(args: &DumpArgs) -> anyhow::Result<()> {
    let engine = input::engine(&args.engine)?;
    let program = input::load_program(&args.prog, args.in_format)?;
    let filter = Filter::attach(program, engine)?;
    let original = filter.original();
    if let Some(format) = args.format {
        return write_program(original, format);
    }
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
        (None, None) => return write_program(original, Format::D),
    }
    Ok(())
}

/// Writes `program` to stdout in `format`; binary never to a terminal.
fn write_program(program: &Program, format: Format) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if format == Format::Bin && stdout.is_terminal() {
        bail!("--format bin writes raw bytes; redirect stdout to a file (`> prog.bin`) or pipe it");
    }
    let bytes = classic::read::write(program.insns(), format)?;
    stdout
        .write_all(&bytes)
        .and_then(|()| stdout.flush())
        .context("cannot write the program")
}

/// Native code listings (only x86_64 has JITs).
mod native {
    /// The code disassembled, each instruction's first byte marked with its
    /// label (`offsets[i]` is where instruction `i` starts).
    #[cfg(target_arch = "x86_64")]
    pub fn listing(code: &[u8], offsets: &[usize], labels: &[String]) -> anyhow::Result<String> {
        use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};
        let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
        // Branch targets as the address column writes them (`014a`); other
        // numbers as `0x14a`, not iced's default `14Ah`.
        let mut formatter = IntelFormatter::with_options(Some(Box::new(TargetsAsAddresses)), None);
        let options = formatter.options_mut();
        options.set_hex_prefix("0x");
        options.set_hex_suffix("");
        options.set_uppercase_hex(false);
        options.set_leading_zeros(false);
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

    /// Names each near-branch target by the address column's text.
    #[cfg(target_arch = "x86_64")]
    struct TargetsAsAddresses;

    #[cfg(target_arch = "x86_64")]
    impl iced_x86::SymbolResolver for TargetsAsAddresses {
        fn symbol(
            &mut self,
            instruction: &iced_x86::Instruction,
            _operand: u32,
            instruction_operand: Option<u32>,
            address: u64,
            _address_size: u32,
        ) -> Option<iced_x86::SymbolResult<'_>> {
            use iced_x86::OpKind;
            matches!(
                instruction_operand.map(|op| instruction.op_kind(op)),
                Some(OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64)
            )
            .then(|| iced_x86::SymbolResult::with_string(address, format!("{address:04x}")))
        }
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
