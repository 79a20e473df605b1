mod common;

use common::{content_folder, guide_text, spawn_app, spawn_app_with_content};
use faultbook::config::Config;
use faultbook::startup::Application;

const REQUIRED_SLUGS: [&str; 12] = [
    "ignition-opcua-bad-connectionrejected-kepware",
    "ignition-opcua-bad-securitychecksfailed",
    "ignition-opcua-bad-certificateuriinvalid",
    "ignition-opcua-subscription-lost",
    "ignition-logix-tag-write-bad-quality",
    "ftview-se-redundancy-switchover",
    "ftlinx-opcua-certificate-rejected",
    "system-platform-engine-failover-timeout",
    "wincc-oa-s7plus-connection-state",
    "wincc-s7-1500-channel-disconnected",
    "historian-collector-status-unknown",
    "ifix-node-name-resolution",
];

#[tokio::test]
async fn every_required_guide_renders_with_its_six_anchors() {
    let app = spawn_app().await;
    for slug in REQUIRED_SLUGS {
        let (status, html) = app.get_text(&format!("/guides/{slug}")).await;
        assert_eq!(status, 200, "{slug}");
        let mut last = 0;
        for id in ["symptom", "cause", "diagnose", "fix", "verify", "rollback"] {
            let at = html
                .find(&format!("<h2 id=\"{id}\">"))
                .unwrap_or_else(|| panic!("{slug} has no #{id} heading"));
            assert!(at > last, "{slug}: #{id} is out of order");
            last = at;
            assert!(
                html.contains(&format!("href=\"#{id}\"")),
                "{slug}: table of contents lacks #{id}"
            );
        }
        let (_, api) = app.get_json(&format!("/api/guides/{slug}")).await;
        for alarm in api["alarms"].as_array().expect("alarms") {
            let alarm = alarm.as_str().expect("string");
            let escaped = alarm
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&#34;")
                .replace('\'', "&#39;");
            assert!(
                html.contains(&format!("<code>{escaped}</code>")),
                "{slug}: chip for {alarm}"
            );
        }
    }
}

#[tokio::test]
async fn every_platform_has_at_least_two_guides_on_the_home_page() {
    let app = spawn_app().await;
    let (status, html) = app.get_text("/").await;
    assert_eq!(status, 200);
    let form = html
        .find("action=\"/search\"")
        .expect("search form on home");
    assert!(html[form..].find("name=\"q\"").is_some());
    assert!(html.contains("autofocus"));
    // The search form comes before the platform list.
    assert!(form < html.find("class=\"platforms\"").expect("platform list"));
    for p in ["factorytalk", "wonderware", "ignition", "wincc", "proficy"] {
        let (_, list) = app.get_json("/api/guides").await;
        let n = list
            .as_array()
            .expect("array")
            .iter()
            .filter(|g| g["platform"] == p)
            .count();
        assert!(n >= 2, "{p} has {n} guides");
        assert!(
            html.contains(&format!("/guides?platform={p}\"><span>")),
            "{p} link"
        );
        assert!(
            html.contains(&format!("{n} guides</span>")),
            "{p} count {n}"
        );
    }
}

#[tokio::test]
async fn guide_list_filters_by_platform_and_rejects_unknown_platform() {
    let app = spawn_app().await;
    let (status, html) = app.get_text("/guides?platform=wincc").await;
    assert_eq!(status, 200);
    assert!(html.contains("/guides/wincc-s7-1500-channel-disconnected"));
    assert!(!html.contains("/guides/ifix-node-name-resolution"));
    let (status, all) = app.get_text("/guides").await;
    assert_eq!(status, 200);
    for slug in REQUIRED_SLUGS {
        assert!(all.contains(&format!("/guides/{slug}\"")), "{slug} listed");
    }
    let (status, html) = app.get_text("/guides?platform=citect").await;
    assert_eq!(status, 400);
    assert!(html.contains("Unknown platform"));
}

#[tokio::test]
async fn api_lists_all_guides_with_platforms() {
    let app = spawn_app().await;
    let (status, list) = app.get_json("/api/guides").await;
    assert_eq!(status, 200);
    let list = list.as_array().expect("a JSON array");
    assert!(list.len() >= 13);
    for slug in REQUIRED_SLUGS {
        let g = list.iter().find(|g| g["slug"] == slug).expect(slug);
        assert_eq!(g["url"], format!("/guides/{slug}"));
        assert!(g["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(g["alarms"].is_array() && g["products"].is_array());
        assert!(g["updated"].as_str().is_some_and(|d| d.len() == 10));
    }
    let expected_platform = |slug: &str| {
        if slug.starts_with("ignition") {
            "ignition"
        } else if slug.starts_with("ft") {
            "factorytalk"
        } else if slug.starts_with("system-platform") {
            "wonderware"
        } else if slug.starts_with("wincc") {
            "wincc"
        } else {
            "proficy"
        }
    };
    for slug in REQUIRED_SLUGS {
        let g = list.iter().find(|g| g["slug"] == slug).expect(slug);
        assert_eq!(g["platform"], expected_platform(slug), "{slug}");
    }
    let (status, one) = app
        .get_json("/api/guides/ignition-opcua-bad-securitychecksfailed")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        one["sections"].as_array().expect("sections")[..6],
        ["symptom", "cause", "diagnose", "fix", "verify", "rollback"]
    );
    assert!(one["html"]
        .as_str()
        .expect("html")
        .contains("<h2 id=\"fix\">"));
    let (status, err) = app.get_json("/api/guides/no-such-guide").await;
    assert_eq!(status, 404);
    assert!(err["error"]
        .as_str()
        .expect("error text")
        .contains("no-such-guide"));
}

#[tokio::test]
async fn alias_redirects_permanently_to_the_current_slug() {
    let dir = content_folder(&[(
        "wincc/new-name.md",
        guide_text(
            "wincc",
            "Renamed",
            "aliases = [\"old-name\", \"older-name\"]\n",
            "",
        ),
    )]);
    let app = spawn_app_with_content(dir.path().to_path_buf()).await;
    for old in ["old-name", "older-name"] {
        let res = app.get(&format!("/guides/{old}")).await;
        assert_eq!(res.status().as_u16(), 301);
        assert_eq!(res.headers()["location"], "/guides/new-name");
    }
    let (status, _) = app.get_text("/guides/new-name").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_slug_is_a_helpful_404() {
    let app = spawn_app().await;
    let (status, html) = app.get_text("/guides/kepware-connection-rejected").await;
    assert_eq!(status, 404);
    assert!(
        html.contains("/search?q=kepware%20connection%20rejected"),
        "offers a search: {html}"
    );
    assert!(
        html.contains("/guides/ignition-opcua-bad-connectionrejected-kepware"),
        "suggests a similar guide"
    );
    let (status, _) = app.get_text("/no/such/page").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn misspelt_front_matter_key_is_refused_with_file_and_line() {
    let bad = guide_text("ignition", "Bad", "aliases = []\n", "").replace("minutes =", "minuts =");
    let dir = content_folder(&[("ignition/typo-guide.md", bad)]);

    let data = tempfile::tempdir().expect("temp");
    let config = Config::for_dirs(data.path().to_path_buf(), dir.path().to_path_buf());
    let err = Application::build(config)
        .await
        .err()
        .expect("start-up refuses broken content");
    let msg = format!("{err:#}");
    assert!(
        msg.contains(
            "ignition/typo-guide.md:10: unknown front-matter key `minuts` (did you mean `minutes`?)"
        ),
        "{msg}"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultbook"))
        .arg("check")
        .arg("--content-dir")
        .arg(dir.path())
        .output()
        .expect("run faultbook check");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ignition/typo-guide.md:10: unknown front-matter key `minuts`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("missing required front-matter key `minutes`"),
        "{stdout}"
    );
}

#[test]
fn check_passes_on_the_shipped_guides() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultbook"))
        .arg("check")
        .arg("--content-dir")
        .arg(common::shipped_content())
        .output()
        .expect("run faultbook check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn check_lists_every_kind_of_fault() {
    let wrong_platform = guide_text("citect", "P", "aliases = []\n", "");
    let no_fix = guide_text(
        "wincc",
        "F",
        "aliases = [\"dup\"]\n",
        "\nSee [x](/guides/missing-guide#fix).\n",
    )
    .replace("## Fix\n\n1. Fix it.\n\n", "");
    let dup_alias = guide_text("proficy", "D", "aliases = [\"dup\"]\n", "");
    let dir = content_folder(&[
        ("ignition/p.md", wrong_platform),
        ("wincc/f.md", no_fix),
        ("proficy/d.md", dup_alias),
    ]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultbook"))
        .args(["check", "--content-dir"])
        .arg(dir.path())
        .output()
        .expect("run faultbook check");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "ignition/p.md:3: platform `citect` is not one of",
        "wincc/f.md:27: required section `## Fix` is missing before `## Verify`",
        "wincc/f.md:35: broken link to another guide: `/guides/missing-guide#fix`",
        "duplicate alias `dup`",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
}

#[tokio::test]
async fn hostile_guide_renders_inert() {
    let hostile = guide_text(
        "proficy",
        "Hostile <script>alert(0)</script>",
        "aliases = []\n",
        "\n<script>alert(1)</script>\n\n<img src=x onerror=\"alert(2)\">\n\n[click me](javascript:alert(3))\n\n<a href=\"jAvAsCrIpT:alert(4)\" onmouseover=\"alert(5)\">x</a>\n\n<iframe src=\"https://example.com\"></iframe>\n",
    );
    let dir = content_folder(&[("proficy/hostile.md", hostile)]);
    let app = spawn_app_with_content(dir.path().to_path_buf()).await;
    let (status, html) = app.get_text("/guides/hostile").await;
    assert_eq!(status, 200);
    let lower = html.to_lowercase();
    // The page's own script tags (from /static/) are the only ones.
    let own = lower.matches("<script src=\"/static/").count()
        + lower
            .matches("<script type=\"module\" src=\"/static/")
            .count();
    assert!(own >= 1, "{html}");
    assert_eq!(lower.matches("<script").count(), own, "{html}");
    for bad in [
        "alert(1)",
        "onerror",
        "onmouseover",
        "javascript:",
        "<iframe",
    ] {
        assert!(!lower.contains(bad), "`{bad}` survived:\n{html}");
    }
    assert!(
        html.contains("<h1>Hostile &#60;script&#62;alert(0)&#60;/script&#62;</h1>"),
        "title is escaped: {html}"
    );
    let (_, json) = app.get_json("/api/guides/hostile").await;
    assert!(!json["html"]
        .as_str()
        .expect("html")
        .to_lowercase()
        .contains("javascript:"));
}

#[tokio::test]
async fn static_assets_are_embedded_and_cached_long() {
    let app = spawn_app().await;
    let (_, html) = app.get_text("/").await;
    let start = html.find("/static/").expect("asset link");
    let end = start + html[start..].find('"').expect("quote");
    let css_url = &html[start..end];
    assert!(css_url.ends_with("/app.css"));
    let res = app.get(css_url).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/css"));
    assert!(res.headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .contains("immutable"));
    assert!(res
        .text()
        .await
        .expect("css")
        .contains("prefers-color-scheme: dark"));
    let res = app.get("/static/x/nope.css").await;
    assert_eq!(res.status().as_u16(), 404);
}

#[tokio::test]
async fn database_is_sqlite_in_wal_mode_and_records_the_content_load() {
    if common::database::sqlite_only("the SQLite file and its WAL mode") {
        return;
    }
    let app = spawn_app().await;
    assert!(app.data.path().join("faultbook.db").exists());
    let mode = faultbook::db::journal_mode(&app.app_state.db)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    let last = faultbook::db::last_content_load(&app.app_state.db)
        .await
        .expect("query")
        .expect("a content load was recorded");
    assert_eq!(last.content_hash, app.app_state.library().content_hash);
    assert_eq!(
        last.guide_count as usize,
        app.app_state.library().all().len()
    );
    let (status, health) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn sources_render_as_references_and_in_the_api() {
    let text = guide_text("wincc", "Cited", "aliases = []\n", "").replace(
        "sources = [{ title = \"Test manual\", url = \"https://example.com/manual\" }]",
        "sources = [\n  { title = \"Vendor manual <p. 4>\", url = \"https://example.com/manual?a=1&b=2\" },\n  { title = \"Stack issue\", url = \"eclipse-milo/milo#611\" },\n]",
    );
    let dir = content_folder(&[("wincc/cited.md", text)]);
    let app = spawn_app_with_content(dir.path().to_path_buf()).await;
    let (status, html) = app.get_text("/guides/cited").await;
    assert_eq!(status, 200);
    let refs = html
        .find("<h2 id=\"references\">References</h2>")
        .expect("a References heading");
    assert!(
        refs > html.find("<h2 id=\"rollback\">").expect("rollback"),
        "References come after the body"
    );
    assert!(html.contains("href=\"#references\""), "table of contents");
    assert!(
        html.contains("<a href=\"https://example.com/manual?a=1&#38;b=2\" rel=\"noopener\">Vendor manual &#60;p. 4&#62;</a>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"https://github.com/eclipse-milo/milo/issues/611\" rel=\"noopener\">Stack issue</a>"),
        "{html}"
    );
    let (_, json) = app.get_json("/api/guides/cited").await;
    assert_eq!(
        json["sources"],
        serde_json::json!([
            {"title": "Vendor manual <p. 4>", "url": "https://example.com/manual?a=1&b=2"},
            {"title": "Stack issue", "url": "https://github.com/eclipse-milo/milo/issues/611"},
        ])
    );
}

#[tokio::test]
async fn check_names_the_file_without_sources_and_the_malformed_url() {
    let no_sources = guide_text("ignition", "N", "aliases = []\n", "").replace(
        "sources = [{ title = \"Test manual\", url = \"https://example.com/manual\" }]\n",
        "",
    );
    let bad_url = guide_text("wincc", "U", "aliases = []\n", "")
        .replace("https://example.com/manual", "htps://example.com/manual");
    let old_section = guide_text(
        "proficy",
        "S",
        "aliases = []\n",
        "\n## Sources\n\n- a manual\n",
    );
    let dir = content_folder(&[
        ("ignition/no-sources.md", no_sources),
        ("wincc/bad-url.md", bad_url),
        ("proficy/old-section.md", old_section),
    ]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultbook"))
        .args(["check", "--content-dir"])
        .arg(dir.path())
        .output()
        .expect("run faultbook check");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "ignition/no-sources.md:1: missing required front-matter key `sources`",
        "wincc/bad-url.md:6: source 1: url `htps://example.com/manual`",
        "proficy/old-section.md:39: `## Sources` in the body is replaced by the front-matter key `sources`",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
}
