//! The program readers on arbitrary bytes, in every format and with format
//! detection: never a panic, and whatever one accepts, written back in any
//! format, reads back as the same instructions (the `-d` writer may refuse
//! instructions it has no text for, or jumps past the end; never others).
#![no_main]

use bpflab_engines::classic::Format;
use bpflab_engines::classic::read::{read, write};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let formats = [
        None,
        Some(Format::D),
        Some(Format::Dd),
        Some(Format::Ddd),
        Some(Format::Comma),
        Some(Format::Bin),
    ];
    for format in formats {
        let Ok(insns) = read(data, format, None) else {
            continue;
        };
        for out in Format::ALL {
            let text = match write(&insns, out) {
                Ok(text) => text,
                Err(_) if out == Format::D => continue,
                Err(e) => panic!("{out:?} refuses an accepted program: {e}"),
            };
            let again = read(&text, Some(out), None).unwrap_or_else(|e| {
                panic!("{out:?} output of an accepted program is refused: {e}")
            });
            assert_eq!(again, insns, "{out:?} round trip");
        }
    }
});
