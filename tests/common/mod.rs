//! The one way tests start faultbook: the real app on 127.0.0.1:0 with its own temporary data folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use faultbook::config::Config;
use faultbook::startup::Application;
use tempfile::TempDir;

pub struct TestApp {
    pub addr: String,
    pub data: TempDir,
    pub content_dir: PathBuf,
    pub client: reqwest::Client,
    pub app_state: faultbook::web::AppState,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the test server")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.text().await.expect("body is text"))
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.json().await.expect("body is JSON"))
    }
}

pub fn shipped_content() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("content")
}

/// Starts the app with the shipped guides.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_content(shipped_content()).await
}

pub async fn spawn_app_with_content(content_dir: PathBuf) -> TestApp {
    spawn_app_in(tempfile::tempdir().expect("temp dir"), content_dir).await
}

/// Starts the app on an existing data folder (to test what a restart does).
pub async fn spawn_app_in(data: TempDir, content_dir: PathBuf) -> TestApp {
    spawn_app_configured(data, content_dir, |_| {}).await
}

/// Starts the app with the shipped guides and a configuration changed by `tweak`.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_configured(
        tempfile::tempdir().expect("temp dir"),
        shipped_content(),
        tweak,
    )
    .await
}

pub async fn spawn_app_configured(
    data: TempDir,
    content_dir: PathBuf,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config::for_dirs(data.path().to_path_buf(), content_dir.clone());
    tweak(&mut config);
    let app = Application::build(config)
        .await
        .expect("the app starts with valid content");
    let addr = format!("http://{}", app.local_addr());
    let app_state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        addr,
        data,
        content_dir,
        client,
        app_state,
    }
}

/// A content folder holding the given `(relative path, text)` guides.
pub fn content_folder(files: &[(&str, String)]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("file has a folder")).expect("mkdir");
        std::fs::write(path, text).expect("write guide");
    }
    dir
}

/// A valid guide with the given extra front matter lines and body additions.
pub fn guide_text(platform: &str, title: &str, extra_front: &str, extra_body: &str) -> String {
    format!(
        "+++\ntitle = \"{title}\"\nplatform = \"{platform}\"\nproducts = [\"Test 1\"]\nalarms = [\"Bad_Timeout\"]\n{extra_front}updated = 2026-11-20\nlevel = \"beginner\"\nminutes = \"5-10\"\n+++\n\nIntro.\n\n## Symptom\n\nSymptom text.\n\n## Cause\n\n1. Cause.\n\n## Diagnose\n\n1. Look.\n\n## Fix\n\n1. Fix it.\n\n## Verify\n\n1. Check.\n\n## Rollback\n\n1. Undo.\n{extra_body}"
    )
}
