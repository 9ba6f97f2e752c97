//! `bpflab exec`: run a filter on packets given in hex and print each
//! verdict in decimal, one line per packet.
//!
//! This output is a contract: later issues and outside checks compare it.

use crate::input::{self, MetaOverrides};
use bpflab_engines::classic::Format;
use bpflab_engines::{Filter, Skb};
use clap::Args;
use std::path::PathBuf;

/// Options of `bpflab exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The program file (tcpdump -d, -dd, -ddd, comma form, or .bin).
    #[arg(long, value_name = "FILE", required_unless_present = "bytecode")]
    prog: Option<PathBuf>,
    /// The program inline, in the comma form `N,code jt jf k,...` (as
    /// `bpflab fuzz` prints its reproductions).
    #[arg(long, value_name = "N,CODE JT JF K,...", conflicts_with_all = ["prog", "format"])]
    bytecode: Option<String>,
    /// The engine to run on (see `bpflab engines`).
    #[arg(long, default_value = "old", value_name = "NAME")]
    engine: String,
    /// The program file's format, when not detected (d, dd, ddd, comma, bin).
    #[arg(long, value_name = "FMT")]
    format: Option<Format>,
    /// skb metadata: protocol, pkttype, ifindex, hatype, mark, queue, rxhash,
    /// cpu, vlan_tci, vlan_present, vlan_tpid, nh, mac, or dev=none.
    #[arg(long, value_name = "KEY=VALUE[,KEY=VALUE...]")]
    meta: Vec<String>,
    /// Pad each packet with zeros, or cut it, to N bytes.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    len: Option<u64>,
    /// A packet in hex (repeat for several packets).
    #[arg(long, required = true, value_name = "HEX")]
    hex: Vec<String>,
}

/// Runs `bpflab exec`.
pub fn run(args: &ExecArgs) -> anyhow::Result<()> {
    let engine = input::engine(&args.engine)?;
    let len = args.len.map(input::check_len).transpose()?;
    let meta = MetaOverrides::parse(&args.meta)?;
    let mut skbs = Vec::with_capacity(args.hex.len());
    for (i, hex) in args.hex.iter().enumerate() {
        let mut data = input::parse_hex(hex, &format!("--hex #{}", i + 1))?;
        if let Some(len) = len {
            data.resize(len, 0);
        }
        let meta = meta.apply(&data);
        skbs.push(Skb::new(data, &meta));
    }
    let program = match (&args.bytecode, &args.prog) {
        (Some(text), _) => input::bytecode_program(text)?,
        (None, Some(path)) => input::load_program(path, args.format)?,
        (None, None) => anyhow::bail!("exec needs --prog FILE or --bytecode TEXT"),
    };
    let filter = Filter::attach(program, engine)?;
    let verdicts: Vec<String> = skbs.iter().map(|s| filter.run(s).to_string()).collect();
    println!("{}", verdicts.join("\n"));
    Ok(())
}
