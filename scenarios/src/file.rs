//! Scenario files: a user's own filter and packets for the lab to measure,
//! written in TOML (`bpflab run --scenario FILE`).
//!
//! ```toml
//! name = "ssh"                        # required: the program's name in results
//! description = "free text"           # optional
//!
//! [program]                           # exactly one of `file` and `expression`
//! file = "ssh.dd"                     # relative to the scenario file
//! format = "dd"                       # optional: d, dd, ddd, comma, bin (default: detected)
//! # expression = "port 22"            # a tcpdump expression (needs libpcap)
//!
//! [[packet]]                          # one or more; exactly one of builder, hex, pcap
//! builder = { proto = "tcp", dport = 22, payload = 60 }
//! expect = 65535                      # the verdict every engine must return
//!
//! [[packet]]
//! hex = "10bf48d643d6 3c075443e576 0800 ..."   # blanks and `:` may separate bytes
//! expect = 0
//!
//! [[packet]]
//! pcap = "capture.pcap"               # every packet of a classic pcap file (Ethernet)
//! expect = 65535                      # ... each must get this verdict
//!
//! [run]                               # optional
//! modes = ["hit", "miss"]             # default: the lab's --modes
//! skbs = 10000                        # distinct skbs in miss mode; default: --skbs
//! seed = 1                            # the miss order's seed; default: the lab's
//! ```
//!
//! In hit mode the first packet is run again and again; in miss mode the
//! lab allocates `skbs` skbs, skb `i` a copy of packet `i % packets`, and
//! visits them in a shuffled order (see [`Scenario::from_parts`]).
//!
//! Builder fields (all optional): `ip` (`"ipv4"` or `"ipv6"`, default by
//! the addresses, else IPv4), `proto` (`"tcp"`, `"udp"`, `"sctp"`, `"icmp"`
//! or a protocol number; default tcp), `src`, `dst` (addresses; default the
//! thread's 10.1.1.149 to 10.1.2.10, or 2001:db8::1 to 2001:db8::2),
//! `sport`, `dport` (tcp, udp, sctp; default 0), `payload` (zero bytes
//! after the transport header), `flags` (TCP flag names, default
//! `["ack"]`), `seq`, `ack`, `window` (TCP), `ttl` (hop limit), `tos`
//! (traffic class), `id`, `df`, `mf`, `frag` (IPv4 only; `frag` in 8-byte
//! units), `vlan` (an 802.1Q TCI in the frame), `src_mac`, `dst_mac`
//! (`aa:bb:cc:dd:ee:ff`, default the thread's) and `pad` (zero-pad the
//! frame to this many bytes). Lengths and checksums follow from the rest.
//!
//! Every error names the file, the line where there is one, the key and
//! the rule ([`FileError`]); a file is checked whole, program and packets
//! included, before anything runs. An `expression` is kept as text here:
//! the caller compiles it ([`ScenarioFile::resolve_program`]), since only a
//! build with libpcap can.

use crate::packet::{Frame, Ipv4, Ipv6, Mac, PacketError, Sctp, Tcp, Transport, Udp, tcp_flags};
use crate::scenario::{ExpectedPacket, MAX_COUNT, Mode, Scenario, ScenarioError};
use bpflab_engines::classic::read::{Format, read};
use bpflab_engines::classic::{CheckError, Program, check};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::io::Read as _;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use thiserror::Error;
use toml::Spanned;

/// The largest scenario file read (1 MiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The largest program file read (4 MiB).
pub const MAX_PROGRAM_BYTES: u64 = 4 << 20;

/// The largest pcap file read (64 MiB).
pub const MAX_PCAP_BYTES: u64 = 64 << 20;

/// The most packets a scenario may list, pcap files included.
pub const MAX_PACKETS: usize = 1 << 16;

/// The most packet bytes a scenario may list in all (64 MiB, what the
/// largest pcap file holds): builders make up to 64 KiB from a few bytes
/// of TOML, so the file's size alone does not bound them.
pub const MAX_TOTAL_PACKET_BYTES: usize = 64 << 20;

/// The longest packet (the 16-bit IP length's reach).
pub const MAX_PACKET_BYTES: usize = 65_535;

/// The longest scenario name.
pub const MAX_NAME_LEN: usize = 64;

/// pcap's link type for Ethernet (`DLT_EN10MB`), the only one the
/// programs are written for.
const LINKTYPE_ETHERNET: u32 = 1;

/// A scenario file that cannot be used: where, and why.
#[derive(Debug, Error)]
#[error("{}{}: {kind}", path.display(), line.map(|n| format!(":{n}")).unwrap_or_default())]
pub struct FileError {
    /// The scenario file.
    pub path: PathBuf,
    /// The 1-based line of the scenario file the problem is on, if known.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: FileErrorKind,
}

/// What is wrong with a scenario file.
#[derive(Debug, Error)]
pub enum FileErrorKind {
    /// A file (the scenario, its program or a pcap) cannot be read.
    #[error("cannot read {what}: {error}")]
    Read {
        /// Which file.
        what: String,
        /// The system's reason.
        error: std::io::Error,
    },
    /// A file is larger than this reader takes.
    #[error("{what} is {size} bytes; at most {max} are read")]
    TooLarge {
        /// Which file.
        what: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A file that gives more than the limit though its size says less
    /// (a device such as `/dev/zero`, a pipe, a file that grew).
    #[error("{what} gives more than {max} bytes; at most {max} are read")]
    TooLong {
        /// Which file.
        what: String,
        /// The limit.
        max: u64,
    },
    /// Not TOML, or a key or value TOML's schema refuses (unknown key,
    /// wrong type, number out of range, bad address).
    #[error("{0}")]
    Toml(String),
    /// A `name` with characters results cannot carry.
    #[error("name `{0}`: use 1 to {MAX_NAME_LEN} letters, digits, `-`, `_` or `.`")]
    BadName(String),
    /// No `[program]` table, or one with neither `file` nor `expression`.
    #[error("[program] needs `file` (a program file) or `expression` (a tcpdump expression)")]
    NoProgram,
    /// Both `file` and `expression`.
    #[error("[program] has both `file` and `expression`; give one")]
    TwoPrograms,
    /// `format` beside an `expression`.
    #[error("[program] `format` applies to a `file`, not to an `expression`")]
    FormatWithExpression,
    /// A `format` that is not one of the readers'.
    #[error("[program] format `{0}`: expected d, dd, ddd, comma or bin")]
    UnknownFormat(String),
    /// An empty `expression`.
    #[error("[program] `expression` is empty")]
    EmptyExpression,
    /// The program file does not read.
    #[error("program file {}: {message}", file.display())]
    ProgramFile {
        /// The program file.
        file: PathBuf,
        /// The reader's error, with the program file's line.
        message: String,
    },
    /// The program file reads but fails the checker.
    #[error("program file {}: {error}", file.display())]
    ProgramCheck {
        /// The program file.
        file: PathBuf,
        /// The checker's reason.
        error: CheckError,
    },
    /// The expression does not compile (or cannot be compiled here).
    #[error("[program] expression `{expression}`: {message}")]
    Compile {
        /// The expression.
        expression: String,
        /// The compiler's reason.
        message: String,
    },
    /// No `[[packet]]`.
    #[error("no [[packet]]: a scenario needs at least one packet")]
    NoPackets,
    /// A packet with none or several of builder, hex and pcap.
    #[error("packet {packet}: give exactly one of `builder`, `hex` or `pcap` (found {found})")]
    PacketSource {
        /// The packet's 1-based position among the `[[packet]]`s.
        packet: usize,
        /// How many of the three it gives.
        found: usize,
    },
    /// Malformed `hex`.
    #[error("packet {packet}: hex: {message}")]
    Hex {
        /// The packet's position.
        packet: usize,
        /// What is wrong with the digits.
        message: String,
    },
    /// A builder field against a rule the types cannot express.
    #[error("packet {packet}: builder: `{field}` {rule}")]
    Builder {
        /// The packet's position.
        packet: usize,
        /// The field.
        field: &'static str,
        /// The rule it breaks.
        rule: String,
    },
    /// The builder's fields describe a frame no header can carry.
    #[error("packet {packet}: builder: {error}")]
    Encode {
        /// The packet's position.
        packet: usize,
        /// The builder's reason.
        error: PacketError,
    },
    /// A packet longer than [`MAX_PACKET_BYTES`].
    #[error("packet {packet}: {len} bytes; at most {MAX_PACKET_BYTES}")]
    PacketTooLong {
        /// The packet's position.
        packet: usize,
        /// Its length.
        len: usize,
    },
    /// A pcap file that cannot be used.
    #[error("packet {packet}: pcap file {}: {message}", file.display())]
    Pcap {
        /// The packet's position.
        packet: usize,
        /// The pcap file.
        file: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// More than [`MAX_PACKETS`] packets in all.
    #[error("more than {MAX_PACKETS} packets")]
    TooManyPackets,
    /// More than [`MAX_TOTAL_PACKET_BYTES`] of packets in all.
    #[error(
        "packet {packet}: the packets so far hold {bytes} bytes; at most {MAX_TOTAL_PACKET_BYTES} in all"
    )]
    TooManyPacketBytes {
        /// The packet that went past the limit.
        packet: usize,
        /// The bytes up to and including it.
        bytes: usize,
    },
    /// `modes = []`.
    #[error("[run] modes is empty")]
    NoModes,
    /// A mode that is not hit or miss.
    #[error("[run] modes: {0}")]
    UnknownMode(#[from] crate::scenario::UnknownMode),
    /// A mode given twice.
    #[error("[run] modes: `{0}` is given twice")]
    DuplicateMode(Mode),
    /// `skbs` out of range.
    #[error("[run] skbs {0}: between 1 and {MAX_COUNT}")]
    Skbs(u64),
}

/// Where a scenario's program comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramSource {
    /// A program file, read and checked.
    File {
        /// The file, as resolved against the scenario file's folder.
        path: PathBuf,
        /// Its checked program.
        program: Program,
    },
    /// A tcpdump expression, for the caller to compile.
    Expression(String),
}

/// A scenario file, read and checked: everything the lab needs but the
/// compilation of an expression.
#[derive(Clone, Debug)]
pub struct ScenarioFile {
    path: PathBuf,
    name: String,
    description: Option<String>,
    program: ProgramSource,
    program_line: Option<usize>,
    packets: Vec<ExpectedPacket>,
    modes: Option<Vec<Mode>>,
    skbs: Option<usize>,
    seed: Option<u64>,
}

impl ScenarioFile {
    /// Reads and checks the scenario file at `path`, with its program file
    /// and pcap files (resolved against its folder).
    pub fn load(path: &Path) -> Result<ScenarioFile, FileError> {
        let fail = |kind| FileError {
            path: path.to_path_buf(),
            line: None,
            kind,
        };
        let bytes = read_limited(path, "the scenario file".into(), MAX_FILE_BYTES).map_err(fail)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let line = line_of(&String::from_utf8_lossy(e.as_bytes()), at);
            FileError {
                path: path.to_path_buf(),
                line: Some(line),
                kind: FileErrorKind::Toml("not UTF-8 text".into()),
            }
        })?;
        ScenarioFile::parse(&text, path)
    }

    /// Checks scenario `text` as the content of `path` (which names it in
    /// errors and whose folder relative file names are resolved against).
    pub fn parse(text: &str, path: &Path) -> Result<ScenarioFile, FileError> {
        let at = |span: Option<Range<usize>>, kind| FileError {
            path: path.to_path_buf(),
            line: span.map(|s| line_of(text, s.start)),
            kind,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let mut message = e.message().trim().replace('\n', " ");
            // A value's error points at the value: name its key.
            if let Some(key) = e.span().and_then(|s| key_before(text, s.start)) {
                message = format!("`{key}`: {message}");
            }
            at(e.span(), FileErrorKind::Toml(message))
        })?;
        let base = path.parent().unwrap_or(Path::new(""));

        let name = raw.name.get_ref();
        if !valid_name(name) {
            return Err(at(
                Some(raw.name.span()),
                FileErrorKind::BadName(name.clone()),
            ));
        }

        let Some(program) = raw.program else {
            return Err(at(None, FileErrorKind::NoProgram));
        };
        let program_line = Some(line_of(text, program.span().start));
        let program_span = Some(program.span());
        let RawProgram {
            file,
            expression,
            format,
        } = program.into_inner();
        let program = match (file, expression) {
            (None, None) => return Err(at(program_span, FileErrorKind::NoProgram)),
            (Some(_), Some(e)) => return Err(at(Some(e.span()), FileErrorKind::TwoPrograms)),
            (None, Some(e)) => {
                if let Some(f) = format {
                    return Err(at(Some(f.span()), FileErrorKind::FormatWithExpression));
                }
                let expression = e.get_ref().trim();
                if expression.is_empty() {
                    return Err(at(Some(e.span()), FileErrorKind::EmptyExpression));
                }
                ProgramSource::Expression(expression.to_owned())
            }
            (Some(f), None) => {
                let format = match format {
                    None => None,
                    Some(name) => Some(name.get_ref().parse::<Format>().map_err(|_| {
                        at(
                            Some(name.span()),
                            FileErrorKind::UnknownFormat(name.get_ref().clone()),
                        )
                    })?),
                };
                let file = base.join(f.get_ref());
                let program =
                    load_program(&file, format).map_err(|kind| at(Some(f.span()), kind))?;
                ProgramSource::File {
                    path: file,
                    program,
                }
            }
        };

        if raw.packets.is_empty() {
            return Err(at(None, FileErrorKind::NoPackets));
        }
        let mut packets = Vec::new();
        let mut total_bytes = 0;
        for (i, packet) in raw.packets.into_iter().enumerate() {
            let span = packet.span();
            let built = build_packets(packet.into_inner(), i + 1, base)
                .map_err(|(s, kind)| at(Some(s.unwrap_or_else(|| span.clone())), kind))?;
            total_bytes += built.iter().map(|p| p.bytes.len()).sum::<usize>();
            if total_bytes > MAX_TOTAL_PACKET_BYTES {
                let kind = FileErrorKind::TooManyPacketBytes {
                    packet: i + 1,
                    bytes: total_bytes,
                };
                return Err(at(Some(span), kind));
            }
            packets.extend(built);
            if packets.len() > MAX_PACKETS {
                return Err(at(None, FileErrorKind::TooManyPackets));
            }
        }

        let (mut modes, mut skbs, mut seed) = (None, None, None);
        if let Some(run) = raw.run {
            if let Some(list) = run.modes {
                if list.get_ref().is_empty() {
                    return Err(at(Some(list.span()), FileErrorKind::NoModes));
                }
                let mut parsed = Vec::new();
                for m in list.into_inner() {
                    let mode: Mode = m
                        .get_ref()
                        .parse()
                        .map_err(|e| at(Some(m.span()), FileErrorKind::UnknownMode(e)))?;
                    if parsed.contains(&mode) {
                        return Err(at(Some(m.span()), FileErrorKind::DuplicateMode(mode)));
                    }
                    parsed.push(mode);
                }
                modes = Some(parsed);
            }
            if let Some(n) = run.skbs {
                let count = *n.get_ref();
                match usize::try_from(count) {
                    Ok(c) if (1..=MAX_COUNT).contains(&c) => skbs = Some(c),
                    _ => return Err(at(Some(n.span()), FileErrorKind::Skbs(count))),
                }
            }
            seed = run.seed;
        }

        Ok(ScenarioFile {
            path: path.to_path_buf(),
            name: raw.name.into_inner(),
            description: raw.description,
            program,
            program_line,
            packets,
            modes,
            skbs,
            seed,
        })
    }

    /// The scenario file's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The program's name in results.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's `description`, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Where the program comes from.
    pub fn program_source(&self) -> &ProgramSource {
        &self.program
    }

    /// Every packet, pcap files expanded, in file order, with its verdict.
    pub fn packets(&self) -> &[ExpectedPacket] {
        &self.packets
    }

    /// The modes `[run]` asks for, if it does.
    pub fn modes(&self) -> Option<&[Mode]> {
        self.modes.as_deref()
    }

    /// The miss-mode skb count `[run]` asks for, if it does.
    pub fn skbs(&self) -> Option<usize> {
        self.skbs
    }

    /// The visiting order's seed `[run]` asks for, if it does.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// The checked program: the file's, or the expression compiled by
    /// `compile` (which a build without libpcap makes an error saying so).
    pub fn resolve_program<E: fmt::Display>(
        &self,
        compile: impl FnOnce(&str) -> Result<Program, E>,
    ) -> Result<Program, FileError> {
        match &self.program {
            ProgramSource::File { program, .. } => Ok(program.clone()),
            ProgramSource::Expression(expression) => compile(expression).map_err(|e| FileError {
                path: self.path.clone(),
                line: self.program_line,
                kind: FileErrorKind::Compile {
                    expression: expression.clone(),
                    message: e.to_string().replace('\n', " "),
                },
            }),
        }
    }

    /// The scenario of this file's packets for `program` (from
    /// [`ScenarioFile::resolve_program`]) in `mode`.
    pub fn scenario(
        &self,
        program: Program,
        mode: Mode,
        count: usize,
        seed: u64,
    ) -> Result<Scenario, ScenarioError> {
        Scenario::from_parts(&*self.name, program, &self.packets, mode, count, seed)
    }
}

/// The 1-based line of byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// The key of the `key = value` whose value starts at byte `offset` of
/// `text`, if the text before it on its line ends so.
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let before = text.get(..offset)?;
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let key = line.trim_end().strip_suffix('=')?.trim_end();
    let start = key
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map_or(0, |i| i + 1);
    let key = &key[start..];
    (!key.is_empty()).then_some(key)
}

fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The bytes of `path`, refused past `max`; `what` names it in errors.
/// The read stops at `max + 1` bytes: devices and pipes (`/dev/zero`)
/// report size 0 and may never end.
fn read_limited(path: &Path, what: String, max: u64) -> Result<Vec<u8>, FileErrorKind> {
    let named = || what.clone();
    let read_err = |error| FileErrorKind::Read {
        what: named(),
        error,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let size = file.metadata().map_err(read_err)?.len();
    if size > max {
        return Err(FileErrorKind::TooLarge {
            what: named(),
            size,
            max,
        });
    }
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > max {
        return Err(FileErrorKind::TooLong { what: named(), max });
    }
    Ok(bytes)
}

/// Reads and checks a program file.
fn load_program(path: &Path, format: Option<Format>) -> Result<Program, FileErrorKind> {
    let what = format!("program file {}", path.display());
    let bytes = read_limited(path, what, MAX_PROGRAM_BYTES)?;
    let insns = read(&bytes, format, Some(path)).map_err(|e| FileErrorKind::ProgramFile {
        file: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check(insns).map_err(|error| FileErrorKind::ProgramCheck {
        file: path.to_path_buf(),
        error,
    })
}

/// The packets one `[[packet]]` gives (several for a pcap file), or the
/// span to blame (if narrower than the packet) and the error.
fn build_packets(
    raw: RawPacket,
    index: usize,
    base: &Path,
) -> Result<Vec<ExpectedPacket>, (Option<Range<usize>>, FileErrorKind)> {
    let RawPacket {
        builder,
        hex,
        pcap,
        expect,
    } = raw;
    let found = [builder.is_some(), hex.is_some(), pcap.is_some()]
        .iter()
        .filter(|&&b| b)
        .count();
    if found != 1 {
        return Err((
            None,
            FileErrorKind::PacketSource {
                packet: index,
                found,
            },
        ));
    }
    let one = |bytes: Vec<u8>, span: Range<usize>| {
        if bytes.len() > MAX_PACKET_BYTES {
            return Err((
                Some(span),
                FileErrorKind::PacketTooLong {
                    packet: index,
                    len: bytes.len(),
                },
            ));
        }
        Ok(vec![ExpectedPacket {
            bytes,
            expected: expect,
        }])
    };
    if let Some(b) = builder {
        let span = b.span();
        let bytes = build_frame(b.into_inner(), index).map_err(|k| (Some(span.clone()), k))?;
        return one(bytes, span);
    }
    if let Some(h) = hex {
        let bytes = parse_hex(h.get_ref()).map_err(|message| {
            (
                Some(h.span()),
                FileErrorKind::Hex {
                    packet: index,
                    message,
                },
            )
        })?;
        return one(bytes, h.span());
    }
    match pcap {
        Some(p) => {
            let file = base.join(p.get_ref());
            let frames = read_pcap(&file, index).map_err(|k| (Some(p.span()), k))?;
            if let Some(long) = frames.iter().find(|f| f.len() > MAX_PACKET_BYTES) {
                return Err((
                    Some(p.span()),
                    FileErrorKind::PacketTooLong {
                        packet: index,
                        len: long.len(),
                    },
                ));
            }
            Ok(frames
                .into_iter()
                .map(|bytes| ExpectedPacket {
                    bytes,
                    expected: expect,
                })
                .collect())
        }
        None => Err((
            None,
            FileErrorKind::PacketSource {
                packet: index,
                found: 0,
            },
        )),
    }
}

/// Packet bytes from hex digits; blanks and `:` may separate bytes.
fn parse_hex(hex: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(hex.len() / 2);
    let mut high: Option<(usize, u8)> = None;
    for (pos, ch) in hex.char_indices() {
        if ch.is_ascii_whitespace() || ch == ':' {
            if let Some((at, _)) = high {
                return Err(format!("lone hex digit at character {}", at + 1));
            }
            continue;
        }
        let Some(nibble) = ch.to_digit(16) else {
            return Err(format!("character {} `{ch}` is not a hex digit", pos + 1));
        };
        match high.take() {
            None => high = Some((pos, nibble as u8)),
            Some((_, h)) => bytes.push(h << 4 | nibble as u8),
        }
    }
    if let Some((at, _)) = high {
        return Err(format!(
            "odd number of hex digits (a lone digit at character {})",
            at + 1
        ));
    }
    if bytes.is_empty() {
        return Err("no bytes".into());
    }
    Ok(bytes)
}

/// Every packet of a classic pcap file of Ethernet frames.
fn read_pcap(path: &Path, packet: usize) -> Result<Vec<Vec<u8>>, FileErrorKind> {
    use pcap_file::pcap::PcapParser;
    let what = format!("pcap file {}", path.display());
    let bytes = read_limited(path, what, MAX_PCAP_BYTES)?;
    let fail = |message: String| FileErrorKind::Pcap {
        packet,
        file: path.to_path_buf(),
        message,
    };
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        return Err(fail(
            "pcapng is not read; save it as classic pcap (`editcap -F pcap`)".into(),
        ));
    }
    let (mut rest, parser) = PcapParser::new(&bytes).map_err(|e| match e {
        pcap_file::PcapError::IncompleteBuffer => fail("shorter than a pcap file header".into()),
        _ => fail("not a pcap file (no pcap magic number)".into()),
    })?;
    let link = u32::from(parser.header().datalink);
    if link != LINKTYPE_ETHERNET {
        return Err(fail(format!(
            "link type {link}; the programs read Ethernet frames (link type 1)"
        )));
    }
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let n = frames.len() + 1;
        let (next, raw) = parser.next_raw_packet(rest).map_err(|e| match e {
            pcap_file::PcapError::IncompleteBuffer => {
                fail(format!("record {n} is cut short (a truncated file?)"))
            }
            other => fail(format!("record {n}: {other}")),
        })?;
        frames.push(raw.data.into_owned());
        if frames.len() > MAX_PACKETS {
            return Err(FileErrorKind::TooManyPackets);
        }
        rest = next;
    }
    if frames.is_empty() {
        return Err(fail("no packets".into()));
    }
    Ok(frames)
}

/// The frame a builder table describes.
fn build_frame(b: RawBuilder, packet: usize) -> Result<Vec<u8>, FileErrorKind> {
    let rule = |field: &'static str, rule: &str| FileErrorKind::Builder {
        packet,
        field,
        rule: rule.to_owned(),
    };
    let is_v6 = |a: &Option<IpAddr>| matches!(a, Some(IpAddr::V6(_)));
    let is_v4 = |a: &Option<IpAddr>| matches!(a, Some(IpAddr::V4(_)));
    let version = b.ip.unwrap_or(if is_v6(&b.src) || is_v6(&b.dst) {
        IpVersion::Ipv6
    } else {
        IpVersion::Ipv4
    });
    for (field, addr) in [("src", &b.src), ("dst", &b.dst)] {
        let wrong = match version {
            IpVersion::Ipv4 => is_v6(addr),
            IpVersion::Ipv6 => is_v4(addr),
        };
        if wrong {
            let want = match version {
                IpVersion::Ipv4 => "an IPv4 address (the packet is IPv4)",
                IpVersion::Ipv6 => "an IPv6 address (the packet is IPv6)",
            };
            return Err(rule(field, &format!("must be {want}")));
        }
    }
    let proto = b.proto.unwrap_or(Proto::Tcp);
    let has_ports = matches!(proto, Proto::Tcp | Proto::Udp | Proto::Sctp);
    for (field, given) in [("sport", b.sport.is_some()), ("dport", b.dport.is_some())] {
        if given && !has_ports {
            return Err(rule(field, "needs proto tcp, udp or sctp"));
        }
    }
    let is_tcp = proto == Proto::Tcp;
    for (field, given) in [
        ("flags", b.flags.is_some()),
        ("seq", b.seq.is_some()),
        ("ack", b.ack.is_some()),
        ("window", b.window.is_some()),
    ] {
        if given && !is_tcp {
            return Err(rule(field, "needs proto tcp"));
        }
    }
    let (sport, dport) = (b.sport.unwrap_or(0), b.dport.unwrap_or(0));
    let transport = match proto {
        Proto::Tcp => {
            let base = Tcp::new(sport, dport);
            Transport::Tcp(Tcp {
                seq: b.seq.unwrap_or(base.seq),
                ack: b.ack.unwrap_or(base.ack),
                window: b.window.unwrap_or(base.window),
                flags: match &b.flags {
                    Some(list) => list.iter().fold(0, |acc, f| acc | f.bit()),
                    None => base.flags,
                },
                ..base
            })
        }
        Proto::Udp => Transport::Udp(Udp::new(sport, dport)),
        Proto::Sctp => Transport::Sctp(Sctp::new(sport, dport)),
        Proto::Icmp => Transport::Other {
            protocol: crate::packet::protocol::ICMP,
        },
        Proto::Number(protocol) => Transport::Other { protocol },
    };
    let payload = match b.payload {
        Some(n) if n > MAX_PACKET_BYTES => {
            return Err(rule("payload", &format!("is at most {MAX_PACKET_BYTES}")));
        }
        n => vec![0; n.unwrap_or(0)],
    };
    let network = match version {
        IpVersion::Ipv4 => {
            let base = Ipv4::new(transport);
            crate::packet::Network::Ipv4(Ipv4 {
                tos: b.tos.unwrap_or(base.tos),
                id: b.id.unwrap_or(base.id),
                ttl: b.ttl.unwrap_or(base.ttl),
                dont_fragment: b.df.unwrap_or(base.dont_fragment),
                more_fragments: b.mf.unwrap_or(base.more_fragments),
                fragment_offset: b.frag.unwrap_or(base.fragment_offset),
                src: match b.src {
                    Some(IpAddr::V4(a)) => a,
                    _ => base.src,
                },
                dst: match b.dst {
                    Some(IpAddr::V4(a)) => a,
                    _ => base.dst,
                },
                payload,
                ..base
            })
        }
        IpVersion::Ipv6 => {
            for (field, given) in [
                ("id", b.id.is_some()),
                ("df", b.df.is_some()),
                ("mf", b.mf.is_some()),
                ("frag", b.frag.is_some()),
            ] {
                if given {
                    return Err(rule(field, "applies to IPv4 only"));
                }
            }
            let base = Ipv6::new(transport);
            crate::packet::Network::Ipv6(Ipv6 {
                traffic_class: b.tos.unwrap_or(base.traffic_class),
                hop_limit: b.ttl.unwrap_or(base.hop_limit),
                src: match b.src {
                    Some(IpAddr::V6(a)) => a,
                    _ => base.src,
                },
                dst: match b.dst {
                    Some(IpAddr::V6(a)) => a,
                    _ => base.dst,
                },
                payload,
                ..base
            })
        }
    };
    let mut frame = Frame::new(network);
    frame.vlan = b.vlan;
    if let Some(pad) = b.pad {
        frame.min_len = usize::try_from(pad)
            .ok()
            .filter(|&pad| pad <= MAX_PACKET_BYTES)
            .ok_or_else(|| rule("pad", &format!("is at most {MAX_PACKET_BYTES}")))?;
    }
    for (field, text, slot) in [
        ("src_mac", &b.src_mac, &mut frame.src),
        ("dst_mac", &b.dst_mac, &mut frame.dst),
    ] {
        if let Some(text) = text {
            *slot = parse_mac(text).ok_or_else(|| {
                rule(field, &format!("`{text}` is not a MAC (aa:bb:cc:dd:ee:ff)"))
            })?;
        }
    }
    frame
        .build()
        .map_err(|error| FileErrorKind::Encode { packet, error })
}

/// `aa:bb:cc:dd:ee:ff` (or with `-`) as six bytes.
fn parse_mac(text: &str) -> Option<Mac> {
    let parts: Vec<&str> = text.split([':', '-']).collect();
    let mut mac = [0u8; 6];
    if parts.len() != 6 {
        return None;
    }
    for (slot, part) in mac.iter_mut().zip(parts) {
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        *slot = u8::from_str_radix(part, 16).ok()?;
    }
    Some(mac)
}

// ---- the TOML schema ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    program: Option<Spanned<RawProgram>>,
    #[serde(default, rename = "packet")]
    packets: Vec<Spanned<RawPacket>>,
    #[serde(default)]
    run: Option<RawRun>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    #[serde(default)]
    file: Option<Spanned<String>>,
    #[serde(default)]
    expression: Option<Spanned<String>>,
    #[serde(default)]
    format: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPacket {
    #[serde(default)]
    builder: Option<Spanned<RawBuilder>>,
    #[serde(default)]
    hex: Option<Spanned<String>>,
    #[serde(default)]
    pcap: Option<Spanned<String>>,
    expect: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    #[serde(default)]
    modes: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    skbs: Option<Spanned<u64>>,
    #[serde(default)]
    seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuilder {
    ip: Option<IpVersion>,
    proto: Option<Proto>,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    payload: Option<usize>,
    flags: Option<Vec<TcpFlag>>,
    seq: Option<u32>,
    ack: Option<u32>,
    window: Option<u16>,
    ttl: Option<u8>,
    tos: Option<u8>,
    id: Option<u16>,
    df: Option<bool>,
    mf: Option<bool>,
    frag: Option<u16>,
    vlan: Option<u16>,
    src_mac: Option<String>,
    dst_mac: Option<String>,
    /// A `u64` on every target, so that a huge value gets the same error on
    /// 32-bit hosts as on 64-bit ones.
    pad: Option<u64>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum IpVersion {
    Ipv4,
    Ipv6,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TcpFlag {
    Fin,
    Syn,
    Rst,
    Psh,
    Ack,
    Urg,
    Ece,
    Cwr,
}

impl TcpFlag {
    fn bit(self) -> u8 {
        match self {
            TcpFlag::Fin => tcp_flags::FIN,
            TcpFlag::Syn => tcp_flags::SYN,
            TcpFlag::Rst => tcp_flags::RST,
            TcpFlag::Psh => tcp_flags::PSH,
            TcpFlag::Ack => tcp_flags::ACK,
            TcpFlag::Urg => tcp_flags::URG,
            TcpFlag::Ece => tcp_flags::ECE,
            TcpFlag::Cwr => tcp_flags::CWR,
        }
    }
}

/// A builder's `proto`: a name or an IP protocol number.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
    Sctp,
    Icmp,
    Number(u8),
}

impl<'de> Deserialize<'de> for Proto {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Proto;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("tcp, udp, sctp, icmp or a protocol number 0 to 255")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Proto, E> {
                match s {
                    "tcp" => Ok(Proto::Tcp),
                    "udp" => Ok(Proto::Udp),
                    "sctp" => Ok(Proto::Sctp),
                    "icmp" => Ok(Proto::Icmp),
                    _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Proto, E> {
                u8::try_from(n)
                    .map(Proto::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &self))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Proto, E> {
                u8::try_from(n)
                    .map(Proto::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &self))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_and_separators() {
        assert_eq!(
            parse_hex("10bf 48:d6\n00"),
            Ok(vec![0x10, 0xbf, 0x48, 0xd6, 0])
        );
        assert_eq!(
            parse_hex("1 0"),
            Err("lone hex digit at character 1".to_string())
        );
        assert_eq!(parse_hex(""), Err("no bytes".to_string()));
        assert!(
            parse_hex("é0")
                .unwrap_err()
                .contains("`é` is not a hex digit")
        );
    }

    #[test]
    fn macs() {
        assert_eq!(parse_mac("0a:0B:00:ff:1:2"), Some([10, 11, 0, 255, 1, 2]));
        for bad in [
            "",
            "0a:0b",
            "0a:0b:00:ff:01:02:03",
            "0a::00:ff:01:02",
            "0a:0b:00:ff:01:102",
            "zz:0b:00:ff:01:02",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_of_values() {
        let text = "a = 1\nbuilder = { src = \"x\", dport = 7 }\nb = [1]\n";
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(key_before(text, at("1")), Some("a"));
        assert_eq!(key_before(text, at("\"x\"")), Some("src"));
        assert_eq!(key_before(text, at("7")), Some("dport"));
        assert_eq!(key_before(text, at("{")), Some("builder"));
        assert_eq!(key_before(text, at("[1]") + 1), None);
        assert_eq!(key_before(text, at("builder")), None);
        assert_eq!(key_before(text, 999), None);
    }

    #[test]
    fn lines_and_names() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
        assert!(valid_name("fprog1") && valid_name("my-filter_2.v6"));
        assert!(!valid_name("") && !valid_name("a b") && !valid_name("a,b"));
        assert!(!valid_name(&"x".repeat(MAX_NAME_LEN + 1)));
    }

    #[test]
    fn proto_names_and_numbers() {
        #[derive(Deserialize)]
        struct T {
            p: Proto,
        }
        let p = |text: &str| toml::from_str::<T>(text).map(|t| t.p);
        assert!(p("p = \"udp\"").is_ok_and(|p| p == Proto::Udp));
        assert!(p("p = 47").is_ok_and(|p| p == Proto::Number(47)));
        assert!(p("p = 256").is_err());
        assert!(p("p = -1").is_err());
        assert!(p("p = 1.5").is_err());
    }
}
