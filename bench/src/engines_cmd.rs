//! `bpflab engines`: every engine, whether it runs here, and what it is.

use bpflab_engines::Engine;

/// Prints one line per engine.
pub fn run() -> anyhow::Result<()> {
    let width = Engine::ALL
        .iter()
        .map(|e| e.name().len())
        .max()
        .unwrap_or(0);
    for engine in Engine::ALL {
        let status = match engine.availability() {
            Ok(()) => "available".to_string(),
            Err(why) => format!("unavailable ({why})"),
        };
        println!("{:<width$}  {status}  {}", engine.name(), engine.summary());
    }
    Ok(())
}
