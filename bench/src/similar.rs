//! How long the case form waits for "seen before": earlier cases with the same alarm, this cell
//! first, looked up in a real faultbook database (migrations, the case store's own insert)
//! holding N synthetic cases.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use faultbook::cases::similar::{self, SimilarQuery};
use faultbook::cases::store::{self, Insert};
use faultbook::cases::{CaseDraft, Filer};
use faultbook::content::Library;
use faultbook::db::{self, Durability};

use crate::report::{alarm_vocabulary, latency, Latency};

#[derive(Debug, Clone, Default)]
pub struct SimilarReport {
    pub cases: usize,
    pub fill: Duration,
    pub latency: Latency,
    pub worst: Duration,
    /// Lookups that found at least one earlier case.
    pub answered: usize,
    pub asked: usize,
}

/// The draft of synthetic case `i`: an alarm of its guide's platform, sometimes as a log line.
fn draft(rng: &mut StdRng, library: &Library) -> CaseDraft {
    let guides = library.all();
    let guide = &guides[rng.gen_range(0..guides.len())];
    let alarm = alarm_vocabulary(guide.front.platform)
        .choose(rng)
        .copied()
        .unwrap_or("Unknown");
    let verbatim = if rng.gen_bool(0.3) {
        format!(
            "2026-{:02}-{:02} {:02}:{:02}:{:02} [ERROR] {alarm}",
            rng.gen_range(1..=12),
            rng.gen_range(1..=28),
            rng.gen_range(0..24),
            rng.gen_range(0..60),
            rng.gen_range(0..60)
        )
    } else {
        alarm.to_string()
    };
    CaseDraft {
        guide: Some(guide.slug.clone()),
        verbatim_alarm: Some(verbatim),
        line: Some(format!("Line {}", rng.gen_range(1..=12))),
        cell: Some(format!("C{:02}", rng.gen_range(1..=40))),
        fix_applied: Some("Restarted the driver and re-trusted the certificate".into()),
        outcome: Some(
            ["fixed", "workaround", "not_fixed", "escalated"]
                .choose(rng)
                .copied()
                .unwrap_or("fixed")
                .into(),
        ),
        ..CaseDraft::default()
    }
}

fn query<'a>(alarm: &'a str, cell: &'a str) -> SimilarQuery<'a> {
    SimilarQuery {
        alarm,
        cell,
        exclude: None,
    }
}

pub fn run(
    library: &Library,
    cases: usize,
    seed: u64,
    rounds: usize,
    mut log: impl FnMut(&str),
) -> anyhow::Result<SimilarReport> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let tmp = tempfile::tempdir()?;
    rt.block_on(async {
        let url = format!("sqlite://{}", tmp.path().join("similar.db").display());
        // Filling is not what is measured: commits need not reach the disk one by one.
        let pool = db::connect_with(&url, Durability::Normal).await?;
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
        let filer = Filer::default();
        let t = Instant::now();
        let mut asks = Vec::new();
        for i in 0..cases {
            let d = draft(&mut rng, library);
            let case = d
                .parse(library)
                .map_err(|e| anyhow::anyhow!("synthetic case {i} invalid: {e:?}"))?;
            if i % (cases / 200).max(1) == 0 {
                asks.push((case.verbatim_alarm.clone(), case.cell.clone()));
            }
            let key = format!("bench-{i}");
            store::insert(
                &pool,
                Insert {
                    case: &case,
                    checks: &[],
                    photos: &[],
                    key: &key,
                    request_hash: "",
                    filer: &filer,
                },
            )
            .await?;
        }
        let fill = t.elapsed();
        log(&format!(
            "similar cases: {cases} cases stored in {fill:.2?}"
        ));
        for (alarm, cell) in &asks {
            similar::find(&pool, &query(alarm, cell)).await?;
        }
        let mut samples = Vec::with_capacity(asks.len() * rounds);
        let mut answered = 0;
        for _ in 0..rounds {
            answered = 0;
            for (alarm, cell) in &asks {
                let t = Instant::now();
                let found = similar::find(&pool, &query(alarm, cell)).await?;
                samples.push(t.elapsed());
                if !found.is_empty() {
                    answered += 1;
                }
            }
        }
        let worst = samples.iter().max().copied().unwrap_or_default();
        Ok(SimilarReport {
            cases,
            fill,
            latency: latency(samples),
            worst,
            answered,
            asked: asks.len(),
        })
    })
}

pub fn render(r: &SimilarReport) -> String {
    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1000.0);
    format!(
        "| \"seen before\" on the case form ({} cases in SQLite, stored in {:.1} s; {} lookups) | p50 {} | p99 {} | max {} | {} of {} lookups answered |\n",
        r.cases,
        r.fill.as_secs_f64(),
        r.latency.count,
        ms(r.latency.p50),
        ms(r.latency.p99),
        ms(r.worst),
        r.answered,
        r.asked
    )
}
