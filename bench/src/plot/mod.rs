//! `bpflab plot`: charts of result CSVs (runs from one or many machines
//! and architectures, and the thread's published table), each as SVG and
//! PNG: ns per call and speedup over old per architecture, measured beside
//! published; branch misses per call; speedup across runs.

mod bars;
mod charts;
pub(crate) mod data;
mod figure;
mod font;
mod style;

pub use data::MAX_CSV_BYTES;

use crate::results::{Row, ensure_writable};
use anyhow::{Context as _, bail};
use clap::Args;
use std::path::{Path, PathBuf};

/// Where the CSVs are looked for when none is given.
pub const DEFAULT_RESULTS: &str = "results";

/// Options of `bpflab plot`.
#[derive(Debug, Args, Clone)]
pub struct PlotArgs {
    /// Result CSVs to plot, from one or many runs and machines [default:
    /// every results/*.csv, results/published.csv (the 2014 thread's
    /// figures) included].
    #[arg(value_name = "CSV")]
    csvs: Vec<PathBuf>,
    /// Folder for the charts (`ns_per_call_<arch>`, `speedup_<arch>`,
    /// `branch_misses_<arch>`, `runs_speedup`; each .svg and .png).
    #[arg(long, default_value = "plots", value_name = "DIR")]
    out: PathBuf,
}

/// What a plot wrote, and a line for each chart it left out and why.
#[derive(Debug, Default)]
pub struct Plotted {
    /// The files written, SVG and PNG of each chart.
    pub files: Vec<PathBuf>,
    /// Each chart written: its files and the runs it draws.
    pub charts: Vec<Written>,
    /// Why a chart is missing (no counters, no `old` to compare with),
    /// naming the runs it would have drawn.
    pub notes: Vec<String>,
}

/// One chart written.
#[derive(Debug, Clone)]
pub struct Written {
    /// Its SVG and PNG files.
    pub files: [PathBuf; 2],
    /// The ids of the runs it draws.
    pub runs: Vec<String>,
}

impl Written {
    /// The line `bpflab plot` prints for the chart: its files and runs.
    pub fn line(&self) -> String {
        let [svg, png] = &self.files;
        let plural = if self.runs.len() == 1 { "" } else { "s" };
        format!(
            "wrote {} and {}: run{plural} {}",
            svg.display(),
            png.display(),
            self.runs.join(", ")
        )
    }
}

/// Runs `bpflab plot`: prints each note, and each chart written with the
/// runs it draws.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    let csvs = if args.csvs.is_empty() {
        default_csvs(Path::new(DEFAULT_RESULTS))?
    } else {
        args.csvs.clone()
    };
    let plotted = plot_files(&csvs, &args.out)?;
    for note in &plotted.notes {
        println!("{note}");
    }
    for chart in &plotted.charts {
        println!("{}", chart.line());
    }
    Ok(())
}

/// Every `*.csv` of `dir`, sorted by name.
pub fn default_csvs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot be read", dir.display()))?;
    let mut csvs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv") && p.is_file())
        .collect();
    if csvs.is_empty() {
        bail!(
            "{}: no *.csv to plot (give result CSVs, or measure with `bpflab run`)",
            dir.display()
        );
    }
    csvs.sort();
    Ok(csvs)
}

/// Plots the runs of result CSV files into `out`. Every file is read and
/// checked before anything is drawn: on bad input the error names the file
/// (and line) and no chart is written.
pub fn plot_files(csvs: &[PathBuf], out: &Path) -> anyhow::Result<Plotted> {
    let runs = data::load_files(csvs)?;
    plot_runs(&runs, out)
}

/// Plots `rows` (one or many runs; add `published_rows()` to see the
/// thread's figures beside them) into `out`.
pub fn plot_rows(rows: &[Row], out: &Path) -> anyhow::Result<Plotted> {
    let runs = data::load_rows(rows)?;
    plot_runs(&runs, out)
}

fn plot_runs(runs: &[data::Run], out: &Path) -> anyhow::Result<Plotted> {
    let charts = charts::build(runs);
    ensure_writable(out)?;
    let mut files = Vec::with_capacity(charts.figures.len() * 2);
    let mut written = Vec::with_capacity(charts.figures.len());
    for figure in &charts.figures {
        let pair = figure::render(figure, out)?;
        files.extend(pair.iter().cloned());
        written.push(Written {
            files: pair,
            runs: figure.runs.clone(),
        });
    }
    Ok(Plotted {
        files,
        charts: written,
        notes: charts.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::published::published_rows;

    #[test]
    fn plot_rows_draws_the_published_table() {
        let dir = tempfile::tempdir().unwrap();
        let plotted = plot_rows(&published_rows(), dir.path()).unwrap();
        assert_eq!(plotted.files.len(), 14, "{:?}", plotted.files);
        assert!(plotted.files.contains(&dir.path().join("runs_speedup.png")));
        assert!(plotted.notes[0].starts_with("no branch-miss chart"));
    }

    #[test]
    fn no_rows_is_an_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("plots");
        assert!(plot_rows(&[], &out).is_err());
        assert!(!out.exists());
    }

    #[test]
    fn default_csvs_are_the_sorted_csvs_of_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv", "c.json"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let csvs = default_csvs(dir.path()).unwrap();
        assert_eq!(csvs, [dir.path().join("a.csv"), dir.path().join("b.csv")]);
        let empty = tempfile::tempdir().unwrap();
        let err = default_csvs(empty.path()).unwrap_err().to_string();
        assert!(err.contains("no *.csv to plot"), "{err}");
    }
}
