//! The benchmark itself: a deterministic synthetic corpus (the shipped guides plus N cases with
//! alarm vocabularies from all five platforms), indexed by faultbook's tantivy index and by
//! SQLite FTS5 (unicode61) side by side; index build time, query latency and relevance.

use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use faultbook::content::{Library, Platform};
use faultbook::search::relevance::{self, Ranking, RelevanceQuery, RelevanceReport};
use faultbook::search::{self, DocKind, IndexDoc, SearchIndex, SearchRequest};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub cases: usize,
    pub seed: u64,
    pub rounds: usize,
    /// Where to build the tantivy index so that it outlives the run; a temporary folder if None.
    pub keep_index_in: Option<std::path::PathBuf>,
}

/// Alarm strings a case may carry, per platform. Synthetic: they shape the vocabulary and
/// term statistics of the corpus, they are not facts about the products.
pub(crate) fn alarm_vocabulary(p: Platform) -> &'static [&'static str] {
    match p {
        Platform::Ignition => &[
            "Bad_ConnectionRejected",
            "Bad_SecurityChecksFailed",
            "Bad_CertificateUriInvalid",
            "Bad_Timeout",
            "Bad_TooManySessions",
            "Bad_TooManySubscriptions",
            "Bad_NotWritable",
            "Bad_TypeMismatch",
            "Bad_NodeIdUnknown",
            "Bad_CommunicationError",
            "Bad_NotFound",
            "Bad_Stale",
            "Subscription watchdog timer elapsed",
            "Uncertain_LastUsableValue",
            "StatusCode{name=Bad_SessionClosed, value=0x80260000, quality=bad}",
        ],
        Platform::Factorytalk => &[
            "0xc0040007 Failed to Add Item to Data Server",
            "Bad_CertificateUntrusted",
            "Bad_SecurityChecksFailed",
            "Bad_CertificateTimeInvalid",
            "HMI server Standby",
            "Linx connector state Unreachable",
            "Linx connector state Fail",
            "Bad_CertificateHostNameInvalid",
            "communication error on shortcut",
            "tag does not exist in controller",
        ],
        Platform::Wonderware => &[
            "EngineFailureTimeout",
            "Standby - Ready",
            "Switching to Active",
            "Running On Scan",
            "aaEngine.exe not responding",
            "redundancy message channel down",
            "GR node unreachable",
            "deploy failed on AppEngine",
            "Logger shows no new messages",
        ],
        Platform::Wincc => &[
            "Disconnected",
            "ConnState 5 Failure",
            "ConnState 9 WaitForReconnect",
            "S7ONLINE bound to ISO",
            "Not Connected",
            "channel S7-1500 disconnected",
            "State.Diagnostic error",
            "TCP port 102 closed",
        ],
        Platform::Proficy => &[
            "Unknown",
            "HIST_HEARTBEAT.F_CV alarm",
            "HIST_STATUS.A_CV Stopped",
            "collector overruns",
            "node name not resolved",
            "SCADA server not found in hosts",
            "buffer files growing",
        ],
    }
}

const FIX_PHRASES: &[&str] = &[
    "restarted the service and the connection came back",
    "trusted the certificate in the rejected folder",
    "corrected the endpoint port in the connection settings",
    "replaced the network cable at the cabinet switch",
    "synchronised the clock with the domain controller",
    "raised the timeout and reduced the tags per request",
    "added the node name to the hosts file on every node",
    "rebound the interface to TCPIP in the network settings",
    "cleared the queued writes and rewrote the setpoint",
    "moved the collector back to the primary archiver",
    "forced a failover to the backup engine after patching",
    "removed the antivirus scan from the runtime folders",
    "reissued the server certificate and re-trusted it on the client",
    "reduced the number of subscriptions per session",
    "swapped the failed switch port and documented it",
];

const NOTE_PHRASES: &[&str] = &[
    "happened right after the night shift change",
    "operator reported frozen values on the overview screen",
    "same fault on the sister cell last month",
    "vendor support ticket opened",
    "occurred after a Windows update and reboot",
    "the HMI showed stale values for about ten minutes",
    "maintenance had unplugged the panel during cleaning",
    "firmware was updated the week before",
    "only one client affected, others were fine",
    "intermittent, seen three times during the shift",
];

fn case_doc(
    rng: &mut StdRng,
    i: usize,
    guides_by_platform: &[(Platform, Vec<String>)],
) -> IndexDoc {
    let (platform, guides) = &guides_by_platform[rng.gen_range(0..guides_by_platform.len())];
    let alarm = alarm_vocabulary(*platform)
        .choose(rng)
        .copied()
        .unwrap_or("Unknown");
    let line = rng.gen_range(1..=12);
    let cell = rng.gen_range(1..=40);
    let asset = format!(
        "{}-L{line}-C{cell:02}",
        match platform {
            Platform::Ignition => "IGN",
            Platform::Factorytalk => "FTV",
            Platform::Wonderware => "AVV",
            Platform::Wincc => "S7",
            Platform::Proficy => "HST",
        }
    );
    let guide = if rng.gen_bool(0.9) {
        guides.choose(rng).cloned()
    } else {
        None
    };
    let fix = FIX_PHRASES.choose(rng).copied().unwrap_or("");
    let note = NOTE_PHRASES.choose(rng).copied().unwrap_or("");
    let firmware = format!(
        "{}.{}.{}",
        rng.gen_range(1..=35),
        rng.gen_range(0..=20),
        rng.gen_range(0..=99)
    );
    IndexDoc {
        kind: DocKind::Case,
        id: format!("case-{i:07}"),
        guide,
        platform: Some(*platform),
        title: format!("{alarm} on {asset}"),
        alarms: vec![alarm.to_string()],
        products: Vec::new(),
        body: format!(
            "Site plant{} line {line} cell {cell} asset {asset} firmware {firmware}. Fix: {fix}. Notes: {note}.",
            rng.gen_range(1..=4)
        ),
    }
}

/// The synthetic corpus: every shipped guide, then `cases` cases.
pub fn corpus(library: &Library, cases: usize, seed: u64) -> (Vec<IndexDoc>, Vec<String>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let by_platform: Vec<(Platform, Vec<String>)> = library
        .by_platform()
        .into_iter()
        .map(|(p, gs)| (p, gs.iter().map(|g| g.slug.clone()).collect()))
        .collect();
    let mut case_docs = Vec::with_capacity(cases);
    let mut case_queries = Vec::new();
    for i in 0..cases {
        let d = case_doc(&mut rng, i, &by_platform);
        if i % (cases / 50).max(1) == 0 {
            // What a tech types to find an earlier case: the asset and the alarm.
            let asset = d
                .body
                .split("asset ")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .unwrap_or("");
            case_queries.push(format!("{asset} {}", d.alarms[0]));
        }
        case_docs.push(d);
    }
    (search::documents(library, case_docs), case_queries)
}

#[derive(Debug, Clone, Default)]
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
    pub count: usize,
}

pub(crate) fn latency(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    let pick = |q: f64| {
        samples
            .get(((samples.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    let total: Duration = samples.iter().sum();
    Latency {
        p50: pick(0.50),
        p99: pick(0.99),
        mean: total / samples.len().max(1) as u32,
        count: samples.len(),
    }
}

/// SQLite FTS5 with the unicode61 tokenizer over the same documents.
pub struct Fts5 {
    conn: rusqlite::Connection,
}

impl Fts5 {
    pub fn build(path: &Path, docs: &[IndexDoc]) -> rusqlite::Result<Fts5> {
        let mut conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
             CREATE VIRTUAL TABLE docs USING fts5(kind UNINDEXED, id UNINDEXED, platform UNINDEXED,
                 title, alarms, products, body, tokenize = 'unicode61');",
        )?;
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO docs (kind, id, platform, title, alarms, products, body) VALUES (?,?,?,?,?,?,?)",
            )?;
            for d in docs {
                stmt.execute(rusqlite::params![
                    d.kind.as_str(),
                    d.id,
                    d.platform.map_or("", Platform::as_str),
                    d.title,
                    d.alarms.join("\n"),
                    d.products.join("\n"),
                    d.body,
                ])?;
            }
        }
        tx.commit()?;
        Ok(Fts5 { conn })
    }

    /// The fairest FTS5 query for raw input: every word quoted (so no input breaks the FTS5
    /// syntax), OR-ed, ranked by bm25 with the same field weights faultbook uses.
    pub fn fts_query(input: &str) -> Option<String> {
        let words: Vec<String> = input
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(40)
            .map(|w| format!("\"{w}\""))
            .collect();
        (!words.is_empty()).then(|| words.join(" OR "))
    }

    pub fn search(&self, input: &str, limit: usize) -> rusqlite::Result<Vec<(String, String)>> {
        let Some(q) = Fts5::fts_query(input) else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, id, snippet(docs, 6, '<mark>', '</mark>', '…', 24)
             FROM docs WHERE docs MATCH ?1
             ORDER BY bm25(docs, 0, 0, 0, 2.5, 4.0, 1.5, 1.0) LIMIT ?2",
        )?;
        let rows = stmt.query_map(rusqlite::params![q, limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.collect()
    }
}

pub struct EngineResult {
    pub build: Duration,
    pub latency: Latency,
    pub relevance: RelevanceReport,
    pub code_relevance: RelevanceReport,
}

pub struct BenchReport {
    pub docs: usize,
    pub queries_in_mix: usize,
    pub tantivy: EngineResult,
    pub fts5: EngineResult,
}

fn guide_ids(hits: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    hits.into_iter()
        .filter(|(kind, _)| kind == "guide")
        .map(|(_, id)| id)
        .collect()
}

pub fn run(
    library: &Library,
    opts: &BenchOptions,
    mut log: impl FnMut(&str),
) -> anyhow::Result<BenchReport> {
    let (docs, case_queries) = corpus(library, opts.cases, opts.seed);
    let relevance_set = relevance::queries()?;
    let code_set: Vec<RelevanceQuery> = relevance_set
        .iter()
        .filter(|q| q.kind.starts_with("code"))
        .cloned()
        .collect();
    let mix: Vec<String> = relevance_set
        .iter()
        .map(|q| q.q.clone())
        .chain(case_queries)
        .collect();
    let tmp = tempfile::tempdir()?;

    log(&format!(
        "corpus: {} documents ({} guides, {} cases), seed {}",
        docs.len(),
        library.all().len(),
        opts.cases,
        opts.seed
    ));
    let t = Instant::now();
    let index_dir = opts
        .keep_index_in
        .clone()
        .unwrap_or_else(|| tmp.path().join("index"));
    let index = SearchIndex::create_fresh(&index_dir)?;
    index.rebuild_blocking(&library.content_hash, docs.clone(), |_| {})?;
    let tantivy_build = t.elapsed();
    log(&format!(
        "tantivy index built in {:.2?} in {}",
        tantivy_build,
        index_dir.display()
    ));

    let t = Instant::now();
    let fts = Fts5::build(&tmp.path().join("fts5.db"), &docs)?;
    let fts_build = t.elapsed();
    log(&format!("FTS5 index built in {:.2?}", fts_build));
    drop(docs);

    let search_tantivy = |q: &str| {
        index.search_blocking(&SearchRequest {
            text: q.to_string(),
            platform: None,
            limit: 10,
            with_counts: false,
            include_cases: true,
        })
    };
    // One warm-up round for each engine, then the timed rounds.
    for q in &mix {
        search_tantivy(q)?;
        fts.search(q, 10)?;
    }
    let mut t_samples = Vec::with_capacity(mix.len() * opts.rounds);
    let mut f_samples = Vec::with_capacity(mix.len() * opts.rounds);
    for _ in 0..opts.rounds {
        for q in &mix {
            let t = Instant::now();
            let r = search_tantivy(q)?;
            t_samples.push(t.elapsed());
            std::hint::black_box(r);
            let t = Instant::now();
            let r = fts.search(q, 10)?;
            f_samples.push(t.elapsed());
            std::hint::black_box(r);
        }
    }
    let tantivy_guides = |q: &str| -> Ranking {
        search_tantivy(q)
            .map(|o| Ranking::of(&o))
            .unwrap_or_default()
    };
    // FTS5 has no notion of a best match: it only ranks.
    let fts_guides = |q: &str| -> Ranking {
        Ranking {
            guides: fts.search(q, 10).map(guide_ids).unwrap_or_default(),
            ..Ranking::default()
        }
    };
    Ok(BenchReport {
        docs: opts.cases + library.all().len(),
        queries_in_mix: mix.len(),
        tantivy: EngineResult {
            build: tantivy_build,
            latency: latency(t_samples),
            relevance: relevance::evaluate(&relevance_set, tantivy_guides),
            code_relevance: relevance::evaluate(&code_set, tantivy_guides),
        },
        fts5: EngineResult {
            build: fts_build,
            latency: latency(f_samples),
            relevance: relevance::evaluate(&relevance_set, fts_guides),
            code_relevance: relevance::evaluate(&code_set, fts_guides),
        },
    })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

pub fn render(r: &BenchReport) -> String {
    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1000.0);
    let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let ratio =
        |a: Duration, b: Duration| format!("{:.1}x", b.as_secs_f64() / a.as_secs_f64().max(1e-9));
    let pct = |rep: &RelevanceReport, top1: bool| {
        let (n, rate) = if top1 {
            (rep.top1, rep.top1_rate())
        } else {
            (rep.top3, rep.top3_rate())
        };
        format!("{n}/{} ({:.1} %)", rep.total, 100.0 * rate)
    };
    let (t, f) = (&r.tantivy, &r.fts5);
    let mut out = String::new();
    out.push_str(&format!(
        "machine: {}\ncorpus: {} documents; query mix: {} queries x {} timed runs each (top 10 with snippets)\n\n",
        machine(),
        r.docs,
        r.queries_in_mix,
        t.latency.count / r.queries_in_mix.max(1)
    ));
    out.push_str(
        "| measure | faultbook (tantivy) | SQLite FTS5 (unicode61) | FTS5 / faultbook |\n",
    );
    out.push_str("| --- | --- | --- | --- |\n");
    out.push_str(&format!(
        "| index build | {} | {} | {} |\n",
        s(t.build),
        s(f.build),
        ratio(t.build, f.build)
    ));
    out.push_str(&format!(
        "| query p50 | {} | {} | {} |\n",
        ms(t.latency.p50),
        ms(f.latency.p50),
        ratio(t.latency.p50, f.latency.p50)
    ));
    out.push_str(&format!(
        "| query p99 | {} | {} | {} |\n",
        ms(t.latency.p99),
        ms(f.latency.p99),
        ratio(t.latency.p99, f.latency.p99)
    ));
    out.push_str(&format!(
        "| query mean | {} | {} | {} |\n",
        ms(t.latency.mean),
        ms(f.latency.mean),
        ratio(t.latency.mean, f.latency.mean)
    ));
    out.push_str(&format!(
        "| relevance top-1 (all {} queries) | {} | {} | |\n",
        t.relevance.total,
        pct(&t.relevance, true),
        pct(&f.relevance, true)
    ));
    out.push_str(&format!(
        "| relevance top-3 (all queries) | {} | {} | |\n",
        pct(&t.relevance, false),
        pct(&f.relevance, false)
    ));
    out.push_str(&format!(
        "| right guide marked the best match (covered queries) | {}/{} ({:.1} %) | none marked | |\n",
        t.relevance.best_right,
        t.relevance.total,
        100.0 * t.relevance.best_match_rate()
    ));
    out.push_str(&format!(
        "| another guide marked the best match (covered queries) | {} | | |\n",
        t.relevance.best_wrong.len()
    ));
    out.push_str(&format!(
        "| faults no guide covers given a best match | {}/{} ({:.1} %) | | |\n",
        t.relevance.uncovered_best.len(),
        t.relevance.uncovered,
        100.0 * t.relevance.false_best_rate()
    ));
    out.push_str(&format!(
        "| faults no guide covers shown \"no guide yet\" | {}/{} | | |\n",
        t.relevance.uncovered_no_guide_yet, t.relevance.uncovered
    ));
    out.push_str(&format!(
        "| relevance top-1 (codes, {} queries) | {} | {} | |\n",
        t.code_relevance.total,
        pct(&t.code_relevance, true),
        pct(&f.code_relevance, true)
    ));
    out.push_str(&format!(
        "| relevance top-3 (codes) | {} | {} | |\n",
        pct(&t.code_relevance, false),
        pct(&f.code_relevance, false)
    ));
    out
}
