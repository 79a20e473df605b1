//! Unit tests of front-matter parsing and its lint.

use super::*;

const GOOD: &str = "+++\ntitle = \"T\"\nplatform = \"ignition\"\nproducts = [\"Ignition 8.1\"]\nalarms = [\"Bad_Timeout\"]\naliases = []\nupdated = 2026-11-20\nlevel = \"beginner\"\nminutes = \"5-30\"\nsources = [\n  { title = \"Milo issue\", url = \"eclipse-milo/milo#611\" },\n  { title = \"Manual\", url = \"https://docs.example.com/a\" },\n]\n+++\n\n## Symptom\n";

#[test]
fn parses_good_front_matter() {
    let s = split(GOOD).unwrap();
    assert_eq!(s.body_first_line, 15);
    let fm = parse(&s, "ignition").unwrap();
    assert_eq!(fm.title, "T");
    assert_eq!(fm.updated.to_string(), "2026-11-20");
    assert_eq!(
        fm.sources[0].href,
        "https://github.com/eclipse-milo/milo/issues/611"
    );
    assert_eq!(fm.sources[1].href, "https://docs.example.com/a");
}

#[test]
fn source_urls() {
    for good in [
        "https://docs.inductiveautomation.com/docs/8.1/x",
        "http://example.com",
        "https://example.com:8443/a?b=c#d",
        "open62541/open62541#7005",
        "OPCFoundation/UA-.NETStandard#272",
    ] {
        assert!(source_href(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "docs.example.com/a",
        "www.example.com",
        "ftp://example.com/a",
        "https://",
        "https:///path",
        "https://exa mple.com",
        "https://-bad-.com/",
        "https://example.com:port/",
        "javascript:alert(1)",
        "milo#611",
        "eclipse-milo/milo#",
        "eclipse-milo/milo#06",
        "eclipse-milo/milo/611",
        " https://example.com",
    ] {
        assert!(source_href(bad).is_err(), "{bad}");
    }
}

#[test]
fn sources_are_required_and_checked_with_lines() {
    let none = GOOD.replace(
        "sources = [\n  { title = \"Milo issue\", url = \"eclipse-milo/milo#611\" },\n  { title = \"Manual\", url = \"https://docs.example.com/a\" },\n]\n",
        "",
    );
    let s = split(&none).unwrap();
    let issues = parse(&s, "ignition").unwrap_err();
    assert!(issues.iter().any(|i| i
        .reason
        .contains("missing required front-matter key `sources`")));

    let empty = GOOD.replace(
        "sources = [\n  { title = \"Milo issue\", url = \"eclipse-milo/milo#611\" },\n  { title = \"Manual\", url = \"https://docs.example.com/a\" },\n]\n",
        "sources = []\n",
    );
    let s = split(&empty).unwrap();
    let issues = parse(&s, "ignition").unwrap_err();
    assert!(
        issues
            .iter()
            .any(|i| i.line == 10 && i.reason.contains("at least one source")),
        "{issues:?}"
    );

    let bad = GOOD
        .replace("docs.example.com/a\"", "docs example\"")
        .replace("\"Milo issue\"", "\" \"");
    let s = split(&bad).unwrap();
    let issues = parse(&s, "ignition").unwrap_err();
    assert!(
        issues
            .iter()
            .any(|i| i.line == 11 && i.reason.contains("source 1: `title` is missing or empty")),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .any(|i| i.line == 12 && i.reason.contains("source 2: url `https://docs example`")),
        "{issues:?}"
    );

    let extra = GOOD.replace("title = \"Manual\",", "title = \"Manual\", page = 3,");
    let s = split(&extra).unwrap();
    let issues = parse(&s, "ignition").unwrap_err();
    assert!(
        issues
            .iter()
            .any(|i| i.line == 12 && i.reason.contains("unknown key `page`")),
        "{issues:?}"
    );

    let shape = GOOD.replace(
        "sources = [\n  { title = \"Milo issue\", url = \"eclipse-milo/milo#611\" },\n  { title = \"Manual\", url = \"https://docs.example.com/a\" },\n]\n",
        "sources = [\"https://docs.example.com/a\"]\n",
    );
    let s = split(&shape).unwrap();
    let issues = parse(&s, "ignition").unwrap_err();
    assert!(
        issues
            .iter()
            .any(|i| i.line == 10 && i.reason.contains("must be a list like")),
        "{issues:?}"
    );
}

#[test]
fn misspelt_key_is_named_with_line_and_hint() {
    let src = GOOD.replace("minutes =", "minuts =");
    let s = split(&src).unwrap();
    let issues = parse(&s, "ignition").unwrap_err();
    let unknown = issues.iter().find(|i| i.reason.contains("minuts")).unwrap();
    assert_eq!(unknown.line, 9);
    assert!(unknown.reason.contains("did you mean `minutes`"));
    assert!(issues.iter().any(|i| i
        .reason
        .contains("missing required front-matter key `minutes`")));
}

#[test]
fn wrong_platform_and_level() {
    let src = GOOD
        .replace("\"ignition\"", "\"citect\"")
        .replace("\"beginner\"", "\"expert\"");
    let s = split(&src).unwrap();
    let issues = parse(&s, "ignition").unwrap_err();
    assert!(issues
        .iter()
        .any(|i| i.line == 3 && i.reason.contains("citect")));
    assert!(issues
        .iter()
        .any(|i| i.line == 8 && i.reason.contains("expert")));
}

#[test]
fn toml_syntax_error_has_line() {
    let src = GOOD.replace("aliases = []", "aliases = [");
    let s = split(&src).unwrap();
    let issues = parse(&s, "ignition").unwrap_err();
    assert!(issues[0].reason.contains("not valid TOML"));
    assert!(issues[0].line >= 6, "{:?}", issues);
}

#[test]
fn unclosed_front_matter() {
    assert!(split("+++\ntitle = \"x\"\n").is_err());
    assert!(split("title = \"x\"\n").is_err());
}
