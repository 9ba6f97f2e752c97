//! The `tcpdump -d` form: `(000) ldh      [12]`, one numbered instruction a
//! line, jump targets as absolute instruction numbers.
//!
//! It is what people copy from terminals and what `bpflab dump` prints, so
//! reading it closes the loop. The text is the one [`Insn::disasm`] prints
//! (libpcap's `bpf_image` layout, with Linux `bpf_asm` names for ancillary
//! fields); `#len` and `ldx 4*([k]&0xf)` are taken too, as `bpf_asm` writes
//! them.
//!
//! A line does not show every field: jt/jf of a non-jump, k of `tax`, `ret a`
//! or an X operand, size bits of `ld #k`. Those read as 0, unless a note after
//! `;` gives them: `(017) tax ; k=5` (libpcap itself emits `tax` with k set,
//! as in the thread's fprog2). [`write`] adds such a note where one is needed,
//! so that its output reads back as the same instructions, bit for bit; a
//! note may only hold fields the line leaves out.

use super::{Location, ReadError, clip, content_lines, err, parse_number};
use crate::classic::insn::{Insn, ancillary, class, code, mode, op, size, skf, src};

/// Reads a `tcpdump -d` listing.
pub(super) fn read(text: &str) -> Result<Vec<Insn>, ReadError> {
    let mut insns = Vec::new();
    // (line, jt/jf/ja, absolute target) of every jump, checked against the
    // program's length once it is known.
    let mut targets = Vec::new();
    for (n, line) in content_lines(text) {
        let at = Location::Line(n);
        let pc = insns.len();
        let (number, rest) = split_number(line).ok_or_else(|| {
            err(
                at,
                format!(
                    "expected `(NNN) instruction` as tcpdump -d prints it, found `{}`",
                    clip(line)
                ),
            )
        })?;
        if number != pc {
            return Err(err(
                at,
                format!(
                    "instruction number ({}) where ({pc:03}) belongs: numbers count from (000) without gaps, since jump targets refer to them",
                    clip(number_text(line))
                ),
            ));
        }
        let (insn, jumps) = parse_line(rest, pc).map_err(|m| err(at, m))?;
        targets.extend(jumps.into_iter().map(|(name, t)| (n, name, t)));
        insns.push(insn);
    }
    let last = insns.len().saturating_sub(1);
    if let Some((n, name, target)) = targets.into_iter().find(|&(_, _, t)| t > last as u64) {
        return Err(err(
            Location::Line(n),
            format!("{name} {target} is past the last instruction ({last:03})"),
        ));
    }
    Ok(insns)
}

/// The error [`write`] gives for an instruction the `-d` form cannot hold.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("instruction {index} `{insn}` has no tcpdump -d form: {message}")]
pub struct WriteError {
    /// Its index in the program.
    pub index: usize,
    /// The instruction, shown in `-dd` form.
    pub insn: Insn,
    /// Why.
    pub message: String,
}

/// The `tcpdump -d` listing of `insns`, with a `; field=value` note where a
/// line leaves out a field that is not 0; checked to read back as the same
/// instructions.
pub(super) fn write(insns: &[Insn]) -> Result<String, WriteError> {
    let mut text = String::new();
    for (pc, insn) in insns.iter().enumerate() {
        let shown = insn.disasm(pc);
        text.push_str(&format!("({pc:03}) {shown}"));
        // What the line alone reads as; an unreadable one is reported below.
        if let Ok((plain, _)) = parse_insn(&shown, pc) {
            let note = note(insn, &plain);
            if !note.is_empty() {
                text.push_str(&format!(" ; {note}"));
            }
        }
        text.push('\n');
    }
    match read(&text) {
        Ok(back) => match insns.iter().zip(&back).position(|(a, b)| a != b) {
            None => Ok(text),
            Some(index) => Err(WriteError {
                index,
                insn: insns[index],
                message: format!(
                    "its line `{}` reads back as `{}`",
                    insns[index].disasm(index).replace('\t', " "),
                    back[index]
                ),
            }),
        },
        Err(e) => {
            let index = match e.location {
                Location::Line(n) => n - 1,
                _ => 0,
            };
            Err(WriteError {
                index,
                insn: insns.get(index).copied().unwrap_or_default(),
                message: e.message,
            })
        }
    }
}

/// Whether `line` starts like a `-d` line: `(` digits `)`.
pub(super) fn looks_like(line: &str) -> bool {
    let digits = number_text(line);
    !digits.is_empty() && line[1 + digits.len()..].starts_with(')')
}

/// The digits between the leading `(` and `)`, or "".
fn number_text(line: &str) -> &str {
    let Some(rest) = line.strip_prefix('(') else {
        return "";
    };
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `(NNN) rest` split into the number and the rest.
fn split_number(line: &str) -> Option<(usize, &str)> {
    if !looks_like(line) {
        return None;
    }
    let digits = number_text(line);
    let rest = &line[1 + digits.len() + 1..];
    // A number too big for usize cannot be the right one either.
    let number = digits.parse().unwrap_or(usize::MAX);
    Some((number, rest))
}

/// One line's instruction and its jumps as (`jt`, `jf` or `ja`, absolute
/// target), or why the line does not read.
type Parsed = (Insn, Vec<(&'static str, u64)>);

/// The fields where `insn` differs from `plain`, as `code=0x7 k=5`.
fn note(insn: &Insn, plain: &Insn) -> String {
    let mut parts = Vec::new();
    if insn.code != plain.code {
        parts.push(format!("code={:#x}", insn.code));
    }
    if insn.jt != plain.jt {
        parts.push(format!("jt={}", insn.jt));
    }
    if insn.jf != plain.jf {
        parts.push(format!("jf={}", insn.jf));
    }
    if insn.k != plain.k {
        parts.push(format!("k={}", insn.k));
    }
    parts.join(" ")
}

/// One line after its number: the instruction, then perhaps a `;` note of
/// fields the instruction's text leaves out.
fn parse_line(text: &str, pc: usize) -> Result<Parsed, String> {
    let Some((shown, note)) = text.split_once(';') else {
        return parse_insn(text, pc);
    };
    let (plain, jumps) = parse_insn(shown, pc)?;
    let mut insn = plain;
    let mut seen = Vec::new();
    for part in note.split_whitespace() {
        let bad = || {
            format!(
                "the note after `;` takes `code=N`, `jt=N`, `jf=N` or `k=N`; found `{}`",
                clip(part)
            )
        };
        let (name, value) = part.split_once('=').ok_or_else(bad)?;
        if seen.contains(&name) {
            return Err(format!("the note gives `{}` twice", clip(name)));
        }
        let value = parse_number(value).ok_or_else(bad)?;
        let (max, min) = match name {
            "code" => (0xffff, 0),
            "jt" | "jf" => (0xff, 0),
            "k" => (i64::from(u32::MAX), i64::from(i32::MIN)),
            _ => return Err(bad()),
        };
        if !(min..=max).contains(&value) {
            return Err(format!(
                "{name}={value} in the note is out of range ({min} to {max:#x})"
            ));
        }
        match name {
            "code" => insn.code = value as u16,
            "jt" => insn.jt = value as u8,
            "jf" => insn.jf = value as u8,
            _ => insn.k = value as u32,
        }
        seen.push(name);
    }
    if insn.disasm(pc) != plain.disasm(pc) {
        return Err(format!(
            "the note `{}` changes what the line shows (it would read `{}`): a note holds only fields the line leaves out",
            clip(note.trim()),
            clip(&insn.disasm(pc).replace('\t', " "))
        ));
    }
    Ok((insn, jumps))
}

/// One instruction's text (after the number) at `pc`, and its jumps'
/// absolute targets; the error is the message without the line.
fn parse_insn(text: &str, pc: usize) -> Result<Parsed, String> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let Some((&mnemonic, rest)) = tokens.split_first() else {
        return Err("an instruction number without an instruction".into());
    };
    let conditional = matches!(mnemonic, "jeq" | "jgt" | "jge" | "jset");
    let (operand_tokens, jt_jf) = if conditional {
        match rest {
            [operand @ .., "jt", jt, "jf", jf] => (operand, Some((*jt, *jf))),
            _ => {
                return Err(format!(
                    "`{mnemonic}` needs `jt N jf N` (absolute instruction numbers) after its operand, found `{}`",
                    clip(&rest.join(" "))
                ));
            }
        }
    } else {
        (rest, None)
    };
    // Operands may be spaced as people like: `[x + 14]`, `[x+14]`.
    let operand = operand_tokens.concat();
    let operand = operand.as_str();
    let shape = |wants: &str| {
        if operand.is_empty() {
            format!("`{mnemonic}` takes {wants}; found no operand")
        } else {
            format!("`{mnemonic}` takes {wants}; found `{}`", clip(operand))
        }
    };
    let stmt = |c: u16, k: u32| Ok((Insn::stmt(c, k), Vec::new()));
    let no_operand = |c: u16| {
        if operand.is_empty() {
            Ok((Insn::stmt(c, 0), Vec::new()))
        } else {
            Err(format!(
                "`{mnemonic}` takes no operand; found `{}`",
                clip(operand)
            ))
        }
    };
    match mnemonic {
        "ld" | "ldh" | "ldb" => {
            let sz = match mnemonic {
                "ld" => size::W,
                "ldh" => size::H,
                _ => size::B,
            };
            if mnemonic == "ld" {
                if matches!(operand, "#pktlen" | "#len") {
                    return stmt(code::LD_W_LEN, 0);
                }
                if let Some(k) = operand.strip_prefix('#').and_then(constant) {
                    return stmt(code::LD_IMM, k?);
                }
                if let Some(k) = scratch(operand) {
                    return stmt(code::LD_MEM, k?);
                }
            }
            if let Some(k) = packet(operand, class::LD | sz) {
                return k.map(|(c, k)| (Insn::stmt(c, k), Vec::new()));
            }
            Err(shape(if mnemonic == "ld" {
                "`#k`, `#pktlen`, `M[k]`, `[k]`, `[x + k]`, `[net + k]`, `[ll + k]` or an ancillary `#name`"
            } else {
                "`[k]`, `[x + k]`, `[net + k]`, `[ll + k]` or an ancillary `#name`"
            }))
        }
        "ldx" | "ldxh" | "ldxb" => {
            if mnemonic != "ldxh"
                && let Some(k) = msh(operand)
            {
                return stmt(code::LDX_B_MSH, k?);
            }
            let sz = match mnemonic {
                "ldx" => size::W,
                "ldxh" => size::H,
                _ => size::B,
            };
            if mnemonic == "ldx" {
                if matches!(operand, "#pktlen" | "#len") {
                    return stmt(code::LDX_W_LEN, 0);
                }
                if let Some(k) = operand.strip_prefix('#').and_then(constant) {
                    return stmt(code::LDX_IMM, k?);
                }
                if let Some(k) = scratch(operand) {
                    return stmt(code::LDX_MEM, k?);
                }
            }
            // LDX ABS is no valid instruction, but it prints, so it reads.
            if !operand.starts_with("[x+")
                && let Some(k) = packet(operand, class::LDX | sz)
            {
                return k.map(|(c, k)| (Insn::stmt(c, k), Vec::new()));
            }
            Err(shape(match mnemonic {
                "ldx" => "`#k`, `#pktlen`, `M[k]` or `4*([k]&0xf)`",
                "ldxb" => "`4*([k]&0xf)`",
                _ => "`[k]`",
            }))
        }
        "st" | "stx" => match scratch(operand) {
            Some(k) => stmt(
                if mnemonic == "st" {
                    code::ST
                } else {
                    code::STX
                },
                k?,
            ),
            None => Err(shape("`M[k]`")),
        },
        "add" | "sub" | "mul" | "div" | "or" | "and" | "lsh" | "rsh" | "mod" | "xor" => {
            let o = match mnemonic {
                "add" => op::ADD,
                "sub" => op::SUB,
                "mul" => op::MUL,
                "div" => op::DIV,
                "or" => op::OR,
                "and" => op::AND,
                "lsh" => op::LSH,
                "rsh" => op::RSH,
                "mod" => op::MOD,
                _ => op::XOR,
            };
            if operand == "x" {
                return stmt(code::alu_x(o), 0);
            }
            match operand.strip_prefix('#').and_then(constant) {
                Some(k) => stmt(code::alu_k(o), k?),
                None => Err(shape("`#k` or `x`")),
            }
        }
        "neg" => no_operand(code::NEG),
        "tax" => no_operand(code::TAX),
        "txa" => no_operand(code::TXA),
        "ret" => match operand {
            "a" => stmt(code::RET_A, 0),
            "x" => stmt(class::RET | src::X, 0),
            _ => match operand.strip_prefix('#').and_then(constant) {
                Some(k) => stmt(code::RET_K, k?),
                None => Err(shape("`#k`, `a` or `x`")),
            },
        },
        "ja" => {
            let target = target("ja", operand, pc)?;
            let k = target - pc as u64 - 1;
            let k = u32::try_from(k).map_err(|_| {
                format!(
                    "ja {target} is too far: ja reaches at most {} instructions past the next one",
                    u32::MAX
                )
            })?;
            Ok((Insn::stmt(code::JA, k), vec![("ja", target)]))
        }
        _ if conditional => {
            let o = match mnemonic {
                "jeq" => op::JEQ,
                "jgt" => op::JGT,
                "jge" => op::JGE,
                _ => op::JSET,
            };
            let (c, k) = if operand == "x" {
                (class::JMP | o | src::X, 0)
            } else {
                match operand.strip_prefix('#').and_then(constant) {
                    Some(k) => (class::JMP | o | src::K, k?),
                    None => return Err(shape("`#k` or `x`, then `jt N jf N`")),
                }
            };
            let (jt_text, jf_text) = jt_jf.unwrap_or_default();
            let jt = target("jt", jt_text, pc)?;
            let jf = target("jf", jf_text, pc)?;
            let offset = |name: &str, t: u64| {
                u8::try_from(t - pc as u64 - 1).map_err(|_| {
                    format!(
                        "{name} {t} is too far: jt and jf reach at most 255 instructions past the next one ({})",
                        pc + 1 + 255
                    )
                })
            };
            let insn = Insn::jump(c, k, offset("jt", jt)?, offset("jf", jf)?);
            Ok((insn, vec![("jt", jt), ("jf", jf)]))
        }
        _ => Err(format!(
            "unknown instruction `{}`: expected ld, ldh, ldb, ldx, ldxb, st, stx, add, sub, mul, div, mod, and, or, xor, lsh, rsh, neg, ja, jeq, jgt, jge, jset, ret, tax or txa",
            clip(mnemonic)
        )),
    }
}

/// A constant k: decimal or `0x` hex, negative ones as their 32-bit
/// two's complement (as `[x + -1]` prints). `None` when `text` is no number
/// at all, an error when it is one out of range.
fn constant(text: &str) -> Option<Result<u32, String>> {
    let v = parse_number(text)?;
    Some(
        if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&v) {
            Ok(v as u32)
        } else {
            Err(format!(
                "k {} is out of range (-2147483648 to 0xffffffff)",
                clip(text)
            ))
        },
    )
}

/// `M[k]`.
fn scratch(operand: &str) -> Option<Result<u32, String>> {
    constant(operand.strip_prefix("M[")?.strip_suffix(']')?)
}

/// `4*([k]&0xf)`.
fn msh(operand: &str) -> Option<Result<u32, String>> {
    constant(operand.strip_prefix("4*([")?.strip_suffix("]&0xf)")?)
}

/// A packet operand of the load `base` (class | size): `[k]`, `[x+k]`,
/// `[net+k]`, `[ll+k]` or an ancillary `#name`; the opcode and k.
fn packet(operand: &str, base: u16) -> Option<Result<(u16, u32), String>> {
    if let Some(name) = operand.strip_prefix('#') {
        let off = (0..ancillary::MAX)
            .step_by(4)
            .find(|&off| ancillary::name(off) == Some(name))?;
        return Some(Ok((
            base | mode::ABS,
            (skf::AD_OFF as u32).wrapping_add(off),
        )));
    }
    let inner = operand.strip_prefix('[')?.strip_suffix(']')?;
    if let Some(k) = inner.strip_prefix("x+") {
        return Some(constant(k)?.map(|k| (base | mode::IND, k)));
    }
    // The header windows are 0x100000 bytes each.
    for (prefix, start) in [("net+", skf::NET_OFF), ("ll+", skf::LL_OFF)] {
        if let Some(n) = inner.strip_prefix(prefix) {
            let n = parse_number(n)?;
            return Some(if (0..0x100000).contains(&n) {
                Ok((base | mode::ABS, (start as u32).wrapping_add(n as u32)))
            } else {
                Err(format!(
                    "`[{prefix} {n}]`: the offset must be 0 to 0xfffff",
                    prefix = prefix.trim_end_matches('+')
                ))
            });
        }
    }
    Some(constant(inner)?.map(|k| (base | mode::ABS, k)))
}

/// An absolute jump target after instruction `pc`.
fn target(name: &str, text: &str, pc: usize) -> Result<u64, String> {
    let t = parse_number(text)
        .ok_or_else(|| format!("{name} `{}` is not an instruction number", clip(text)))?;
    if t <= pc as i64 {
        return Err(format!(
            "{name} {t} is not after this instruction ({pc:03}): classic jumps go forward only"
        ));
    }
    Ok(t as u64)
}

#[cfg(test)]
mod tests {
    use super::super::{Format, detect};
    use super::*;

    fn one(text: &str, pc: usize) -> Insn {
        parse_insn(text, pc)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .0
    }

    #[test]
    fn reads_what_tcpdump_prints() {
        let text = "(000) ldh      [12]\n(001) jeq      #0x800           jt 2    jf 5\n\
                    (002) ldxb     4*([14]&0xf)\n(003) ldh      [x + 16]\n\
                    (004) ret      #65535\n(005) ret      #0\n";
        assert_eq!(detect(text.as_bytes(), None).unwrap(), Format::D);
        let insns = read(text).unwrap();
        assert_eq!(
            insns,
            [
                Insn::stmt(code::LD_H_ABS, 12),
                Insn::jump(code::JEQ_K, 0x800, 0, 3),
                Insn::stmt(code::LDX_B_MSH, 14),
                Insn::stmt(code::LD_H_IND, 16),
                Insn::stmt(code::RET_K, 65535),
                Insn::stmt(code::RET_K, 0),
            ]
        );
    }

    #[test]
    fn every_printed_shape_reads_back() {
        let ad = |off: u32| (skf::AD_OFF as u32).wrapping_add(off);
        let mut insns = vec![
            Insn::stmt(code::LD_W_ABS, 0x8000_0000),
            Insn::stmt(code::LD_B_ABS, ad(60)),
            Insn::stmt(code::LD_W_ABS, ad(64)),
            Insn::stmt(code::LD_H_ABS, skf::NET_OFF as u32 + 9),
            Insn::stmt(code::LD_W_ABS, skf::LL_OFF as u32),
            Insn::stmt(code::LD_W_ABS, skf::LL_OFF as u32 - 1),
            Insn::stmt(code::LD_B_IND, u32::MAX),
            Insn::stmt(code::LD_W_LEN, 0),
            Insn::stmt(code::LDX_W_LEN, 0),
            Insn::stmt(code::LD_IMM, u32::MAX),
            Insn::stmt(code::LDX_IMM, 0),
            Insn::stmt(code::LD_MEM, 15),
            Insn::stmt(code::LDX_MEM, 3),
            Insn::stmt(code::LDX_B_MSH, u32::MAX),
            Insn::stmt(class::LDX | size::H | mode::ABS, ad(0)),
            Insn::stmt(class::LDX | size::B | mode::ABS, 7),
            Insn::stmt(code::ST, 2),
            Insn::stmt(code::STX, 9),
            Insn::stmt(code::NEG, 0),
            Insn::stmt(code::TAX, 0),
            Insn::stmt(code::TXA, 0),
            Insn::stmt(class::RET | src::X, 0),
            Insn::stmt(code::RET_A, 0),
            Insn::stmt(code::RET_K, u32::MAX),
        ];
        for off in (0..ancillary::MAX).step_by(4) {
            insns.push(Insn::stmt(code::LD_W_ABS, ad(off)));
        }
        for o in op::ALU_WITH_OPERAND {
            insns.push(Insn::stmt(code::alu_k(o), 0xdead_beef));
            insns.push(Insn::stmt(code::alu_x(o), 0));
        }
        for o in op::CONDITIONAL_JUMPS {
            insns.push(Insn::jump(class::JMP | o | src::K, 0x8000_0001, 255, 0));
            insns.push(Insn::jump(class::JMP | o | src::X, 0, 0, 7));
        }
        insns.push(Insn::stmt(code::JA, 0));
        let tail = insns.len() + 1;
        insns.push(Insn::stmt(code::JA, 255));
        insns.extend(std::iter::repeat_n(Insn::stmt(code::RET_A, 0), 256));
        assert!(insns.len() > tail + 255);
        let text = write(&insns).unwrap();
        assert_eq!(read(&text).unwrap(), insns);
    }

    #[test]
    fn other_spellings() {
        assert_eq!(one("ld #len", 0), Insn::stmt(code::LD_W_LEN, 0));
        assert_eq!(one("ldx #len", 0), Insn::stmt(code::LDX_W_LEN, 0));
        assert_eq!(one("ldx 4*([14]&0xf)", 0), Insn::stmt(code::LDX_B_MSH, 14));
        assert_eq!(one("ldh [x+14]", 0), Insn::stmt(code::LD_H_IND, 14));
        assert_eq!(
            one("ld [x + -4]", 0),
            Insn::stmt(code::LD_W_IND, (-4i32) as u32)
        );
        assert_eq!(
            one("ld [4294967295]", 0),
            Insn::stmt(code::LD_W_ABS, u32::MAX)
        );
        assert_eq!(one("ret #0xffff", 0), Insn::stmt(code::RET_K, 0xffff));
        assert_eq!(one("and #15", 0), Insn::stmt(code::alu_k(op::AND), 15));
        assert_eq!(
            one("jset\t#0x1fff\tjt 23\tjf 17", 16),
            Insn::jump(code::JSET_K, 0x1fff, 6, 0)
        );
        assert_eq!(one("ja 8", 4), Insn::stmt(code::JA, 3));
    }

    fn error(text: &str) -> ReadError {
        super::super::read(text.as_bytes(), None, None).expect_err("must be refused")
    }

    #[test]
    fn errors_name_the_line_and_the_rule() {
        let e = error("(000) ldh [12]\n(001) jeq #0x800 jt 2 jf 9\n(002) ret #0\n");
        assert_eq!(
            e.to_string(),
            "line 2: jf 9 is past the last instruction (002)"
        );
        let e = error("(000) ldh [12]\n\n(001) jeq #0x800 jt 1 jf 2\n(002) ret #0\n");
        assert_eq!(
            e.to_string(),
            "line 3: jt 1 is not after this instruction (001): classic jumps go forward only"
        );
        let e = error("(000) jeq #1 jt 300 jf 1\n");
        assert!(
            e.to_string().starts_with("line 1: jt 300 is too far"),
            "{e}"
        );
        let e = error("(000) ja 4294967297\n");
        assert!(
            e.to_string()
                .starts_with("line 1: ja 4294967297 is too far"),
            "{e}"
        );
        let e = error("# a comment\n(000) ldh [12]\n(002) ret #0\n");
        assert_eq!(e.location, Location::Line(3));
        assert!(
            e.message
                .starts_with("instruction number (002) where (001) belongs")
        );
        let e = error("(000) ldh [12]\n(001) frob #1\n");
        assert_eq!(e.location, Location::Line(2));
        assert!(e.message.starts_with("unknown instruction `frob`"), "{e}");
        let e = error("(000) ldh #0x5\n");
        assert!(e.message.starts_with("`ldh` takes `[k]`"), "{e}");
        let e = error("(000) jeq #5\n");
        assert!(e.message.starts_with("`jeq` needs `jt N jf N`"), "{e}");
        let e = error("(000) tax 5\n");
        assert_eq!(e.message, "`tax` takes no operand; found `5`");
        let e = error("(000) ret #4294967296\n");
        assert!(e.message.starts_with("k 4294967296 is out of range"), "{e}");
        let e = error("(000) ld #nosuch\n");
        assert!(e.message.starts_with("`ld` takes `#k`"), "{e}");
        let e = error("(000) ldh [net + 1048576]\n");
        assert!(e.message.contains("0 to 0xfffff"), "{e}");
        let e = error("(000)\n");
        assert!(e.message.contains("without an instruction"), "{e}");
        let e = error("(000) ldh [12]\nldh [12]\n");
        assert_eq!(e.location, Location::Line(2));
        let e = error("(99999999999999999999999) ret #0\n");
        assert!(e.message.starts_with("instruction number (9999"), "{e}");
    }

    #[test]
    fn notes_hold_the_fields_a_line_leaves_out() {
        let insns = [
            Insn::jump(code::LD_H_ABS, 12, 1, 0),
            Insn::stmt(code::TAX, 5),
            Insn::stmt(class::LD | size::B | mode::IMM, 7),
            Insn::jump(code::JA, 0, 3, 4),
            Insn::stmt(code::RET_A, 0),
        ];
        let text = write(&insns).unwrap();
        assert_eq!(
            text,
            "(000) ldh      [12] ; jt=1\n(001) tax ; k=5\n(002) ld       #0x7 ; code=0x10\n\
             (003) ja       4 ; jt=3 jf=4\n(004) ret      a\n"
        );
        assert_eq!(read(&text).unwrap(), insns);
        let e = error("(000) ldh [12] ; k=13\n");
        assert!(
            e.message
                .starts_with("the note `k=13` changes what the line shows"),
            "{e}"
        );
        let e = error("(000) tax ; k=1 k=2\n");
        assert_eq!(e.message, "the note gives `k` twice");
        let e = error("(000) tax ; x=1\n");
        assert!(e.message.starts_with("the note after `;` takes"), "{e}");
        let e = error("(000) tax ; jt=256\n");
        assert_eq!(e.message, "jt=256 in the note is out of range (0 to 0xff)");
    }

    #[test]
    fn write_refuses_what_it_cannot_show() {
        let e = write(&[Insn::stmt(code::RET_A, 0), Insn::stmt(0xffff, 0)]).unwrap_err();
        assert_eq!(e.index, 1);
        assert!(
            e.to_string()
                .starts_with("instruction 1 `{ 0xffff, 0, 0, 0x00000000 }` has no tcpdump -d form: unknown instruction `unimp`"),
            "{e}"
        );
        let e = write(&[Insn::stmt(code::JA, 5), Insn::stmt(code::RET_A, 0)]).unwrap_err();
        assert_eq!(e.message, "ja 6 is past the last instruction (001)");
    }
}
