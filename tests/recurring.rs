//! Recurring faults: the same alarm filed again and again on one place, as a supervisor lists
//! them at /cases/recurring and /api/cases/recurring, and as a guide page flags them.

mod common;

use common::{spawn_app, TestApp};
use faultbook::auth::Role;
use faultbook::cases::recurring::{self, Window};
use faultbook::time::Timestamp;
use serde_json::{json, Value};

const GUIDE: &str = "ignition-opcua-subscription-lost";
const DAY: i64 = 86_400;

/// Moves a case's filing time, as if it had been filed then.
async fn set_filed(app: &TestApp, id: &str, at: Timestamp) {
    sqlx::query("UPDATE cases SET created_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(&app.app_state.db)
        .await
        .expect("filing time moved");
}

/// Files a case through the API and moves it `ago` seconds into the past; its id.
async fn file_ago(app: &TestApp, key: &str, ago: i64, body: Value) -> String {
    let case = app.file_case(key, body).await;
    let id = case["id"].as_str().expect("id").to_string();
    set_filed(app, &id, Timestamp::now().plus_secs(-ago)).await;
    id
}

/// A case body: this alarm on Line 2 and this cell, ending with this fix and outcome.
fn case(alarm: &str, cell: &str, fix: &str, outcome: &str) -> Value {
    json!({"verbatim_alarm": alarm, "line": "Line 2", "cell": cell, "fix_applied": fix,
           "outcome": outcome})
}

async fn groups(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get_json(&format!("/api/cases/recurring{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["groups"].as_array().expect("groups").clone()
}

#[tokio::test]
async fn three_cases_in_thirty_days_recur_and_two_do_not() {
    let app = spawn_app().await;
    for (i, ago) in [DAY, 10 * DAY, 29 * DAY].into_iter().enumerate() {
        file_ago(
            &app,
            &format!("three-{i}"),
            ago,
            case("Bad_Timeout on GW-2", "Cell 4", "", "not_fixed"),
        )
        .await;
    }
    for (i, ago) in [DAY, 2 * DAY].into_iter().enumerate() {
        file_ago(
            &app,
            &format!("two-{i}"),
            ago,
            case("Drive fault F30003", "Cell 4", "", "not_fixed"),
        )
        .await;
    }
    let found = groups(&app, "").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["alarm"], "Bad_Timeout on GW-2");
    assert_eq!(found[0]["count"], 3);
    assert_eq!(found[0]["line"], "Line 2");
    assert_eq!(found[0]["cell"], "Cell 4");
    assert_eq!(found[0]["cases"].as_array().expect("cases").len(), 3);

    let (status, html) = app.get_text("/cases/recurring").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Recurring faults"),
        "the list, not a case page"
    );
    assert!(html.contains("Bad_Timeout on GW-2"));
    assert!(html.contains("3 times"));
    assert!(html.contains("Line 2 / Cell 4"));
    assert!(!html.contains("F30003"), "two cases are not recurring");
    let (_, list) = app.get_text("/cases").await;
    assert!(
        list.contains("href=\"/cases/recurring\""),
        "the case list leads there"
    );
    let first_case = found[0]["cases"][0]["url"].as_str().expect("url");
    assert!(
        html.contains(&format!("href=\"{first_case}\"")),
        "each case is linked"
    );
}

#[tokio::test]
async fn the_window_counts_cases_from_exactly_its_start() {
    let app = spawn_app().await;
    let now = Timestamp::now();
    let mut ids = Vec::new();
    for i in 0..4 {
        let c = app
            .file_case(
                &format!("edge-{i}"),
                case("PLC watchdog", "Cell 7", "", "not_fixed"),
            )
            .await;
        ids.push(c["id"].as_str().expect("id").to_string());
    }
    // Two well inside, one exactly at the start of the 30 days, one a millisecond before it.
    set_filed(&app, &ids[0], now.plus_secs(-DAY)).await;
    set_filed(&app, &ids[1], now.plus_secs(-2 * DAY)).await;
    let start = now.plus_secs(-30 * DAY);
    set_filed(&app, &ids[2], start).await;
    let just_before =
        Timestamp::from_datetime(start.datetime() - chrono::Duration::milliseconds(1));
    set_filed(&app, &ids[3], just_before).await;

    let db = &app.app_state.db;
    let found = recurring::find(db, &Window::default(), now)
        .await
        .expect("query");
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].count, 3,
        "the case at the start counts, the one before does not"
    );
    assert_eq!(found[0].first_at.to_db(), start.to_db());

    // One second later the case at the start has left the window: two are not recurring.
    let later = recurring::find(db, &Window::default(), now.plus_secs(1))
        .await
        .expect("query");
    assert!(later.is_empty(), "{later:?}");

    // Through HTTP, where now is the server's: a case a minute inside counts, a minute
    // outside does not.
    set_filed(&app, &ids[2], Timestamp::now().plus_secs(-30 * DAY + 60)).await;
    set_filed(&app, &ids[3], Timestamp::now().plus_secs(-30 * DAY - 60)).await;
    let found = groups(&app, "").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["count"], 3);
    set_filed(&app, &ids[2], Timestamp::now().plus_secs(-30 * DAY - 60)).await;
    assert!(groups(&app, "").await.is_empty());
}

#[tokio::test]
async fn min_and_days_are_settable_and_pulled_into_range() {
    let app = spawn_app().await;
    for (i, ago) in [DAY, 2 * DAY].into_iter().enumerate() {
        file_ago(
            &app,
            &format!("pair-{i}"),
            ago,
            case("Fan alarm", "Cell 1", "", "workaround"),
        )
        .await;
    }
    for (i, ago) in [40 * DAY, 41 * DAY, 42 * DAY].into_iter().enumerate() {
        file_ago(
            &app,
            &format!("old-{i}"),
            ago,
            case("Encoder lost", "Cell 2", "", "not_fixed"),
        )
        .await;
    }
    assert!(groups(&app, "").await.is_empty());
    let two = groups(&app, "?min=2").await;
    assert_eq!(two.len(), 1);
    assert_eq!(two[0]["alarm"], "Fan alarm");
    let longer = groups(&app, "?days=45").await;
    assert_eq!(longer.len(), 1);
    assert_eq!(longer[0]["alarm"], "Encoder lost");
    let both = groups(&app, "?min=2&days=45").await;
    assert_eq!(both.len(), 2);
    assert_eq!(both[0]["alarm"], "Fan alarm", "newest first");

    let (_, body) = app.get_json("/api/cases/recurring?min=1&days=100000").await;
    assert_eq!(body["min"], 2, "at least two cases make a recurrence");
    assert_eq!(body["days"], 3650);
    let (_, body) = app
        .get_json("/api/cases/recurring?min=%2050%20&days=0")
        .await;
    assert_eq!(
        (body["min"].as_u64(), body["days"].as_u64()),
        (Some(50), Some(1))
    );
    let (status, body) = app
        .get_json("/api/cases/recurring?min=-99999999999999999999&days=99999999999999999999")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["min"].as_u64(), body["days"].as_u64()),
        (Some(2), Some(3650))
    );

    let (status, html) = app.get_text("/cases/recurring?min=2").await;
    assert_eq!(status, 200);
    assert!(html.contains("at least 2 times in the last 30 days"));
    assert!(html.contains("Fan alarm"));
}

#[tokio::test]
async fn bad_parameters_are_a_400_that_says_why() {
    let app = spawn_app().await;
    for (query, word) in [
        ("?min=abc", "`min`"),
        ("?days=1.5", "`days`"),
        ("?min=3&days=-", "`days`"),
        ("?guide=no-such-guide", "no-such-guide"),
        ("?days=ten", "`days`"),
    ] {
        let res = app.get(&format!("/api/cases/recurring{query}")).await;
        assert_eq!(res.status().as_u16(), 400, "{query}");
        let body: Value = res.json().await.expect("JSON error");
        let msg = body["error"].as_str().expect("error message");
        assert!(msg.contains(word), "{query}: {msg}");
        let (status, html) = app.get_text(&format!("/cases/recurring{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert!(html.contains(word), "the page says why: {query}");
    }
}

#[tokio::test]
async fn cells_and_assets_are_separate_groups_and_spacing_is_not() {
    let app = spawn_app().await;
    let mut n = 0;
    let mut file = |body: Value| {
        n += 1;
        let key = format!("sep-{n}");
        let app = &app;
        // Each case filed is newer than the one before.
        async move { file_ago(app, &key, (100 - n) * 60, body).await }
    };
    for asset in ["PLC-1", "PLC-2"] {
        for _ in 0..3 {
            let mut b = case("Bad_CommunicationError", "Cell 4", "", "not_fixed");
            b["asset"] = json!(asset);
            file(b).await;
        }
    }
    for _ in 0..2 {
        file(case("Bad_CommunicationError", "Cell 5", "", "not_fixed")).await;
    }
    // Spacing and capitals differ; it is still one alarm on Cell 5.
    file(case(
        "  bad_communicationerror\n",
        "Cell 5",
        "",
        "not_fixed",
    ))
    .await;
    let found = groups(&app, "").await;
    let mut places: Vec<(String, String, i64)> = found
        .iter()
        .map(|g| {
            (
                g["cell"].as_str().expect("cell").to_string(),
                g["asset"].as_str().expect("asset").to_string(),
                g["count"].as_i64().expect("count"),
            )
        })
        .collect();
    places.sort();
    assert_eq!(
        places,
        vec![
            ("Cell 4".into(), "PLC-1".into(), 3),
            ("Cell 4".into(), "PLC-2".into(), 3),
            ("Cell 5".into(), String::new(), 3),
        ]
    );
    let plc1 = found
        .iter()
        .find(|g| g["asset"] == "PLC-1")
        .expect("PLC-1 group");
    assert_eq!(plc1["asset_url"], "/assets/PLC-1");
    let cell5 = found
        .iter()
        .find(|g| g["cell"] == "Cell 5")
        .expect("Cell 5");
    assert_eq!(
        cell5["alarm"], "  bad_communicationerror\n",
        "the newest case's words"
    );
}

#[tokio::test]
async fn fixes_tried_are_counted_with_their_outcomes_and_whether_one_held() {
    let app = spawn_app().await;
    let tries = [
        ("Reseated the cable", "not_fixed"),
        ("Replaced the switch", "fixed"),
        ("Reseated the cable", "workaround"),
        ("reseated  the cable", "not_fixed"),
    ];
    for (i, (fix, outcome)) in tries.into_iter().enumerate() {
        let mut b = case("Bad_Timeout on GW-9", "Cell 8", fix, outcome);
        b["guide"] = json!(GUIDE);
        file_ago(&app, &format!("fix-{i}"), (i as i64 + 1) * 3600, b).await;
    }
    for i in 0..3 {
        file_ago(
            &app,
            &format!("never-{i}"),
            DAY + i,
            case("Servo overtemp", "Cell 9", "Let it cool", "not_fixed"),
        )
        .await;
    }
    let found = groups(&app, "").await;
    assert_eq!(found.len(), 2);
    let g = &found[0];
    assert_eq!(g["alarm"], "Bad_Timeout on GW-9", "newest first");
    assert_eq!(g["held"], true);
    assert_eq!(g["guide"]["slug"], GUIDE);
    let fixes = g["fixes"].as_array().expect("fixes");
    assert_eq!(fixes.len(), 2, "{fixes:?}");
    assert_eq!(fixes[0]["fix"], "Reseated the cable");
    assert_eq!(fixes[0]["count"], 3);
    assert_eq!(fixes[0]["held"], false);
    assert_eq!(
        fixes[0]["outcomes"],
        json!({"not_fixed": 2, "workaround": 1})
    );
    assert_eq!(fixes[1]["fix"], "Replaced the switch");
    assert_eq!(fixes[1]["held"], true);
    assert_eq!(found[1]["held"], false);

    let (_, html) = app.get_text("/cases/recurring").await;
    assert!(html.contains("A fix held"));
    assert!(html.contains("No fix held yet"));
    assert!(html.contains("Replaced the switch"));
    let first = html.find("Bad_Timeout on GW-9").expect("first group");
    let second = html.find("Servo overtemp").expect("second group");
    assert!(first < second, "the group with the newest case comes first");

    // Only this guide's groups, when asked.
    let of_guide = groups(&app, &format!("?guide={GUIDE}")).await;
    assert_eq!(of_guide.len(), 1);
    assert_eq!(of_guide[0]["alarm"], "Bad_Timeout on GW-9");
}

#[tokio::test]
async fn only_people_who_may_read_cases_see_recurrences() {
    let app = spawn_app().await;
    for i in 0..3 {
        let mut b = case("Bad_Timeout on GW-3", "Cell 4", "Restarted", "not_fixed");
        b["guide"] = json!(GUIDE);
        file_ago(&app, &format!("role-{i}"), (i + 1) * 3600, b).await;
    }
    let guide_page = format!("/guides/{GUIDE}");

    // Guides are public; cases are not. An anonymous visitor reads the guide only.
    let anon = &app.anon;
    let res = anon
        .get(app.url("/cases/recurring"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"].to_str().expect("location");
    assert!(location.starts_with("/login?next="), "{location}");
    let res = anon
        .get(app.url("/api/cases/recurring"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 401);
    let body = res.text().await.expect("text");
    assert!(!body.contains("GW-3"), "{body}");
    let res = anon
        .get(app.url(&guide_page))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let html = res.text().await.expect("text");
    assert!(
        !html.contains("Recurs on"),
        "no case data on a guide-only reader's page"
    );
    assert!(!html.contains("Cell 4"));

    // Anyone logged in reads cases: a viewer sees where it recurs, linked to the list.
    let (viewer, _) = app.logged_in("vera", Role::Viewer).await;
    let html = viewer
        .get(app.url(&guide_page))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    assert!(html.contains("Recurs on"), "the viewer sees the flag");
    assert!(html.contains("Line 2 / Cell 4 — 3 times in 30 days"));
    assert!(html.contains(&format!("href=\"/cases/recurring?guide={GUIDE}\"")));
    let res = viewer
        .get(app.url(&format!("/cases/recurring?guide={GUIDE}")))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text().await.expect("text").contains("GW-3"));

    // With guides closed too, the anonymous visitor is sent to log in for the guide as well.
    let closed = common::spawn_app_with(|c| c.guides_public = false).await;
    let res = closed
        .anon
        .get(closed.url(&guide_page))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 303);
}

#[tokio::test]
async fn pasted_log_lines_recur_whatever_their_timestamps_and_a_code_in_any_notation() {
    let app = spawn_app().await;
    let lines = [
        "2026-11-30 02:14:07 Drive DC bus low",
        "2026-11-28 19:01:44.120 drive DC bus low",
        "[ERROR] Drive DC bus  low",
    ];
    for (i, alarm) in lines.into_iter().enumerate() {
        file_ago(
            &app,
            &format!("log-{i}"),
            (i as i64 + 1) * 3600,
            case(alarm, "Cell 3", "", "not_fixed"),
        )
        .await;
    }
    let codes = [
        "status 0x800A0000 on GW-2",
        "Bad_Timeout",
        "UA_STATUSCODE_BADTIMEOUT",
    ];
    for (i, alarm) in codes.into_iter().enumerate() {
        file_ago(
            &app,
            &format!("code-{i}"),
            DAY + i as i64,
            case(alarm, "Cell 3", "", "not_fixed"),
        )
        .await;
    }
    let found = groups(&app, "").await;
    let seen: Vec<(&str, i64)> = found
        .iter()
        .map(|g| {
            (
                g["alarm"].as_str().expect("alarm"),
                g["count"].as_i64().expect("count"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("2026-11-30 02:14:07 Drive DC bus low", 3),
            ("status 0x800A0000 on GW-2", 3)
        ]
    );
}
