//! A `bpflab exec` command line that runs one program on one packet with
//! the exact metadata a fuzz case gave it: what every finding prints.

use bpflab_engines::classic::Insn;
use bpflab_engines::{Engine, Meta};

/// The arguments after the binary's name: `exec --engine E --bytecode
/// 'N,...' --meta k=v,... --hex HEX`. Every metadata field is spelled out,
/// so the defaults `exec` derives from the frame play no part.
pub fn exec_args(engine: Engine, insns: &[Insn], data: &[u8], meta: &Meta) -> Vec<String> {
    vec![
        "exec".into(),
        "--engine".into(),
        engine.name().into(),
        "--bytecode".into(),
        bytecode(insns),
        "--meta".into(),
        meta_settings(meta),
        "--hex".into(),
        data.iter().map(|b| format!("{b:02x}")).collect(),
    ]
}

/// `binary` and [`exec_args`] as one line a shell can run.
pub fn command_line(binary: &str, args: &[String]) -> String {
    std::iter::once(binary)
        .chain(args.iter().map(String::as_str))
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The comma form `exec --bytecode` reads (`N,code jt jf k,...`).
fn bytecode(insns: &[Insn]) -> String {
    let mut out = insns.len().to_string();
    for i in insns {
        out.push_str(&format!(",{} {} {} {}", i.code, i.jt, i.jf, i.k));
    }
    out
}

/// Every field of `meta` as `exec --meta` keys.
fn meta_settings(meta: &Meta) -> String {
    let device = match meta.dev {
        Some(d) => format!("ifindex={},hatype={}", d.ifindex, d.hatype),
        None => "dev=none".into(),
    };
    format!(
        "protocol={:#x},pkttype={},{device},mark={:#x},queue={},rxhash={:#x},cpu={},\
         vlan_tci={:#x},vlan_present={},vlan_tpid={:#x},nh={},mac={}",
        meta.protocol,
        meta.pkt_type,
        meta.mark,
        meta.queue_mapping,
        meta.rxhash,
        meta.cpu,
        meta.vlan_tci,
        u8::from(meta.vlan_present),
        meta.vlan_tpid,
        meta.network_header,
        meta.mac_header,
    )
}

/// `word` as one shell word: unchanged when it is plain, else in single
/// quotes.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=,./:".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpflab_engines::classic::insn::code;

    #[test]
    fn a_command_line_quotes_what_needs_it() {
        let insns = [Insn::stmt(code::LD_W_LEN, 0), Insn::stmt(code::RET_A, 0)];
        let mut meta = Meta::for_frame(&[]);
        meta.dev = None;
        let args = exec_args(Engine::ExtJit, &insns, &[], &meta);
        let line = command_line("target/release/bpflab", &args);
        assert_eq!(
            line,
            "target/release/bpflab exec --engine ext-jit --bytecode '2,128 0 0 0,22 0 0 0' \
             --meta protocol=0x0,pkttype=0,dev=none,mark=0x0,queue=0,rxhash=0x0,cpu=0,\
             vlan_tci=0x0,vlan_present=0,vlan_tpid=0x0,nh=0,mac=0 --hex ''"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
