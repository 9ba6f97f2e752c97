//! Scenario files: the shipped ones match the built-in scenarios, good
//! files give the packets and settings they describe, and bad ones give
//! one-line errors naming the file, the line or key, and the rule.

use bpflab_engines::classic::{self, Insn, Program};
use bpflab_engines::{Engine, Filter};
use bpflab_scenarios::file::{FileErrorKind, ProgramSource, ScenarioFile};
use bpflab_scenarios::packet::{Frame, Ipv4, Ipv6, Udp, bench_packet};
use bpflab_scenarios::{ACCEPT, ExpectedPacket, Mode, Scenario, ScenarioProgram};
use std::path::{Path, PathBuf};

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("files")
        .join(format!("{name}.toml"))
}

/// A folder holding `files` (name, content), and the path of the first.
fn folder(files: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let first = dir.path().join(files[0].0);
    (dir, first)
}

/// A small program: accept IPv4 (EtherType 0x0800), drop the rest.
const IPV4_ONLY: &str = "\
# accept IPv4
{ 0x28, 0, 0, 0x0000000c },
{ 0x15, 0, 1, 0x00000800 },
{ 0x6, 0, 0, 0x0000ffff },
{ 0x6, 0, 0, 0x00000000 },
";

/// A classic little-endian pcap file of Ethernet frames (or `link`).
fn pcap(link: u32, frames: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&96u32.to_le_bytes()); // a short snap length
    out.extend_from_slice(&link.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&1500u32.to_le_bytes()); // cut by the snap length
        out.extend_from_slice(f);
    }
    out
}

fn load(text: &str) -> Result<ScenarioFile, String> {
    let (_dir, path) = folder(&[("s.toml", text.as_bytes()), ("p.dd", IPV4_ONLY.as_bytes())]);
    ScenarioFile::load(&path).map_err(|e| {
        let shown = e.to_string();
        assert!(shown.starts_with(&path.display().to_string()), "{shown}");
        assert_eq!(shown.lines().count(), 1, "{shown}");
        shown.replace(&path.display().to_string(), "s.toml")
    })
}

fn old(program: Program) -> Filter {
    Filter::attach(program, Engine::Old).unwrap()
}

#[test]
fn shipped_files_are_the_built_in_scenarios() {
    for program in ScenarioProgram::ALL {
        let file = ScenarioFile::load(&shipped(program.name())).unwrap();
        assert_eq!(file.name(), program.name());
        let ProgramSource::File { path, program: p } = file.program_source() else {
            panic!("a program file")
        };
        assert!(path.ends_with(program.file_name()), "{}", path.display());
        assert_eq!(p, &program.program());
        assert_eq!(
            file.packets(),
            [ExpectedPacket {
                bytes: bench_packet(),
                expected: ACCEPT
            }]
        );
        assert_eq!(file.modes(), Some(&Mode::ALL[..]));
        assert_eq!(file.skbs(), Some(10_000));
        assert_eq!(file.seed(), None);
        let resolved = file
            .resolve_program(|_| Err::<Program, _>("not called"))
            .unwrap();
        for mode in Mode::ALL {
            let from_file = file.scenario(resolved.clone(), mode, 500, 7).unwrap();
            let built_in = Scenario::new(program, mode, 500, 7).unwrap();
            assert_eq!(from_file.name(), built_in.name());
            assert_eq!(from_file.builtin(), None);
            assert_eq!(from_file.program(), built_in.program());
            assert_eq!(from_file.order(), built_in.order());
            assert_eq!(from_file.common_expected(), Some(ACCEPT));
            for (a, b) in from_file.skbs().iter().zip(built_in.skbs()) {
                assert_eq!((a.data(), a.meta()), (b.data(), b.meta()));
            }
            assert_eq!(from_file.verify(&old(resolved.clone())), Ok(()));
        }
    }
}

#[test]
fn a_user_program_with_hex_builder_and_pcap_packets() {
    let v6 = Frame::new(Ipv6::new(Udp::new(1, 53))).build().unwrap();
    let v4 = Frame::new(Ipv4::new(Udp::new(1, 53))).build().unwrap();
    let capture = pcap(1, &[&v4, &v6[..40], &v4]);
    let text = r#"
name = "ipv4-only"
[program]
file = "p.dd"
[[packet]]
builder = { proto = "udp", sport = 1, dport = 53 }
expect = 65535
[[packet]]
hex = "10bf48d643d6 3c07:54:43:e5:76 86dd 6000"
expect = 0
[[packet]]
pcap = "c.pcap"
expect = 7
[run]
modes = ["miss"]
skbs = 50
seed = 3
"#;
    let (_dir, path) = folder(&[
        ("s.toml", text.as_bytes()),
        ("p.dd", IPV4_ONLY.as_bytes()),
        ("c.pcap", &capture),
    ]);
    let file = ScenarioFile::load(&path).unwrap();
    assert_eq!(file.name(), "ipv4-only");
    let got: Vec<(usize, u32)> = file
        .packets()
        .iter()
        .map(|p| (p.bytes.len(), p.expected))
        .collect();
    assert_eq!(
        got,
        [
            (v4.len(), 65535),
            (16, 0),
            (v4.len(), 7),
            (40, 7),
            (v4.len(), 7)
        ]
    );
    assert_eq!(file.packets()[0].bytes, v4);
    assert_eq!(&file.packets()[1].bytes[12..14], &[0x86, 0xdd]);
    assert_eq!(file.packets()[3].bytes, v6[..40]);
    assert_eq!(
        (file.modes(), file.skbs(), file.seed()),
        (Some(&[Mode::Miss][..]), Some(50), Some(3))
    );
    let program = file.resolve_program(|_| Err::<Program, _>("")).unwrap();
    let s = file.scenario(program.clone(), Mode::Miss, 50, 3).unwrap();
    assert_eq!(s.skbs().len(), 50);
    assert_eq!(s.common_expected(), None);
    assert_eq!(s.expected_of(1), Some(0));
    assert_eq!(s.expected_of(6), Some(0), "skb 6 is packet 6 % 5 = 1");
    // The program accepts IPv4 with 65535: the packets expecting 7 fail.
    let err = s.verify(&old(program.clone())).unwrap_err();
    assert_eq!((err.index, err.got, err.expected), (2, 65535, 7));
    assert_eq!(err.program, "ipv4-only");
    let hit = file.scenario(program.clone(), Mode::Hit, 10, 3).unwrap();
    assert_eq!(hit.skbs().len(), 1);
    assert_eq!(hit.verify(&old(program)), Ok(()));
}

#[test]
fn an_expression_is_compiled_by_the_caller() {
    let text = "name = \"e\"\n[program]\nexpression = \" port 22 \"\n[[packet]]\nhex = \"00\"\nexpect = 0\n";
    let file = load(text).unwrap();
    assert_eq!(
        file.program_source(),
        &ProgramSource::Expression("port 22".into())
    );
    let reject_all = classic::check(vec![Insn {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: 0,
    }])
    .unwrap();
    let compiled = file
        .resolve_program(|e| {
            assert_eq!(e, "port 22");
            Ok::<_, String>(reject_all.clone())
        })
        .unwrap();
    assert_eq!(compiled, reject_all);
    let err = file
        .resolve_program(|_| Err::<Program, _>("this build has no libpcap"))
        .unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(matches!(err.kind, FileErrorKind::Compile { .. }));
    assert!(
        err.to_string()
            .ends_with(":2: [program] expression `port 22`: this build has no libpcap"),
        "{err}"
    );
}

#[test]
fn builder_fields_reach_the_frame() {
    let text = r#"
name = "b"
[program]
file = "p.dd"
[[packet]]
builder = { ip = "ipv6", proto = "sctp", src = "2001:db8::9", sport = 7, dport = 22, ttl = 3, tos = 4, vlan = 0x2064, src_mac = "02:00:00:00:00:01", dst_mac = "02-00-00-00-00-02", pad = 200 }
expect = 0
[[packet]]
builder = { proto = 47, frag = 5, mf = true, payload = 8 }
expect = 0
[[packet]]
builder = { proto = "icmp", dst = "192.0.2.1", flags = [] }
expect = 0
"#;
    let err = load(text).unwrap_err();
    assert_eq!(err, "s.toml:12: packet 3: builder: `flags` needs proto tcp");
    let file = load(&text.replace(", flags = []", "")).unwrap();
    let p = &file.packets()[0].bytes;
    assert_eq!(p.len(), 200);
    assert_eq!(&p[..6], &[2, 0, 0, 0, 0, 2]);
    assert_eq!(&p[6..12], &[2, 0, 0, 0, 0, 1]);
    assert_eq!(&p[12..18], &[0x81, 0x00, 0x20, 0x64, 0x86, 0xdd]);
    assert_eq!(p[18 + 6], 132, "next header SCTP");
    assert_eq!(p[18 + 7], 3, "hop limit");
    assert_eq!(
        &p[18 + 8..18 + 24],
        &"2001:db8::9"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
    );
    assert_eq!(&p[58..62], &[0, 7, 0, 22]);
    let q = &file.packets()[1].bytes;
    assert_eq!(q[14 + 9], 47);
    assert_eq!(&q[14 + 6..14 + 8], &[0x20, 5], "MF and offset 5");
    assert_eq!(q.len(), 14 + 20 + 8);
    let r = &file.packets()[2].bytes;
    assert_eq!(r[14 + 9], 1);
    assert_eq!(&r[14 + 16..14 + 20], &[192, 0, 2, 1]);
}

#[test]
fn bad_files_name_the_line_key_and_rule() {
    let program = "[program]\nfile = \"p.dd\"\n";
    let packet = "[[packet]]\nhex = \"00\"\nexpect = 0\n";
    let cases: Vec<(String, &str)> = vec![
        // Not TOML at all.
        ("name = \"x\"\nname = \n".into(), "s.toml:2: "),
        ("name = \"x\"\n".into(), "s.toml: [program] needs `file`"),
        (
            format!("name = \"x\"\n[program]\nformat = \"dd\"\n{packet}"),
            "s.toml:2: [program] needs `file` (a program file) or `expression`",
        ),
        (
            format!("name = \"x\"\n[program]\nfile = \"p.dd\"\nexpression = \"port 22\"\n{packet}"),
            "s.toml:4: [program] has both `file` and `expression`; give one",
        ),
        (
            format!("name = \"x\"\n[program]\nexpression = \"port 22\"\nformat = \"dd\"\n{packet}"),
            "s.toml:4: [program] `format` applies to a `file`",
        ),
        (
            format!("name = \"x\"\n[program]\nfile = \"p.dd\"\nformat = \"hex\"\n{packet}"),
            "s.toml:4: [program] format `hex`: expected d, dd, ddd, comma or bin",
        ),
        (
            format!("name = \"x\"\ncolour = \"red\"\n{program}{packet}"),
            "s.toml:2: unknown field `colour`",
        ),
        (
            format!("name = \"x y\"\n{program}{packet}"),
            "s.toml:1: name `x y`: use 1 to 64 letters",
        ),
        (
            format!("name = \"x\"\n{program}"),
            "s.toml: no [[packet]]: a scenario needs at least one packet",
        ),
        (
            format!("name = \"x\"\n{program}[[packet]]\nexpect = 1\n"),
            "s.toml:4: packet 1: give exactly one of `builder`, `hex` or `pcap` (found 0)",
        ),
        (
            format!(
                "name = \"x\"\n{program}[[packet]]\nhex = \"00\"\npcap = \"c.pcap\"\nexpect = 1\n"
            ),
            "s.toml:4: packet 1: give exactly one of `builder`, `hex` or `pcap` (found 2)",
        ),
        (
            format!("name = \"x\"\n{program}[[packet]]\nhex = \"00\"\n"),
            "s.toml:4: missing field `expect`",
        ),
        (
            format!("name = \"x\"\n{program}{packet}[[packet]]\nhex = \"0x10\"\nexpect = 0\n"),
            "s.toml:8: packet 2: hex: character 2 `x` is not a hex digit",
        ),
        (
            format!("name = \"x\"\n{program}[[packet]]\nhex = \"10b\"\nexpect = 0\n"),
            "s.toml:5: packet 1: hex: odd number of hex digits (a lone digit at character 3)",
        ),
        (
            format!("name = \"x\"\n{program}[[packet]]\nhex = \" \"\nexpect = 0\n"),
            "s.toml:5: packet 1: hex: no bytes",
        ),
        (
            format!("name = \"x\"\n{program}[[packet]]\nbuilder = {{ colour = 1 }}\nexpect = 0\n"),
            "s.toml:5: unknown field `colour`, expected one of",
        ),
        (
            format!(
                "name = \"x\"\n{program}[[packet]]\nbuilder = {{ src = \"10.1.1.300\" }}\nexpect = 0\n"
            ),
            "s.toml:5: `src`: invalid IP address syntax",
        ),
        (
            format!(
                "name = \"x\"\n{program}[[packet]]\nbuilder = {{ dport = 70000 }}\nexpect = 0\n"
            ),
            "s.toml:5: `dport`: invalid value: integer `70000`, expected u16",
        ),
        (
            format!(
                "name = \"x\"\n{program}[[packet]]\nbuilder = {{ proto = \"gre\" }}\nexpect = 0\n"
            ),
            "s.toml:5: `proto`: invalid value: string \"gre\", expected tcp, udp, sctp, icmp or a protocol number 0 to 255",
        ),
        (
            format!(
                "name = \"x\"\n{program}[[packet]]\nbuilder = {{ ip = \"ipv4\", dst = \"::1\" }}\nexpect = 0\n"
            ),
            "s.toml:5: packet 1: builder: `dst` must be an IPv4 address (the packet is IPv4)",
        ),
        (
            format!(
                "name = \"x\"\n{program}[[packet]]\nbuilder = {{ proto = \"icmp\", sport = 1 }}\nexpect = 0\n"
            ),
            "s.toml:5: packet 1: builder: `sport` needs proto tcp, udp or sctp",
        ),
        (
            format!(
                "name = \"x\"\n{program}[[packet]]\nbuilder = {{ dst = \"::1\", frag = 1 }}\nexpect = 0\n"
            ),
            "s.toml:5: packet 1: builder: `frag` applies to IPv4 only",
        ),
        (
            format!(
                "name = \"x\"\n{program}[[packet]]\nbuilder = {{ src_mac = \"02:00\" }}\nexpect = 0\n"
            ),
            "s.toml:5: packet 1: builder: `src_mac` `02:00` is not a MAC",
        ),
        (
            format!("name = \"x\"\n{program}[[packet]]\nbuilder = {{ frag = 9000 }}\nexpect = 0\n"),
            "s.toml:5: packet 1: builder: fragment offset 9000 does not fit 13 bits",
        ),
        (
            format!("name = \"x\"\n{program}[[packet]]\nhex = \"00\"\nexpect = -1\n"),
            "s.toml:6: `expect`: invalid value: integer `-1`, expected u32",
        ),
        (
            format!("name = \"x\"\n[program]\nfile = \"missing.dd\"\n{packet}"),
            "s.toml:3: cannot read program file ",
        ),
        (
            format!("name = \"x\"\n{program}[[packet]]\npcap = \"missing.pcap\"\nexpect = 0\n"),
            "s.toml:5: cannot read pcap file ",
        ),
        (
            format!("name = \"x\"\n{program}{packet}[run]\nmodes = [\"hit\", \"warm\"]\n"),
            "s.toml:8: [run] modes: unknown mode `warm` (expected hit or miss)",
        ),
        (
            format!("name = \"x\"\n{program}{packet}[run]\nmodes = [\"hit\", \"hit\"]\n"),
            "s.toml:8: [run] modes: `hit` is given twice",
        ),
        (
            format!("name = \"x\"\n{program}{packet}[run]\nmodes = []\n"),
            "s.toml:8: [run] modes is empty",
        ),
        (
            format!("name = \"x\"\n{program}{packet}[run]\nskbs = 0\n"),
            "s.toml:8: [run] skbs 0: between 1 and 1048576",
        ),
        (
            format!("name = \"x\"\n{program}{packet}[run]\nspeed = 2\n"),
            "s.toml:8: unknown field `speed`",
        ),
    ];
    for (text, want) in cases {
        let err = load(&text).map(|_| ()).unwrap_err();
        assert!(
            err.starts_with(want),
            "want `{want}`, got `{err}` for:\n{text}"
        );
    }
}

#[test]
fn bad_program_and_pcap_files() {
    let scenario = |program: &str, packet: &str| {
        format!("name = \"x\"\n[program]\nfile = \"{program}\"\n[[packet]]\n{packet}\nexpect = 0\n")
    };
    let frame = bench_packet();
    let truncated = {
        let mut p = pcap(1, &[&frame]);
        p.truncate(p.len() - 5);
        p
    };
    let cases: [(&str, Vec<u8>, &str); 8] = [
        (
            "p.dd",
            b"{ 0x6, 0, 0 },\n".to_vec(),
            "s.toml:3: program file ",
        ),
        (
            "p.dd",
            b"# jumps out\n{ 0x5, 0, 0, 0x5 },\n".to_vec(),
            "s.toml:3: program file ",
        ),
        (
            "c.pcap",
            b"not a capture file at all".to_vec(),
            "not a pcap file",
        ),
        ("c.pcap", b"abc".to_vec(), "shorter than a pcap file header"),
        (
            "c.pcap",
            pcap(101, &[&frame]),
            "link type 101; the programs read Ethernet frames",
        ),
        ("c.pcap", pcap(1, &[]), "no packets"),
        ("c.pcap", truncated, "record 1 is cut short"),
        (
            "c.pcap",
            [0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0].to_vec(),
            "pcapng is not read",
        ),
    ];
    for (name, content, want) in cases {
        let (program, packet) = if name == "p.dd" {
            ("p.dd", "hex = \"00\"")
        } else {
            ("ok.dd", "pcap = \"c.pcap\"")
        };
        let text = scenario(program, packet);
        let (_dir, path) = folder(&[
            ("s.toml", text.as_bytes()),
            ("ok.dd", IPV4_ONLY.as_bytes()),
            (name, &content),
        ]);
        let err = ScenarioFile::load(&path).unwrap_err().to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "want `{want}` in `{err}`");
        if name == "c.pcap" {
            assert!(err.contains(":5: packet 1: pcap file "), "{err}");
        }
    }
}

#[test]
fn files_that_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.toml");
    let err = ScenarioFile::load(&missing).unwrap_err();
    assert!(matches!(err.kind, FileErrorKind::Read { .. }));
    assert!(
        err.to_string().contains("cannot read the scenario file"),
        "{err}"
    );
    let binary = dir.path().join("b.toml");
    std::fs::write(&binary, b"name = \"x\"\n\xff\xfe").unwrap();
    let err = ScenarioFile::load(&binary).unwrap_err().to_string();
    assert!(err.ends_with("b.toml:2: not UTF-8 text"), "{err}");
}
