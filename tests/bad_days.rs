//! Bad days on the server: the data folder's disk fills up, or it turns read-only. The tech is
//! told plainly that nothing was saved, the log says why, every case acknowledged before is
//! still served, and filing works again as soon as the disk does.
//!
//! The data folder sits on a small tmpfs of its own, so these tests mount one (as root, which
//! the test command runs as on CI).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::process::*;
use common::*;

/// A tmpfs of `mb` megabytes, unmounted when dropped.
struct SmallDisk {
    at: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mb: u32) -> SmallDisk {
        let dir = tempfile::tempdir().expect("temp dir");
        let at = dir.path().to_path_buf();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(&at)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "these tests mount a small tmpfs and need root: {}",
            text(&out.stderr)
        );
        SmallDisk { at, _dir: dir }
    }

    fn remount(&self, mode: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.at)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "remount {mode}: {}",
            text(&out.stderr)
        );
    }

    /// Writes a filler file until the disk refuses; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.at.join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let block = vec![0x5au8; 256 * 1024];
        let mut small = vec![0x5au8; 4096];
        loop {
            if f.write_all(&block).is_err() {
                break;
            }
        }
        // The last pages too, so not even a small write fits.
        while f.write_all(&small).is_ok() {}
        small.truncate(0);
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

/// A server on the small disk, with a tech token made by the command line.
fn server_on(disk: &SmallDisk) -> (Server, String, PathBuf) {
    let data = disk.at.join("data");
    let token = run_ok(
        &data,
        &[
            "token",
            "create",
            "--name",
            "floor-tablet",
            "--role",
            "tech",
        ],
        "",
    )
    .trim()
    .to_string();
    let mut server = Server::start(&data);
    server.listening();
    (server, token, data)
}

fn client(token: &str) -> reqwest::Client {
    client_with(Some(token))
}

async fn case_page(server: &Server, token: &str, id: &str) -> u16 {
    client(token)
        .get(server.url(&format!("/api/cases/{id}")))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

fn ids(cases: &[serde_json::Value]) -> Vec<String> {
    cases
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

async fn file_some(server: &Server, token: &str, prefix: &str, n: u32) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for i in 0..n {
        let (status, case) = file_case_with_photo(
            &client(token),
            &server.base,
            &format!("{prefix}-{i}"),
            "Bad_Timeout on the line 4 gateway",
            jpeg(i + 1),
        )
        .await;
        assert_eq!(status, 201, "{case}");
        out.push(case);
    }
    out
}

fn assert_data_intact(data: &Path) {
    let out = Command::new("sqlite3")
        .arg(data.join("faultbook.db"))
        .arg("PRAGMA integrity_check;")
        .output();
    if let Ok(out) = out {
        if out.status.success() {
            assert_eq!(text(&out.stdout).trim(), "ok");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_new_cases_plainly_keeps_the_old_and_recovers() {
    let disk = SmallDisk::mount(48);
    let (mut server, token, data) = server_on(&disk);
    let before = file_some(&server, &token, "before-full", 3).await;

    let filler = disk.fill();
    let (status, answer) = file_case_with_photo(
        &client(&token),
        &server.base,
        "during-full",
        "Bad_Timeout while the disk is full",
        jpeg(99),
    )
    .await;
    assert_eq!(status, 507, "{answer}");
    let message = answer["error"].as_str().expect("error message");
    assert!(
        message.contains("disk is full") && message.contains("nothing of this was saved"),
        "{message}"
    );
    for id in ids(&before) {
        assert_eq!(
            case_page(&server, &token, &id).await,
            200,
            "case {id} still served"
        );
    }
    let search = client(&token)
        .get(server.url("/api/search?q=Bad_Timeout"))
        .send()
        .await
        .expect("search");
    assert_eq!(search.status().as_u16(), 200, "search still answers");
    let log = server.output();
    assert!(
        log.lines()
            .any(|l| l.contains("status=507") && (l.contains("full") || l.contains("space"))),
        "the log says the disk is full:\n{log}"
    );

    std::fs::remove_file(&filler).expect("free the space");
    let (status, again) = file_case_with_photo(
        &client(&token),
        &server.base,
        "during-full",
        "Bad_Timeout while the disk is full",
        jpeg(99),
    )
    .await;
    assert_eq!(
        status, 201,
        "the same filing, sent again once there is space: {again}"
    );
    let id = again["id"].as_str().expect("id").to_string();
    assert_eq!(case_page(&server, &token, &id).await, 200);
    drop(server);
    assert_data_intact(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_photo_folder_refuses_new_cases_plainly_and_recovers() {
    // A folder with files open for writing cannot be remounted read-only, but the photo folder
    // holds none between filings: it turns read-only under the running server.
    let disk = SmallDisk::mount(48);
    let photos = SmallDisk::mount(16);
    let data = disk.at.join("data");
    let photo_flag = photos.at.to_string_lossy().into_owned();
    let token = run_ok(
        &data,
        &[
            "token",
            "create",
            "--name",
            "floor-tablet",
            "--role",
            "tech",
        ],
        "",
    )
    .trim()
    .to_string();
    let mut server = Server::start_with(&data, &["--photo-dir", &photo_flag]);
    server.listening();
    let before = file_some(&server, &token, "before-ro", 2).await;

    photos.remount("ro");
    let (status, answer) = file_case_with_photo(
        &client(&token),
        &server.base,
        "during-ro",
        "Bad_Timeout while read-only",
        jpeg(42),
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    let message = answer["error"].as_str().expect("error message");
    assert!(message.contains("read-only"), "{message}");
    for case in &before {
        let id = case["id"].as_str().expect("id");
        assert_eq!(
            case_page(&server, &token, id).await,
            200,
            "case {id} still served"
        );
        let photo = case["photos"][0]["id"].as_str().expect("photo");
        let res = client(&token)
            .get(server.url(&format!("/photos/{photo}.jpg")))
            .send()
            .await
            .expect("photo");
        assert_eq!(res.status().as_u16(), 200, "its photo too");
    }
    let log = server.output();
    assert!(
        log.lines()
            .any(|l| l.contains("status=503") && l.to_lowercase().contains("read-only")),
        "the log names the failure:\n{log}"
    );

    photos.remount("rw");
    let (status, again) = file_case_with_photo(
        &client(&token),
        &server.base,
        "during-ro",
        "Bad_Timeout while read-only",
        jpeg(42),
    )
    .await;
    assert_eq!(
        status, 201,
        "filing works again once the folder is writable: {again}"
    );
}

#[test]
fn a_start_on_a_read_only_data_folder_says_so_and_stops() {
    let disk = SmallDisk::mount(48);
    let data = disk.at.join("data");
    run_ok(&data, &["user", "list"], "");
    disk.remount("ro");
    let mut server = Server::start(&data);
    let status = server
        .wait_exit(std::time::Duration::from_secs(30))
        .expect("a server that cannot write stops");
    assert!(!status.success());
    let said = server.output();
    assert!(
        said.contains("cannot be written (it is read-only"),
        "the reason is given:\n{said}"
    );
}
