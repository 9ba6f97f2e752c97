//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/TARGET/`
//! from the scenarios (the thread's programs in every format, the sample
//! packets) and from the generator (valid programs libFuzzer would take
//! long to find). Run by `scripts/fuzz` before fuzzing.

use bpflab_engines::Meta;
use bpflab_engines::classic::Format;
use bpflab_engines::classic::read::write;
use bpflab_engines::fuzz::{Case, bytes};
use bpflab_scenarios::ScenarioProgram;
use bpflab_scenarios::packet::samples;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let save = |target: &str, name: String, data: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), data)
    };
    let mut count = 0;
    for program in ScenarioProgram::ALL {
        let insns = program.program().insns().to_vec();
        save(
            "read",
            format!("{}.dd", program.name()),
            program.dd_text().as_bytes(),
        )?;
        for format in [Format::D, Format::Ddd, Format::Comma, Format::Bin] {
            save(
                "read",
                format!("{}.{format:?}", program.name()),
                &write(&insns, format).map_err(std::io::Error::other)?,
            )?;
        }
        save(
            "check",
            program.name().into(),
            &bytes::join(&insns, &Meta::for_frame(&[]), &[]),
        )?;
        for sample in samples() {
            let input = bytes::join(&insns, &sample.skb().meta(), &sample.packet);
            save(
                "differential",
                format!("{}-{}", program.name(), sample.name),
                &input,
            )?;
            count += 1;
        }
    }
    for index in 0..200 {
        let case = Case::nth(0x5eed, index);
        let (packet, meta) = &case.packets[0];
        let input = bytes::join(&case.insns, meta, packet);
        save("check", format!("generated-{index}"), &input)?;
        save("differential", format!("generated-{index}"), &input)?;
        count += 1;
    }
    println!(
        "seed corpora: {count} differential inputs in {}",
        root.display()
    );
    Ok(())
}
