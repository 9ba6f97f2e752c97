//! A run's report as one self-contained HTML page (`report.html` in the
//! run's folder), as criterion writes `report/index.html`: the provenance,
//! the noise warning, the thread's tables with the measured figures, their
//! intervals and the published ones, the counters, the charts inline (SVG)
//! and links to the CSV and JSON. Nothing is fetched from the network, so
//! the page opens offline from the folder it was written to.
//!
//! The tables are the report's Markdown, rendered by pulldown-cmark: the
//! page shows exactly what the terminal report says.

use crate::results::RunInfo;
use anyhow::Context as _;
use pulldown_cmark::{Options, Parser, html::push_html};
use pulldown_cmark_escape::escape_html;
use std::path::Path;

/// The page's style: readable tables and charts that fit the window.
const STYLE: &str = "
body { font-family: sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f2f2f2; }
td { font-variant-numeric: tabular-nums; }
td:first-child { white-space: nowrap; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; font-size: 0.9em; }
dt { font-weight: bold; }
dd { margin: 0; word-break: break-all; }
.warning { background: #fff3cd; border: 1px solid #e0b800; padding: 0.6em 1em; }
figure { margin: 1em 0 2em; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #555; }
code { background: #f4f4f4; padding: 0 0.2em; }
";

fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = escape_html(&mut out, text);
    out
}

/// The page of run `info`: `markdown` is the run's report in Markdown,
/// `charts` the chart files written (their SVGs are put inline), `files`
/// the run's result files (linked by name, relative to the run's folder,
/// which sits beside them).
pub fn page(
    info: &RunInfo,
    markdown: &str,
    charts: &[impl AsRef<Path>],
    files: &[&Path],
) -> anyhow::Result<String> {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!(
        "<title>bpflab run {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escaped(&info.run_id)
    ));
    out.push_str(&format!(
        "<h1>bpflab run {}</h1>\n<p>{} · {} · {} · {}</p>\n",
        escaped(&info.run_id),
        escaped(&info.host),
        escaped(&info.cpu_model),
        escaped(&info.arch),
        escaped(&info.timestamp)
    ));
    for warning in markdown.lines().filter(|l| l.starts_with("WARNING")) {
        out.push_str(&format!("<p class=\"warning\">{}</p>\n", escaped(warning)));
    }
    if info.quick == Some(true) {
        out.push_str(
            "<p class=\"warning\">A --quick smoke run: few, short processes; not to be compared with full runs.</p>\n",
        );
    }
    if info.emulated {
        out.push_str("<p class=\"warning\">Measured under emulation: the times say nothing about any hardware.</p>\n");
    }
    out.push_str(&provenance(info));
    let links: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name())
        .map(|name| {
            let name = escaped(&name.to_string_lossy());
            format!("<a href=\"../{name}\">{name}</a>")
        })
        .collect();
    out.push_str(&format!("<p>Results: {}</p>\n", links.join(" · ")));
    let mut body = String::new();
    push_html(&mut body, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    out.push_str(&body);
    out.push_str("<h2>Charts</h2>\n");
    for chart in charts {
        let path = chart.as_ref();
        if path.extension().is_none_or(|e| e != "svg") {
            continue;
        }
        let svg = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let svg = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
        let name = path
            .file_stem()
            .map_or(String::new(), |s| s.to_string_lossy().into_owned());
        out.push_str(&format!(
            "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
            escaped(&name)
        ));
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}

/// What makes the run reproducible, or not comparable with another.
fn provenance(info: &RunInfo) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let fields: [(&str, String); 14] = [
        ("run", info.run_id.clone()),
        ("started", info.timestamp.clone()),
        ("host", info.host.clone()),
        ("CPU", info.cpu_model.clone()),
        ("architecture", info.arch.clone()),
        ("system", info.os.clone()),
        ("compiler", info.rustc.clone()),
        ("source", opt(&info.commit)),
        ("features", opt(&info.features)),
        (
            "kind",
            match info.quick {
                Some(true) => "quick (smoke run)".into(),
                Some(false) => "full".into(),
                None => "-".into(),
            },
        ),
        ("command", opt(&info.command)),
        ("seed", info.seed.map_or("-".into(), |s| s.to_string())),
        (
            "processes",
            info.processes.map_or("-".into(), |p| p.to_string()),
        ),
        ("code layout", opt(&info.layout)),
    ];
    let mut out = String::from("<dl>\n");
    for (name, value) in fields {
        out.push_str(&format!("<dt>{name}</dt><dd>{}</dd>\n", escaped(&value)));
    }
    out.push_str("</dl>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RunInfo {
        RunInfo {
            run_id: "20261207T000110Z-vm".into(),
            host: "vm".into(),
            cpu_model: "AMD <EPYC>".into(),
            arch: "x86_64".into(),
            quick: Some(true),
            commit: Some("0123456789ab-dirty".into()),
            command: Some("bpflab run --quick".into()),
            ..RunInfo::default()
        }
    }

    #[test]
    fn the_page_holds_tables_provenance_warnings_charts_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("speedup_x86_64.svg");
        std::fs::write(
            &svg,
            "<?xml version=\"1.0\"?>\n<svg width=\"10\"><rect/></svg>",
        )
        .unwrap();
        let png = dir.path().join("speedup_x86_64.png");
        let csv = dir.path().join("r.csv");
        let markdown = "**speedup over old**\n\n| engine | fprog1 hit |\n| --- | ---: |\n| ext | 1.45x |\n\nWARNING: the machine was busy\n`<not supported>` cycles: no PMU\n";
        let page = page(&info(), markdown, &[svg, png], &[&csv]).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<td>ext</td>"), "{page}");
        assert!(
            page.contains("<td style=\"text-align: right\">1.45x</td>"),
            "{page}"
        );
        assert!(page.contains("<p class=\"warning\">WARNING: the machine was busy</p>"));
        assert!(page.contains("A --quick smoke run"));
        assert!(
            page.contains("<code>&lt;not supported&gt;</code>"),
            "{page}"
        );
        assert!(page.contains("<dt>source</dt><dd>0123456789ab-dirty</dd>"));
        assert!(page.contains("AMD &lt;EPYC&gt;"), "escaped: {page}");
        assert!(page.contains("<svg width=\"10\"><rect/></svg>"));
        assert!(!page.contains("<?xml"), "the SVG's prolog is left out");
        assert_eq!(page.matches("<figure>").count(), 1, "PNGs are not inlined");
        assert!(page.contains("<a href=\"../r.csv\">r.csv</a>"));
        assert!(!page.contains("http"), "nothing fetched from the network");
    }
}
