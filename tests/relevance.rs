//! Runs the relevance set (tests/relevance/queries.toml) against the shipped guides.
//! Fails when any expected guide is not in the top 3, when top-1 falls under 90 %, when the
//! right guide is marked the best match for fewer than 95 % of covered queries, or when any
//! fault no guide covers gets a best match.

use faultbook::content::Library;
use faultbook::search::relevance::{self, Ranking};
use faultbook::search::{SearchIndex, SearchRequest};

#[test]
fn relevance_set_top1_top3_and_best_match() {
    let library = Library::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content"))
        .expect("shipped guides load");
    let dir = tempfile::tempdir().expect("temp dir");
    let (index, _) = SearchIndex::open_or_rebuild(&dir.path().join("index"), &library, Vec::new)
        .expect("index builds");
    let queries = relevance::queries().expect("queries.toml parses");
    let covered = queries
        .iter()
        .filter(|q| q.expected_guide().is_some())
        .count();
    assert!(
        covered >= 60,
        "the relevance set needs at least 60 covered queries"
    );
    assert!(
        queries.len() - covered >= 25,
        "the relevance set needs at least 25 faults no guide covers"
    );
    for q in &queries {
        if let Some(slug) = q.expected_guide() {
            assert!(
                library.find(slug).is_some(),
                "{:?} expects unknown guide {slug}",
                q.q
            );
        }
    }
    let report = relevance::evaluate(&queries, |q| {
        Ranking::of(
            &index
                .search_blocking(&SearchRequest {
                    text: q.to_string(),
                    platform: None,
                    limit: 10,
                    with_counts: false,
                    include_cases: true,
                })
                .expect("search never fails"),
        )
    });
    println!(
        "relevance: {} covered queries, top-1 {}/{} = {:.1} %, top-3 {}/{} = {:.1} %",
        report.total,
        report.top1,
        report.total,
        100.0 * report.top1_rate(),
        report.top3,
        report.total,
        100.0 * report.top3_rate()
    );
    println!(
        "best match: right guide {}/{} = {:.1} % of covered queries, another guide {}; \
         faults no guide covers given a best match {}/{} = {:.1} %, shown \"no guide yet\" {}/{}",
        report.best_right,
        report.total,
        100.0 * report.best_match_rate(),
        report.best_wrong.len(),
        report.uncovered_best.len(),
        report.uncovered,
        100.0 * report.false_best_rate(),
        report.uncovered_no_guide_yet,
        report.uncovered
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
    for (q, best) in &report.best_wrong {
        println!(
            "  WRONG BEST [{}] {:?}: expected {}, marked {best}",
            q.kind, q.q, q.expect
        );
    }
    for (q, best) in &report.uncovered_best {
        println!("  FALSE BEST {:?}: no guide covers it, marked {best}", q.q);
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
    assert!(
        report.best_match_rate() >= 0.95,
        "the right guide is the best match for {:.3} of covered queries, under 0.95",
        report.best_match_rate()
    );
    assert!(
        report.uncovered_best.is_empty(),
        "{} faults no guide covers got a best match",
        report.uncovered_best.len()
    );
}
