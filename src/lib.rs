//! faultbook: a self-hosted knowledge base and case tracker for plant-floor SCADA/MES faults.
//!
//! A guided tour: `cli` parses the command line into a `config::Config`; `startup` opens the
//! database (`db`), loads and checks the guides (`content`), and builds the router (`web`).
//! `web` holds only HTTP: handlers parse a request, call `content`, and render a template.

/// What `--version` prints: the release and the schema version its migrations bring.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (schema ",
    env!("FAULTBOOK_SCHEMA"),
    ")"
);

/// Accounts and access: roles, passwords, sessions, tokens, rate limits, the audit log.
pub mod auth;
/// Consistent backups of a running server, and checked restores.
pub mod backup;
/// Case records, validation and the photo store.
pub mod cases;
/// Command line: `serve`, `check`, and the rest.
pub mod cli;
/// Typed configuration from flags and environment.
pub mod config;
/// Guide loading, front matter, section rules and Markdown rendering.
pub mod content;
/// Database pool, migrations and shared tables.
pub mod db;
/// Keeping this node's index and guides in step with other nodes through the change feed.
pub mod follow;
/// `migrate-db`: copying a whole database between SQLite and PostgreSQL, checked by checksums.
pub mod migrate_db;
/// tantivy index, alarm tokenizer, queries and the OPC UA status-code table.
pub mod search;
/// The accept loop: header, idle and connection limits.
pub mod server;
/// Building and running the application.
pub mod startup;
/// Logs and metrics.
pub mod telemetry;
/// Text going out to XML and spreadsheets: forbidden characters and formula guards.
pub mod text;
/// The one time type and its stored text form.
pub mod time;
/// Router, handlers, templates and the HTTP error type.
pub mod web;
