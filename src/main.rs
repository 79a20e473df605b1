use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = faultbook::cli::Cli::parse();
    faultbook::telemetry::init(cli.config.ops.log_format);
    faultbook::cli::run(cli).await
}
