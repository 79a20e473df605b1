use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    faultbook::telemetry::init();
    faultbook::cli::run(faultbook::cli::Cli::parse()).await
}
