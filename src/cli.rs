//! The command line. `faultbook` alone is `faultbook serve`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::config::Config;
use crate::content::{ContentError, Library};
use crate::search::SearchIndex;
use crate::startup::Application;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Parser)]
#[command(
    name = "faultbook",
    version = crate::VERSION_LINE,
    about = "Fix guides and case records for plant-floor SCADA/MES faults"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application (the default).
    Serve,
    /// Check every guide; exits 1 listing `path:line: reason` for each fault.
    Check,
    /// Rebuild the search index from the guides and the database.
    Reindex,
    /// Manage people: add, passwd, disable, enable, list.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage bearer tokens for scripts: create, list, revoke.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Write a consistent backup (database, photos, guides, checksummed manifest) into DIR,
    /// also while the server runs.
    Backup {
        /// A new or empty folder.
        dir: std::path::PathBuf,
    },
    /// Write every current guide, and the images they show, as files under DIR (for example
    /// a git checkout of `content/`): they pass `faultbook check` and import back unchanged.
    Export {
        /// The folder to write into; guide files already there are overwritten.
        dir: std::path::PathBuf,
    },
    /// Check a backup and restore it into the data folder (stop the server first).
    Restore {
        dir: std::path::PathBuf,
        /// Restore over a data folder that holds data; what was there is moved aside, not deleted.
        #[arg(long)]
        force: bool,
    },
    /// Copy a whole database into another one (SQLite or PostgreSQL, either way) and check
    /// the copy by row counts and checksums.
    ///
    /// Stop every server that writes to the source first. The target is migrated to this
    /// release's schema, then every table is copied in primary-key order; rows already in the
    /// target are skipped, so running it again adds nothing and an interrupted copy carries on.
    /// Sessions are not copied: everyone logs in again. Photo files and guide images are not in
    /// the database: point --photo-dir of every node at the same folder (or copy data/photos),
    /// and copy data/guide-images to each node's data folder.
    MigrateDb {
        /// The database to copy, e.g. sqlite:///var/lib/faultbook/faultbook.db.
        #[arg(long, value_name = "URL")]
        from: String,
        /// The database to copy into, e.g. postgres://faultbook@db.plant/faultbook; a new,
        /// empty one unless --into-nonempty.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Copy into a database that already holds rows of its own; then the check is only
        /// that every source row arrived unchanged.
        #[arg(long)]
        into_nonempty: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Adds a person; the password is read from a prompt, or from the first line of stdin.
    Add {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Sets a new password (and ends the person's sessions).
    Passwd { name: String },
    /// Stops a person from logging in and ends their sessions.
    Disable { name: String },
    /// Lets a disabled person log in again.
    Enable { name: String },
    /// Lists everyone with their role and state.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Creates a token and prints it once; only its hash is stored.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Lists tokens (never their secrets).
    List,
    /// Revokes a token; requests carrying it get 401 from then on.
    Revoke { name: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| format!("`{s}` is not a role; choose viewer, tech, editor or admin"))
}

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Check => check(&cli.config),
        Command::Reindex => reindex(&cli.config).await,
        Command::User { action } => report(accounts::user(&cli.config, action).await),
        Command::Token { action } => report(accounts::token(&cli.config, action).await),
        Command::Backup { dir } => report(backup(&cli.config, &dir).await),
        Command::Export { dir } => report(export(&cli.config, &dir).await),
        Command::Restore { dir, force } => report(restore(&cli.config, &dir, force).await),
        Command::MigrateDb {
            from,
            to,
            into_nonempty,
        } => report(
            migrate_db(crate::migrate_db::Options {
                from,
                to,
                into_nonempty,
            })
            .await,
        ),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `faultbook user …` and `faultbook token …`, straight on the database.
mod accounts {
    use std::io::{BufRead, IsTerminal};

    use anyhow::Context;

    use super::{TokenAction, UserAction};
    use crate::auth::audit::{AuditAction, AuditEvent};
    use crate::auth::store::{self, SessionTimeouts};
    use crate::auth::{AuthService, Policy};
    use crate::config::Config;

    async fn service(config: &Config) -> anyhow::Result<AuthService> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
        let db = crate::db::connect(&config.database_url())
            .await
            .context("cannot open the database")?;
        Ok(AuthService::new(
            db,
            Policy {
                guides_public: config.guides_public,
                cases_public: config.cases_public,
                open_intake: Vec::new(),
            },
            SessionTimeouts {
                idle_secs: config.session_idle,
                absolute_secs: config.session_max,
            },
            config.write_limit,
        )
        .await?)
    }

    /// A password from a prompt (typed twice, not echoed), or the first line of piped stdin.
    fn read_password(name: &str) -> anyhow::Result<String> {
        if std::io::stdin().is_terminal() {
            let first = rpassword::prompt_password(format!("New password for {name}: "))?;
            let again = rpassword::prompt_password("Again: ")?;
            anyhow::ensure!(first == again, "the two passwords differ");
            Ok(first)
        } else {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            Ok(line.trim_end_matches(['\r', '\n']).to_string())
        }
    }

    pub async fn user(config: &Config, action: UserAction) -> anyhow::Result<()> {
        let auth = service(config).await?;
        match action {
            UserAction::Add { name, role } => {
                let password = read_password(&name)?;
                auth.add_user_audited(
                    &name,
                    role,
                    &password,
                    AuditEvent::cli(AuditAction::UserAdd, &name),
                )
                .await?;
                println!("added {name} as {}", role.as_str());
            }
            UserAction::Passwd { name } => {
                let password = read_password(&name)?;
                auth.set_password(
                    &name,
                    &password,
                    AuditEvent::cli(AuditAction::UserPasswd, &name),
                )
                .await?;
                println!("password of {name} changed; their sessions have ended");
            }
            UserAction::Disable { name } => {
                auth.set_disabled(
                    &name,
                    true,
                    AuditEvent::cli(AuditAction::UserDisable, &name),
                )
                .await?;
                println!("{name} is disabled and logged out everywhere");
            }
            UserAction::Enable { name } => {
                auth.set_disabled(
                    &name,
                    false,
                    AuditEvent::cli(AuditAction::UserEnable, &name),
                )
                .await?;
                println!("{name} may log in again");
            }
            UserAction::List => {
                let users = store::list_users(&auth.db).await?;
                if users.is_empty() {
                    println!("no users yet");
                }
                println!("{:<24} {:<8} {:<9} created", "name", "role", "state");
                for u in users {
                    println!(
                        "{:<24} {:<8} {:<9} {}",
                        u.name,
                        u.role.as_str(),
                        if u.disabled { "disabled" } else { "active" },
                        u.created_at.human()
                    );
                }
            }
        }
        Ok(())
    }

    pub async fn token(config: &Config, action: TokenAction) -> anyhow::Result<()> {
        let auth = service(config).await?;
        match action {
            TokenAction::Create { name, role } => {
                let (_, secret) = auth
                    .create_token(
                        &name,
                        role,
                        AuditEvent::cli(AuditAction::TokenCreate, &name),
                    )
                    .await?;
                eprintln!(
                    "token {name} ({}) created; it is shown only this once:",
                    role.as_str()
                );
                println!("{secret}");
            }
            TokenAction::List => {
                let tokens = store::list_tokens(&auth.db).await?;
                println!(
                    "{:<24} {:<8} {:<17} {:<17} state",
                    "name", "role", "created", "last used"
                );
                for t in tokens {
                    println!(
                        "{:<24} {:<8} {:<17} {:<17} {}",
                        t.name,
                        t.role.as_str(),
                        t.created_at.human(),
                        t.last_used_at.map_or_else(|| "never".into(), |t| t.human()),
                        t.revoked_at
                            .map(|r| format!("revoked {}", r.human()))
                            .unwrap_or_else(|| "live".into())
                    );
                }
            }
            TokenAction::Revoke { name } => {
                auth.revoke_token(&name, AuditEvent::cli(AuditAction::TokenRevoke, &name))
                    .await?;
                println!("token {name} revoked");
            }
        }
        Ok(())
    }
}

async fn backup(config: &Config, dir: &std::path::Path) -> anyhow::Result<()> {
    let summary = crate::backup::backup(&crate::backup::DataLayout::of(config), dir).await?;
    let m = &summary.manifest;
    println!(
        "backup written to {}: {} cases, {} photos, {} guides, schema {}; every case acknowledged before {} is in it",
        summary.dir.display(),
        m.cases,
        m.photos,
        m.guides,
        m.schema_version,
        m.snapshot_started_at
    );
    Ok(())
}

async fn restore(config: &Config, dir: &std::path::Path, force: bool) -> anyhow::Result<()> {
    let summary =
        crate::backup::restore(&crate::backup::DataLayout::of(config), dir, force).await?;
    let m = &summary.manifest;
    if let Some(aside) = &summary.moved_aside {
        println!("what the data folder held before is in {}", aside.display());
    }
    println!(
        "restored {} cases and {} photos (backup of {}) into {}; the search index is rebuilt at the next start",
        m.cases,
        m.photos,
        m.snapshot_started_at,
        config.data_dir.display()
    );
    println!(
        "the guides as they were at backup time are in {}",
        summary.guides_at.display()
    );
    Ok(())
}

async fn migrate_db(options: crate::migrate_db::Options) -> anyhow::Result<()> {
    let mut progress = crate::migrate_db::TerminalProgress::default();
    let summary = crate::migrate_db::migrate(&options, &mut progress).await?;
    println!("copied {} into {}", summary.from, summary.to);
    println!(
        "{:<20} {:>10} {:>10} {:>10}  check",
        "table", "source", "target", "new"
    );
    for t in &summary.tables {
        println!(
            "{:<20} {:>10} {:>10} {:>10}  {}",
            t.table,
            t.source_rows,
            t.target_rows,
            t.inserted,
            if t.ok() { "ok" } else { "MISMATCH" }
        );
    }
    println!("sessions were not copied: everyone logs in again");
    println!(
        "photo files are not in the database: point --photo-dir of every node at the same folder or copy data/photos"
    );
    println!("guide images are not in the database either: copy data/guide-images to every node's data folder");
    summary.check()?;
    Ok(())
}

async fn reindex(config: &Config) -> ExitCode {
    let result = async {
        std::fs::create_dir_all(&config.data_dir)?;
        let db = crate::db::connect(&config.database_url()).await?;
        let library = crate::startup::open_guides(config, &db).await?.current();
        let docs = crate::startup::all_index_docs(&library, &db).await?;
        let dir = config.index_dir();
        let total = docs.len() as u64;
        let hash = library.content_hash.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let bar = ProgressBar::new(total).with_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed})")?
                    .progress_chars("=> "),
            );
            bar.set_message("indexing");
            let index = SearchIndex::create_fresh(&dir)?;
            index.rebuild_blocking(&hash, docs, |n| bar.set_position(n))?;
            bar.finish_with_message("indexed");
            Ok(())
        })
        .await??;
        anyhow::Ok(total)
    }
    .await;
    match result {
        Ok(n) => {
            println!(
                "search index rebuilt: {n} documents in {}",
                config.index_dir().display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("faultbook listening on http://{}", app.local_addr());
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn export(config: &Config, dir: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let db = crate::db::connect(&config.database_url())
        .await
        .context("cannot open the database")?;
    // The content folder's changes come in first, as they would at the server's start.
    let guides = crate::startup::open_guides(config, &db).await?;
    let written = crate::content::export::export(&db, guides.content_dir(), dir).await?;
    let mut names = Vec::new();
    for path in &written.paths {
        let text = std::fs::read_to_string(dir.join(path))
            .with_context(|| format!("cannot read back {}", dir.join(path).display()))?;
        for name in crate::content::images::referenced(&text) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let store = crate::content::images::GuideImageStore::open(&config.guide_image_dir())
        .context("cannot open the guide image folder")?;
    let images = store
        .export_to(names.iter().map(String::as_str), dir)
        .context("cannot export the guide images")?;
    for old in &written.removed {
        println!("removed {old}: the guide was renamed, its old slug is an alias now");
    }
    println!(
        "{} guides and {images} images written to {}",
        written.guides,
        dir.display()
    );
    Ok(())
}

fn check(config: &Config) -> ExitCode {
    match Library::load(&config.content_dir) {
        Ok(lib) => {
            println!(
                "{} guides in {}: no faults",
                lib.all().len(),
                config.content_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(ContentError::Invalid(issues)) => {
            let root = config.content_dir.display();
            for i in &issues {
                println!("{root}/{i}");
            }
            eprintln!("{} fault(s) found", issues.len());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
