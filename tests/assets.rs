//! An asset's history (/assets/{asset}) and what changed between two of its cases
//! (/assets/{asset}/diff), with their JSON twins.

mod common;

use common::{spawn_app, TestApp};
use faultbook::auth::Role;
use faultbook::time::Timestamp;
use serde_json::{json, Value};

const PARAMS_GOOD: &str = "Kp=1.2\nKi=0.4\nKd=0\nramp=5\n";
const PARAMS_NEW: &str = "Kp=1.2\nKi=0.9\nKd=0\nramp=5\n";

/// Files a case of `asset` `hours` hours ago; its id.
async fn file(
    app: &TestApp,
    key: &str,
    hours: i64,
    asset: &str,
    firmware: &str,
    params: &str,
    outcome: &str,
) -> String {
    let case = app
        .file_case(
            key,
            json!({"verbatim_alarm": format!("Bad_Timeout {key}"), "asset": asset,
                   "line": "Line 2", "cell": "Cell 4", "firmware_revision": firmware,
                   "software_version": "Ignition 8.1.26", "parameter_set": params,
                   "io_mapping": "I0.0=estop\nQ0.1=lamp", "outcome": outcome}),
        )
        .await;
    let id = case["id"].as_str().expect("id").to_string();
    sqlx::query("UPDATE cases SET created_at = $1 WHERE id = $2")
        .bind(Timestamp::now().plus_secs(-hours * 3600))
        .bind(&id)
        .execute(&app.app_state.db)
        .await
        .expect("filing time moved");
    id
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn history_lists_the_assets_cases_newest_first_with_what_it_ran() {
    let app = spawn_app().await;
    let a = file(&app, "h-a", 30, "PLC-4", "33.011", PARAMS_GOOD, "fixed").await;
    let b = file(&app, "h-b", 20, "PLC-4", "33.011", PARAMS_GOOD, "not_fixed").await;
    let c = file(&app, "h-c", 10, "plc-4", "33.015", PARAMS_NEW, "escalated").await;
    file(&app, "h-other", 5, "PLC-5", "40.1", "", "fixed").await;

    let (status, h) = app.get_json("/api/assets/PLC-4").await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["total"], 3, "the other asset's case is not listed");
    assert_eq!(ids(&h["cases"]), vec![c.clone(), b.clone(), a.clone()]);
    let cases = &h["cases"];
    assert_eq!(cases[0]["firmware_revision"], "33.015");
    assert_eq!(cases[0]["parameter_set"], PARAMS_NEW.trim_end());
    assert_eq!(cases[0]["software_version"], "Ignition 8.1.26");
    assert_eq!(cases[0]["outcome"], "escalated");
    assert_eq!(
        cases[0]["changed_since_previous"],
        json!(["firmware_revision", "parameter_set"])
    );
    assert_eq!(cases[1]["changed_since_previous"], json!([]));
    assert_eq!(cases[2]["diff_previous_url"], Value::Null, "the first case");
    assert_eq!(
        cases[0]["diff_previous_url"],
        format!("/assets/plc-4/diff?from={b}&to={c}")
    );

    let (status, html) = app.get_text("/assets/PLC-4").await;
    assert_eq!(status, 200);
    assert!(html.contains("3 cases"));
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle} on the page"))
    };
    assert!(at(&format!("/cases/{c}")) < at(&format!("/cases/{b}")));
    assert!(at(&format!("/cases/{b}")) < at(&format!("/cases/{a}")));
    assert!(html.contains("<code>33.015</code>"));
    assert!(html.contains("Changed: Firmware revision, Parameter set"));
    assert!(html.contains("Kp=1.2 … (4 lines)"));
    assert!(html.contains("What changed since the last good run"));
}

#[tokio::test]
async fn a_diff_shows_the_changed_parameter_lines_and_the_firmware_change() {
    let app = spawn_app().await;
    let a = file(&app, "d-a", 2, "PLC-4", "33.011", PARAMS_GOOD, "fixed").await;
    let b = file(&app, "d-b", 1, "PLC-4", "33.015", PARAMS_NEW, "not_fixed").await;
    let (status, d) = app
        .get_json(&format!("/api/assets/PLC-4/diff?from={a}&to={b}"))
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["basis"], "chosen");
    assert_eq!(d["from"]["id"], a);
    assert_eq!(d["to"]["id"], b);
    assert_eq!(d["changed"], json!(["firmware_revision", "parameter_set"]));
    let field = |name: &str| {
        d["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .find(|f| f["field"] == name)
            .expect("field")
            .clone()
    };
    let fw = field("firmware_revision");
    assert_eq!(
        (fw["old"].as_str(), fw["new"].as_str()),
        (Some("33.011"), Some("33.015"))
    );
    assert_eq!(field("io_mapping")["changed"], false);
    assert_eq!(field("software_version")["changed"], false);
    let lines: Vec<(String, String)> = field("parameter_set")["hunks"][0]
        .as_array()
        .expect("a hunk")
        .iter()
        .map(|l| {
            (
                l["op"].as_str().expect("op").to_string(),
                l["text"].as_str().expect("text").to_string(),
            )
        })
        .collect();
    assert!(
        lines.contains(&("delete".into(), "Ki=0.4".into())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("insert".into(), "Ki=0.9".into())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("equal".into(), "Kp=1.2".into())),
        "context lines"
    );

    let (status, html) = app
        .get_text(&format!("/assets/PLC-4/diff?from={a}&to={b}"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("<del>- Ki=0.4</del>"), "{html}");
    assert!(html.contains("<ins>+ Ki=0.9</ins>"));
    assert!(
        html.contains("<code>33.011</code></del> → <ins class=\"diffword\"><code>33.015</code>")
    );
    assert!(html.contains("Changed:</strong> Firmware revision, Parameter set"));

    // The same case on both sides: nothing changed.
    let (_, same) = app
        .get_json(&format!("/api/assets/PLC-4/diff?from={b}&to={b}"))
        .await;
    assert_eq!(same["changed"], json!([]));
}

#[tokio::test]
async fn the_default_diff_compares_the_newest_case_with_the_last_good_run() {
    let app = spawn_app().await;
    let c1 = file(&app, "g1", 40, "PLC-4", "33.010", "a=1\n", "fixed").await;
    let c2 = file(&app, "g2", 30, "PLC-4", "33.011", PARAMS_GOOD, "fixed").await;
    let c3 = file(&app, "g3", 20, "PLC-4", "33.011", PARAMS_GOOD, "not_fixed").await;
    let c4 = file(&app, "g4", 10, "PLC-4", "33.015", PARAMS_NEW, "not_fixed").await;

    let (status, d) = app.get_json("/api/assets/PLC-4/diff").await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["basis"], "last_good");
    assert_eq!(d["to"]["id"], c4, "the newest case");
    assert_eq!(
        d["from"]["id"], c2,
        "the latest case that ended fixed before it"
    );
    assert_eq!(d["changed"], json!(["firmware_revision", "parameter_set"]));

    let (_, d) = app
        .get_json(&format!("/api/assets/PLC-4/diff?to={c3}"))
        .await;
    assert_eq!(d["from"]["id"], c2);
    assert_eq!(d["changed"], json!([]));
    let (_, d) = app
        .get_json(&format!("/api/assets/PLC-4/diff?to={c2}"))
        .await;
    assert_eq!(
        d["from"]["id"], c1,
        "a fixed case is compared with the good run before it"
    );

    let (status, html) = app.get_text("/assets/PLC-4/diff").await;
    assert_eq!(status, 200);
    assert!(html.contains("Compared with the last good run"));
    assert!(html.contains(&format!("href=\"/cases/{c2}\"")));
    assert!(html.contains(&format!("href=\"/cases/{c4}\"")));

    // No good run: the case just before; one case only: nothing to compare.
    let n1 = file(&app, "n1", 3, "HMI-1", "1.0", "", "not_fixed").await;
    let n2 = file(&app, "n2", 2, "HMI-1", "1.1", "", "escalated").await;
    let (_, d) = app.get_json("/api/assets/HMI-1/diff").await;
    assert_eq!(d["basis"], "previous");
    assert_eq!(
        (d["from"]["id"].as_str(), d["to"]["id"].as_str()),
        (Some(n1.as_str()), Some(n2.as_str()))
    );
    file(&app, "solo", 1, "HMI-2", "1.0", "", "fixed").await;
    let (status, d) = app.get_json("/api/assets/HMI-2/diff").await;
    assert_eq!(status, 200);
    assert_eq!(d["basis"], "nothing");
    assert_eq!(d["from"], Value::Null);
    let (status, html) = app.get_text("/assets/HMI-2/diff").await;
    assert_eq!(status, 200);
    assert!(html.contains("nothing before it to compare with"));
}

#[tokio::test]
async fn a_case_of_another_asset_or_an_unknown_asset_is_a_404_that_says_so() {
    let app = spawn_app().await;
    let mine = file(&app, "f-mine", 2, "PLC-4", "1", "", "fixed").await;
    let other = file(&app, "f-other", 1, "PLC-5", "1", "", "fixed").await;
    for query in [
        format!("from={other}&to={mine}"),
        format!("from={mine}&to={other}"),
        format!("from=not-a-case&to={mine}"),
    ] {
        let res = app.get(&format!("/api/assets/PLC-4/diff?{query}")).await;
        assert_eq!(res.status().as_u16(), 404, "{query}");
        let body: Value = res.json().await.expect("JSON error");
        let msg = body["error"].as_str().expect("message");
        assert!(msg.contains("is not a case of the asset `PLC-4`"), "{msg}");
        let (status, html) = app.get_text(&format!("/assets/PLC-4/diff?{query}")).await;
        assert_eq!(status, 404);
        assert!(html.contains("is not a case of the asset"));
    }
    for path in ["/api/assets/NOPE-1", "/api/assets/NOPE-1/diff"] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"], "No case names the asset `NOPE-1`.");
    }
    let (status, body) = app.get_json("/api/assets/%FF%FE").await;
    assert_eq!(status, 400, "not UTF-8: {body}");
    assert!(body["error"]
        .as_str()
        .expect("message")
        .contains("asset name"));
    let (status, body) = app.get_json("/api/assets/%20").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "An asset needs a name: /assets/<name>.");
    let (status, html) = app.get_text("/assets/NOPE-1").await;
    assert_eq!(status, 404);
    assert!(html.contains("No case names the asset"));
}

#[tokio::test]
async fn asset_names_with_a_slash_spaces_or_unicode_work() {
    let app = spawn_app().await;
    let name = "Line 2/PLC 4 Presse ü";
    let encoded = "/assets/Line%202%2FPLC%204%20Presse%20%C3%BC";
    let a = file(&app, "u-a", 2, name, "1.0", "x=1\n", "fixed").await;
    let b = file(&app, "u-b", 1, name, "1.1", "x=2\n", "not_fixed").await;
    // A look-alike without the slash is another asset.
    file(&app, "u-c", 1, "Line 2", "9", "", "fixed").await;

    let (status, h) = app.get_json(&format!("/api{encoded}")).await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["asset"], name);
    assert_eq!(h["url"], encoded);
    assert_eq!(ids(&h["cases"]), vec![b.clone(), a.clone()]);
    let (status, html) = app.get_text(encoded).await;
    assert_eq!(status, 200);
    assert!(html.contains("Line 2/PLC 4 Presse ü"));
    let (status, d) = app.get_json(&format!("/api{encoded}/diff")).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (d["from"]["id"].as_str(), d["to"]["id"].as_str()),
        (Some(a.as_str()), Some(b.as_str()))
    );
    let (status, html) = app.get_text(&format!("{encoded}/diff")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<del>- x=1</del>"));

    // The case page links the asset to its history.
    let (_, page) = app.get_text(&format!("/cases/{b}")).await;
    assert!(page.contains(&format!("href=\"{encoded}\"")), "{page}");
}

#[tokio::test]
async fn only_people_who_may_read_cases_see_an_asset() {
    let app = spawn_app().await;
    let a = file(&app, "r-a", 2, "PLC-4", "1", "", "fixed").await;
    let b = file(&app, "r-b", 1, "PLC-4", "2", "", "fixed").await;
    let diff = format!("/assets/PLC-4/diff?from={a}&to={b}");
    for path in ["/assets/PLC-4", diff.as_str()] {
        let res = app.anon.get(app.url(path)).send().await.expect("request");
        assert_eq!(res.status().as_u16(), 303, "{path}");
        let body = res.text().await.expect("text");
        assert!(!body.contains("Bad_Timeout"), "{path}");
        let res = app
            .anon
            .get(app.url(&format!("/api{path}")))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status().as_u16(), 401, "/api{path}");
        assert!(!res.text().await.expect("text").contains("Bad_Timeout"));
    }
    let (viewer, _) = app.logged_in("vic", Role::Viewer).await;
    for path in ["/assets/PLC-4", diff.as_str(), "/api/assets/PLC-4"] {
        let res = viewer.get(app.url(path)).send().await.expect("request");
        assert_eq!(res.status().as_u16(), 200, "{path}");
        assert!(res.text().await.expect("text").contains("Bad_Timeout r-b"));
    }
}
