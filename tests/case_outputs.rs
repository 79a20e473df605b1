//! What a filed case looks like wherever it goes out: the form, the page, the JSON, the CSV and
//! the feed. Each field of the one field table must arrive everywhere; text that a spreadsheet
//! would run, or that XML forbids, must arrive defused.

mod common;

use common::{spawn_app, TestApp};
use faultbook::cases::fields::{Field, Kind, FIELDS};
use faultbook::cases::Outcome;

const GUIDE: &str = "ignition-opcua-subscription-lost";

/// Files a case through the JSON API and gives its id.
async fn file(app: &TestApp, key: &str, body: serde_json::Value) -> String {
    let case = app.file_case(key, body).await;
    case["id"].as_str().expect("id").to_string()
}

/// A value no other field holds, valid for the field's kind.
fn distinct_value(f: &Field) -> String {
    match f.kind {
        Kind::Guide => GUIDE.to_string(),
        Kind::Short => format!("v-{}-q7", f.name),
        Kind::Long => format!("long {} text q7", f.name),
        Kind::Alarm => "Bad_Timeout alarm-q7".to_string(),
        Kind::WallClock => "2026-11-20T02:14:00".to_string(),
        Kind::Hours => "15230.5".to_string(),
        Kind::Count => "4242".to_string(),
        Kind::Outcome => "workaround".to_string(),
    }
}

/// The CSV's rows as maps from column name to cell.
fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.expect("a well-formed row").iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn every_field_of_the_table_reaches_the_form_the_page_the_json_and_the_csv() {
    let app = spawn_app().await;
    let body: serde_json::Map<String, serde_json::Value> = FIELDS
        .iter()
        .map(|f| (f.name.to_string(), distinct_value(f).into()))
        .collect();
    let id = file(&app, "every-field", body.into()).await;

    let (status, form) = app.get_text(&format!("/cases/{id}/edit")).await;
    assert_eq!(status, 200);
    let (status, page) = app.get_text(&format!("/cases/{id}")).await;
    assert_eq!(status, 200);
    let (status, json) = app.get_text(&format!("/api/cases/{id}")).await;
    assert_eq!(status, 200);
    let (status, csv) = app.get_text("/cases.csv").await;
    assert_eq!(status, 200);
    let rows = csv_rows(&csv);
    let row = rows
        .iter()
        .find(|r| r["id"] == id)
        .expect("the case is in the CSV");

    for f in FIELDS {
        let value = distinct_value(f);
        assert!(form.contains(&value), "the form shows {} ({value})", f.name);
        // The page names the outcome in words.
        let shown = match f.kind {
            Kind::Outcome => Outcome::parse(&value).expect("outcome").label().to_string(),
            _ => value.clone(),
        };
        assert!(page.contains(&shown), "the page shows {} ({shown})", f.name);
        assert!(json.contains(&value), "the JSON holds {} ({value})", f.name);
        assert_eq!(row[f.name], value, "the CSV column {}", f.name);
    }
}

/// Alarms whose first visible character a spreadsheet folds to `=`, `+`, `-` or `@`.
const RISKY: &[&str] = &[
    "\u{b}=HYPERLINK(\"http://x\")",
    "\u{c}=1+1",
    "\u{1f}=1+1",
    "\u{a0}=1+1",
    "\u{3000}=1+1",
    "＝HYPERLINK(\"http://x\")",
    "＋1+1",
    "－2+3",
    "＠SUM(A1)",
    "\u{3000}＝1",
    "\u{feff}@SUM(A1)",
];

#[tokio::test]
async fn csv_cells_that_could_run_as_formulas_are_defused_whatever_comes_first() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for (i, alarm) in RISKY.iter().enumerate() {
        let body = serde_json::json!({"verbatim_alarm": alarm, "outcome": "fixed", "notes": alarm});
        ids.push(file(&app, &format!("risky-{i}"), body).await);
    }
    let plain = file(
        &app,
        "plain",
        serde_json::json!({"verbatim_alarm": "1+1 is not a formula", "outcome": "fixed"}),
    )
    .await;
    let (status, csv) = app.get_text("/cases.csv").await;
    assert_eq!(status, 200);
    assert!(
        !csv.chars()
            .any(|c| matches!(c, '\0'..='\x08' | '\x0b' | '\x0c' | '\x0e'..='\x1f')),
        "no character XML forbids goes out in the CSV"
    );
    let rows = csv_rows(&csv);
    for (id, alarm) in ids.iter().zip(RISKY) {
        let row = rows.iter().find(|r| &r["id"] == id).expect("row");
        for column in ["verbatim_alarm", "notes"] {
            assert!(
                row[column].starts_with('\''),
                "{column} {alarm:?} goes out as {:?}",
                row[column]
            );
        }
        // The record itself keeps the alarm byte for byte.
        let (_, json) = app.get_json(&format!("/api/cases/{id}")).await;
        assert_eq!(json["verbatim_alarm"], *alarm);
    }
    let row = rows.iter().find(|r| r["id"] == plain).expect("row");
    assert_eq!(row["verbatim_alarm"], "1+1 is not a formula");
}

#[tokio::test]
async fn a_nul_character_is_refused_by_field_and_nothing_is_filed() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "nul-1")
        .json(
            &serde_json::json!({"verbatim_alarm": "\u{0}=1+1", "outcome": "fixed", "notes": "ok"}),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 422);
    let body: serde_json::Value = res.json().await.expect("json");
    assert!(body.to_string().contains("U+0000"), "{body}");
    assert!(body.to_string().contains("verbatim_alarm"), "{body}");
    let (_, list) = app.get_json("/api/cases").await;
    assert_eq!(list["cases"].as_array().map_or(0, Vec::len), 0, "{list}");
}

#[tokio::test]
async fn a_control_character_in_an_alarm_leaves_the_feed_well_formed() {
    let app = spawn_app().await;
    let alarm = "Bad_Timeout \u{1}\u{1b}[31m feedq7";
    let id = file(
        &app,
        "feed-control",
        serde_json::json!({"guide": GUIDE, "verbatim_alarm": alarm, "outcome": "fixed"}),
    )
    .await;
    let res = app.get("/feed.xml").await;
    assert_eq!(res.status().as_u16(), 200);
    let body = res.bytes().await.expect("feed");
    let feed = feed_rs::parser::parse(&body[..]).expect("the feed is well-formed XML");
    let entry = feed
        .entries
        .iter()
        .find(|e| e.id == format!("urn:uuid:{id}"))
        .expect("the case is in the feed");
    let title = &entry.title.as_ref().expect("title").content;
    assert!(title.contains("Bad_Timeout"), "{title}");
    assert!(title.contains("feedq7"), "{title}");
    assert!(
        title.contains("\\u{1b}"),
        "the ESC is shown, not dropped: {title}"
    );
    let (_, json) = app.get_json(&format!("/api/cases/{id}")).await;
    assert_eq!(json["verbatim_alarm"], alarm, "the record keeps the bytes");
}

#[tokio::test]
async fn a_browser_form_whose_token_is_not_its_first_field_files_nothing() {
    let app = spawn_app().await;
    let (editor, csrf) = app.logged_in("ed", faultbook::auth::Role::Editor).await;
    let send =
        |form: reqwest::multipart::Form| editor.post(app.url("/cases")).multipart(form).send();
    let late = reqwest::multipart::Form::new()
        .text("verbatim_alarm", "Bad_Timeout late token")
        .text("outcome", "fixed")
        .text("csrf_token", csrf.clone());
    assert_eq!(send(late).await.expect("req").status().as_u16(), 403);
    let (_, list) = app.get_json("/api/cases").await;
    assert_eq!(list["cases"].as_array().expect("cases").len(), 0);
    let first = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .text("verbatim_alarm", "Bad_Timeout token first")
        .text("outcome", "fixed");
    assert_eq!(send(first).await.expect("req").status().as_u16(), 303);
}
