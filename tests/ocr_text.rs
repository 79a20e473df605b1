//! Text read by phone OCR from a photo of an HMI alarm banner, searched through HTTP: a misread
//! code gets the card of the one code it can be, with a note saying how it was read; a misread
//! two codes could explain gets no card and names both; a name beats a different hex on its
//! line. And ordinary text (every shipped guide) is never read as a misread code.

mod common;

use common::*;
use faultbook::content::Library;
use faultbook::search::ocr::Lexicon;
use faultbook::search::relevance;

const KEPWARE: &str = "ignition-opcua-bad-connectionrejected-kepware";
const TAG_WRITE: &str = "ignition-logix-tag-write-bad-quality";

fn enc(q: &str) -> String {
    form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[tokio::test]
async fn a_misread_code_gets_the_card_of_the_one_code_it_can_be_and_says_so() {
    let app = spawn_app().await;
    for (typed, read_as, name, guide) in [
        (
            "Ox8OACOOOO",
            "0x80AC0000",
            "Bad_ConnectionRejected",
            KEPWARE,
        ),
        (
            "8x80AC0000",
            "0x80AC0000",
            "Bad_ConnectionRejected",
            KEPWARE,
        ),
        // A zero read as 8: only Bad_ConnectionRejected is that close.
        (
            "0x80AC8000",
            "0x80AC0000",
            "Bad_ConnectionRejected",
            KEPWARE,
        ),
        (
            "Bad_NodeldUnknown",
            "Bad_NodeIdUnknown",
            "Bad_NodeIdUnknown",
            TAG_WRITE,
        ),
        (
            "Bad Connection Rejected",
            "Bad_ConnectionRejected",
            "Bad_ConnectionRejected",
            KEPWARE,
        ),
    ] {
        let (status, body) = app.get_json(&format!("/api/search?q={}", enc(typed))).await;
        assert_eq!(status, 200);
        assert_eq!(body["query"], typed, "the query is echoed as typed");
        assert_eq!(body["status_code"]["name"], name, "{typed}: {body}");
        assert_eq!(body["best_match"]["slug"], guide, "{typed}");
        let reading = &body["code_readings"][0];
        assert_eq!(reading["from"], typed);
        assert_eq!(reading["read_as"], read_as, "{typed}");
        assert!(
            reading["note"]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!("Read “{typed}” as {read_as}"))),
            "{reading}"
        );

        let (status, html) = app.get_text(&format!("/search?q={}", enc(typed))).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("data-code-reading"),
            "{typed}: the note is shown"
        );
        assert!(
            html.contains(&format!("<code>{name}</code>")),
            "{typed}: the card is shown"
        );
    }
}

#[tokio::test]
async fn a_misread_two_codes_explain_invents_no_code_and_names_both() {
    let app = spawn_app().await;
    // 0x803B8000: Bad_NotWritable (0x803B0000) with a zero read as 8, or 0x80380000 with an 8
    // read as B too. Not for the search to pick.
    let (status, body) = app.get_json("/api/search?q=0x803B8000").await;
    assert_eq!(status, 200);
    assert!(body["status_code"].is_null(), "no code invented: {body}");
    assert!(body["best_match"].is_null(), "no guide is sure: {body}");
    let reading = &body["code_readings"][0];
    assert!(reading["read_as"].is_null());
    let hexes: Vec<&str> = reading["ambiguous"]
        .as_array()
        .expect("candidates")
        .iter()
        .filter_map(|k| k["hex"].as_str())
        .collect();
    assert_eq!(hexes, ["0x80380000", "0x803B0000"]);
    let note = reading["note"].as_str().expect("note");
    assert!(
        note.contains("0x80380000") && note.contains("0x803B0000") && note.contains("not guessing"),
        "{note}"
    );
    let (_, html) = app.get_text("/search?q=0x803B8000").await;
    assert!(html.contains("not guessing"), "the page says it");
    assert!(
        html.contains(r#"<a href="/search?q=0x803B0000">Bad_NotWritable</a>"#),
        "and offers each candidate as a search of its own"
    );
    assert!(!html.contains("class=\"statuscard\""), "and shows no card");

    // A value no code is near: said plainly, with the codes that differ in the fewest digits.
    let (_, body) = app.get_json("/api/search?q=0x80FF0000").await;
    assert!(body["status_code"].is_null());
    let reading = &body["code_readings"][0];
    assert!(reading["read_as"].is_null());
    assert!(
        reading["note"].as_str().is_some_and(
            |n| n.contains("is not a known status code; nearest known codes: 0x800F0000")
        ),
        "{reading}"
    );
    assert_eq!(reading["nearest"][0]["name"], "Bad_NothingToDo");
}

#[tokio::test]
async fn a_name_beats_a_different_hex_on_its_line() {
    let app = spawn_app().await;
    // Before, the first code on the line won: Bad_TooManySubscriptions' card above this.
    let q = "Status 0x80770000: Bad_ConnectionRejected";
    let (_, body) = app.get_json(&format!("/api/search?q={}", enc(q))).await;
    assert_eq!(
        body["status_code"]["name"], "Bad_ConnectionRejected",
        "{body}"
    );
    assert_eq!(body["best_match"]["slug"], KEPWARE);
    let reading = &body["code_readings"][0];
    assert_eq!(reading["from"], "0x80770000");
    assert!(reading["read_as"].is_null());
    assert!(
        reading["note"]
            .as_str()
            .is_some_and(|n| n.contains("trusting the name")),
        "{reading}"
    );
    // The right hex beside the name says nothing.
    let (_, body) = app
        .get_json(&format!(
            "/api/search?q={}",
            enc("Bad_ConnectionRejected (0x80AC0000)")
        ))
        .await;
    assert_eq!(body["code_readings"], serde_json::json!([]));
}

/// The false-positive measure: no shipped guide's title, alarms or text, and no query of the
/// relevance set but a misspelt status name, is read as a misread code.
#[test]
fn ordinary_text_is_never_read_as_a_misread_code() {
    let library = Library::load(&shipped_content()).expect("shipped guides load");
    let lexicon = Lexicon::new(
        library
            .all()
            .iter()
            .flat_map(|g| g.front.alarms.iter().map(String::as_str)),
    );
    let mut read = Vec::new();
    for g in library.all() {
        let texts = std::iter::once(&g.front.title)
            .chain(&g.front.alarms)
            .chain(std::iter::once(&g.text));
        for t in texts {
            for c in lexicon.read(t).codes {
                read.push(format!("{}: {}", g.slug, c.note));
            }
        }
    }
    assert!(read.is_empty(), "guides read as misread codes: {read:#?}");
    for q in relevance::queries().expect("queries parse") {
        if q.kind == "ocr" {
            continue;
        }
        for c in lexicon.read(&q.q).codes {
            assert_eq!(q.kind, "typo", "{:?} read: {}", q.q, c.note);
            assert!(c.read_as.is_some(), "{:?}: {}", q.q, c.note);
        }
    }
}
