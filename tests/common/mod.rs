//! The one way tests start faultbook: the real app on 127.0.0.1:0 with its own temporary data folder.
#![allow(dead_code)]

pub mod database;
pub mod editor;
pub mod process;

use std::path::{Path, PathBuf};

use faultbook::auth::Role;
use faultbook::config::Config;
use faultbook::startup::Application;
use tempfile::TempDir;

pub struct TestApp {
    pub addr: String,
    pub data: TempDir,
    pub content_dir: PathBuf,
    /// Sends an admin bearer token: for tests about something other than access.
    pub client: reqwest::Client,
    /// Sends nothing: an anonymous visitor.
    pub anon: reqwest::Client,
    pub app_state: faultbook::web::AppState,
    /// The admin token `client` sends.
    pub admin_token: String,
    /// The first-run link the server printed.
    pub setup_url: Option<String>,
}

/// A client that follows no redirects, optionally with a bearer token on every request.
pub fn client_with(token: Option<&str>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(t) = token {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {t}").parse().expect("header value"),
        );
    }
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client")
}

/// A client that keeps cookies, like a browser.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
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

    /// Files a case through the JSON API as admin, asserts 201, and gives the case's JSON.
    pub async fn file_case(&self, key: &str, body: serde_json::Value) -> serde_json::Value {
        let res = self
            .client
            .post(self.url("/api/cases"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .expect("request reaches the test server");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        assert_eq!(status, 201, "filing {key}: {text}");
        serde_json::from_str(&text).expect("JSON answer")
    }

    /// Files a case with one photo through the API (multipart) as admin; the status and body.
    pub async fn file_case_with_photo(
        &self,
        key: &str,
        alarm: &str,
        photo: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        file_case_with_photo(&self.client, &self.addr, key, alarm, photo).await
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.json().await.expect("body is JSON"))
    }
}

/// Files a case with one photo through the API (multipart) with `client` at `base`.
pub async fn file_case_with_photo(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    alarm: &str,
    photo: Vec<u8>,
) -> (u16, serde_json::Value) {
    let case = serde_json::json!({ "verbatim_alarm": alarm, "outcome": "fixed" });
    let form = reqwest::multipart::Form::new()
        .part(
            "case",
            reqwest::multipart::Part::text(case.to_string())
                .mime_str("application/json")
                .expect("mime"),
        )
        .part(
            "photo",
            reqwest::multipart::Part::bytes(photo)
                .file_name("hmi.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let res = client
        .post(format!("{base}/api/cases"))
        .header("Idempotency-Key", key)
        .multipart(form)
        .send()
        .await
        .expect("request reaches the server");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// A small real JPEG whose pixels depend on `seed`, so each seed gives a different photo.
pub fn jpeg(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([
            (x * 3 + seed) as u8,
            (y * 5 + seed / 7) as u8,
            (seed % 251) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode");
    out.into_inner()
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
    config.database_url = database::url_for(data.path());
    tweak(&mut config);
    let app = Application::build(config)
        .await
        .expect("the app starts with valid content");
    let addr = format!("http://{}", app.local_addr());
    let app_state = app.state.clone();
    let setup_url = app.setup_url.clone();
    tokio::spawn(app.run_until_stopped());
    let admin_token = token(
        &app_state,
        &format!("test-admin-{}", uuid::Uuid::now_v7().simple()),
        Role::Admin,
    )
    .await;
    TestApp {
        addr,
        data,
        content_dir,
        client: client_with(Some(&admin_token)),
        anon: client_with(None),
        app_state,
        admin_token,
        setup_url,
    }
}

/// Creates a bearer token with a role straight in the app's database.
pub async fn token(state: &faultbook::web::AppState, name: &str, role: Role) -> String {
    faultbook::auth::store::create_token(&state.db, name, role, "test")
        .await
        .expect("token created")
        .1
}

/// Creates a user with a role straight in the app's database; the password is `name` repeated
/// to make it long enough, plus a suffix.
pub async fn user(state: &faultbook::web::AppState, name: &str, role: Role) -> String {
    let password = format!("{name}-{name}-cabinet-42");
    let hash = faultbook::auth::password::hash_blocking(&password).expect("hash");
    faultbook::auth::store::add_user(&state.db, name, role, &hash)
        .await
        .expect("user added");
    password
}

impl TestApp {
    /// A cookie-keeping client logged in as a new user with this role, and its form token.
    pub async fn logged_in(&self, name: &str, role: Role) -> (reqwest::Client, String) {
        let password = user(&self.app_state, name, role).await;
        let c = browser();
        let res = c
            .post(self.url("/login"))
            .form(&[
                ("username", name),
                ("password", &password),
                ("next", "/account"),
            ])
            .send()
            .await
            .expect("login request");
        assert_eq!(res.status().as_u16(), 303, "login of {name} succeeds");
        let page = c
            .get(self.url("/account"))
            .send()
            .await
            .expect("account page")
            .text()
            .await
            .expect("text");
        (
            c,
            csrf_in(&page).expect("the account page has a form token"),
        )
    }
}

/// The value of the first `csrf_token` hidden field in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\" value=\"")?;
    let rest = &html[at + "name=\"csrf_token\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
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
        "+++\ntitle = \"{title}\"\nplatform = \"{platform}\"\nproducts = [\"Test 1\"]\nalarms = [\"Bad_Timeout\"]\nsources = [{{ title = \"Test manual\", url = \"https://example.com/manual\" }}]\n{extra_front}updated = 2026-11-20\nlevel = \"beginner\"\nminutes = \"5-10\"\n+++\n\nIntro.\n\n## Symptom\n\nSymptom text.\n\n## Cause\n\n1. Cause.\n\n## Diagnose\n\n1. Look.\n\n## Fix\n\n1. Fix it.\n\n## Verify\n\n1. Check.\n\n## Rollback\n\n1. Undo.\n{extra_body}"
    )
}

/// Sends a request and gives its status code.
pub async fn status(req: reqwest::RequestBuilder) -> u16 {
    req.send()
        .await
        .expect("request reaches the test server")
        .status()
        .as_u16()
}
