//! A data folder written by the first release (its own binary, committed as a fixture; see
//! `tests/fixtures/first-release/make.sh`) migrates on start and serves every case it held,
//! photos included, and reports the new schema.

mod common;

use std::path::Path;

use common::*;

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/first-release")
}

/// A copy of the fixture's data folder, so the committed files are never migrated in place.
fn data_from_fixture() -> tempfile::TempDir {
    let data = tempfile::tempdir().expect("temp dir");
    let from = fixture().join("data");
    std::fs::copy(from.join("faultbook.db"), data.path().join("faultbook.db")).expect("db");
    std::fs::create_dir_all(data.path().join("photos")).expect("photos");
    for e in std::fs::read_dir(from.join("photos")).expect("fixture photos") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), data.path().join("photos").join(e.file_name())).expect("photo");
    }
    data
}

#[tokio::test]
async fn a_database_from_the_first_release_migrates_and_serves_its_cases() {
    if common::database::sqlite_only("a SQLite database from the first release") {
        return;
    }
    let before: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(fixture().join("cases.json")).expect("cases.json"),
    )
    .expect("cases as the first release answered them");
    assert_eq!(before.len(), 3);

    let app = spawn_app_in(data_from_fixture(), shipped_content()).await;
    let (status, health) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(health["schema"], faultbook::db::schema_version());

    for old in &before {
        let id = old["id"].as_str().expect("id");
        let (status, now) = app.get_json(&format!("/api/cases/{id}")).await;
        assert_eq!(status, 200, "case {id} after the upgrade");
        for field in [
            "verbatim_alarm",
            "site",
            "line",
            "cell",
            "asset",
            "firmware_revision",
            "parameter_set",
            "outcome",
            "fix_applied",
            "guide",
        ] {
            assert_eq!(now[field], old[field], "{field} of {id}");
        }
        let old_photos = old["photos"].as_array().expect("photos");
        assert_eq!(
            now["photos"].as_array().map(Vec::len),
            Some(old_photos.len())
        );
        for p in old_photos {
            let sha = p["id"].as_str().expect("photo id");
            let res = app.get(&format!("/photos/{sha}.jpg")).await;
            assert_eq!(res.status().as_u16(), 200);
            let bytes = res.bytes().await.expect("bytes");
            assert_eq!(
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
                sha
            );
        }
        // The index was built from the migrated database: each case is found by its alarm.
        let marker = old["verbatim_alarm"]
            .as_str()
            .expect("alarm")
            .split_whitespace()
            .last()
            .expect("marker")
            .to_string();
        let (_, found) = app.get_json(&format!("/api/search?q={marker}")).await;
        assert!(found.to_string().contains(id), "{marker}: {found}");
    }
    // Times written by the first release read back in today's form.
    let (_, list) = app.get_json("/api/cases").await;
    for c in list["cases"].as_array().expect("cases") {
        let t = c["created_at"].as_str().expect("created_at");
        assert!(t.ends_with('Z') && t.len() == 27, "{t}");
    }
    // The upgraded folder still backs up and checks out.
    let backups = tempfile::tempdir().expect("temp dir");
    let layout = faultbook::backup::DataLayout::of(&faultbook::config::Config::for_dirs(
        app.data.path().to_path_buf(),
        shipped_content(),
    ));
    let summary = faultbook::backup::backup(&layout, &backups.path().join("b"))
        .await
        .expect("backup");
    assert_eq!(summary.manifest.cases, 3);
    faultbook::backup::verify(&backups.path().join("b")).expect("the backup checks out");
}
