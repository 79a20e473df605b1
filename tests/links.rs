mod common;

use common::{content_folder, guide_text, spawn_app, spawn_app_with, spawn_app_with_content};

const KEPWARE: &str = "ignition-opcua-bad-connectionrejected-kepware";
const BASE: &str = "https://faultbook.plant.example";

fn published() -> Vec<String> {
    std::fs::read_to_string(common::shipped_content().join("published-slugs.txt"))
        .expect("published-slugs.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[tokio::test]
async fn every_slug_ever_published_resolves() {
    let app = spawn_app().await;
    let slugs = published();
    assert!(slugs.len() >= 13);
    for slug in slugs {
        let res = app.get(&format!("/guides/{slug}")).await;
        let status = res.status().as_u16();
        if status == 301 {
            let to = res.headers()["location"]
                .to_str()
                .expect("ascii")
                .to_string();
            let (s, _) = app.get_text(&to).await;
            assert_eq!(s, 200, "{slug} -> {to}");
        } else {
            assert_eq!(status, 200, "{slug}");
        }
    }
}

fn copy_shipped_content() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp");
    let src = common::shipped_content();
    for entry in walk(&src) {
        let rel = entry.strip_prefix(&src).expect("under content");
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&entry, &to).expect("copy");
    }
    dir
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn check(dir: &std::path::Path) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultbook"))
        .args(["check", "--content-dir"])
        .arg(dir)
        .output()
        .expect("run check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_refuses_to_drop_a_published_slug_and_wants_new_slugs_listed() {
    let dir = copy_shipped_content();
    let (code, _) = check(dir.path());
    assert_eq!(code, 0);

    // Deleting a guide without a redirect breaks a published URL.
    std::fs::remove_file(dir.path().join("ignition").join(format!("{KEPWARE}.md"))).expect("rm");
    let (code, out) = check(dir.path());
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!("published slug `{KEPWARE}` no longer resolves")),
        "{out}"
    );
    assert!(out.contains("published-slugs.txt:"), "{out}");
    // ...until the slug points somewhere.
    std::fs::write(
        dir.path().join("redirects.toml"),
        format!(
            "[redirects]\n\"{KEPWARE}\" = \"ignition-opcua-bad-securitychecksfailed#diagnose\"\n"
        ),
    )
    .expect("write");
    // Links from other guides to the deleted one resolve through the redirect too.
    let (code, out) = check(dir.path());
    assert_eq!(code, 0, "{out}");

    let fresh = copy_shipped_content();
    std::fs::write(
        fresh.path().join("wincc").join("brand-new.md"),
        guide_text("wincc", "New", "aliases = []\n", ""),
    )
    .expect("write");
    let (code, out) = check(fresh.path());
    assert_eq!(code, 1);
    assert!(
        out.contains("wincc/brand-new.md:1: slug `brand-new` is not in published-slugs.txt"),
        "{out}"
    );
}

#[tokio::test]
async fn a_redirect_entry_answers_301_to_its_target_section() {
    let dir = content_folder(&[
        (
            "proficy/merged.md",
            guide_text("proficy", "Merged", "aliases = []\n", ""),
        ),
        (
            "redirects.toml",
            "[redirects]\n\"old-one\" = \"merged#fix\"\n".to_string(),
        ),
    ]);
    let app = spawn_app_with_content(dir.path().to_path_buf()).await;
    let res = app.get("/guides/old-one").await;
    assert_eq!(res.status().as_u16(), 301);
    assert_eq!(res.headers()["location"], "/guides/merged#fix");

    // Every route that takes a slug follows the same move: the JSON, the QR code, and a cabinet
    // label's case form with its prefilled cell.
    let res = app.get("/api/guides/old-one").await;
    assert_eq!(res.status().as_u16(), 301);
    assert_eq!(res.headers()["location"], "/api/guides/merged");
    assert_eq!(
        app.get("/guides/old-one/qr.svg").await.status().as_u16(),
        200
    );
    let res = app.get("/guides/old-one/cases/new?cell=Press%204").await;
    assert_eq!(res.status().as_u16(), 301);
    assert_eq!(
        res.headers()["location"],
        "/guides/merged/cases/new?cell=Press%204"
    );
}

#[tokio::test]
async fn alarm_short_links_go_to_the_owning_guide_or_the_search() {
    let app = spawn_app().await;
    for code in [
        "Bad_ConnectionRejected",
        "BadConnectionRejected",
        "0x80AC0000",
        "80ac0000",
        "2158755840",
        "-2136211456",
    ] {
        let res = app.get(&format!("/alarm/{code}")).await;
        assert_eq!(res.status().as_u16(), 302, "{code}");
        assert_eq!(
            res.headers()["location"],
            format!("/guides/{KEPWARE}?alarm={code}"),
            "{code}"
        );
    }
    // Two guides list this code: no single owner, so the search page.
    let res = app.get("/alarm/Bad_SecurityChecksFailed").await;
    assert_eq!(res.status().as_u16(), 302);
    assert_eq!(
        res.headers()["location"],
        "/search?q=Bad_SecurityChecksFailed"
    );
    for code in ["0xDEADBEEF", "ZZ-9999", "qqqxyzzy"] {
        let res = app.get(&format!("/alarm/{code}")).await;
        assert_eq!(res.status().as_u16(), 302, "{code}");
        assert_eq!(
            res.headers()["location"],
            format!("/search?q={code}"),
            "{code}"
        );
    }
}

fn decode_qr(png: &[u8]) -> String {
    let img = image::load_from_memory(png).expect("png").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("decodes").1
}

#[tokio::test]
async fn qr_codes_decode_to_absolute_urls_under_the_base_url() {
    let app = spawn_app_with(|c| c.base_url = Some(format!("{BASE}/"))).await;
    let res = app.get(&format!("/guides/{KEPWARE}/qr.png")).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    let png = res.bytes().await.expect("bytes");
    assert_eq!(decode_qr(&png), format!("{BASE}/guides/{KEPWARE}"));

    let res = app
        .get(&format!(
            "/labels/qr.png?guide={KEPWARE}&site=Plant%202&line=L3&cell=C07&asset=IGN-GW-02"
        ))
        .await;
    let png = res.bytes().await.expect("bytes");
    let url = decode_qr(&png);
    assert_eq!(
        url,
        format!("{BASE}/guides/{KEPWARE}/cases/new?site=Plant+2&line=L3&cell=C07&asset=IGN-GW-02")
    );
    // The QR's URL opens the form already filled in.
    let path = url.trim_start_matches(BASE);
    let (status, form) = app.get_text(path).await;
    assert_eq!(status, 200);
    assert!(form.contains("value=\"C07\"") && form.contains("value=\"Plant 2\""));

    let (status, labels) = app
        .get_text(&format!("/labels?guide={KEPWARE}&cell=C07"))
        .await;
    assert_eq!(status, 200);
    assert!(labels.contains("<svg"));
    assert!(labels.contains(&format!("{BASE}/guides/{KEPWARE}</p>")));
    let (_, svg) = app.get_text(&format!("/guides/{KEPWARE}/qr.svg")).await;
    assert!(svg.contains("<svg"));
    let (_, html) = app.get_text(&format!("/guides/{KEPWARE}")).await;
    assert!(html.contains(&format!(
        "<link rel=\"canonical\" href=\"{BASE}/guides/{KEPWARE}\">"
    )));
    assert!(html.contains("<meta property=\"og:title\""));
}

#[tokio::test]
async fn the_feed_is_atom_and_lists_a_new_case() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "feed-1")
        .json(&serde_json::json!({"guide": KEPWARE, "verbatim_alarm": "Bad_ConnectionRejected <&>", "outcome": "fixed", "fix_applied": "opened port 49320"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 201);
    let case: serde_json::Value = res.json().await.expect("json");
    let res = app.get("/feed.xml").await;
    assert!(res.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("application/atom+xml"));
    let body = res.bytes().await.expect("body");
    let feed = feed_rs::parser::parse(&body[..]).expect("valid Atom");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    let id = case["id"].as_str().expect("id");
    let entry = feed
        .entries
        .iter()
        .find(|e| e.id == format!("urn:uuid:{id}"))
        .expect("the new case is in the feed");
    assert!(entry
        .title
        .as_ref()
        .expect("title")
        .content
        .contains("Bad_ConnectionRejected <&>"));
    assert!(feed.entries.len() >= 14, "guides and the case");
    assert!(feed.entries.iter().any(|e| e
        .links
        .iter()
        .any(|l| l.href.ends_with(&format!("/guides/{KEPWARE}")))));
}

#[tokio::test]
async fn only_embed_pages_may_be_framed_and_only_by_allowed_sites() {
    let app = spawn_app_with(|c| c.embed_allow = vec!["https://wiki.plant.example".into()]).await;
    let normal = app.get(&format!("/guides/{KEPWARE}")).await;
    assert_eq!(normal.headers()["x-frame-options"], "DENY");
    let csp = normal.headers()["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(csp.ends_with("; frame-ancestors 'none'"), "{csp}");
    let embed = app.get(&format!("/guides/{KEPWARE}?embed=1")).await;
    assert!(embed.headers().get("x-frame-options").is_none());
    let csp = embed.headers()["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        csp.ends_with("; frame-ancestors 'self' https://wiki.plant.example"),
        "{csp}"
    );
    let html = embed.text().await.expect("html");
    assert!(!html.contains("class=\"top\""), "no navigation in an embed");
    assert!(html.contains("<h2 id=\"fix\">"));
    assert!(html.contains("<base target=\"_top\">"));
    let search = app.get("/search?q=x").await;
    assert_eq!(search.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn copy_link_menus_and_step_anchors_are_on_every_guide() {
    let app = spawn_app_with(|c| c.base_url = Some(BASE.into())).await;
    let (_, html) = app.get_text(&format!("/guides/{KEPWARE}")).await;
    let url = format!("{BASE}/guides/{KEPWARE}");
    assert!(html.contains(&format!("data-copy=\"{url}\" data-format=\"url\"")));
    assert!(html.contains("data-format=\"markdown\">Markdown</button>"));
    assert!(html.contains(&format!("data-copy=\"[Ignition OPC UA connection to KEPServerEX rejected (Bad_ConnectionRejected)]({url})\"")));
    assert!(html.contains(&format!("data-copy=\"[{url} Ignition OPC UA connection to KEPServerEX rejected (Bad_ConnectionRejected)]\"")));
    assert!(html.contains(&format!("data-copy=\"&lt;a href=&quot;{url}&quot;&gt;Ignition OPC UA connection to KEPServerEX rejected (Bad_ConnectionRejected)&lt;/a&gt;\"")));
    // One menu per section heading, with the section's anchor.
    for id in ["symptom", "cause", "diagnose", "fix", "verify", "rollback"] {
        assert!(html.contains(&format!("data-copy=\"{url}#{id}\"")), "{id}");
    }
    assert!(html.contains("<li id=\"fix-1\">"), "step anchors");
    assert!(html.contains("<li id=\"diagnose-1\">"));
    assert!(html.contains("Copy link<span class=\"visually-hidden\"> to Fix</span></summary>"));
    // One control for the page, behind which the formats and the alarm strings wait.
    assert_eq!(
        html.matches("<details class=\"copylink copymenu\">")
            .count(),
        1
    );
    assert!(html
        .contains("data-copy=\"Bad_ConnectionRejected\">Alarm: Bad_ConnectionRejected</button>"));
}

#[tokio::test]
async fn pages_carry_a_strict_policy_and_hsts_only_behind_https() {
    let app = spawn_app().await;
    for path in [
        "/",
        &format!("/guides/{KEPWARE}"),
        "/search?q=x",
        "/api/search?q=x",
        "/cases/new",
    ] {
        let res = app.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().expect("ascii");
        // WebAssembly may be compiled (the photo reader's engine); JavaScript may not be
        // evaluated from strings, and no inline script runs.
        let script = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"));
        assert_eq!(
            script,
            Some("script-src 'self' 'wasm-unsafe-eval'"),
            "{path}: {csp}"
        );
        assert_eq!(
            h["permissions-policy"],
            "camera=(self), microphone=(), geolocation=()"
        );
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS on plain http"
        );
    }
    // No page has an inline script: every <script> loads a file from /static/.
    let (_, html) = app.get_text(&format!("/guides/{KEPWARE}")).await;
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/static/").count()
            + html
                .matches("<script type=\"module\" src=\"/static/")
                .count()
    );
    let https = spawn_app_with(|c| c.base_url = Some(BASE.into())).await;
    let res = https.get("/").await;
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

#[tokio::test]
async fn the_guide_page_links_its_sources_and_files_a_case_with_the_alarm_it_was_opened_for() {
    let app = spawn_app().await;
    let res = app.get("/alarm/0x80AC0000").await;
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let (status, html) = app.get_text(&location).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!(
            "href=\"/guides/{KEPWARE}/cases/new?alarm=0x80AC0000\">File a case</a>"
        )),
        "{html}"
    );
    // GitHub shorthand in the text becomes a link to the source; in code it stays code.
    assert!(html.contains(
        "<a href=\"https://github.com/eclipse-milo/milo/issues/611\" rel=\"noopener\">eclipse-milo/milo#611</a>"
    ));
    // The plant's record sits at the top, before the first section.
    let (_, plain) = app.get_text(&format!("/guides/{KEPWARE}")).await;
    let record = plain.find("class=\"recordline\"").expect("record line");
    let symptom = plain.find("<h2 id=\"symptom\">").expect("symptom");
    assert!(record < symptom);
    assert!(plain.contains(&format!(
        "href=\"/guides/{KEPWARE}/cases/new\">File a case</a>"
    )));
}

#[tokio::test]
async fn the_labels_form_shows_what_was_chosen_and_offers_to_print() {
    let app = spawn_app().await;
    let (status, html) = app
        .get_text(&format!("/labels?guide={KEPWARE}&site=Plant+1&cell=C12"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<option value=\"{KEPWARE}\" selected>")));
    assert!(html.contains("name=\"site\" value=\"Plant 1\""));
    assert!(html.contains("name=\"cell\" value=\"C12\""));
    assert!(html.contains("name=\"line\" value=\"\""));
    assert!(html.contains("data-print hidden>Print the label</button>"));
}
