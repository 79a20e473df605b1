//! The guide editor as a browser reads and sends it: forms parsed from pages, saves, the CLI on
//! the app's data, and waits with a deadline. Shared by the guide editing and content-folder tests.

use std::path::Path;
use std::time::{Duration, Instant};

use super::process::faultbook;
use super::{shipped_content, spawn_app_with_content, TestApp};

pub const SUBS: &str = "ignition-opcua-subscription-lost";
pub const SUBS_FILE: &str = "ignition/ignition-opcua-subscription-lost.md";
/// Fix step 3 of the shipped guide: plain words, so it reads the same in HTML.
pub const OLD_STEP: &str = "Session limit: disconnect clients that do not need this server, so the total stays under the limit with room for one reconnect.";
/// Fix step 5.
pub const OTHER_STEP: &str = "Timeouts: move slow-changing tags to slower Tag Groups to cut the load, and check the server host is not starved of CPU.";

// ---------------------------------------------------------------------------------------------
// Helpers: the editor form as a browser would read and send it.

/// Undoes the HTML escaping of a text or attribute value.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The visible text of some HTML: tags dropped, entities undone, white space collapsed.
pub fn text_of(html: &str) -> String {
    let tags = regex::Regex::new(r"(?s)<[^>]*>").expect("regex");
    unescape(&tags.replace_all(html, ""))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn attr(tag: &str, name: &str) -> Option<String> {
    let re = regex::Regex::new(&format!(r#"(?:^|\s){name}="([^"]*)""#)).expect("regex");
    re.captures(tag).map(|c| unescape(&c[1]))
}

/// One `<form>` as the browser would send it: its action and its named fields in order.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("the form has no field `{name}`: {:?}", self.fields))
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.fields.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.fields.push((name.to_string(), value)),
        }
    }

    /// Replaces `from` with `to` in a field, asserting `from` is there.
    pub fn replace(&mut self, name: &str, from: &str, to: &str) {
        let old = self.get(name).to_string();
        assert!(
            old.contains(from),
            "field `{name}` does not contain {from:?}:\n{old}"
        );
        self.set(name, old.replacen(from, to, 1));
    }

    /// The fields a person typed (not the form token, not the button pressed), by name.
    pub fn typed(&self) -> std::collections::BTreeMap<String, String> {
        self.fields
            .iter()
            .filter(|(k, _)| k != "csrf_token" && k != "action")
            .cloned()
            .collect()
    }
}

/// The guide editor form (`data-guide-editor`) of a page.
pub fn editor_form(html: &str) -> Form {
    let start = html
        .find("data-guide-editor")
        .unwrap_or_else(|| panic!("no editor form on the page:\n{html}"));
    let open = html[..start].rfind("<form").expect("form tag");
    let end = open + html[open..].find("</form>").expect("form end");
    parse_form(&html[open..end])
}

/// A form from its `<form ...>` to (not including) its `</form>`.
pub fn parse_form(form: &str) -> Form {
    let tag_end = form.find('>').expect("form tag end");
    let action = attr(&form[..tag_end], "action").unwrap_or_default();
    let element = regex::Regex::new(
        r"(?s)<input\b([^>]*)>|<textarea\b([^>]*)>(.*?)</textarea>|<select\b([^>]*)>(.*?)</select>",
    )
    .expect("regex");
    let option = regex::Regex::new(r#"<option value="([^"]*)"( selected)?"#).expect("regex");
    let mut fields = Vec::new();
    for c in element.captures_iter(form) {
        if let Some(input) = c.get(1) {
            let tag = input.as_str();
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            if kind == "file" || kind == "submit" {
                continue;
            }
            if let Some(name) = attr(tag, "name") {
                fields.push((name, attr(tag, "value").unwrap_or_default()));
            }
        } else if let Some(area) = c.get(2) {
            if let Some(name) = attr(area.as_str(), "name") {
                fields.push((name, unescape(&c[3])));
            }
        } else if let Some(select) = c.get(4) {
            if let Some(name) = attr(select.as_str(), "name") {
                let chosen = option
                    .captures_iter(&c[5])
                    .find(|o| o.get(2).is_some())
                    .map(|o| unescape(&o[1]))
                    .unwrap_or_default();
                fields.push((name, chosen));
            }
        }
    }
    Form {
        action: unescape(&action),
        fields,
    }
}

/// Every form on a page whose action matches `pattern` (a regex), with the action's captures.
pub fn forms_matching(html: &str, pattern: &str) -> Vec<(Form, Vec<String>)> {
    let re = regex::Regex::new(pattern).expect("regex");
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = html[at..].find("<form") {
        let open = at + found;
        let end = open + html[open..].find("</form>").expect("form end");
        let form = parse_form(&html[open..end]);
        if let Some(c) = re.captures(&form.action) {
            let caps = c
                .iter()
                .skip(1)
                .map(|m| m.map_or(String::new(), |m| m.as_str().to_string()))
                .collect();
            out.push((form, caps));
        }
        at = end;
    }
    out
}

pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

pub async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> Answer {
    answer(client.get(app.url(path)).send().await.expect("request")).await
}

pub async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().expect("ascii").to_string());
    Answer {
        status,
        location,
        body: res.text().await.expect("text"),
    }
}

/// Sends a form as the browser would (the button's `action` value set by the caller).
pub async fn submit(app: &TestApp, client: &reqwest::Client, form: &Form) -> Answer {
    answer(
        client
            .post(app.url(&form.action))
            .form(&form.fields)
            .send()
            .await
            .expect("request"),
    )
    .await
}

/// Opens an editor page, asserts 200, and gives its form.
pub async fn open_editor(app: &TestApp, client: &reqwest::Client, path: &str) -> Form {
    let page = get(app, client, path).await;
    assert_eq!(page.status, 200, "GET {path}: {}", page.body);
    editor_form(&page.body)
}

/// Opens the edit form of `slug`, lets `change` alter it, saves, asserts 303, gives the answer.
pub async fn edit_and_save(
    app: &TestApp,
    client: &reqwest::Client,
    slug: &str,
    change: impl FnOnce(&mut Form),
) -> Answer {
    let mut form = open_editor(app, client, &format!("/guides/{slug}/edit")).await;
    change(&mut form);
    form.set("action", "save");
    let saved = submit(app, client, &form).await;
    assert_eq!(saved.status, 303, "saving {slug}: {}", saved.body);
    saved
}

/// The `saved` revision number a redirect after a save carries.
pub fn saved_revision(location: &str) -> i64 {
    let query = location.split_once('?').expect("a query").1;
    let query = query.split('#').next().unwrap_or(query);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "saved")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no saved=N in {location}"))
}

/// The guide page as an anonymous reader sees it (200 asserted).
pub async fn reader_page(app: &TestApp, slug: &str) -> String {
    let page = get(app, &app.anon, &format!("/guides/{slug}")).await;
    assert_eq!(page.status, 200, "guide page of {slug}");
    page.body
}

/// A revision's text as `/guides/{slug}/revisions/{rev}` shows it.
pub async fn revision_text(app: &TestApp, slug: &str, rev: i64) -> String {
    let page = get(app, &app.client, &format!("/guides/{slug}/revisions/{rev}")).await;
    assert_eq!(page.status, 200, "revision {rev}: {}", page.body);
    let re = regex::Regex::new(r#"(?s)<pre[^>]*id="revision-text"[^>]*>(.*?)</pre>"#).expect("re");
    unescape(
        &re.captures(&page.body)
            .unwrap_or_else(|| panic!("no revision text:\n{}", page.body))[1],
    )
}

/// Polls `check` every 50 ms until it holds or `limit` passes; gives the time it took.
pub async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        if start.elapsed() > limit {
            panic!("{what}: not within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A writable copy of the shipped content folder, and an app serving it.
pub async fn app_on_copied_content() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&shipped_content(), dir.path());
    let app = spawn_app_with_content(dir.path().to_path_buf()).await;
    (app, dir)
}

/// Runs the built binary; gives its exit success and output.
pub async fn run_cli(cmd: std::process::Command) -> (bool, String) {
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = cmd;
        cmd.output().expect("the binary runs")
    })
    .await
    .expect("join");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `faultbook export DIR` on the app's data folder.
pub async fn export(app: &TestApp) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("temp dir");
    let mut cmd = faultbook(app.data.path());
    cmd.arg("--content-dir")
        .arg(&app.content_dir)
        .arg("export")
        .arg(out.path());
    let (ok, text) = run_cli(cmd).await;
    assert!(ok, "faultbook export failed:\n{text}");
    out
}

/// `faultbook --content-dir DIR check`: success and output.
pub async fn check(dir: &Path) -> (bool, String) {
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = faultbook(data.path());
    cmd.arg("--content-dir").arg(dir).arg("check");
    run_cli(cmd).await
}

/// The slugs a search answers with, in order.
pub async fn search_slugs(app: &TestApp, q: &str) -> Vec<String> {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (status, body) = app.get_json(&format!("/api/search?q={q}")).await;
    assert_eq!(status, 200, "{body}");
    body["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .filter_map(|h| h["slug"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The decision form of a waiting revision on the review page, for `slug`.
pub fn decision_form(review: &str, slug: &str) -> Option<(Form, i64)> {
    forms_matching(
        review,
        &format!(r"^/guides/{slug}/revisions/(\d+)/decision$"),
    )
    .into_iter()
    .next()
    .map(|(f, caps)| (f, caps[0].parse().expect("number")))
}

/// Sends a decision form with `decision` and `note`; gives the answer.
pub async fn decide(
    app: &TestApp,
    client: &reqwest::Client,
    mut form: Form,
    decision: &str,
    note: &str,
) -> Answer {
    form.set("decision", decision);
    form.set("note", note);
    submit(app, client, &form).await
}

/// The `<section id="suggestions">` part of the account page, as text.
pub async fn suggestions_on_account(app: &TestApp, client: &reqwest::Client) -> String {
    let page = get(app, client, "/account").await;
    assert_eq!(page.status, 200);
    let at = page
        .body
        .find("id=\"suggestions\"")
        .unwrap_or_else(|| panic!("no #suggestions on the account page:\n{}", page.body));
    let end = page.body[at..]
        .find("</section>")
        .map_or(page.body.len(), |e| at + e);
    text_of(&page.body[at..end])
}

pub fn last_change(html: &str) -> String {
    let re = regex::Regex::new(r#"(?s)<p[^>]*id="last-change"[^>]*>(.*?)</p>"#).expect("re");
    text_of(
        &re.captures(html)
            .unwrap_or_else(|| panic!("no Last changed line:\n{html}"))[1],
    )
}
