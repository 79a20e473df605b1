//! The case list as a tech uses it: text search over the alarm, the fix and the notes (wildcard
//! characters taken literally), a guide picker instead of a slug field, outcomes as badges.

mod common;

use common::spawn_app;
use serde_json::json;

const GUIDE: &str = "ignition-opcua-subscription-lost";

#[tokio::test]
async fn text_search_finds_words_in_alarm_fix_and_notes_and_takes_wildcards_literally() {
    let app = spawn_app().await;
    let a = app
        .file_case(
            "list-a",
            json!({"guide": GUIDE, "verbatim_alarm": "Drive DC bus undervoltage F30003", "outcome": "fixed",
                   "fix_applied": "Tightened the 24V terminal", "cell": "L4-C2"}),
        )
        .await;
    let b = app
        .file_case(
            "list-b",
            json!({"verbatim_alarm": "Safety zone muted on conveyor 7", "outcome": "escalated",
                   "notes": "Load at 100% when it tripped"}),
        )
        .await;
    let c = app
        .file_case(
            "list-c",
            json!({"verbatim_alarm": "Bad_Timeout on gateway_2", "outcome": "not_fixed"}),
        )
        .await;
    let id = |v: &serde_json::Value| v["id"].as_str().expect("id").to_string();
    let found = |q: &'static str| {
        let app = &app;
        async move {
            let (status, list) = app
                .get_json(&format!("/api/cases?q={}", urlencode(q)))
                .await;
            assert_eq!(status, 200, "{q}");
            let mut got: Vec<String> = list["cases"]
                .as_array()
                .expect("cases")
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_string())
                .collect();
            got.sort();
            got
        }
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        found("undervoltage").await,
        vec![id(&a)],
        "a word of the alarm"
    );
    assert_eq!(
        found("24v TERMINAL").await,
        vec![id(&a)],
        "words of the fix, any case"
    );
    assert_eq!(found("100%").await, vec![id(&b)], "a word of the notes");
    assert_eq!(
        found("muted 100%").await,
        vec![id(&b)],
        "every word must match"
    );
    assert!(
        found("muted F30003").await.is_empty(),
        "words from two cases"
    );
    // `%` and `_` are characters, not wildcards.
    assert_eq!(found("%").await, vec![id(&b)]);
    assert_eq!(found("gateway_2").await, vec![id(&c)]);
    assert!(found("gateway_3").await.is_empty());
    assert_eq!(found("_2").await, vec![id(&c)]);
    assert_eq!(found("").await, sorted(vec![id(&a), id(&b), id(&c)]));

    // The page: the search box keeps its words, outcomes are badges, the CSV link keeps the search.
    let (status, html) = app.get_text("/cases?q=undervoltage").await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"undervoltage\""), "{html}");
    assert!(html.contains("class=\"badge badge-fixed\""), "{html}");
    assert!(!html.contains("Safety zone muted"), "{html}");
    assert!(html.contains("/cases.csv?q=undervoltage"), "{html}");
    let (_, csv) = app.get_text("/cases.csv?q=muted").await;
    assert!(
        csv.contains("Safety zone muted") && !csv.contains("undervoltage"),
        "{csv}"
    );
    // Hostile input is text, never an error.
    for q in [
        "'",
        "\\",
        "%_%",
        "\"; DROP TABLE cases; --",
        &"x".repeat(5000),
    ] {
        let (status, _) = app.get_text(&format!("/cases?q={}", urlencode(q))).await;
        assert_eq!(status, 200, "{q}");
    }
}

#[tokio::test]
async fn the_list_filter_and_the_edit_form_pick_a_guide_by_title() {
    let app = spawn_app().await;
    let case = app
        .file_case(
            "pick-1",
            json!({"guide": GUIDE, "verbatim_alarm": "Bad_Timeout", "outcome": "fixed"}),
        )
        .await;
    let (_, html) = app.get_text(&format!("/cases?guide={GUIDE}")).await;
    assert!(!html.contains("slug, or none"), "no slug field");
    assert!(
        html.contains("<select id=\"f-guide\" name=\"guide\">"),
        "{html}"
    );
    assert!(
        html.contains(&format!("<option value=\"{GUIDE}\" selected>")),
        "the chosen guide stays chosen"
    );
    assert!(html.contains("<option value=\"none\">Unsorted (no guide yet)</option>"));
    let id = case["id"].as_str().expect("id");
    let (status, form) = app.get_text(&format!("/cases/{id}/edit")).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("<select id=\"guide\" name=\"guide\">"),
        "{form}"
    );
    assert!(form.contains(&format!("<option value=\"{GUIDE}\" selected>")));
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
