//! `faultbook backup` while cases are being filed, and `faultbook restore` of what it wrote:
//! every case acknowledged before the snapshot began comes back with its photos, and a
//! damaged, partial or misplaced restore is refused with a reason.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::process::*;
use common::*;

/// A filed case as the filer saw it acknowledged: its id, when the 201 arrived, and the photo.
#[derive(Debug, Clone)]
struct Acked {
    id: String,
    at: Instant,
    alarm: String,
    photo_sha: String,
}

fn backup_cmd(data: &Path, dir: &Path) -> std::process::Output {
    faultbook(data)
        .arg("--content-dir")
        .arg(CONTENT)
        .arg("backup")
        .arg(dir)
        .output()
        .expect("faultbook backup runs")
}

fn restore_cmd(data: &Path, dir: &Path, force: bool) -> std::process::Output {
    let mut cmd = faultbook(data);
    cmd.arg("--content-dir")
        .arg(CONTENT)
        .arg("restore")
        .arg(dir);
    if force {
        cmd.arg("--force");
    }
    cmd.output().expect("faultbook restore runs")
}

fn said(out: &std::process::Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// Files cases with photos from two clients until `stop`; returns what was acknowledged.
fn start_filing(app: &TestApp, stop: Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<Vec<Acked>>> {
    (0..2u32)
        .map(|filer| {
            let stop = stop.clone();
            let (client, base) = (app.client.clone(), app.addr.clone());
            tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut n = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let seed = filer * 100_000 + n;
                    let alarm = format!("Bad_Timeout on PLC{seed}X");
                    let key = format!("backup-{filer}-{n}");
                    let (status, case) =
                        file_case_with_photo(&client, &base, &key, &alarm, jpeg(seed)).await;
                    assert_eq!(status, 201, "{case}");
                    acked.push(Acked {
                        id: case["id"].as_str().expect("id").to_string(),
                        at: Instant::now(),
                        alarm,
                        photo_sha: case["photos"][0]["id"]
                            .as_str()
                            .expect("photo id")
                            .to_string(),
                    });
                }
                acked
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_during_filing_restores_every_case_acknowledged_before_it_began() {
    if common::database::sqlite_only(
        "backups copy the SQLite file; PostgreSQL is backed up with pg_dump",
    ) {
        return;
    }
    let app = spawn_app().await;
    let stop = Arc::new(AtomicBool::new(false));
    let filers = start_filing(&app, stop.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let backups = tempfile::tempdir().expect("temp dir");
    let dir = backups.path().join("nightly");
    let data = app.data.path().to_path_buf();
    let began = Instant::now();
    let out = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || backup_cmd(&data, &dir))
            .await
            .expect("backup thread")
    };
    assert!(out.status.success(), "backup failed: {}", said(&out));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let mut acked = Vec::new();
    for f in filers {
        acked.extend(f.await.expect("filer"));
    }
    let before: Vec<&Acked> = acked.iter().filter(|a| a.at < began).collect();
    let after = acked.len() - before.len();
    assert!(
        before.len() >= 5,
        "only {} cases filed before the backup",
        before.len()
    );
    assert!(after > 0, "no case was filed while or after the backup ran");

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("manifest is JSON");
    assert!(manifest["cases"].as_i64().expect("cases") >= before.len() as i64);
    let shipped_guides = std::fs::read_dir(CONTENT)
        .expect("content")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .flat_map(|d| std::fs::read_dir(d.path()).expect("platform folder"))
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .count();
    assert_eq!(manifest["guides"].as_u64(), Some(shipped_guides as u64));

    // Restore into a fresh data folder and serve it.
    let restored = tempfile::tempdir().expect("temp dir");
    let out = restore_cmd(restored.path(), &dir, false);
    assert!(out.status.success(), "restore failed: {}", said(&out));
    let app2 = spawn_app_in(restored, shipped_content()).await;
    let mut missing = Vec::new();
    for a in &before {
        let (status, case) = app2.get_json(&format!("/api/cases/{}", a.id)).await;
        if status != 200 {
            missing.push(a.id.clone());
            continue;
        }
        let photo = app2.get(&format!("/photos/{}.jpg", a.photo_sha)).await;
        assert_eq!(photo.status().as_u16(), 200, "photo of {} ({case})", a.id);
        let bytes = photo.bytes().await.expect("photo bytes");
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        assert_eq!(sha, a.photo_sha, "photo of {} is the one filed", a.id);
    }
    assert!(
        missing.is_empty(),
        "acknowledged before the backup but not restored: {missing:?}"
    );
    // The restored server's index was rebuilt from the database: a restored case is found.
    let probe = before.last().expect("a case");
    let (status, found) = app2
        .get_json(&format!("/api/search?q={}", probe.alarm.replace(' ', "+")))
        .await;
    assert_eq!(status, 200);
    assert!(
        found.to_string().contains(&probe.id),
        "searching `{}` finds case {}: {found}",
        probe.alarm,
        probe.id
    );
}

/// A finished backup of a small data folder, for the refusal tests.
async fn small_backup() -> (TestApp, tempfile::TempDir, std::path::PathBuf) {
    let app = spawn_app().await;
    for n in 0..3 {
        let (status, body) = app
            .file_case_with_photo(&format!("small-{n}"), "Bad_Timeout", jpeg(n))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let backups = tempfile::tempdir().expect("temp dir");
    let dir = backups.path().join("b");
    let out = backup_cmd(app.data.path(), &dir);
    assert!(out.status.success(), "backup failed: {}", said(&out));
    (app, backups, dir)
}

fn files_in(dir: &Path) -> HashMap<String, u64> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        e.metadata().map(|m| m.len()).unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_damaged_or_unfinished_backup_is_refused_and_restores_nothing() {
    if common::database::sqlite_only(
        "backups copy the SQLite file; PostgreSQL is backed up with pg_dump",
    ) {
        return;
    }
    let (_app, _backups, dir) = small_backup().await;

    // A photo with one byte changed.
    let photos = dir.join("photos");
    let victim = std::fs::read_dir(&photos)
        .expect("photos in the backup")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| !p.to_string_lossy().contains(".thumb."))
        .expect("a photo");
    let original = std::fs::read(&victim).expect("photo");
    let mut bent = original.clone();
    let mid = bent.len() / 2;
    bent[mid] ^= 0x55;
    std::fs::write(&victim, &bent).expect("write");
    let target = tempfile::tempdir().expect("temp dir");
    let out = restore_cmd(target.path(), &dir, false);
    assert!(!out.status.success());
    let name = victim
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        said(&out).contains("damaged") && said(&out).contains(&name),
        "{}",
        said(&out)
    );
    assert!(files_in(target.path()).is_empty(), "nothing restored");
    std::fs::write(&victim, &original).expect("put back");

    // A database cut short.
    let db = dir.join("faultbook.db");
    let whole = std::fs::read(&db).expect("db");
    std::fs::write(&db, &whole[..whole.len() / 2]).expect("cut");
    let out = restore_cmd(target.path(), &dir, false);
    assert!(!out.status.success());
    assert!(said(&out).contains("faultbook.db"), "{}", said(&out));
    std::fs::write(&db, &whole).expect("put back");

    // No manifest: the backup never finished.
    std::fs::rename(dir.join("manifest.json"), dir.join("kept.json")).expect("hide");
    let out = restore_cmd(target.path(), &dir, false);
    assert!(!out.status.success());
    assert!(said(&out).contains("did not finish"), "{}", said(&out));
    std::fs::rename(dir.join("kept.json"), dir.join("manifest.json")).expect("unhide");

    // Put back, the same backup restores.
    let out = restore_cmd(target.path(), &dir, false);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("restored 3 cases"), "{}", said(&out));
}

#[tokio::test]
async fn a_restore_never_overwrites_a_data_folder_without_force_and_keeps_it_with_force() {
    if common::database::sqlite_only(
        "backups copy the SQLite file; PostgreSQL is backed up with pg_dump",
    ) {
        return;
    }
    let (_app, _backups, dir) = small_backup().await;
    let other = spawn_app().await;
    other
        .file_case(
            "kept-1",
            serde_json::json!({"verbatim_alarm": "Bad_NodeIdUnknown", "outcome": "fixed"}),
        )
        .await;
    let data = other.data.path().to_path_buf();
    let before = std::fs::read(data.join("faultbook.db")).expect("db");

    let out = restore_cmd(&data, &dir, false);
    assert!(!out.status.success());
    assert!(said(&out).contains("--force"), "{}", said(&out));
    assert_eq!(
        std::fs::read(data.join("faultbook.db")).expect("db"),
        before,
        "untouched"
    );

    // A backup is never written into a folder that holds something either.
    let out = backup_cmd(&data, &data);
    assert!(!out.status.success());
    assert!(said(&out).contains("not empty"), "{}", said(&out));

    let out = restore_cmd(&data, &dir, true);
    assert!(out.status.success(), "{}", said(&out));
    let aside = std::fs::read_dir(&data)
        .expect("data")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("replaced-"))
        })
        .expect("the old data moved aside");
    assert!(
        aside.join("faultbook.db").is_file(),
        "old database kept in {}",
        aside.display()
    );
}
