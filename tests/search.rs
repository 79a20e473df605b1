mod common;

use common::{content_folder, guide_text, spawn_app, spawn_app_with_content};
use faultbook::content::Library;
use faultbook::search::{OpenOutcome, SearchIndex};

const KEPWARE: &str = "ignition-opcua-bad-connectionrejected-kepware";

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn every_notation_of_a_status_code_finds_the_guide_and_the_code() {
    let app = spawn_app().await;
    for q in [
        "Bad_ConnectionRejected",
        "BadConnectionRejected",
        "bad connection rejected",
        "Bad ConnectionRejected",
        "0x80AC0000",
        "80ac0000",
        "2158755840",
        "-2136211456",
        "2026-11-20 02:14:07,331 WARN [milo-netty-event-loop-3] c.i.i.g.o.c.c.OpcUaConnection: connect to opc.tcp://kepsrv01:49320 failed: UaException: status=Bad_ConnectionRejected",
    ] {
        let (status, body) = app.get_json(&format!("/api/search?q={}", enc(q))).await;
        assert_eq!(status, 200, "{q}");
        assert_eq!(body["query"], q);
        assert_eq!(body["hits"][0]["slug"], KEPWARE, "{q}: {}", body["hits"]);
        assert_eq!(body["hits"][0]["kind"], "guide");
        assert_eq!(body["hits"][0]["url"], format!("/guides/{KEPWARE}"));
        if q != "bad connection rejected" && q != "Bad ConnectionRejected" {
            let sc = &body["status_code"];
            assert_eq!(sc["name"], "Bad_ConnectionRejected", "{q}");
            assert_eq!(sc["hex"], "0x80AC0000", "{q}");
            assert!(sc["description"].as_str().is_some_and(|d| d.len() > 40), "{q}");
        }
    }
}

#[tokio::test]
async fn status_card_on_the_html_page_links_every_guide_listing_the_code() {
    let app = spawn_app().await;
    let (status, html) = app.get_text("/search?q=0x80130000").await;
    assert_eq!(status, 200);
    assert!(html.contains("class=\"statuscard\""));
    assert!(html.contains("<code>Bad_SecurityChecksFailed</code>"));
    assert!(html.contains("0x80130000"));
    assert!(html.contains("2148728832"));
    for slug in [
        "ignition-opcua-bad-securitychecksfailed",
        "ftlinx-opcua-certificate-rejected",
    ] {
        assert!(
            html.contains(&format!("href=\"/guides/{slug}\"")),
            "card links {slug}"
        );
    }
    // Platform filter links with counts.
    assert!(
        html.contains("/search?q=0x80130000&#38;platform=ignition"),
        "{html}"
    );
}

#[tokio::test]
async fn snippets_mark_matches_and_escape_everything_else() {
    let guide = guide_text(
        "wincc",
        "Zebra guide",
        "aliases = []\n",
        "\nThe `<b onmouseover=x>` tag & \"quotes\" then Zebrafault appears here.\n",
    );
    let dir = content_folder(&[("wincc/zebra.md", guide)]);
    let app = spawn_app_with_content(dir.path().to_path_buf()).await;
    let (_, body) = app.get_json("/api/search?q=zebrafault").await;
    let snippet = body["hits"][0]["snippet"].as_str().expect("snippet");
    assert!(snippet.contains("<mark>Zebrafault</mark>"), "{snippet}");
    assert!(snippet.contains("&lt;b onmouseover=x&gt;"), "{snippet}");
    assert!(!snippet.contains("<b "), "{snippet}");
    let (_, html) = app.get_text("/search?q=zebrafault").await;
    assert!(html.contains("<mark>Zebrafault</mark>"));
    assert!(!html.contains("<b onmouseover"));
}

#[tokio::test]
async fn typos_are_matched_by_spelling_below_exact_matches() {
    let app = spawn_app().await;
    let (_, body) = app
        .get_json("/api/search?q=subscripton%20watchdgo%20timer")
        .await;
    assert_eq!(
        body["hits"][0]["slug"], "ignition-opcua-subscription-lost",
        "{}",
        body["hits"]
    );
    let (_, html) = app
        .get_text("/search?q=subscripton%20watchdgo%20timer")
        .await;
    // The note names the words the guide holds, never the typo or a stem.
    assert!(
        html.contains("Showing results for <strong>subscription watchdog timer</strong>"),
        "{html}"
    );
    assert!(!html.contains("watchdgo</strong>"));
    // Stemming alone already joins some misspellings with the right word.
    let (_, body) = app.get_json("/api/search?q=redundency%20switchover").await;
    assert_eq!(body["hits"][0]["slug"], "ftview-se-redundancy-switchover");
}

#[tokio::test]
async fn no_input_causes_an_error() {
    let app = spawn_app().await;
    let long = "Bad_Timeout lorem ipsum ".repeat(500); // about 12 KB
    let inputs = [
        long.as_str(),
        "\"unbalanced quote",
        "((([[[{{{",
        "title:foo AND body:(bar OR",
        "alarms:Bad_Timeout^5 -body:*",
        "\u{1}\u{2}\u{7f} control",
        "🔥 alarm 🔥",
        "",
        "   ",
        "*",
        "~~~",
        "a",
        "\"\"",
        "SELECT * FROM cases; --",
        "<script>alert(1)</script>",
        // Beginnings of codes and identifiers, and what only looks like them.
        "0x",
        "0x8",
        "0xZZ80",
        "Bad_",
        "_Bad_Conn_",
        "é_ü_Ω",
        "Ünïcödé_Prefïx",
        "0x80AC .*+?[(",
        "bad_conn\\",
    ];
    for q in inputs {
        for path in ["/search?q=", "/api/search?q="] {
            let res = app.get(&format!("{path}{}", enc(q))).await;
            assert_eq!(res.status().as_u16(), 200, "{path}{q:?}");
            let text = res.text().await.expect("body");
            if path == "/search?q=" {
                assert!(
                    !text.contains("<script>alert(1)</script>"),
                    "input is escaped"
                );
            }
        }
    }
    // Invalid UTF-8 and broken percent-encoding in the query string.
    for raw in [
        "q=%FF%FE%80",
        "q=%",
        "q=%zz&limit=abc",
        "limit=-5&q=Bad_Timeout",
        "q=Bad_Timeout&limit=99999",
    ] {
        let res = app.get(&format!("/api/search?{raw}")).await;
        assert_eq!(res.status().as_u16(), 200, "{raw}");
        let res = app.get(&format!("/search?{raw}")).await;
        assert_eq!(res.status().as_u16(), 200, "{raw}");
    }
}

#[tokio::test]
async fn nothing_found_is_honest_and_suggests_what_to_try() {
    let app = spawn_app().await;
    let (status, html) = app.get_text("/search?q=qqqxyzzy%20wwwvvv").await;
    assert_eq!(status, 200);
    assert!(html.contains("No guide yet"));
    assert!(html.contains("href=\"/cases/new?alarm=qqqxyzzy+wwwvvv\""));
    assert!(html.contains("Paste just the status name or code"));
    assert!(html.contains("href=\"/guides\""));
    let (status, body) = app.get_json("/api/search?q=qqqxyzzy").await;
    assert_eq!(status, 200);
    assert_eq!(body["hits"].as_array().expect("hits").len(), 0);
    assert!(body["status_code"].is_null());
}

#[tokio::test]
async fn platform_filter_and_limit() {
    let app = spawn_app().await;
    let (_, body) = app
        .get_json("/api/search?q=certificate&platform=factorytalk")
        .await;
    let hits = body["hits"].as_array().expect("hits");
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|h| h["platform"] == "factorytalk"),
        "{hits:?}"
    );
    let (_, body) = app.get_json("/api/search?q=certificate&limit=2").await;
    assert_eq!(body["hits"].as_array().expect("hits").len(), 2);
    let (status, body) = app.get_json("/api/search?q=x&platform=citect").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().expect("error").contains("citect"));
    let (status, html) = app.get_text("/search?q=certificate&platform=citect").await;
    assert_eq!(status, 200);
    assert!(html.contains("no platform called"));
}

#[tokio::test]
async fn quoted_text_boosts_the_exact_phrase() {
    let a = guide_text(
        "proficy",
        "A",
        "aliases = []\n",
        "\nThe heartbeat stopped after the collector was paused.\n",
    );
    let b = guide_text(
        "proficy",
        "B",
        "aliases = []\n",
        "\nThe collector stopped. Later the heartbeat was paused, which is a different thing.\n",
    );
    let dir = content_folder(&[("proficy/a.md", a), ("proficy/b.md", b)]);
    let app = spawn_app_with_content(dir.path().to_path_buf()).await;
    let (_, body) = app
        .get_json(&format!(
            "/api/search?q={}",
            enc("\"collector was paused\"")
        ))
        .await;
    assert_eq!(body["hits"][0]["slug"], "a", "{}", body["hits"]);
    let (_, body) = app
        .get_json(&format!(
            "/api/search?q={}",
            enc("\"heartbeat was paused\"")
        ))
        .await;
    assert_eq!(body["hits"][0]["slug"], "b", "{}", body["hits"]);
}

#[test]
fn index_is_rebuilt_when_missing_corrupt_or_old_and_reindexed_when_guides_change() {
    let content = content_folder(&[(
        "wincc/one.md",
        guide_text("wincc", "One", "aliases = []\n", ""),
    )]);
    let lib = Library::load(content.path()).expect("loads");
    let data = tempfile::tempdir().expect("temp");
    let dir = data.path().join("index");

    let (idx, outcome) = SearchIndex::open_or_rebuild(&dir, &lib, Vec::new).expect("open");
    assert!(
        matches!(outcome, OpenOutcome::Rebuilt(ref why) if why.contains("no index")),
        "{outcome:?}"
    );
    assert_eq!(idx.num_docs(), 1);
    drop(idx);

    let (_, outcome) = SearchIndex::open_or_rebuild(&dir, &lib, Vec::new).expect("open");
    assert_eq!(outcome, OpenOutcome::UpToDate);

    // A changed guide folder re-indexes the guides only.
    std::fs::write(
        content.path().join("wincc/two.md"),
        guide_text("wincc", "Two", "aliases = []\n", ""),
    )
    .expect("write");
    let lib2 = Library::load(content.path()).expect("loads");
    let (idx, outcome) = SearchIndex::open_or_rebuild(&dir, &lib2, Vec::new).expect("open");
    assert_eq!(outcome, OpenOutcome::GuidesReindexed);
    assert_eq!(idx.num_docs(), 2);
    drop(idx);

    // Corrupt tantivy's own metadata.
    std::fs::write(dir.join("guides").join("meta.json"), b"{ not json").expect("corrupt");
    let (idx, outcome) = SearchIndex::open_or_rebuild(&dir, &lib2, Vec::new).expect("open");
    assert!(
        matches!(outcome, OpenOutcome::Rebuilt(ref why) if why.contains("corrupt")),
        "{outcome:?}"
    );
    assert_eq!(idx.num_docs(), 2);
    drop(idx);

    // An index written by an older schema.
    std::fs::write(
        dir.join("faultbook-index.json"),
        br#"{"schema":0,"content_hash":"x"}"#,
    )
    .expect("write");
    let (idx, outcome) = SearchIndex::open_or_rebuild(&dir, &lib2, Vec::new).expect("open");
    assert!(
        matches!(outcome, OpenOutcome::Rebuilt(ref why) if why.contains("older")),
        "{outcome:?}"
    );
    assert_eq!(idx.num_docs(), 2);
}

#[tokio::test]
async fn app_starts_with_a_corrupt_index_and_still_finds_guides() {
    let data = tempfile::tempdir().expect("temp");
    let index = data.path().join("index");
    std::fs::create_dir_all(index.join("cases")).expect("mkdir");
    std::fs::write(index.join("cases").join("meta.json"), b"garbage").expect("write");
    std::fs::write(index.join("faultbook-index.json"), b"garbage").expect("write");
    let config =
        faultbook::config::Config::for_dirs(data.path().to_path_buf(), common::shipped_content());
    let app = faultbook::startup::Application::build(config)
        .await
        .expect("starts");
    let results = app
        .state
        .search
        .search(faultbook::search::SearchRequest {
            text: "Bad_ConnectionRejected".into(),
            platform: None,
            limit: 3,
            with_counts: false,
            include_cases: true,
        })
        .await
        .expect("search");
    assert_eq!(results.hits[0].id, KEPWARE);
}

#[test]
fn reindex_command_rebuilds_the_index_with_progress() {
    let data = tempfile::tempdir().expect("temp");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultbook"))
        .args(["reindex", "--data-dir"])
        .arg(data.path())
        .arg("--content-dir")
        .arg(common::shipped_content())
        .output()
        .expect("run reindex");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let guides = shipped_guide_count();
    assert!(
        stdout.contains(&format!("search index rebuilt: {guides} documents")),
        "{stdout}"
    );
    assert!(data.path().join("index/faultbook-index.json").exists());
    assert!(data.path().join("index/guides/meta.json").exists());
}

/// The guides shipped in `content/`, counted from the files themselves.
fn shipped_guide_count() -> usize {
    std::fs::read_dir(common::shipped_content())
        .expect("content folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .flat_map(|d| std::fs::read_dir(d.path()).expect("platform folder"))
        .filter_map(Result::ok)
        .filter(|f| f.path().extension().is_some_and(|x| x == "md"))
        .count()
}

#[tokio::test]
async fn a_known_alarm_is_the_best_match_and_an_uncovered_fault_has_none() {
    let app = spawn_app().await;
    let (_, body) = app.get_json("/api/search?q=Bad_ConnectionRejected").await;
    assert_eq!(body["best_match"]["slug"], KEPWARE, "{body}");
    assert_eq!(body["best_match"]["url"], format!("/guides/{KEPWARE}"));
    assert_eq!(body["hits"][0]["answer"], true);
    let (_, html) = app.get_text("/search?q=Bad_ConnectionRejected").await;
    let best = html.find("data-best-match").expect("a best match section");
    assert!(
        html[best..].find(KEPWARE).is_some_and(|i| i < 400),
        "the best match is the Kepware guide"
    );
    assert!(!html.contains("No guide yet"));

    // A fault no guide covers: guides that share a word are folded away, none is "best".
    let (_, body) = app
        .get_json("/api/search?q=drive%20undervoltage%20fault")
        .await;
    assert!(body["best_match"].is_null(), "{body}");
    let hits = body["hits"].as_array().expect("hits");
    assert!(!hits.is_empty(), "some guide mentions the words");
    assert!(hits.iter().all(|h| h["answer"] == false), "{hits:?}");
    let (_, html) = app.get_text("/search?q=drive%20undervoltage%20fault").await;
    assert!(html.contains("No guide yet"));
    assert!(html.contains("href=\"/cases/new?alarm=drive+undervoltage+fault\""));
    assert!(!html.contains("data-best-match"));
    let folded = html
        .find("<details class=\"mentions\"")
        .expect("folded hits");
    assert!(html[folded..].contains("Also mentions these words"));
    assert!(
        !html[..folded].contains("class=\"title\""),
        "no guide is listed as an answer above the fold"
    );
}

#[tokio::test]
async fn a_pasted_log_line_shows_no_tokenizer_fragments_in_the_spelling_note() {
    let app = spawn_app().await;
    let line = "2026-11-20 02:14:07,331 WARN [milo-netty-event-loop-3] c.i.i.g.o.c.c.OpcUaConnection: connect to opc.tcp://kepsrv01:49320 failed: UaException: status=Bad_ConnectionRejected";
    let (_, html) = app.get_text(&format!("/search?q={}", enc(line))).await;
    assert!(html.contains("data-best-match"));
    assert!(!html.contains("netti"), "no stems in the page");
    // A misspelt fault no guide covers: no spelling note above "no guide yet".
    let (_, html) = app
        .get_text("/search?q=conveyer%20beltt%20misalignmnt")
        .await;
    assert!(html.contains("No guide yet"));
    assert!(!html.contains("Showing results for"));
    // A misspelt covered fault: the corrected words, as the guide writes them.
    let (_, body) = app
        .get_json("/api/search?q=ignition%20subscripton%20watchdgo")
        .await;
    assert_eq!(
        body["showing_results_for"], "ignition subscription watchdog",
        "{body}"
    );
}

#[tokio::test]
async fn beginnings_of_codes_and_identifiers_find_their_guide_first() {
    let app = spawn_app().await;
    for (typed, slug) in [
        ("0x80AC", KEPWARE),
        ("0x80ac", KEPWARE),
        ("Bad_Conn", KEPWARE),
        ("Bad_ConnectionRej", KEPWARE),
        ("BadTooManySub", "ignition-opcua-subscription-lost"),
        ("EngineFailureT", "system-platform-engine-failover-timeout"),
    ] {
        let (status, body) = app
            .get_json(&format!("/api/search?limit=6&q={}", enc(typed)))
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["hits"][0]["slug"], slug, "{typed}: {}", body["hits"]);
    }
}

#[tokio::test]
async fn past_cases_in_results_show_outcome_and_date() {
    let app = spawn_app().await;
    let case = app
        .file_case(
            "search-facts-1",
            serde_json::json!({
                "guide": KEPWARE,
                "verbatim_alarm": "Bad_ConnectionRejected on KEPSRV-QUARTZ7",
                "asset": "KEPSRV-QUARTZ7",
                "outcome": "workaround",
            }),
        )
        .await;
    let (_, body) = app.get_json("/api/search?q=KEPSRV-QUARTZ7").await;
    let hit = body["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .find(|h| h["kind"] == "case")
        .expect("the case is found")
        .clone();
    assert_eq!(hit["outcome"], "workaround");
    assert_eq!(hit["created_at"], case["created_at"]);
    let (_, html) = app
        .get_text("/search?q=Bad_ConnectionRejected%20KEPSRV-QUARTZ7")
        .await;
    let at = html
        .find(case["url"].as_str().expect("url"))
        .expect("the case is listed");
    let near = &html[at..(at + 600).min(html.len())];
    assert!(near.contains("Workaround in place"), "{near}");
    let day = &case["created_at"].as_str().expect("date")[..10];
    assert!(near.contains(day), "{near}");
}

#[tokio::test]
async fn the_status_code_table_is_served_whole_for_offline_use() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/status-codes").await;
    assert_eq!(status, 200);
    let codes = body["codes"].as_array().expect("codes");
    let table = faultbook::search::status::table().all();
    assert_eq!(codes.len(), table.len(), "every code of the server's table");
    let rejected = codes
        .iter()
        .find(|c| c["name"] == "Bad_ConnectionRejected")
        .expect("Bad_ConnectionRejected");
    assert_eq!(rejected["hex"], "0x80AC0000");
    assert_eq!(rejected["decimal"], 2158755840u32);
    assert_eq!(rejected["signed"], -2136211456);
    assert!(rejected["guides"]
        .as_array()
        .expect("guides")
        .iter()
        .any(|g| g["slug"] == KEPWARE));
}
