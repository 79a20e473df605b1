//! Guides and the content folder: a file changed while the server runs, a file change that meets
//! a browser edit, a file the lint refuses, and `faultbook export` back into a folder.

mod common;

use std::time::{Duration, Instant};

use common::editor::*;
use common::process::faultbook;
use common::{spawn_app, spawn_app_with_content};
use faultbook::auth::Role;

/// 2. What the browser saved goes out with `faultbook export`, passes `faultbook check`, and
/// comes back in unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_exports_passes_the_check_and_imports_back_the_same() {
    let app = spawn_app().await;
    let (alice, _) = app.logged_in("alice", Role::Editor).await;
    let new_step = "Session limit: keep two sessions free on every server for reconnects.";
    let saved = edit_and_save(&app, &alice, SUBS, |f| {
        f.replace("body", OLD_STEP, new_step);
        f.set("summary", "Two free sessions");
    })
    .await;
    let rev = saved_revision(saved.location.as_deref().expect("location"));
    let saved_text = revision_text(&app, SUBS, rev).await;
    assert!(saved_text.contains(new_step));

    let out = export(&app).await;
    let exported =
        std::fs::read_to_string(out.path().join(SUBS_FILE)).expect("the guide file is exported");
    assert_eq!(
        exported, saved_text,
        "the exported file is the saved revision's text"
    );
    assert!(out.path().join("published-slugs.txt").is_file());
    assert!(out.path().join("redirects.toml").is_file());
    let (ok, report) = check(out.path()).await;
    assert!(ok, "faultbook check refuses the export:\n{report}");

    let again = spawn_app_with_content(out.path().to_path_buf()).await;
    let (s1, before) = app.get_json(&format!("/api/guides/{SUBS}")).await;
    let (s2, after) = again.get_json(&format!("/api/guides/{SUBS}")).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(after, before, "the re-imported guide is the same");
    assert!(after["html"].as_str().expect("html").contains(new_step));
    let (_, list1) = app.get_json("/api/guides").await;
    let (_, list2) = again.get_json("/api/guides").await;
    assert_eq!(list2, list1, "every guide came back the same");
}

/// 5. A guide file changed on the server is served within two seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_on_disk_is_served_within_two_seconds() {
    let (app, dir) = app_on_copied_content().await;
    let file = dir.path().join(SUBS_FILE);
    let new_step = "Session limit: a step changed in the file on the server.";
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(reader_page(&app, SUBS).await.contains(OLD_STEP));
    std::fs::write(&file, text.replace(OLD_STEP, new_step)).expect("write");
    let app_ref = &app;
    let took = within(
        Duration::from_secs(5),
        "the changed file is served",
        || async move { reader_page(app_ref, SUBS).await.contains(new_step) },
    )
    .await;
    assert!(
        took < Duration::from_secs(2),
        "served after {took:?}; the spec says ~1 s, this test allows 2 s"
    );
    let page = reader_page(&app, SUBS).await;
    assert!(!page.contains(OLD_STEP));
    assert!(
        last_change(&page).contains("content folder"),
        "{}",
        last_change(&page)
    );
}

/// 6. A file change that meets a browser edit waits for an editor; taking it makes it current.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_change_after_a_browser_edit_waits_as_a_conflict() {
    let (app, dir) = app_on_copied_content().await;
    let (alice, _) = app.logged_in("alice", Role::Editor).await;
    let browser_step = "Session limit: the browser wording.";
    let file_step = "Session limit: the file wording from git.";
    let original = std::fs::read_to_string(dir.path().join(SUBS_FILE)).expect("read");
    edit_and_save(&app, &alice, SUBS, |f| {
        f.replace("body", OLD_STEP, browser_step)
    })
    .await;

    std::fs::write(
        dir.path().join(SUBS_FILE),
        original.replace(OLD_STEP, file_step),
    )
    .expect("write");
    let start = Instant::now();
    let review = loop {
        let page = get(&app, &alice, "/guides/review").await;
        assert_eq!(page.status, 200);
        if page.body.contains(file_step) {
            break page.body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the conflict is not listed on /guides/review:\n{}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Readers keep the browser's text.
    let page = reader_page(&app, SUBS).await;
    assert!(page.contains(browser_step), "the browser text stays");
    assert!(!page.contains(file_step));
    // Editors see that something waits on this guide.
    let ed_page = get(&app, &alice, &format!("/guides/{SUBS}")).await;
    assert!(ed_page.body.contains("id=\"waiting-note\""));

    assert!(text_of(&review).contains(&format!("File change to pick: {SUBS}")));
    let add = regex::Regex::new(r#"class="add"[^>]*>([^<]*)<"#).expect("re");
    let del = regex::Regex::new(r#"class="del"[^>]*>([^<]*)<"#).expect("re");
    assert!(add
        .captures_iter(&review)
        .any(|c| unescape(&c[1]).contains(file_step)));
    assert!(del
        .captures_iter(&review)
        .any(|c| unescape(&c[1]).contains(browser_step)));
    let (form, _) = decision_form(&review, SUBS).expect("a decision form");
    let decided = decide(&app, &alice, form, "accept", "git wins").await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    assert_eq!(decided.location.as_deref(), Some("/guides/review"));

    let page = reader_page(&app, SUBS).await;
    assert!(page.contains(file_step), "the file's text is current");
    assert!(!page.contains(browser_step));
    let review = get(&app, &alice, "/guides/review").await;
    assert!(decision_form(&review.body, SUBS).is_none(), "nothing waits");
}

/// A renamed guide whose file (under its old name) then changes in the content folder: the file
/// waits as a conflict, and taking it keeps every address working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_change_after_a_browser_rename_waits_and_can_be_taken() {
    let (app, dir) = app_on_copied_content().await;
    let (alice, _) = app.logged_in("alice", Role::Editor).await;
    let new_slug = "ignition-opcua-subscriptions-lost-watchdog";
    edit_and_save(&app, &alice, SUBS, |f| f.set("slug", new_slug)).await;
    let file_step = "Session limit: changed in the file under the old name.";
    let original = std::fs::read_to_string(dir.path().join(SUBS_FILE)).expect("read");
    std::fs::write(
        dir.path().join(SUBS_FILE),
        original.replace(OLD_STEP, file_step),
    )
    .expect("write");
    let start = Instant::now();
    let review = loop {
        let page = get(&app, &alice, "/guides/review").await;
        if page.body.contains(file_step) || page.body.contains("id=\"refused-files\"") {
            break page.body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the file change is not listed:\n{}",
            text_of(&page.body)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        review.contains(file_step),
        "the file change waits as a conflict: {}",
        text_of(&review)
    );
    assert!(reader_page(&app, new_slug).await.contains(OLD_STEP));
    let (form, _) = forms_matching(&review, r"^/guides/[a-z0-9-]+/revisions/(\d+)/decision$")
        .into_iter()
        .next()
        .expect("a decision form");
    let taken = decide(&app, &alice, form, "accept", "").await;
    assert_eq!(taken.status, 303, "{}", text_of(&taken.body));
    // Both addresses lead to the file's text.
    let mut served = Vec::new();
    for slug in [SUBS, new_slug] {
        let page = get(&app, &app.anon, &format!("/guides/{slug}")).await;
        served.push((slug, page.status, page.location.clone()));
        if page.status == 200 {
            assert!(page.body.contains(file_step), "{slug}");
        }
    }
    assert!(
        served.iter().all(|(_, s, _)| *s == 200 || *s == 301),
        "{served:?}"
    );
}

/// A guide file under content/ that the lint refuses is not served; editors see why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_file_keeps_the_old_text_and_is_listed_for_editors() {
    let (app, dir) = app_on_copied_content().await;
    let (alice, _) = app.logged_in("alice", Role::Editor).await;
    let file = dir.path().join(SUBS_FILE);
    let text = std::fs::read_to_string(&file).expect("read");
    let broken = text
        .replace(OLD_STEP, "Session limit: a step in a broken file.")
        .replace("## Verify\n", "");
    std::fs::write(&file, broken).expect("write");
    let start = Instant::now();
    let review = loop {
        let page = get(&app, &alice, "/guides/review").await;
        if page.body.contains("id=\"refused-files\"") {
            break page.body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the refused file is not listed:\n{}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let listed = text_of(&review);
    assert!(listed.contains(SUBS_FILE), "{listed}");
    assert!(listed.contains("Verify"), "{listed}");
    let page = reader_page(&app, SUBS).await;
    assert!(page.contains(OLD_STEP), "readers keep the last good text");
    assert!(!page.contains("a step in a broken file"));
    let ed = get(&app, &alice, &format!("/guides/{SUBS}")).await.body;
    assert!(ed.contains("id=\"refused-file\""), "editors are warned");

    // Fixed in the file: imported, and the warning goes.
    std::fs::write(
        &file,
        text.replace(OLD_STEP, "Session limit: the file fixed again."),
    )
    .expect("write");
    let app_ref = &app;
    within(
        Duration::from_secs(3),
        "the fixed file is served",
        || async move {
            reader_page(app_ref, SUBS)
                .await
                .contains("Session limit: the file fixed again.")
        },
    )
    .await;
    let ed = get(&app, &alice, &format!("/guides/{SUBS}")).await.body;
    assert!(!ed.contains("id=\"refused-file\""));
}

/// The export's own use: written over the content folder's git checkout (here the folder the
/// server watches) after a rename, it passes `faultbook check` and imports back without a fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_over_the_content_folder_after_a_rename_passes_the_check() {
    let (app, dir) = app_on_copied_content().await;
    let (alice, _) = app.logged_in("alice", Role::Editor).await;
    let new_slug = "ignition-opcua-subscriptions-lost-watchdog";
    edit_and_save(&app, &alice, SUBS, |f| f.set("slug", new_slug)).await;

    let mut cmd = faultbook(app.data.path());
    cmd.arg("--content-dir")
        .arg(dir.path())
        .arg("export")
        .arg(dir.path());
    let (ok, text) = run_cli(cmd).await;
    assert!(ok, "faultbook export failed:\n{text}");
    let (ok, report) = check(dir.path()).await;
    // The watcher sees the export within ~1 s; a refused file shows on the review page.
    let start = Instant::now();
    let mut refused = String::new();
    while start.elapsed() < Duration::from_millis(1500) {
        let review = get(&app, &alice, "/guides/review").await;
        if review.body.contains("id=\"refused-files\"") {
            refused = text_of(&review.body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut wrong = Vec::new();
    if !ok {
        wrong.push(format!(
            "faultbook check refuses the content folder the export wrote over (the renamed guide's old file {SUBS_FILE} is still there: {}):\n{report}",
            dir.path().join(SUBS_FILE).exists()
        ));
    }
    if !refused.is_empty() {
        wrong.push(format!(
            "the server refused files after the export: {refused}"
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    assert!(reader_page(&app, new_slug).await.contains(OLD_STEP));
}
