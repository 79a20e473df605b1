//! `faultbook-bench`: builds a deterministic synthetic corpus (the shipped guides plus N cases),
//! indexes it with faultbook's index and with SQLite FTS5, runs the same query mix through both
//! and prints latency and relevance side by side.

mod guide_saves;
mod report;
mod similar;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use faultbook::content::Library;

use report::BenchOptions;

#[derive(Debug, Parser)]
#[command(name = "faultbook-bench", version, about)]
struct Args {
    /// Number of synthetic cases besides the shipped guides.
    #[arg(long, default_value_t = 100_000)]
    cases: usize,
    /// Seed of the synthetic corpus; the same seed gives the same corpus.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Timed runs of the query mix.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Folder holding the guides, one sub-folder per platform.
    #[arg(long, default_value = "content")]
    content_dir: PathBuf,
    /// Also leave the synthetic index in <DIR>/index, so that `faultbook --data-dir DIR` serves
    /// it (for HTTP load tests with wrk).
    #[arg(long, value_name = "DIR")]
    keep_index_in: Option<PathBuf>,
    /// Cases in the database behind the "seen before" lookup of the case form; the same as
    /// `--cases` unless given (0 skips it).
    #[arg(long)]
    similar_cases: Option<usize>,
    /// Measure only guide saves from the editor instead: N saves on the real app, each timed
    /// until search finds the word it added.
    #[arg(long, value_name = "N")]
    guide_saves: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = BenchOptions {
        cases: args.cases,
        seed: args.seed,
        rounds: args.rounds.max(1),
        keep_index_in: args.keep_index_in.map(|d| d.join("index")),
    };
    if let Some(n) = args.guide_saves {
        return match guide_saves::run(&args.content_dir, n.max(1), |l| eprintln!("{l}")) {
            Ok(r) => {
                println!("{}", guide_saves::render(&r));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let similar_cases = args.similar_cases.unwrap_or(args.cases);
    let result = Library::load(&args.content_dir)
        .map_err(anyhow::Error::from)
        .and_then(|lib| {
            let search = report::run(&lib, &opts, |line| eprintln!("{line}"))?;
            let seen_before = (similar_cases > 0)
                .then(|| {
                    similar::run(&lib, similar_cases, opts.seed, opts.rounds, |line| {
                        eprintln!("{line}")
                    })
                })
                .transpose()?;
            Ok((search, seen_before))
        });
    match result {
        Ok((report, seen_before)) => {
            println!("{}", report::render(&report));
            if let Some(s) = seen_before {
                println!("{}", similar::render(&s));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
