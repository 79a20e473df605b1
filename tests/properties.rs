//! Property tests for every parser that takes outside input: guide files and their front
//! matter, the alarm tokenizer, the query builder, status-code recognition, case drafts and the
//! multipart reader. None may panic, and each keeps a stated invariant.
//!
//! CI runs proptest's default number of cases; `PROPTEST_CASES=100000 cargo test --release
//! --test properties` runs each property 100,000 times (see README, "Running it").

mod common;

use std::path::Path;
use std::sync::OnceLock;

use faultbook::cases::CaseDraft;
use faultbook::content::{ContentError, Library};
use faultbook::search::ocr::Lexicon;
use faultbook::search::{status, tokenizer, SearchIndex, SearchRequest};
use proptest::prelude::*;

fn shipped_guides() -> &'static Vec<(String, String)> {
    static GUIDES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    GUIDES.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        let mut out = Vec::new();
        for platform in std::fs::read_dir(&root).expect("content") {
            let platform = platform.expect("entry").path();
            if !platform.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&platform).expect("platform") {
                let path = file.expect("entry").path();
                if path.extension().is_some_and(|e| e == "md") {
                    let rel = path
                        .strip_prefix(&root)
                        .expect("inside")
                        .to_string_lossy()
                        .into_owned();
                    out.push((rel, std::fs::read_to_string(&path).expect("guide")));
                }
            }
        }
        out.sort();
        out
    })
}

fn library() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        Library::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("content")).expect("guides")
    })
}

/// One index with the shipped guides, shared by the search properties.
fn index() -> &'static SearchIndex {
    static INDEX: OnceLock<(tempfile::TempDir, SearchIndex)> = OnceLock::new();
    &INDEX
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let (index, _) =
                SearchIndex::open_or_rebuild(&dir.path().join("index"), library(), Vec::new)
                    .expect("index");
            (dir, index)
        })
        .1
}

/// Text a tech might paste, and text an attacker might: log punctuation, query syntax,
/// status-code fragments, Unicode, control characters.
fn pasted_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "[A-Za-z_]{1,20}",
        "0[xX][0-9A-Fa-f]{0,10}",
        "-?[0-9]{1,12}",
        "[ \t\n]{1,3}",
        r#"[\[\](){}<>:;,.=/\\"'*?~^+!&|-]{1,4}"#,
        "Bad_[A-Za-z]{0,24}",
        "\\PC{1,6}",
        "[\u{0}-\u{1f}]{1,2}",
    ];
    prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
}

/// Pieces of an alarm banner as OCR reads it: misread hex prefixes and digits, status names
/// with their underscores lost and I read as l, and ordinary words.
fn ocr_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "(0x|Ox|OX|8x|@x|ox|)[0-9A-FOolI|@QS]{8}",
        "(Bad|BAD|Good|Uncertain)[ _.-]?[A-Z][a-z]{2,9}([A-Z][a-z]{2,9}){0,2}",
        "Bad_[A-Za-z]{4,20}",
        "[A-Za-z]{1,10}",
        "[ \t\n:()]{1,2}",
    ];
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| Lexicon::new(["Bad_Stale"]))
}

/// A notation of a status code, as different stacks and logs print it.
fn notation(code: &status::StatusCode, which: u8) -> String {
    match which % 6 {
        0 => code.name(),
        1 => code.hex(),
        2 => code.hex().to_lowercase().replacen("0x", "0X", 1),
        3 => code.value.to_string(),
        4 => code.signed().to_string(),
        _ => code.name().to_uppercase(),
    }
}

proptest! {
    /// Any file in a platform folder loads or is refused with faults that name a line inside
    /// the file; nothing panics.
    #[test]
    fn any_guide_file_loads_or_names_its_faulty_lines(text in pasted_text(), front in any::<bool>()) {
        let body = if front { format!("+++\ntitle = \"{text}\"\n+++\n{text}") } else { text.clone() };
        let lines = body.lines().count().max(1) + 1;
        match Library::from_sources(vec![("ignition/pasted.md".into(), body.clone().into_bytes())]) {
            Ok(_) => {}
            Err(ContentError::Invalid(issues)) => {
                prop_assert!(!issues.is_empty());
                for i in issues {
                    prop_assert_eq!(i.path.as_str(), "ignition/pasted.md");
                    prop_assert!(i.line >= 1 && i.line <= lines, "line {} of {}", i.line, lines);
                }
            }
            Err(e) => prop_assert!(false, "not a content fault: {e}"),
        }
    }

    /// A shipped guide with one line removed, doubled or replaced still loads or names lines.
    #[test]
    fn an_edited_guide_loads_or_names_its_faulty_lines(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        edit in 0u8..3,
        junk in pasted_text(),
    ) {
        let (path, text) = pick.get(shipped_guides()).clone();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let at = at.index(lines.len());
        match edit {
            0 => { lines.remove(at); }
            1 => { let l = lines[at].clone(); lines.insert(at, l); }
            _ => lines[at] = junk,
        }
        let edited = lines.join("\n");
        let count = edited.lines().count() + 1;
        let sources = shipped_guides()
            .iter()
            .map(|(p, t)| (p.clone(), if *p == path { edited.clone() } else { t.clone() }.into_bytes()))
            .collect();
        if let Err(ContentError::Invalid(issues)) = Library::from_sources(sources) {
            for i in issues.iter().filter(|i| i.path == path) {
                prop_assert!(
                    i.line >= 1 && i.line <= count,
                    "{}:{} {} (edit {edit} at line {}, {count} lines)", i.path, i.line, i.reason, at + 1
                );
            }
        }
    }

    /// Tokens point at the text they came from, on character boundaries.
    #[test]
    fn alarm_tokens_point_inside_the_text(text in pasted_text()) {
        for t in tokenizer::analyze(&text) {
            prop_assert!(t.from <= t.to && t.to <= text.len(), "{t:?} in {} bytes", text.len());
            prop_assert!(text.is_char_boundary(t.from) && text.is_char_boundary(t.to));
            prop_assert!(!t.text.is_empty());
        }
    }

    /// Whatever is typed, search answers (maybe with nothing) and never fails.
    #[test]
    fn any_query_gets_an_answer(text in pasted_text(), with_counts in any::<bool>()) {
        let req = SearchRequest {
            text: text.clone(),
            platform: None,
            limit: 20,
            with_counts,
            include_cases: false,
        };
        let outcome = index().search_blocking(&req);
        prop_assert!(outcome.is_ok(), "{text:?}: {:?}", outcome.err());
    }

    /// A status code in any notation, glued to log punctuation, is recognised as that code.
    #[test]
    fn a_code_in_any_notation_maps_to_that_one_code(
        pick in any::<prop::sample::Index>(),
        which in any::<u8>(),
        before in prop::sample::select(vec!["", "status=", "(", "[", "code: ", "err \"", "x={", "<"]),
        after in prop::sample::select(vec!["", ")", "]", ";", ".", ",", "\"", "}", ">", ": timeout"]),
        prefix in "[a-z ]{0,12}",
    ) {
        let codes = status::table().all();
        let code = pick.get(codes);
        // Bare `Good`, `Bad` and `Uncertain` are words, not codes, by design.
        prop_assume!(!matches!(code.symbol.as_str(), "Good" | "Bad" | "Uncertain") || which % 6 != 0 && which % 6 != 5);
        let written = notation(code, which);
        // So are numbers of under seven digits: `0` or `655360` in a log line is rarely a code.
        prop_assume!(!matches!(which % 6, 3 | 4) || written.trim_start_matches('-').len() >= 7);
        let line = format!("{prefix} {before}{written}{after} on ns=2;s=Line4");
        let found = status::table().find_in(&line);
        prop_assert_eq!(found.map(|c| c.value), Some(code.value), "{}", line);
    }

    /// Read as OCR text, a code written right stays that code and gets no note.
    #[test]
    fn a_code_written_right_is_read_as_it_is(
        pick in any::<prop::sample::Index>(),
        which in 0u8..3,
        before in prop::sample::select(vec!["", "status=", "(", "code: ", "x={"]),
        after in prop::sample::select(vec!["", ")", ";", ".", ",", ": timeout"]),
    ) {
        let code = pick.get(status::table().all());
        prop_assume!(!matches!(code.symbol.as_str(), "Good" | "Bad" | "Uncertain"));
        let line = format!("{before}{}{after}", notation(code, which));
        let r = lexicon().read(&line);
        prop_assert!(r.codes.is_empty(), "{line}: {:?}", r.codes);
        prop_assert_eq!(status::table().find_in(&r.text).map(|c| c.value), Some(code.value));
    }

    /// Never invent a code: every code the reading names is written in the text, or was read
    /// from it with a note saying so.
    #[test]
    fn the_reading_never_invents_a_code(text in ocr_text()) {
        let r = lexicon().read(&text);
        let table = status::table();
        let written: Vec<u32> = status::log_words(&text)
            .filter_map(|w| table.recognise(w))
            .map(|c| c.value)
            .collect();
        for c in status::log_words(&r.text).filter_map(|w| table.recognise(w)) {
            let noted = r.codes.iter().any(|k| {
                k.read_as.as_deref().and_then(|a| table.recognise(a)).is_some_and(|x| x.value == c.value)
            });
            prop_assert!(written.contains(&c.value) || noted, "{text:?} read as {:?}: {}", r.text, c.name());
        }
        for k in &r.codes {
            prop_assert!(!k.note.is_empty());
            prop_assert!(k.read_as.is_none() || k.ambiguous.is_empty(), "{k:?}");
        }
    }

    /// Any values in any fields give a case or faults against named fields; the alarm of a case
    /// is kept exactly as sent.
    #[test]
    fn any_case_draft_parses_or_names_its_fields(
        alarm in pasted_text(),
        values in prop::collection::vec(("[a-z_]{3,20}", pasted_text()), 0..8),
        outcome in prop::sample::select(vec!["fixed", "workaround", "not_fixed", "", "FIXED", "maybe"]),
    ) {
        let mut draft = CaseDraft::default();
        draft.set("verbatim_alarm", alarm.clone());
        draft.set("outcome", outcome.to_string());
        for (name, value) in values {
            draft.set(&name, value);
        }
        match draft.parse(library()) {
            Ok(case) => prop_assert_eq!(case.verbatim_alarm, alarm),
            Err(faults) => {
                prop_assert!(!faults.is_empty());
                for f in faults {
                    prop_assert!(!f.field.is_empty() && !f.message.is_empty());
                }
            }
        }
    }
}

/// The multipart reader, over HTTP to a running app: random parts, boundaries and cut-offs get
/// an answer that is never a 5xx.
mod multipart {
    use super::*;
    use common::*;

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RT.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime")
        })
    }

    fn app() -> &'static TestApp {
        static APP: OnceLock<TestApp> = OnceLock::new();
        APP.get_or_init(|| runtime().block_on(spawn_app()))
    }

    #[derive(Debug, Clone)]
    enum Piece {
        Part {
            name: String,
            file: Option<String>,
            body: Vec<u8>,
        },
        Garbage(Vec<u8>),
    }

    fn piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            (
                prop::sample::select(vec![
                    "case",
                    "photo",
                    "verbatim_alarm",
                    "outcome",
                    "idempotency_key",
                    "x",
                    ""
                ]),
                prop::option::of("[a-z.]{0,12}"),
                prop::collection::vec(any::<u8>(), 0..300),
            )
                .prop_map(|(name, file, body)| Piece::Part {
                    name: name.into(),
                    file,
                    body
                }),
            (
                Just("case"),
                Just(None),
                pasted_text().prop_map(String::into_bytes)
            )
                .prop_map(|(name, file, body)| Piece::Part {
                    name: name.into(),
                    file,
                    body
                }),
            prop::collection::vec(any::<u8>(), 0..80).prop_map(Piece::Garbage),
        ]
    }

    fn body(boundary: &str, pieces: &[Piece], cut: Option<usize>) -> Vec<u8> {
        let mut out = Vec::new();
        for p in pieces {
            match p {
                Piece::Part { name, file, body } => {
                    out.extend_from_slice(
                        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"")
                            .as_bytes(),
                    );
                    if let Some(f) = file {
                        out.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
                    }
                    out.extend_from_slice(b"\r\n\r\n");
                    out.extend_from_slice(body);
                    out.extend_from_slice(b"\r\n");
                }
                Piece::Garbage(g) => out.extend_from_slice(g),
            }
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        if let Some(c) = cut {
            out.truncate(c.min(out.len()));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
            ..ProptestConfig::default()
        })]

        #[test]
        fn any_multipart_body_gets_a_clear_answer(
            boundary in "[A-Za-z0-9'()+_,./:=?-]{1,40}",
            declared in prop::option::of("[A-Za-z0-9-]{1,20}"),
            pieces in prop::collection::vec(piece(), 0..6),
            cut in prop::option::of(0usize..2000),
            key in "[!-~]{0,80}",
        ) {
            let app = app();
            let data = body(&boundary, &pieces, cut);
            let content_type = format!("multipart/form-data; boundary={}", declared.unwrap_or(boundary));
            let status = runtime().block_on(async {
                app.client
                    .post(app.url("/api/cases"))
                    .header("content-type", content_type)
                    .header("idempotency-key", key)
                    .body(data)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            });
            let status = status.expect("an answer");
            prop_assert!(status < 500, "status {status}");
        }
    }
}

/// Found by `a_code_in_any_notation_maps_to_that_one_code`: seven symbols hold an underscore of
/// their own, and their names were never recognised.
#[test]
fn names_with_an_underscore_of_their_own_are_recognised() {
    let table = status::table();
    for line in [
        "GoodEdited_DependentValueChanged",
        "Good_Edited_DependentValueChanged",
        "value flagged GOOD_EDITED_DEPENDENTVALUECHANGED;",
        "BadEdited_OutOfRange_DominantValueChanged_DependentValueChanged",
    ] {
        let code = table.find_in(line).unwrap_or_else(|| panic!("{line}"));
        assert!(code.symbol.contains("Edited"), "{line}: {}", code.symbol);
    }
}
