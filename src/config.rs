//! Typed configuration from flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Settings every subcommand shares.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "FAULTBOOK_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub addr: SocketAddr,
    /// Folder for the database, the search index and photos; created on first start.
    #[arg(long, env = "FAULTBOOK_DATA", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// Folder holding the guides, one sub-folder per platform.
    #[arg(
        long,
        env = "FAULTBOOK_CONTENT",
        default_value = "content",
        global = true
    )]
    pub content_dir: PathBuf,
    /// Folder for case photos (default: <data-dir>/photos).
    #[arg(long, env = "FAULTBOOK_PHOTOS", global = true)]
    pub photo_dir: Option<PathBuf>,
    /// Public base URL behind a reverse proxy, e.g. https://faultbook.plant.example; used for
    /// absolute links (copied links, QR codes, feeds, canonical tags).
    #[arg(long, env = "FAULTBOOK_BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Sites allowed to frame guides with ?embed=1 (comma-separated origins, e.g. a wiki).
    #[arg(
        long,
        env = "FAULTBOOK_EMBED_ALLOW",
        value_delimiter = ',',
        global = true
    )]
    pub embed_allow: Vec<String>,
    /// Database URL (default: sqlite://<data-dir>/faultbook.db).
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("faultbook.db").display()))
    }

    pub fn photo_dir(&self) -> PathBuf {
        self.photo_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("photos"))
    }

    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// A configuration for a data folder and a content folder, everything else default.
    pub fn for_dirs(data_dir: PathBuf, content_dir: PathBuf) -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            content_dir,
            photo_dir: None,
            base_url: None,
            embed_allow: Vec::new(),
            database_url: None,
        }
    }
}
