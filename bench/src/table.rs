//! Titled tables of text cells, rendered as aligned text or as Markdown:
//! shared by the reports that print tables (`run`, `compare`, `spread`).

/// A titled table of strings: the first column (names) aligned left, the
/// others (figures) right.
pub(crate) struct Table {
    /// The line above the table.
    pub(crate) title: String,
    /// The column names.
    pub(crate) header: Vec<String>,
    /// The cells, one vector per row.
    pub(crate) rows: Vec<Vec<String>>,
}

impl Table {
    /// The table as aligned text, or as Markdown with a bold title.
    pub(crate) fn render(&self, markdown: bool) -> String {
        if markdown {
            let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
            let mut out = format!("**{}**\n\n", self.title);
            out.push_str(&line(&self.header));
            let rule: Vec<String> = (0..self.header.len())
                .map(|i| if i == 0 { "---".into() } else { "---:".into() })
                .collect();
            out.push_str(&line(&rule));
            for row in &self.rows {
                out.push_str(&line(row));
            }
            return out;
        }
        let mut widths: Vec<usize> = self.header.iter().map(String::len).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    if i == 0 {
                        format!("{c:<w$}")
                    } else {
                        format!("{c:>w$}")
                    }
                })
                .collect();
            format!("{}\n", parts.join("  ").trim_end())
        };
        let mut out = format!("{}\n", self.title);
        out.push_str(&line(&self.header));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let cells = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Table {
            title: "t".into(),
            header: cells(&["name", "n"]),
            rows: vec![cells(&["a", "1.5"]), cells(&["long name", "22"])],
        }
    }

    #[test]
    fn text_aligns_names_left_and_figures_right() {
        assert_eq!(
            table().render(false),
            "t\nname         n\na          1.5\nlong name   22\n"
        );
    }

    #[test]
    fn markdown_right_aligns_figures() {
        assert_eq!(
            table().render(true),
            "**t**\n\n| name | n |\n| --- | ---: |\n| a | 1.5 |\n| long name | 22 |\n"
        );
    }
}
