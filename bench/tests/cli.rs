//! The benchmark binary on a small corpus: it runs and prints both engines' figures.

use std::path::Path;

fn shipped_content() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../content")
}

fn shipped_guide_count() -> usize {
    std::fs::read_dir(shipped_content())
        .expect("content folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .flat_map(|d| std::fs::read_dir(d.path()).expect("platform folder"))
        .filter_map(Result::ok)
        .filter(|f| f.path().extension().is_some_and(|x| x == "md"))
        .count()
}

#[test]
fn bench_command_compares_with_fts5_on_a_small_corpus() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultbook-bench"))
        .args([
            "--cases",
            "300",
            "--rounds",
            "1",
            "--seed",
            "7",
            "--content-dir",
        ])
        .arg(shipped_content())
        .output()
        .expect("run bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for row in [
        "| index build |",
        "| query p99 |",
        "| relevance top-3 (codes) |",
        "| right guide marked the best match (covered queries) |",
        "| faults no guide covers given a best match |",
        "SQLite FTS5",
        "| \"seen before\" on the case form (300 cases in SQLite",
    ] {
        assert!(stdout.contains(row), "missing {row} in\n{stdout}");
    }
    let corpus = format!("corpus: {} documents", 300 + shipped_guide_count());
    assert!(stdout.contains(&corpus), "{stdout}");
}
