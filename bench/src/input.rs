//! What users hand the command: program files, packets in hex, skb
//! metadata and engine names, each turned into engine types or into a
//! one-line error that names the file, line or argument and the rule.

use anyhow::{anyhow, bail};
use bpflab_engines::classic::{self, Format, Insn, Program};
use bpflab_engines::{Device, Engine, Meta};
use std::io::Read;
use std::path::Path;

/// Programs larger than this are refused before reading (a 4096-instruction
/// program in `-dd` form is about 130 KB).
const MAX_PROGRAM_FILE_BYTES: u64 = 4 << 20;

/// The longest packet `--len` or `--hex` may make (1 MiB).
pub const MAX_PACKET_BYTES: usize = 1 << 20;

/// Reads the instructions of a program file, without checking them.
pub fn read_insns(path: &Path, format: Option<Format>) -> anyhow::Result<Vec<Insn>> {
    let shown = path.display();
    let bytes = read_bounded(path, MAX_PROGRAM_FILE_BYTES).map_err(|e| match too_large(&e) {
        Some(size) => anyhow!("{shown}: too large for a program file: {size}"),
        None => anyhow!(e).context(format!("cannot read {shown}")),
    })?;
    classic::read::read(&bytes, format, Some(path)).map_err(|e| match e.location {
        classic::read::Location::Line(n) => anyhow!("{shown}:{n}: {}", e.message),
        classic::read::Location::Byte(n) => anyhow!("{shown}: byte {n}: {}", e.message),
        classic::read::Location::Input => anyhow!("{shown}: {}", e.message),
    })
}

/// The bytes of `path`, at most `max` of them. The size is checked before
/// reading and the read is cut at `max + 1`, since devices and pipes
/// (`/dev/zero`) report size 0 and may never end. Too large is an error
/// of kind `FileTooLarge` (see [`too_large`]).
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("{size} bytes, more than the {max} allowed"),
        ));
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("more than the {max} bytes allowed"),
        ));
    }
    Ok(bytes)
}

/// What a [`read_bounded`] error that refused a file as too large says
/// (`5000000 bytes, more than the N allowed`), or `None` for other errors.
pub fn too_large(err: &std::io::Error) -> Option<String> {
    let ours = err.kind() == std::io::ErrorKind::FileTooLarge && err.raw_os_error().is_none();
    ours.then(|| err.to_string())
}

/// Reads and checks a program file.
pub fn load_program(path: &Path, format: Option<Format>) -> anyhow::Result<Program> {
    let insns = read_insns(path, format)?;
    classic::check(insns).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Reads and checks a program given inline in the comma form
/// (`N,code jt jf k,...`, what `tc` and `xt_bpf --bytecode` take).
pub fn bytecode_program(text: &str) -> anyhow::Result<Program> {
    let insns = classic::read::read(text.as_bytes(), Some(Format::Comma), None)
        .map_err(|e| anyhow!("--bytecode: {e}"))?;
    classic::check(insns).map_err(|e| anyhow!("--bytecode: {e}"))
}

/// The engine named `name`, which must be available here.
pub fn engine(name: &str) -> anyhow::Result<Engine> {
    let engine = Engine::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Engine::ALL.iter().map(|e| e.name()).collect();
        let guess = crate::suggest::did_you_mean(name, names.iter().copied());
        anyhow!(
            "unknown engine `{name}`{guess} (engines: {})",
            names.join(", ")
        )
    })?;
    engine
        .availability()
        .map_err(|why| anyhow!("engine {name} is not available: {why}"))?;
    Ok(engine)
}

/// Packet bytes from hex digits; blanks and `:` between bytes are allowed.
/// `which` names the argument in errors (e.g. `--hex #2`).
pub fn parse_hex(hex: &str, which: &str) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(hex.len() / 2);
    let mut high: Option<(usize, u8)> = None;
    for (pos, ch) in hex.char_indices() {
        if ch.is_ascii_whitespace() || ch == ':' {
            if let Some((at, _)) = high {
                bail!("{which}: lone hex digit at character {}", at + 1);
            }
            continue;
        }
        let Some(nibble) = ch.to_digit(16) else {
            bail!("{which}: character {} `{ch}` is not a hex digit", pos + 1);
        };
        match high.take() {
            None => high = Some((pos, nibble as u8)),
            Some((_, h)) => bytes.push(h << 4 | nibble as u8),
        }
        if bytes.len() > MAX_PACKET_BYTES {
            bail!("{which}: more than {MAX_PACKET_BYTES} bytes");
        }
    }
    if let Some((at, _)) = high {
        bail!(
            "{which}: odd number of hex digits (a lone digit at character {})",
            at + 1
        );
    }
    Ok(bytes)
}

/// The packet length `--len` asks for, refused when absurd.
pub fn check_len(len: u64) -> anyhow::Result<usize> {
    match usize::try_from(len) {
        Ok(n) if n <= MAX_PACKET_BYTES => Ok(n),
        _ => bail!("--len {len} is too large (at most {MAX_PACKET_BYTES} bytes)"),
    }
}

/// The `--meta` keys and the range of each value.
const META_KEYS: [(&str, u64); 13] = [
    ("protocol", 0xffff),
    ("pkttype", 7),
    ("ifindex", 0xffff_ffff),
    ("hatype", 0xffff),
    ("mark", 0xffff_ffff),
    ("queue", 0xffff),
    ("rxhash", 0xffff_ffff),
    ("cpu", 0xffff_ffff),
    ("vlan_tci", 0xffff),
    ("vlan_present", 1),
    ("vlan_tpid", 0xffff),
    ("nh", 0xffff_ffff),
    ("mac", 0xffff_ffff),
];

/// Metadata settings from `--meta KEY=VALUE[,KEY=VALUE...]`, applied on top
/// of each packet's defaults ([`Meta::for_frame`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetaOverrides {
    values: Vec<(&'static str, u32)>,
    no_device: bool,
}

impl MetaOverrides {
    /// Parses every `--meta` argument.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> anyhow::Result<Self> {
        let mut out = MetaOverrides::default();
        for arg in args {
            for item in arg.as_ref().split(',').filter(|s| !s.trim().is_empty()) {
                out.parse_item(item.trim())?;
            }
        }
        if out.no_device
            && out
                .values
                .iter()
                .any(|(k, _)| matches!(*k, "ifindex" | "hatype"))
        {
            bail!("--meta: dev=none conflicts with ifindex/hatype");
        }
        Ok(out)
    }

    fn parse_item(&mut self, item: &str) -> anyhow::Result<()> {
        let Some((key, value)) = item.split_once('=') else {
            bail!("--meta: `{item}` is not KEY=VALUE");
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "dev" {
            if value != "none" {
                bail!("--meta: `{item}`: dev takes only the value none");
            }
            self.no_device = true;
            return Ok(());
        }
        let Some(&(name, max)) = META_KEYS.iter().find(|(k, _)| *k == key) else {
            let keys: Vec<&str> = META_KEYS.iter().map(|(k, _)| *k).collect();
            bail!(
                "--meta: unknown key `{key}` (keys: {}, dev=none)",
                keys.join(", ")
            );
        };
        let parsed = match value
            .strip_prefix("0x")
            .or_else(|| value.strip_prefix("0X"))
        {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => value.parse::<u64>(),
        };
        let v = parsed.map_err(|_| anyhow!("--meta: `{item}`: `{value}` is not a number"))?;
        if v > max {
            bail!("--meta: `{item}`: {key} is at most {max:#x}");
        }
        self.values.retain(|(k, _)| *k != name);
        self.values.push((name, v as u32));
        Ok(())
    }

    /// The metadata for one packet: its defaults with these settings.
    pub fn apply(&self, data: &[u8]) -> Meta {
        let mut meta = Meta::for_frame(data);
        if self.no_device {
            meta.dev = None;
        }
        for &(key, v) in &self.values {
            let dev = || meta.dev.unwrap_or_default();
            match key {
                "protocol" => meta.protocol = v as u16,
                "pkttype" => meta.pkt_type = v as u8,
                "ifindex" => {
                    meta.dev = Some(Device {
                        ifindex: v,
                        ..dev()
                    })
                }
                "hatype" => {
                    meta.dev = Some(Device {
                        hatype: v as u16,
                        ..dev()
                    })
                }
                "mark" => meta.mark = v,
                "queue" => meta.queue_mapping = v as u16,
                "rxhash" => meta.rxhash = v,
                "cpu" => meta.cpu = v,
                "vlan_tci" => meta.vlan_tci = v as u16,
                "vlan_present" => meta.vlan_present = v != 0,
                "vlan_tpid" => meta.vlan_tpid = v as u16,
                "mac" => meta.mac_header = v,
                _ => meta.network_header = v,
            }
        }
        meta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_with_separators() {
        assert_eq!(
            parse_hex("10bf 48:d6", "--hex").unwrap(),
            [0x10, 0xbf, 0x48, 0xd6]
        );
        assert_eq!(parse_hex("", "--hex").unwrap(), Vec::<u8>::new());
        assert_eq!(
            parse_hex("10b", "--hex #1").unwrap_err().to_string(),
            "--hex #1: odd number of hex digits (a lone digit at character 3)"
        );
        assert_eq!(
            parse_hex("1 0", "--hex").unwrap_err().to_string(),
            "--hex: lone hex digit at character 1"
        );
        assert_eq!(
            parse_hex("10zz", "--hex #2").unwrap_err().to_string(),
            "--hex #2: character 3 `z` is not a hex digit"
        );
    }

    #[test]
    fn meta_keys_and_values() {
        let m = MetaOverrides::parse(&["mark=7,pkttype=0x3", "ifindex=9,nh=20"]).unwrap();
        let meta = m.apply(&[0; 30]);
        assert_eq!(meta.mark, 7);
        assert_eq!(meta.pkt_type, 3);
        assert_eq!(
            meta.dev,
            Some(Device {
                ifindex: 9,
                hatype: 1
            })
        );
        assert_eq!(meta.network_header, 20);
        let meta = MetaOverrides::parse(&["dev=none"]).unwrap().apply(&[]);
        assert_eq!(meta.dev, None);
        for (bad, msg) in [
            ("foo=1", "unknown key `foo`"),
            ("mark", "is not KEY=VALUE"),
            ("pkttype=8", "pkttype is at most 0x7"),
            ("mark=0x100000000", "mark is at most 0xffffffff"),
            ("cpu=-1", "is not a number"),
            ("dev=eth0", "dev takes only the value none"),
            ("dev=none,ifindex=3", "conflicts"),
        ] {
            let err = MetaOverrides::parse(&[bad]).unwrap_err().to_string();
            assert!(err.contains(msg), "{bad}: {err}");
        }
    }
}
