//! Hostile input: script in every case field, SQL and LIKE metacharacters, path traversal.
//! Each test is something a plant-floor user (or whoever reads what they filed) would notice.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};

use common::*;

/// Text fields of a case that a person types, in form order.
fn text_fields() -> Vec<&'static str> {
    faultbook::cases::DRAFT_FIELDS
        .iter()
        .copied()
        .filter(|f| !["guide", "alarm_at", "hour_meter", "part_count", "outcome"].contains(f))
        .collect()
}

/// A word that is in the alarm of the hostile case and nowhere in the shipped guides.
const ALARM_WORD: &str = "zorbfault";

/// Fields whose hostile value starts with a character a spreadsheet runs as a formula.
const FORMULA_PREFIX: &[(&str, &str)] = &[
    ("notes", "=HYPERLINK(\"http://x\",\"y\")"),
    ("parameter_set", "+1+1"),
    ("io_mapping", "-2+3"),
    ("verified_sister_cell", "@SUM(A1)"),
];

fn script(field: &str) -> String {
    format!("<script>alert(\"f-{field}\")</script>")
}

const IMG: &str = "\"><img src=x onerror=alert(1)>";

/// The hostile value of one field: maybe a formula, then a script tag, then an attribute break-out.
fn hostile_value(field: &str) -> String {
    let formula = FORMULA_PREFIX
        .iter()
        .find(|(f, _)| *f == field)
        .map_or("", |(_, v)| v);
    let word = if field == "verbatim_alarm" {
        format!("{ALARM_WORD} ")
    } else {
        String::new()
    };
    format!("{formula}{word}{}{IMG}", script(field))
}

/// Undoes HTML/XML character escaping in one pass (named and numeric references).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The page holds no live markup from the payloads.
fn assert_no_raw_payload(page: &str, body: &str) {
    for raw in ["<script>alert(", "<img src=x", "onerror=alert(1)>"] {
        if let Some(at) = body.find(raw) {
            let from = at.saturating_sub(200);
            panic!(
                "{page} holds the raw payload `{raw}`:\n…{}…",
                &body[from..(at + 200).min(body.len())]
            );
        }
    }
}

/// The field's payload is on the page, escaped: decoding the page gives the text back.
fn assert_shows_escaped(page: &str, body: &str, field: &str) {
    let text = unescape(body);
    assert!(
        text.contains(&script(field)),
        "{page} should show the field {field} (escaped), but its text does not hold {}",
        script(field)
    );
    assert!(
        body.contains("&lt;script&gt;") || body.contains("&#60;script&#62;"),
        "{page}: the escaped form of <script> is not there"
    );
}

/// RFC 4180: rows of cells; quoted cells may hold commas, doubled quotes and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

async fn first_guide_slug(app: &TestApp) -> String {
    let (status, guides) = app.get_json("/api/guides").await;
    assert_eq!(status, 200);
    guides[0]["slug"]
        .as_str()
        .expect("the first guide has a slug")
        .to_string()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// Without this, a tech who pastes (or is tricked into filing) markup would have it run in the
// browser of every colleague who opens the case, the case list, a search, the guide, the feed
// reader, or a spreadsheet made from the CSV export.
#[tokio::test]
async fn script_in_every_case_field_is_shown_as_text_everywhere() {
    let app = spawn_app().await;
    let slug = first_guide_slug(&app).await;
    let mut body = serde_json::Map::new();
    for f in text_fields() {
        body.insert(f.to_string(), hostile_value(f).into());
    }
    body.insert("outcome".into(), "fixed".into());
    body.insert("guide".into(), slug.clone().into());
    let case = app
        .file_case("xss-1", serde_json::Value::Object(body))
        .await;
    let id = case["id"].as_str().expect("id").to_string();
    for f in text_fields() {
        assert_eq!(case[f], hostile_value(f), "{f} stored as sent");
    }

    // The case page shows every field.
    let (status, page) = app.get_text(&format!("/cases/{id}")).await;
    assert_eq!(status, 200);
    assert_no_raw_payload("the case page", &page);
    for f in text_fields() {
        assert_shows_escaped("the case page", &page, f);
    }

    // The editor's form holds every field in inputs and textareas.
    let (status, page) = app.get_text(&format!("/cases/{id}/edit")).await;
    assert_eq!(status, 200);
    assert_no_raw_payload("the edit form", &page);
    for f in text_fields() {
        assert_shows_escaped("the edit form", &page, f);
    }

    // The list shows the title: the alarm and the asset.
    let (status, page) = app.get_text("/cases").await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/cases/{id}")), "the case is listed");
    assert_no_raw_payload("the case list", &page);
    for f in ["verbatim_alarm", "asset"] {
        assert_shows_escaped("the case list", &page, f);
    }
    // The filter form echoes what was typed into it.
    let (status, page) = app
        .get_text(&format!("/cases?site={}", enc(&hostile_value("site"))))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/cases/{id}")), "filtered by site");
    assert_no_raw_payload("the filtered case list", &page);
    assert_shows_escaped("the filtered case list", &page, "site");

    // Search: the title, and a snippet of the case's text.
    let (status, page) = app.get_text(&format!("/search?q={ALARM_WORD}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/cases/{id}")), "the case is found");
    assert_no_raw_payload("the search page", &page);
    for f in ["verbatim_alarm", "fix_applied"] {
        assert_shows_escaped("the search page", &page, f);
    }
    // The search box echoes the query.
    let (status, page) = app
        .get_text(&format!("/search?q={}", enc(&hostile_value("q"))))
        .await;
    assert_eq!(status, 200);
    assert_no_raw_payload("the search page for a hostile query", &page);
    assert_shows_escaped("the search page for a hostile query", &page, "q");

    // The guide shows its record: recent case titles, confirmed firmware, cells hit most.
    let (status, page) = app.get_text(&format!("/guides/{slug}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("/cases/{id}")), "recent cases");
    assert_no_raw_payload("the guide page", &page);
    for f in [
        "verbatim_alarm",
        "asset",
        "firmware_revision",
        "line",
        "cell",
    ] {
        assert_shows_escaped("the guide page", &page, f);
    }

    // The Atom feed: well-formed, and the payload is text, not markup.
    let res = app.get("/feed.xml").await;
    assert_eq!(res.status().as_u16(), 200);
    let xml = res.text().await.expect("feed");
    assert_no_raw_payload("the feed", &xml);
    for f in ["verbatim_alarm", "asset", "fix_applied"] {
        assert_shows_escaped("the feed", &xml, f);
    }
    let feed = feed_rs::parser::parse(xml.as_bytes()).expect("the feed is well-formed");
    let entry = feed
        .entries
        .iter()
        .find(|e| e.id.contains(&id))
        .expect("the case is in the feed");
    let title = &entry.title.as_ref().expect("title").content;
    assert!(title.contains(&hostile_value("verbatim_alarm")), "{title}");

    // The CSV: not HTML, so the text is verbatim; but formulas are defused.
    let res = app.get("/cases.csv").await;
    assert_eq!(res.status().as_u16(), 200);
    let content_type = res.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let csv = res.text().await.expect("csv");
    let rows = parse_csv(&csv);
    let header = &rows[0];
    let row = rows
        .iter()
        .find(|r| r.first().map(String::as_str) == Some(id.as_str()))
        .expect("the case is in the export");
    assert_eq!(row.len(), header.len(), "one cell per column");
    let cells: HashMap<&str, &str> = header
        .iter()
        .map(String::as_str)
        .zip(row.iter().map(String::as_str))
        .collect();
    for f in text_fields() {
        let value = hostile_value(f);
        let expected = if value.starts_with(['=', '+', '-', '@']) {
            format!("'{value}")
        } else {
            value
        };
        assert_eq!(cells[f], expected, "CSV cell {f}");
    }
    for (f, _) in FORMULA_PREFIX {
        assert!(cells[f].starts_with('\''), "{f} starts with '");
    }
}

// Without this, a tech whose alarm text or site name holds quotes, percent signs or
// backslashes (common in Windows paths and PLC tags) would see the case mangled, not found by
// its site filter, a neighbouring site's cases mixed in, or in the worst case the cases gone.
#[tokio::test]
async fn sql_metacharacters_are_stored_verbatim_and_filter_exactly() {
    let app = spawn_app().await;
    let canary = app.file_case(
        "sql-canary",
        serde_json::json!({"verbatim_alarm": "Bad_Timeout on the canary", "outcome": "fixed", "site": "Canary Works"}),
    )
    .await;

    // `Wels_%` as a LIKE pattern would match `WelsX-Halle 2` below.
    let site = "Wels_%";
    let values: Vec<(&str, &str)> = vec![
        ("verbatim_alarm", "'; DROP TABLE cases; -- quuxsql"),
        ("site", site),
        ("line", "\" OR 1=1 --"),
        ("cell", "C\\07"),
        ("asset", "100%_done"),
        ("serial", "' OR '1'='1"),
        ("firmware_revision", "v1.0\\x%"),
        ("software_version", "8.1.26'--"),
        ("parameter_set", "%_\\%\\_ ESCAPE '\\'"),
        ("io_mapping", "SELECT * FROM users; /* */"),
        ("fix_applied", "Robert'); DROP TABLE cases;--"),
        ("verified_sister_cell", "C08\"'`"),
        ("notes", "Zähler überläuft — 温度センサー ✓ 🚨 ℃ ﬁ Ω"),
        ("filed_by", "O'Brien \"Bob\" \\ 100%"),
    ];
    let mut body = serde_json::Map::new();
    for (f, v) in &values {
        body.insert(f.to_string(), (*v).into());
    }
    body.insert("outcome".into(), "workaround".into());
    let case = app
        .file_case("sql-1", serde_json::Value::Object(body))
        .await;
    let id = case["id"].as_str().expect("id").to_string();
    let other = app.file_case(
        "sql-2",
        serde_json::json!({"verbatim_alarm": "Bad_Timeout next door", "outcome": "fixed", "site": "WelsX-Halle 2"}),
    )
    .await;
    let other_id = other["id"].as_str().expect("id").to_string();

    // Read back exactly.
    let (status, stored) = app.get_json(&format!("/api/cases/{id}")).await;
    assert_eq!(status, 200);
    for (f, v) in &values {
        assert_eq!(stored[*f], *v, "{f} read back verbatim");
    }

    // The case page shows them escaped, and as they were typed.
    let (status, page) = app.get_text(&format!("/cases/{id}")).await;
    assert_eq!(status, 200);
    let text = unescape(&page);
    for (f, v) in &values {
        assert!(text.contains(v), "the case page shows {f} = {v}");
    }

    // The site filter is an exact match: `%` and `_` are no wildcards.
    let url = format!("/cases/{id}");
    for path in [
        format!("/cases?site={}", enc(site)),
        format!("/cases.csv?site={}", enc(site)),
    ] {
        let (status, page) = app.get_text(&path).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.contains(&id), "{path} lists the case");
        assert!(!page.contains(&other_id), "{path} lists only that site");
        assert!(
            !page.contains(canary["id"].as_str().expect("id")),
            "{path} lists only that site"
        );
    }
    let (_, listed) = app
        .get_json(&format!("/api/cases?site={}", enc(site)))
        .await;
    let ids: Vec<&str> = listed["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [id.as_str()], "/api/cases?site= is exact");
    for (param, v) in [
        ("site", "Wels"),
        ("site", "%"),
        ("site", "_"),
        ("line", "\" OR 1=1 --\" OR \"1\"=\"1"),
        ("cell", "C_07"),
        ("site", "' OR 1=1 --"),
    ] {
        let (status, listed) = app
            .get_json(&format!("/api/cases?{param}={}", enc(v)))
            .await;
        assert_eq!(status, 200, "{param}={v}");
        assert_eq!(
            listed["cases"].as_array().expect("cases").len(),
            0,
            "{param}={v} matches nothing"
        );
        let (status, page) = app.get_text(&format!("/cases?{param}={}", enc(v))).await;
        assert_eq!(status, 200, "{param}={v}");
        assert!(!page.contains(&url), "{param}={v} does not list the case");
    }
    for (param, v) in [("line", "\" OR 1=1 --"), ("cell", "C\\07")] {
        let (_, listed) = app
            .get_json(&format!("/api/cases?{param}={}", enc(v)))
            .await;
        assert_eq!(listed["cases"].as_array().expect("cases").len(), 1);
        assert_eq!(listed["cases"][0]["id"], id.as_str(), "{param}={v}");
    }

    // The same strings as search queries answer, and do not break anything.
    for (_, v) in &values {
        for path in [
            format!("/search?q={}", enc(v)),
            format!("/api/search?q={}", enc(v)),
        ] {
            let status = app.get(&path).await.status().as_u16();
            assert_eq!(status, 200, "{path}");
        }
    }
    let (_, found) = app.get_json("/api/search?q=quuxsql").await;
    assert_eq!(found["hits"][0]["url"], url.as_str(), "{found}");

    // Everything is still there.
    let (_, all) = app.get_json("/api/cases").await;
    assert_eq!(all["cases"].as_array().expect("cases").len(), 3);
    for c in [&canary, &other] {
        let (status, _) = app
            .get_json(&format!("/api/cases/{}", c["id"].as_str().expect("id")))
            .await;
        assert_eq!(status, 200);
    }
}

/// Sends `GET path` exactly as written (no client-side `..` clean-up), with the admin token.
async fn raw_get(app: &TestApp, path: &str) -> (u16, String) {
    let addr = app.addr.trim_start_matches("http://").to_string();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        app.admin_token
    );
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(request.as_bytes()).expect("write");
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).expect("read the answer");
        buf
    })
    .await
    .expect("request thread");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer to {path}: {text:.200}"));
    (status, text)
}

// Without this, anyone who may read one photo could download the whole database (password
// hashes, every case) or the server's files by putting `..` in a photo, guide or asset URL.
#[tokio::test]
async fn traversal_urls_never_reach_files_outside_their_folder() {
    let app = spawn_app().await;
    let db = app.data.path().join("faultbook.db");
    if common::database::on_postgres() {
        // The cases are on the server; a file with the same name stands in for the SQLite one.
        std::fs::write(&db, b"SQLite format 3\0 stand-in").expect("stand-in");
    }
    assert!(db.exists(), "there is a database to steal");
    let hex = "a".repeat(64);
    let (status, _) = raw_get(&app, "/static/x/app.css").await;
    assert_eq!(status, 200, "assets are served (control)");
    for path in [
        "/photos/..%2F..%2Ffaultbook.db".to_string(),
        "/photos/..%2Ffaultbook.db".to_string(),
        "/photos/..%2ffaultbook.db.jpg".to_string(),
        "/photos/../faultbook.db".to_string(),
        "/photos/%2e%2e%2fCargo.toml".to_string(),
        "/photos/%2e%2e%2f%2e%2e%2fCargo.toml".to_string(),
        format!("/photos/{hex}.jpg/../x"),
        format!("/photos/{hex}.jpg/..%2F..%2Ffaultbook.db"),
        "/guides/..%2F..%2FCargo.toml".to_string(),
        "/guides/../Cargo.toml".to_string(),
        "/guides/%2e%2e%2f%2e%2e%2fCargo.toml".to_string(),
        "/api/guides/..%2F..%2FCargo.toml".to_string(),
        "/guides/..%2F..%2FCargo.toml/cases/new".to_string(),
        "/static/x/..%2F..%2FCargo.toml".to_string(),
        "/static/x/../../Cargo.toml".to_string(),
        "/static/x/%2e%2e/%2e%2e/Cargo.toml".to_string(),
        "/static/x/..%5C..%5CCargo.toml".to_string(),
        "/static/x/%2Fetc%2Fpasswd".to_string(),
        "/cases/..%2F..%2Ffaultbook.db".to_string(),
        "/../../Cargo.toml".to_string(),
    ] {
        let (status, answer) = raw_get(&app, &path).await;
        assert!(
            status == 404 || status == 400,
            "{path} answered {status}:\n{answer:.600}"
        );
        for secret in ["[package]", "SQLite format", "root:x:0:0"] {
            assert!(
                !answer.contains(secret),
                "{path} leaked `{secret}`:\n{answer:.600}"
            );
        }
    }
}
