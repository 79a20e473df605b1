use super::*;

fn guide(platform: &str, extra_front: &str, body: &str) -> Vec<u8> {
    format!(
        "+++\ntitle = \"T\"\nplatform = \"{platform}\"\nproducts = []\nalarms = []\naliases = []{extra_front}\nupdated = 2026-11-20\nlevel = \"beginner\"\nminutes = \"5\"\nsources = [{{ title = \"Manual\", url = \"https://example.com/manual\" }}]\n+++\n{body}"
    )
    .into_bytes()
}

const BODY: &str = "\n## Symptom\n\ns\n\n## Cause\n\nc\n\n## Diagnose\n\nd\n\n## Fix\n\nf\n\n## Verify\n\nv\n\n## Rollback\n\nr\n";

fn issues(result: Result<Library, ContentError>) -> Vec<String> {
    match result {
        Err(ContentError::Invalid(i)) => i.iter().map(|i| i.to_string()).collect(),
        Err(e) => vec![e.to_string()],
        Ok(_) => vec![],
    }
}

#[test]
fn good_guide_loads_with_sections() {
    let lib =
        Library::from_sources(vec![("wincc/a-b.md".into(), guide("wincc", "", BODY))]).unwrap();
    let g = lib.get("a-b").unwrap();
    let ids: Vec<_> = g.sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        ["symptom", "cause", "diagnose", "fix", "verify", "rollback"]
    );
}

#[test]
fn missing_and_out_of_order_sections() {
    let body = BODY.replace("## Cause\n\nc\n\n", "").replace(
        "## Verify\n\nv\n\n## Rollback",
        "## Rollback\n\nr\n\n## Verify",
    );
    let found = issues(Library::from_sources(vec![(
        "wincc/a.md".into(),
        guide("wincc", "", &body),
    )]));
    assert!(
        found.iter().any(|i| i.contains("`## Cause` is missing")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|i| i.contains("`## Verify` is out of order")),
        "{found:?}"
    );
    assert!(found.iter().all(|i| i.starts_with("wincc/a.md:")));
}

#[test]
fn broken_link_duplicate_slug_and_alias() {
    let a = guide(
        "wincc",
        "",
        &format!("{BODY}\nSee [b](/guides/nope#fix).\n"),
    );
    let b = guide("proficy", "", BODY);
    let c = guide("ignition", "\naliases2 = 1", BODY);
    let found = issues(Library::from_sources(vec![
        ("wincc/a.md".into(), a),
        ("proficy/a.md".into(), b),
        ("ignition/c.md".into(), c),
    ]));
    assert!(
        found
            .iter()
            .any(|i| i.starts_with("wincc/a.md:37: broken link")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|i| i.contains("duplicate slug `a`")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|i| i.starts_with("ignition/c.md:7: unknown front-matter key `aliases2`")),
        "{found:?}"
    );
}

#[test]
fn sources_are_required_and_body_sources_section_is_refused() {
    let no_sources = String::from_utf8(guide("wincc", "", BODY))
        .unwrap()
        .replace(
            "sources = [{ title = \"Manual\", url = \"https://example.com/manual\" }]\n",
            "",
        );
    let found = issues(Library::from_sources(vec![(
        "wincc/no-sources.md".into(),
        no_sources.into_bytes(),
    )]));
    assert!(
        found.iter().any(|i| i.starts_with("wincc/no-sources.md:")
            && i.contains("missing required front-matter key `sources`")),
        "{found:?}"
    );

    let bad_url = String::from_utf8(guide("wincc", "", BODY))
        .unwrap()
        .replace("https://example.com/manual", "example.com/manual");
    let found = issues(Library::from_sources(vec![(
        "wincc/bad-url.md".into(),
        bad_url.into_bytes(),
    )]));
    assert!(
        found
            .iter()
            .any(|i| i.starts_with("wincc/bad-url.md:10: source 1: url `example.com/manual`")),
        "{found:?}"
    );

    let body = format!("{BODY}\n## Sources\n\n- a manual\n\n### References\n");
    let found = issues(Library::from_sources(vec![(
        "wincc/old.md".into(),
        guide("wincc", "", &body),
    )]));
    assert!(
        found.iter().any(
            |i| i.starts_with("wincc/old.md:37: `## Sources` in the body")
                && i.contains("front-matter key `sources`")
        ),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|i| i.starts_with("wincc/old.md:41: heading `References`")),
        "{found:?}"
    );
}

#[test]
fn folder_must_be_a_platform() {
    let found = issues(Library::from_sources(vec![(
        "citect/a.md".into(),
        guide("wincc", "", BODY),
    )]));
    assert!(
        found[0].starts_with("citect/a.md:1: folder `citect`"),
        "{found:?}"
    );
}
