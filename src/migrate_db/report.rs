//! What the copy of each table came to, and the line the terminal shows for it.

use std::fmt::Write as _;

use super::MigrateError;

/// What happened to one table.
#[derive(Debug, Clone)]
pub struct TableReport {
    pub table: &'static str,
    pub source_rows: u64,
    pub target_rows: u64,
    /// Rows this run inserted (the others were there already).
    pub inserted: u64,
    /// Source rows the target lacks, and rows it holds with other values.
    pub missing: u64,
    pub differing: u64,
    /// The primary key of the first missing or differing row.
    pub first_fault: Option<String>,
    pub source_sha256: String,
    pub target_sha256: String,
    /// Counts must be equal (a copy into an empty database).
    pub exact: bool,
    /// How long copying and checking the table took.
    pub elapsed: std::time::Duration,
}

impl TableReport {
    pub fn ok(&self) -> bool {
        self.missing == 0
            && self.differing == 0
            && self.source_sha256 == self.target_sha256
            && (!self.exact || self.source_rows == self.target_rows)
    }

    /// One line for the terminal: `cases: 100000 rows copied (100000 new), checksum ok`.
    pub fn line(&self) -> String {
        if self.ok() {
            format!(
                "{}: {} rows copied ({} new) in {:.1} s, checksum ok",
                self.table,
                self.source_rows,
                self.inserted,
                self.elapsed.as_secs_f64()
            )
        } else {
            format!("{}: {}", self.table, self.fault())
        }
    }

    fn fault(&self) -> String {
        let mut s = format!(
            "checksum mismatch: source {} rows (sha256 {}), target {} rows (sha256 {})",
            self.source_rows,
            &self.source_sha256[..16],
            self.target_rows,
            &self.target_sha256[..16]
        );
        if self.missing > 0 {
            let _ = write!(s, ", {} source rows missing", self.missing);
        }
        if self.differing > 0 {
            let _ = write!(s, ", {} rows differ", self.differing);
        }
        if let Some(key) = &self.first_fault {
            let _ = write!(s, ", first at {key}");
        }
        if self.exact && self.missing == 0 && self.source_rows != self.target_rows {
            let _ = write!(
                s,
                ", the target has {} rows the source has not",
                self.target_rows.saturating_sub(self.source_rows)
            );
        }
        s
    }
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub from: String,
    pub to: String,
    pub tables: Vec<TableReport>,
}

impl Summary {
    /// `Err(Mismatch)` naming every table whose copy differs from its source.
    pub fn check(&self) -> Result<(), MigrateError> {
        let faults: Vec<String> = self
            .tables
            .iter()
            .filter(|t| !t.ok())
            .map(|t| format!("{}: {}", t.table, t.fault()))
            .collect();
        if faults.is_empty() {
            Ok(())
        } else {
            Err(MigrateError::Mismatch(faults))
        }
    }
}
