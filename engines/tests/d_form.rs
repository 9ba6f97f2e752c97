//! The `tcpdump -d` form read back: for the thread's programs and for
//! random valid programs, the listing `Insn::disasm` prints (what `bpflab
//! dump` shows) reads back as the same instructions, in every format.

use bpflab_engines::classic::read::{Format, read, write};
use bpflab_engines::classic::{Insn, listing};
use bpflab_engines::fuzz::Case;

/// fprog1 as tcpdump -d lists it (tabs, libpcap's spacing).
const FPROG1_D: &str = include_str!("../../scenarios/programs/fprog1.d");

/// The scenario programs of the repository.
const SCENARIO_PROGRAMS: [(&str, &str); 2] = [
    ("fprog1", include_str!("../../scenarios/programs/fprog1.dd")),
    ("fprog2", include_str!("../../scenarios/programs/fprog2.dd")),
];

/// The listing reads back as a program that lists the same, and exactly
/// as `insns` when `plain` (no field left out is set); `write`'s `-d` form,
/// with its notes, reads back as `insns` always, and so does every other
/// format.
fn assert_round_trip(name: &str, insns: &[Insn], plain: bool) {
    let text = listing(insns);
    let back = read(text.as_bytes(), None, None)
        .unwrap_or_else(|e| panic!("{name}: the listing is refused: {e}\n{text}"));
    assert_eq!(listing(&back), text, "{name}: listing round trip");
    if plain {
        assert_eq!(back, insns, "{name}: listing round trip");
    }
    for format in Format::ALL {
        let bytes = write(insns, format).unwrap_or_else(|e| panic!("{name}: {format}: {e}"));
        let back = read(
            &bytes,
            None,
            (format == Format::Bin).then_some("p.bin".as_ref()),
        )
        .unwrap_or_else(|e| panic!("{name}: {format} output is refused: {e}"));
        assert_eq!(back, insns, "{name}: {format} round trip");
    }
    if plain {
        let d = write(insns, Format::D).expect("written above");
        assert_eq!(d, text.as_bytes(), "{name}: -d output is the listing");
    }
}

#[test]
fn scenario_programs_round_trip() {
    for (name, dd) in SCENARIO_PROGRAMS {
        let insns = read(dd.as_bytes(), None, None).expect("a scenario program reads");
        assert!(!insns.is_empty());
        // libpcap leaves k set on fprog2's `tax`, which the listing omits.
        assert_round_trip(name, &insns, name == "fprog1");
    }
}

#[test]
fn the_thread_listing_as_tcpdump_prints_it() {
    let text = FPROG1_D;
    let want = read(SCENARIO_PROGRAMS[0].1.as_bytes(), None, None).expect("fprog1 reads");
    assert_eq!(
        read(text.as_bytes(), None, None).expect("the listing reads"),
        want
    );
}

#[test]
fn fprog2_notes_the_k_of_its_tax() {
    let insns = read(SCENARIO_PROGRAMS[1].1.as_bytes(), None, None).expect("fprog2 reads");
    let d = String::from_utf8(write(&insns, Format::D).expect("fprog2 writes")).unwrap();
    assert!(d.contains("\n(017) tax ; k=5\n"), "{d}");
    assert!(d.contains("\n(025) tax ; k=9\n"), "{d}");
    assert_eq!(d.matches(';').count(), 2, "{d}");
}

#[test]
fn random_programs_round_trip() {
    // Case::nth draws mostly short programs, some of hundreds and a few of
    // up to 4096 instructions, with every instruction the generator knows.
    for index in 0..1500 {
        let case = Case::nth(0xd_f0_53, index);
        assert_round_trip(&format!("case {index}"), &case.insns, true);
    }
}
