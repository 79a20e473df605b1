//! Guides: loading `content/<platform>/<slug>.md`, front matter, section rules, Markdown rendering.

pub mod compose;
pub mod export;
pub mod frontmatter;
mod guide_file;
pub mod images;
mod import;
mod library;
mod live;
pub mod markdown;
pub mod revisions;

pub use compose::GuideFields;
pub use import::ImportReport;
pub use library::{Library, PUBLISHED_FILE, REDIRECTS_FILE};
pub use live::{Decision, GuideEdit, GuideError, Guides, Intent, Saved};

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use frontmatter::{FrontMatter, Level};

/// The five platforms faultbook knows. The folder names under `content/` are these ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Factorytalk,
    Wonderware,
    Ignition,
    Wincc,
    Proficy,
}

impl Platform {
    pub const ALL: [Platform; 5] = [
        Platform::Factorytalk,
        Platform::Wonderware,
        Platform::Ignition,
        Platform::Wincc,
        Platform::Proficy,
    ];

    pub fn parse(s: &str) -> Option<Platform> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Factorytalk => "factorytalk",
            Platform::Wonderware => "wonderware",
            Platform::Ignition => "ignition",
            Platform::Wincc => "wincc",
            Platform::Proficy => "proficy",
        }
    }

    /// The name people use on the floor.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Factorytalk => "Rockwell FactoryTalk",
            Platform::Wonderware => "AVEVA Wonderware",
            Platform::Ignition => "Inductive Automation Ignition",
            Platform::Wincc => "Siemens WinCC",
            Platform::Proficy => "GE Proficy",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The level-2 sections every guide has, in this order, with exactly these anchors.
pub const REQUIRED_SECTIONS: [&str; 6] =
    ["Symptom", "Cause", "Diagnose", "Fix", "Verify", "Rollback"];
/// Sections a guide may add after Rollback, in this order.
pub const OPTIONAL_SECTIONS: [&str; 2] = ["Prevent", "Unverified"];
/// The anchor of the list rendered from the front-matter `sources`, after the body.
pub const REFERENCES_ID: &str = "references";

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct Guide {
    pub slug: String,
    /// Path relative to the content folder, e.g. `ignition/foo.md`.
    pub path: String,
    pub front: FrontMatter,
    pub html: String,
    /// Level-2 sections, for the table of contents.
    pub sections: Vec<Section>,
    pub text: String,
    pub summary: String,
    /// The numbered steps under Verify, as plain text: the checklist of the case form.
    pub verify_steps: Vec<String>,
}

impl Guide {
    pub fn url(&self) -> String {
        format!("/guides/{}", self.slug)
    }
}

/// One fault in a guide file, reported as `path:line: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentIssue {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedIssue {
    pub path: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for LocatedIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("cannot read the content folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} fault(s) in the guides:\n{}", .0.len(), .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<LocatedIssue>),
}

/// What `Library::resolve` finds for a slug.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    Current(&'a Guide),
    /// An alias or a `redirects.toml` entry: answer 301 to this slug (and section).
    Moved {
        slug: &'a str,
        anchor: Option<&'a str>,
    },
}

impl Resolved<'_> {
    /// The path of a move, with `suffix` (e.g. `/cases/new?cell=3`) before the anchor.
    pub fn moved_path(&self, prefix: &str, suffix: &str) -> Option<String> {
        match self {
            Resolved::Current(_) => None,
            Resolved::Moved { slug, anchor } => Some(match anchor {
                Some(a) => format!("{prefix}{slug}{suffix}#{a}"),
                None => format!("{prefix}{slug}{suffix}"),
            }),
        }
    }
}

pub fn is_valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 120
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests;
