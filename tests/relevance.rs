//! Runs the relevance set (tests/relevance/queries.toml) against the shipped guides.
//! Fails when any expected guide is not in the top 3, or when top-1 falls under 90 %.

use faultbook::content::Library;
use faultbook::search::relevance;
use faultbook::search::{DocKind, SearchIndex, SearchRequest};

#[test]
fn relevance_set_top1_and_top3() {
    let library = Library::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content"))
        .expect("shipped guides load");
    let dir = tempfile::tempdir().expect("temp dir");
    let (index, _) = SearchIndex::open_or_rebuild(&dir.path().join("index"), &library, Vec::new)
        .expect("index builds");
    let queries = relevance::queries().expect("queries.toml parses");
    assert!(
        queries.len() >= 60,
        "the relevance set needs at least 60 queries"
    );
    let report = relevance::evaluate(&queries, |q| {
        index
            .search_blocking(&SearchRequest {
                text: q.to_string(),
                platform: None,
                limit: 10,
                with_counts: false,
                include_cases: true,
            })
            .expect("search never fails")
            .hits
            .into_iter()
            .filter(|h| h.kind == DocKind::Guide)
            .map(|h| h.id)
            .collect()
    });
    println!(
        "relevance: {} queries, top-1 {}/{} = {:.1} %, top-3 {}/{} = {:.1} %",
        report.total,
        report.top1,
        report.total,
        100.0 * report.top1_rate(),
        report.top3,
        report.total,
        100.0 * report.top3_rate()
    );
    for (q, got) in &report.not_first {
        println!(
            "  not first [{}] {:?}: expected {}, got {:?}",
            q.kind, q.q, q.expect, got
        );
    }
    for (q, got) in &report.misses {
        println!(
            "  MISS [{}] {:?}: expected {}, got {:?}",
            q.kind, q.q, q.expect, got
        );
    }
    assert!(
        report.misses.is_empty(),
        "{} queries missed the top 3",
        report.misses.len()
    );
    assert!(
        report.top1_rate() >= 0.90,
        "top-1 rate {:.3} is under 0.90",
        report.top1_rate()
    );
}
