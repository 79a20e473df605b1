//! Peak memory of the server while it exports many cases as CSV.
//!
//! ```sh
//! cargo build --release && cargo run --example export_rss -- 100000
//! ```
//!
//! Fills a temporary data folder with N cases (default 100 000) straight through SQL, starts the
//! release binary (`target/release/faultbook`, or the path given second) on it, downloads
//! `/cases.csv`, and reports the server's resident memory before the download and its peak
//! (`VmHWM`, reset just before the download) while it ran. Only the server needs a release
//! build; this harness may run as a debug build.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use faultbook::auth::Role;

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn fill(data: &Path, cases: usize) -> anyhow::Result<String> {
    let url = format!("sqlite://{}", data.join("faultbook.db").display());
    let db = faultbook::db::connect(&url).await?;
    let mut tx = db.begin().await?;
    let notes = "Reseated the fibre patch at the cabinet and cleared the fault. ".repeat(12);
    for i in 0..cases {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO cases (id, created_at, guide, filed_by, site, line, cell, asset, \
             verbatim_alarm, outcome, fix_applied, notes, idempotency_key, request_hash) \
             VALUES (?, ?, NULL, 'ana', 'Wels', 'L3', ?, 'PLC-07', ?, 'fixed', ?, ?, ?, '')",
        )
        .bind(&id)
        .bind(faultbook::time::Timestamp::now())
        .bind(format!("C{:02}", i % 40))
        .bind(format!(
            "Bad_Timeout on node {i}: subscription watchdog elapsed"
        ))
        .bind("Restarted the OPC UA server")
        .bind(&notes)
        .bind(format!("rss-{i}"))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let (_, secret) =
        faultbook::auth::store::create_token(&db, "rss", Role::Admin, "bench").await?;
    db.close().await;
    Ok(secret)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cases: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let data = tempfile::tempdir()?;
    let started = Instant::now();
    let token = fill(data.path(), cases).await?;
    println!("filled {cases} cases in {:.1?}", started.elapsed());

    // The release binary: target/release/faultbook, seen from target/<profile>/examples/.
    let binary: PathBuf = match std::env::args().nth(2) {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()?
            .ancestors()
            .nth(3)
            .map(|target| target.join("release").join("faultbook"))
            .ok_or_else(|| anyhow::anyhow!("no target folder"))?,
    };
    anyhow::ensure!(
        binary.exists(),
        "build it first: {} is missing",
        binary.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let content = Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
    let server = Server(
        Command::new(&binary)
            .arg("serve")
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data.path())
            .arg("--content-dir")
            .arg(&content)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "server ready in {:.1?} (search index built)",
        started.elapsed()
    );

    let before = status_kb(pid, "VmRSS:");
    // Resets VmHWM, so the peak below is the download's, not the start-up index build's.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")?;
    let started = Instant::now();
    let mut res = client
        .get(format!("{base}/cases.csv"))
        .bearer_auth(&token)
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "export answered {}",
        res.status()
    );
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = res.chunk().await? {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let peak = status_kb(pid, "VmHWM:");
    println!(
        "exported {} rows, {:.1} MB in {:.1?}",
        lines.saturating_sub(1),
        bytes as f64 / 1e6,
        started.elapsed()
    );
    println!(
        "server RSS before the download: {:.1} MB; peak during it (VmHWM): {:.1} MB",
        before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    drop(server);
    Ok(())
}
