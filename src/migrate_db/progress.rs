//! How the copy goes, told table by table: a bar on a terminal, else a line per table.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::TableReport;

/// Told how the copy goes, table by table.
pub trait Progress {
    fn start(&mut self, table: &str, rows: u64);
    fn advance(&mut self, rows: u64);
    fn finish(&mut self, report: &TableReport);
}

/// A bar per table on stderr; where stderr is no terminal, one line per table when it is done.
#[derive(Default)]
pub struct TerminalProgress {
    bar: Option<ProgressBar>,
}

impl Progress for TerminalProgress {
    fn start(&mut self, table: &str, rows: u64) {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::new(rows)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix:>19} [{bar:30}] {pos}/{len} rows, {msg} ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(table.to_string());
        self.bar = Some(bar);
    }

    fn advance(&mut self, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(rows);
            bar.set_message(format!("{:.0} rows/s", bar.per_sec()));
        }
    }

    fn finish(&mut self, report: &TableReport) {
        match self.bar.take() {
            Some(bar) if !bar.is_hidden() => {
                if let Ok(style) = ProgressStyle::with_template("{msg}") {
                    bar.set_style(style);
                }
                bar.finish_with_message(report.line());
            }
            _ => eprintln!("{}", report.line()),
        }
    }
}
