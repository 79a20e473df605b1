//! Guide saves from the browser, measured in process on the real app: how long one save takes
//! (the lint over the whole library it would make, the database transaction, the swap of the
//! served library) and how long until search finds a word the save added.

use std::path::Path;
use std::time::{Duration, Instant};

use faultbook::config::Config;
use faultbook::content::{GuideEdit, GuideFields, Intent};
use faultbook::search::SearchRequest;
use faultbook::startup::Application;

pub struct SaveReport {
    pub guides: usize,
    pub saves: usize,
    pub save: Vec<Duration>,
    pub searchable: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(
    content: &Path,
    saves: usize,
    mut say: impl FnMut(String),
) -> anyhow::Result<SaveReport> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let data = tempfile::tempdir()?;
        let app = Application::build(Config::for_dirs(
            data.path().to_path_buf(),
            content.to_path_buf(),
        ))
        .await?;
        let state = app.state.clone();
        let library = state.guides.current();
        let slugs: Vec<String> = library.all().iter().map(|g| g.slug.clone()).collect();
        let mut report = SaveReport {
            guides: slugs.len(),
            saves,
            save: Vec::with_capacity(saves),
            searchable: Vec::with_capacity(saves),
        };
        for i in 0..saves {
            let slug = &slugs[i % slugs.len()];
            let current = state.guides.current_revision(slug).await?;
            let mut fields = GuideFields::from_text(&current.text)
                .ok_or_else(|| anyhow::anyhow!("{slug} has no front matter"))?;
            // A word no guide holds, so the search for it can only find this save.
            let token = format!("benchsave{i}x{}", fields.body.len());
            fields.body =
                fields
                    .body
                    .replacen("## Fix\n", &format!("## Fix\n\nCheck {token} first.\n"), 1);
            let edit = GuideEdit {
                slug: Some(slug.clone()),
                base_revision: Some(current.id),
                new_slug: slug.clone(),
                fields,
                summary: format!("bench save {i}"),
                intent: Intent::Publish,
            };
            let started = Instant::now();
            state.guides.save("bench", edit).await?;
            report.save.push(started.elapsed());
            loop {
                let found = state
                    .search
                    .search(SearchRequest {
                        text: token.clone(),
                        platform: None,
                        limit: 5,
                        with_counts: false,
                        include_cases: false,
                    })
                    .await?
                    .hits
                    .iter()
                    .any(|h| h.id == *slug);
                if found {
                    report.searchable.push(started.elapsed());
                    break;
                }
                if started.elapsed() > Duration::from_secs(10) {
                    anyhow::bail!("save {i} of {slug} not found by search after 10 s");
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            if (i + 1) % 50 == 0 {
                say(format!("guide saves: {} of {saves}", i + 1));
            }
        }
        report.save.sort();
        report.searchable.sort();
        Ok(report)
    })
}

pub fn render(r: &SaveReport) -> String {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let mut out = String::new();
    out.push_str(&format!(
        "\nguide saves: {} saves over {} guides (each: lint of the whole library, one transaction, library swap)\n\n",
        r.saves, r.guides
    ));
    out.push_str("| measure | p50 | p99 | max |\n| --- | --- | --- | --- |\n");
    for (name, v) in [
        ("save", &r.save),
        ("save until search finds it", &r.searchable),
    ] {
        out.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.99)),
            ms(v.last().copied().unwrap_or_default())
        ));
    }
    out
}
