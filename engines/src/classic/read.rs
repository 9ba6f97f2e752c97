//! Readers (and writers) for the forms classic programs come in:
//! `tcpdump -d` (the listing, [`d`]), `tcpdump -dd`, `tcpdump -ddd`, the one-line comma form of `bpf_asm` and iptables'
//! `xt_bpf`, and raw little-endian `struct sock_filter` arrays.
//!
//! Text forms may carry blank lines and comment lines starting with `#` or
//! `//` (so data files can record the expression they came from). Every
//! error names the line, or for binary input the byte offset.

use super::insn::{INSN_BYTES, Insn};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use thiserror::Error;

pub mod d;

pub use d::WriteError;

/// A program file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `tcpdump -d`: the listing `(000) ldh      [12]`, jump targets absolute.
    D,
    /// `tcpdump -dd`: C array lines `{ 0x28, 0, 0, 0x0000000c },`.
    Dd,
    /// `tcpdump -ddd`: a count line, then `code jt jf k` in decimal.
    Ddd,
    /// `bpf_asm` / `xt_bpf`: `4,40 0 0 12,21 0 1 2048,...`.
    Comma,
    /// Raw `struct sock_filter` array, 8 little-endian bytes each.
    Bin,
}

impl Format {
    /// Every format, in the order `--format` lists them.
    pub const ALL: [Format; 5] = [
        Format::D,
        Format::Dd,
        Format::Ddd,
        Format::Comma,
        Format::Bin,
    ];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::D => "d",
            Format::Dd => "dd",
            Format::Ddd => "ddd",
            Format::Comma => "comma",
            Format::Bin => "bin",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown format `{s}` (expected d, dd, ddd, comma or bin)"))
    }
}

/// Where in the input a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A 1-based line of a text form.
    Line(usize),
    /// A 0-based byte offset of the binary form.
    Byte(usize),
    /// The input as a whole.
    Input,
}

/// A malformed program file.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{}{message}", location_prefix(*location))]
pub struct ReadError {
    /// Where the problem is.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

fn location_prefix(location: Location) -> String {
    match location {
        Location::Line(n) => format!("line {n}: "),
        Location::Byte(n) => format!("byte {n}: "),
        Location::Input => String::new(),
    }
}

fn err(location: Location, message: impl Into<String>) -> ReadError {
    ReadError {
        location,
        message: message.into(),
    }
}

/// Reads a program from `bytes`, in `format` or, if `None`, the format
/// [`detect`] finds (`path` lends its extension: `.bin` means binary).
pub fn read(
    bytes: &[u8],
    format: Option<Format>,
    path: Option<&Path>,
) -> Result<Vec<Insn>, ReadError> {
    let format = match format {
        Some(f) => f,
        None => detect(bytes, path)?,
    };
    if format == Format::Bin {
        return read_bin(bytes);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        err(
            Location::Line(line),
            format!(
                "not UTF-8 text (byte {}); binary programs need `.bin` or --format bin",
                e.valid_up_to()
            ),
        )
    })?;
    match format {
        Format::D => d::read(text),
        Format::Dd => read_dd(text),
        Format::Ddd => read_ddd(text),
        Format::Comma => read_comma(text),
        Format::Bin => unreachable!("handled above"),
    }
}

/// Tells the format of `bytes`: binary by a `.bin` extension, otherwise by
/// the first line that is neither blank nor a comment.
pub fn detect(bytes: &[u8], path: Option<&Path>) -> Result<Format, ReadError> {
    if path.and_then(Path::extension).is_some_and(|e| e == "bin") {
        return Ok(Format::Bin);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(err(
            Location::Input,
            "not text; binary programs need a `.bin` name or --format bin",
        ));
    };
    let Some((n, line)) = content_lines(text).next() else {
        return Err(err(
            Location::Input,
            "no instructions (only blank or comment lines)",
        ));
    };
    if d::looks_like(line) {
        Ok(Format::D)
    } else if line.starts_with('{') {
        Ok(Format::Dd)
    } else if line.contains(',') {
        Ok(Format::Comma)
    } else if line.split_whitespace().count() == 1 {
        Ok(Format::Ddd)
    } else {
        Err(err(
            Location::Line(n),
            "cannot tell the format: expected `(000) ldh [12]` (tcpdump -d), `{ code, jt, jf, k },` (tcpdump -dd), a count line (tcpdump -ddd) or `count,code jt jf k,...`; use --format",
        ))
    }
}

/// The lines that hold content, numbered from 1, trimmed.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))
}

/// One number: decimal or `0x` hex, with an optional minus sign.
fn parse_number(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let value = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse().ok()?
        }
        None => return None,
    };
    Some(if neg { -value } else { value })
}

/// An instruction from its four fields, each range-checked.
fn insn_from_fields(fields: &[&str], location: Location) -> Result<Insn, ReadError> {
    let [code, jt, jf, k] = fields else {
        return Err(err(
            location,
            format!("expected 4 fields `code jt jf k`, found {}", fields.len()),
        ));
    };
    let field = |name: &str, text: &str, min: i64, max: i64| {
        let v = parse_number(text)
            .ok_or_else(|| err(location, format!("{name} `{}` is not a number", clip(text))))?;
        if v < min || v > max {
            return Err(err(
                location,
                format!("{name} {} is out of range ({min} to {max:#x})", clip(text)),
            ));
        }
        Ok(v)
    };
    Ok(Insn {
        code: field("code", code, 0, 0xffff)? as u16,
        jt: field("jt", jt, 0, 0xff)? as u8,
        jf: field("jf", jf, 0, 0xff)? as u8,
        k: field("k", k, i64::from(i32::MIN), i64::from(u32::MAX))? as u32,
    })
}

fn read_dd(text: &str) -> Result<Vec<Insn>, ReadError> {
    content_lines(text)
        .map(|(n, line)| {
            let at = Location::Line(n);
            let line = line.strip_suffix(',').unwrap_or(line).trim_end();
            let inner = line
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .ok_or_else(|| {
                    err(
                        at,
                        format!("expected `{{ code, jt, jf, k }},`, found `{}`", clip(line)),
                    )
                })?;
            let fields: Vec<&str> = inner.split(',').map(str::trim).collect();
            insn_from_fields(&fields, at)
        })
        .collect()
}

/// User text quoted in an error, cut to 40 characters, so that a huge
/// one-line file still gives a readable one-line error.
fn clip(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

/// The count a `-ddd` or comma program starts with.
/// A `u64` on every target, so that a huge count gets the same error on
/// 32-bit hosts as on 64-bit ones.
fn parse_count(text: &str, at: Location) -> Result<u64, ReadError> {
    text.trim().parse::<u64>().map_err(|_| {
        err(
            at,
            format!(
                "expected the instruction count, found `{}`",
                clip(text.trim())
            ),
        )
    })
}

fn read_ddd(text: &str) -> Result<Vec<Insn>, ReadError> {
    let mut lines = content_lines(text);
    let Some((n, first)) = lines.next() else {
        return Err(err(Location::Input, "no instruction count"));
    };
    let count = parse_count(first, Location::Line(n))?;
    let mut insns = Vec::new();
    let mut last_line = n;
    for (n, line) in lines {
        let at = Location::Line(n);
        if insns.len() as u64 == count {
            return Err(err(
                at,
                format!("more instructions than the count ({count}) says"),
            ));
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        insns.push(insn_from_fields(&fields, at)?);
        last_line = n;
    }
    if (insns.len() as u64) < count {
        return Err(err(
            Location::Line(last_line),
            format!(
                "the count says {count} instructions, the file ends after {}",
                insns.len()
            ),
        ));
    }
    Ok(insns)
}

fn read_comma(text: &str) -> Result<Vec<Insn>, ReadError> {
    let mut lines = content_lines(text);
    let Some((n, line)) = lines.next() else {
        return Err(err(Location::Input, "no program"));
    };
    if let Some((extra, _)) = lines.next() {
        return Err(err(
            Location::Line(extra),
            "the comma form is one line; found a second one",
        ));
    }
    let at = Location::Line(n);
    let line = line.strip_suffix(',').unwrap_or(line);
    let mut parts = line.split(',');
    let count = parse_count(parts.next().unwrap_or(""), at)?;
    let mut insns = Vec::new();
    for (i, part) in parts.enumerate() {
        let fields: Vec<&str> = part.split_whitespace().collect();
        let insn = insn_from_fields(&fields, at).map_err(|e| ReadError {
            message: format!("instruction {i} (`{}`): {}", clip(part.trim()), e.message),
            ..e
        })?;
        insns.push(insn);
    }
    if insns.len() as u64 != count {
        return Err(err(
            at,
            format!("the count says {count} instructions, found {}", insns.len()),
        ));
    }
    Ok(insns)
}

fn read_bin(bytes: &[u8]) -> Result<Vec<Insn>, ReadError> {
    let chunks = bytes.chunks_exact(INSN_BYTES);
    let rest = chunks.remainder().len();
    if rest != 0 {
        return Err(err(
            Location::Byte(bytes.len() - rest),
            format!("{rest} trailing bytes: instructions are {INSN_BYTES} bytes each"),
        ));
    }
    Ok(chunks
        .map(|c| {
            let mut b = [0u8; INSN_BYTES];
            b.copy_from_slice(c);
            Insn::from_bytes(b)
        })
        .collect())
}

/// Writes `insns` in `format` (the inverse of [`read`]). Only the `-d` form
/// can fail: it has no place for fields its lines do not show (see [`d`]).
pub fn write(insns: &[Insn], format: Format) -> Result<Vec<u8>, WriteError> {
    Ok(match format {
        Format::D => d::write(insns)?.into_bytes(),
        Format::Dd => insns
            .iter()
            .map(|i| format!("{i},\n"))
            .collect::<String>()
            .into_bytes(),
        Format::Ddd => std::iter::once(format!("{}\n", insns.len()))
            .chain(
                insns
                    .iter()
                    .map(|i| format!("{} {} {} {}\n", i.code, i.jt, i.jf, i.k)),
            )
            .collect::<String>()
            .into_bytes(),
        Format::Comma => {
            let mut s = insns.len().to_string();
            for i in insns {
                s.push_str(&format!(",{} {} {} {}", i.code, i.jt, i.jf, i.k));
            }
            s.push('\n');
            s.into_bytes()
        }
        Format::Bin => insns.iter().flat_map(|i| i.to_bytes()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROG: [Insn; 3] = [
        Insn {
            code: 0x28,
            jt: 0,
            jf: 0,
            k: 12,
        },
        Insn {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: 0x800,
        },
        Insn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0xffff_ffff,
        },
    ];

    fn read_auto(text: &str) -> Result<Vec<Insn>, ReadError> {
        read(text.as_bytes(), None, None)
    }

    #[test]
    fn every_format_round_trips_and_is_detected() {
        // PROG's jf lands one past its end, which the -d form refuses.
        let prog = [PROG[0], PROG[1], PROG[2], PROG[2]];
        for format in Format::ALL {
            let bytes = write(&prog, format).unwrap();
            assert_eq!(read(&bytes, Some(format), None).unwrap(), prog, "{format}");
            let path = (format == Format::Bin).then(|| Path::new("prog.bin"));
            assert_eq!(detect(&bytes, path).unwrap(), format);
            assert_eq!(read(&bytes, None, path).unwrap(), prog);
        }
    }

    #[test]
    fn tcpdump_forms_as_printed() {
        let dd = "{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 0xffffffff },\n";
        assert_eq!(read_auto(dd).unwrap(), PROG);
        let ddd = "3\n40 0 0 12\n21 0 1 2048\n6 0 0 4294967295\n";
        assert_eq!(read_auto(ddd).unwrap(), PROG);
        let comma = "3,40 0 0 12,21 0 1 2048,6 0 0 4294967295";
        assert_eq!(read_auto(comma).unwrap(), PROG);
        let commented = "# tcpdump port 22\n\n// more\n{ 0x28, 0, 0, 12 }\n{ 0x15, 0, 1, 2048 },\n{ 6, 0, 0, -1 }";
        assert_eq!(read_auto(commented).unwrap(), PROG);
    }

    fn error(text: &str) -> ReadError {
        read_auto(text).expect_err("malformed input must be refused")
    }

    #[test]
    fn malformed_text_names_the_line() {
        let e = error("{ 0x28, 0, 0, 12 },\n{ 0x15, 0, 1 },\n");
        assert_eq!(e.location, Location::Line(2));
        assert_eq!(
            e.to_string(),
            "line 2: expected 4 fields `code jt jf k`, found 3"
        );
        let e = error("{ 0x28, 0, 0, 12 },\n\n{ 0x15, 0, 256, 0 },\n");
        assert_eq!(e.to_string(), "line 3: jf 256 is out of range (0 to 0xff)");
        assert_eq!(error("{ 0x10000, 0, 0, 0 }").location, Location::Line(1));
        assert_eq!(
            error("{ 0x28, 0, 0, 0x100000000 }").location,
            Location::Line(1)
        );
        assert_eq!(
            error("{ 0x28, 0, 0, zz }").message,
            "k `zz` is not a number"
        );
        assert_eq!(
            error("{ 0x28, 0, 0, 12 },\nldh [12]").location,
            Location::Line(2)
        );
        assert_eq!(
            error("2\n40 0 0 12\n").to_string(),
            "line 2: the count says 2 instructions, the file ends after 1"
        );
        assert_eq!(error("1\n40 0 0 12\n6 0 0 0\n").location, Location::Line(3));
        assert_eq!(error("1\n40 0 0\n").location, Location::Line(2));
        assert_eq!(
            error("3,40 0 0 12,6 0 0 0").message,
            "the count says 3 instructions, found 2"
        );
        assert!(
            error("2,40 0 0 12,6 0 0")
                .message
                .starts_with("instruction 1 (`6 0 0`)")
        );
        assert_eq!(error("1,6 0 0 0\n1,6 0 0 0").location, Location::Line(2));
        assert_eq!(error("ldh [12]\nret #0").location, Location::Line(1));
        assert_eq!(error("# nothing\n\n").location, Location::Input);
        assert_eq!(error("").location, Location::Input);
    }

    #[test]
    fn binary_needs_whole_instructions() {
        let mut bytes = write(&PROG, Format::Bin).unwrap();
        bytes.extend([1, 2, 3]);
        let e = read(&bytes, Some(Format::Bin), None).unwrap_err();
        assert_eq!(e.location, Location::Byte(24));
        assert_eq!(read(&[], Some(Format::Bin), None).unwrap(), vec![]);
        let e = read(&[0xff, 0xfe, 0, 0], None, None).unwrap_err();
        assert_eq!(e.location, Location::Input);
        let e = read(b"{ 0x6, 0, 0, 0 }\n\xff", Some(Format::Dd), None).unwrap_err();
        assert_eq!(e.location, Location::Line(2));
    }
}
