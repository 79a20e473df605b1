//! The command line. `faultbook` alone is `faultbook serve`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::bench::BenchOptions;
use crate::config::Config;
use crate::content::{ContentError, Library};
use crate::search::SearchIndex;
use crate::startup::{load_library, Application};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Parser)]
#[command(
    name = "faultbook",
    version,
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
    /// Benchmark search on a synthetic corpus against SQLite FTS5.
    Bench {
        /// Number of synthetic cases besides the shipped guides.
        #[arg(long, default_value_t = 100_000)]
        cases: usize,
        /// Seed of the synthetic corpus; the same seed gives the same corpus.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Timed runs of the query mix.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Also leave the synthetic index in <data-dir>/index, so that `faultbook serve` with
        /// the same --data-dir serves it (for HTTP load tests with wrk).
        #[arg(long)]
        keep_index: bool,
    },
}

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Check => check(&cli.config),
        Command::Reindex => reindex(&cli.config).await,
        Command::Bench {
            cases,
            seed,
            rounds,
            keep_index,
        } => bench(
            &cli.config,
            BenchOptions {
                cases,
                seed,
                rounds: rounds.max(1),
                keep_index_in: keep_index.then(|| cli.config.index_dir()),
            },
        ),
    }
}

async fn reindex(config: &Config) -> ExitCode {
    let result = async {
        let library = load_library(config)?;
        std::fs::create_dir_all(&config.data_dir)?;
        let db = crate::db::connect(&config.database_url()).await?;
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

fn bench(config: &Config, opts: BenchOptions) -> ExitCode {
    let result = load_library(config)
        .and_then(|lib| crate::bench::run(&lib, &opts, |line| eprintln!("{line}")));
    match result {
        Ok(report) => {
            println!("{}", crate::bench::render(&report));
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
