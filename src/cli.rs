//! The command line. `faultbook` alone is `faultbook serve`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::content::{ContentError, Library};
use crate::startup::Application;

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
}

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Check => check(&cli.config),
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
