//! The first minutes of a newcomer: the real binary, its setup link, and the account commands.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_faultbook");
const CONTENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/content");
const PASSWORD: &str = "cabinet lamp orange 42";

/// A line the server printed, on stdout or stderr. The two streams are read by two threads,
/// so lines of one may arrive before earlier lines of the other.
#[derive(Debug)]
enum Line {
    Out(String),
    Err(String),
}

impl Line {
    fn text(&self) -> &str {
        match self {
            Line::Out(s) | Line::Err(s) => s,
        }
    }
}

/// A running `faultbook serve`; killed when dropped, also when a test panics.
struct Server {
    child: Child,
    lines: Receiver<Line>,
    /// Every line read so far, for failure messages.
    seen: Vec<Line>,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// The binary with a clean environment for the settings the tests choose themselves.
fn faultbook(data: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for var in [
        "DATABASE_URL",
        "FAULTBOOK_ADDR",
        "FAULTBOOK_DATA",
        "FAULTBOOK_CONTENT",
        "FAULTBOOK_PHOTOS",
        "FAULTBOOK_BASE_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.arg("--data-dir").arg(data);
    cmd
}

fn forward(stream: impl std::io::Read + Send + 'static, tx: mpsc::Sender<Line>, out: bool) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let line = if out {
                Line::Out(line)
            } else {
                Line::Err(line)
            };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

impl Server {
    /// Starts `faultbook serve` on a free port with the shipped guides.
    fn start(data: &Path) -> Server {
        let port = free_port();
        let mut child = faultbook(data)
            .arg("--content-dir")
            .arg(CONTENT)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("serve")
            .env("RUST_LOG", "info,tantivy=warn,sqlx=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the faultbook binary starts");
        let (tx, lines) = mpsc::channel();
        forward(child.stdout.take().expect("stdout"), tx.clone(), true);
        forward(child.stderr.take().expect("stderr"), tx, false);
        Server {
            child,
            lines,
            seen: Vec::new(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The first line, read before or arriving within `limit`, that satisfies `want`; panics
    /// with everything seen when there is none.
    fn wait_for(&mut self, what: &str, limit: Duration, want: impl Fn(&Line) -> bool) -> String {
        if let Some(line) = self.seen.iter().find(|l| want(l)) {
            return line.text().to_string();
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = want(&line);
                    let text = line.text().to_string();
                    self.seen.push(line);
                    if hit {
                        return text;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "waited {limit:?} for {what} from faultbook serve; it printed:\n{:#?}",
                    self.seen
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "faultbook serve ended ({:?}) before printing {what}; it printed:\n{:#?}",
                    self.child.try_wait(),
                    self.seen
                ),
            }
        }
    }

    /// Whatever arrives within `d`, without waiting for anything in particular.
    fn drain(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(line);
        }
    }

    /// The first-run link from stdout.
    fn setup_url(&mut self) -> String {
        let line = self.wait_for(
            "the setup link on stdout",
            Duration::from_secs(60),
            |l| matches!(l, Line::Out(s) if s.contains("/setup/")),
        );
        let url = line.trim().to_string();
        let token = url
            .strip_prefix(&format!("{}/setup/", self.base))
            .unwrap_or_else(|| panic!("`{url}` is not a setup link on {}", self.base));
        assert_eq!(token.len(), 48, "{url}");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
        url
    }

    /// Waits for the log line saying the server listens (the log goes to stderr).
    fn listening(&mut self) {
        self.wait_for(
            "the `listening` log line on stderr",
            Duration::from_secs(60),
            |l| matches!(l, Line::Err(s) if s.contains("listening on")),
        );
    }
}

/// Runs a subcommand to its end, with `stdin` piped in.
fn run(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = faultbook(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the faultbook binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("faultbook ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a subcommand that must succeed; returns its stdout.
fn run_ok(data: &Path, args: &[&str], stdin: &str) -> String {
    let out = run(data, args, stdin);
    assert!(
        out.status.success(),
        "faultbook {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The `faultbook=...` pair of a `Set-Cookie` header.
fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("faultbook=") && !v.starts_with("faultbook=;"))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie in {:?}", res.headers()))
        .to_string()
}

/// Opens the setup link, creates the admin `boss`, and returns the session cookie.
async fn complete_setup(url: &str) -> String {
    let c = client_with(None);
    let res = c.get(url).send().await.expect("setup page");
    assert_eq!(res.status().as_u16(), 200, "the setup link opens");
    let page = res.text().await.expect("html");
    let path = url
        .find("/setup/")
        .map(|at| &url[at..])
        .expect("a setup path");
    assert!(
        page.contains(&format!("action=\"{path}\"")),
        "the page has the form"
    );
    for field in [
        "name=\"username\"",
        "name=\"password\"",
        "name=\"password_again\"",
    ] {
        assert!(page.contains(field), "the form has {field}");
    }
    let res = c
        .post(url)
        .form(&[
            ("username", "boss"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .expect("setup post");
    assert_eq!(res.status().as_u16(), 303, "the admin is created");
    assert_eq!(res.headers()["location"], "/account");
    session_cookie(&res)
}

// Without this, someone installing faultbook would start it and find no way in: no link, a
// link to the wrong port, a form that does not log them in, or a link that still works for
// whoever reads the console later.
#[tokio::test]
async fn a_first_start_prints_a_setup_link_that_makes_the_admin_once() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(data.path());
    let url = server.setup_url();
    server.listening();
    let cookie = complete_setup(&url).await;

    let c = client_with(None);
    let res = c
        .get(server.url("/account"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .expect("account page");
    assert_eq!(res.status().as_u16(), 200, "the cookie logs the admin in");
    let page = res.text().await.expect("html");
    assert!(page.contains("<h1>boss</h1>"), "shows the name");
    assert!(
        page.contains("<strong>admin</strong>"),
        "shows the admin role"
    );

    for method in ["GET", "POST"] {
        let req = match method {
            "GET" => c.get(&url),
            _ => c.post(&url).form(&[
                ("username", "intruder"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ]),
        };
        let res = req.send().await.expect("setup link again");
        assert_eq!(res.status().as_u16(), 404, "{method} on a used setup link");
    }
    let out = run_ok(data.path(), &["user", "list"], "");
    assert!(!out.contains("intruder"), "{out}");
}

// Without this, every restart of a running plant server would print a fresh setup link to
// the console (and its logs), a standing invitation to make another admin.
#[tokio::test]
async fn a_restart_with_an_admin_prints_no_setup_link() {
    let data = tempfile::tempdir().expect("temp dir");
    let old_url = {
        let mut first = Server::start(data.path());
        let url = first.setup_url();
        first.listening();
        complete_setup(&url).await;
        url
    };

    let mut again = Server::start(data.path());
    again.listening();
    // The setup block is printed before the log line; give its pipe a moment to catch up.
    again.drain(Duration::from_secs(2));
    let printed: Vec<&str> = again.seen.iter().map(Line::text).collect();
    assert!(
        !printed
            .iter()
            .any(|l| l.contains("/setup/") || l.contains("no admin yet")),
        "a setup link was printed again: {printed:#?}"
    );
    // The new server answers, and the old link's token means nothing to it.
    let c = client_with(None);
    let res = c.get(again.url("/healthz")).send().await.expect("health");
    assert_eq!(res.status().as_u16(), 200);
    let token = &old_url[old_url.find("/setup/").expect("path")..];
    let res = c.get(again.url(token)).send().await.expect("setup");
    assert_eq!(res.status().as_u16(), 404);
}

// Without this, an admin scripting accounts on the server would find that piped passwords,
// weak-password refusals, token secrets, revocation or disabling do not do what they say:
// a revoked MES token that still writes, or a dismissed colleague still logged in.
#[tokio::test]
async fn accounts_and_tokens_from_the_command_line_take_effect_on_the_running_app() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path().to_path_buf();

    let out = run_ok(
        &dir,
        &["user", "add", "ana", "--role", "tech"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.contains("ana"), "{out}");
    let short = run(&dir, &["user", "add", "bob", "--role", "tech"], "short\n");
    assert!(!short.status.success(), "a short password is refused");
    let said = format!("{}{}", text(&short.stdout), text(&short.stderr));
    assert!(said.contains("12"), "says the minimum length: {said}");

    let users = run_ok(&dir, &["user", "list"], "");
    let ana = users
        .lines()
        .find(|l| l.split_whitespace().next() == Some("ana"))
        .unwrap_or_else(|| panic!("ana is listed: {users}"));
    assert!(ana.split_whitespace().any(|w| w == "tech"), "{ana}");
    assert!(
        !users
            .lines()
            .any(|l| l.split_whitespace().next() == Some("bob")),
        "bob was not added: {users}"
    );

    let secret = run_ok(
        &dir,
        &["token", "create", "--name", "mes4", "--role", "tech"],
        "",
    )
    .trim()
    .to_string();
    assert!(
        secret.starts_with("fbt_"),
        "the secret is printed: {secret}"
    );
    assert!(!secret.contains(char::is_whitespace), "{secret}");
    let tokens = run_ok(&dir, &["token", "list"], "");
    assert!(
        tokens
            .lines()
            .any(|l| l.split_whitespace().next() == Some("mes4")),
        "{tokens}"
    );
    assert!(!tokens.contains(&secret), "never the secret: {tokens}");
    assert!(!tokens.contains("fbt_"), "not even its start: {tokens}");

    let app = spawn_app_in(data, shipped_content()).await;

    let ana = browser();
    let res = ana
        .post(app.url("/login"))
        .form(&[("username", "ana"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 303, "ana logs in");
    let res = ana.get(app.url("/cases")).send().await.expect("cases");
    assert_eq!(res.status().as_u16(), 200, "ana reads cases");

    let mes = client_with(Some(&secret));
    let res = mes
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "mes4-1")
        .json(&serde_json::json!({"verbatim_alarm": "Bad_Timeout from MES line 4", "outcome": "escalated"}))
        .send()
        .await
        .expect("file a case");
    assert_eq!(res.status().as_u16(), 201, "the token files a case");
    let case: serde_json::Value = res.json().await.expect("json");
    assert_eq!(case["verbatim_alarm"], "Bad_Timeout from MES line 4");
    let res = mes.get(app.url("/api/cases")).send().await.expect("list");
    assert_eq!(res.status().as_u16(), 200);

    run_ok(&dir, &["token", "revoke", "mes4"], "");
    let res = mes.get(app.url("/api/cases")).send().await.expect("list");
    assert_eq!(res.status().as_u16(), 401, "a revoked token is refused");
    let res = mes
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "mes4-2")
        .json(&serde_json::json!({"verbatim_alarm": "after revoke", "outcome": "fixed"}))
        .send()
        .await
        .expect("file a case");
    assert_eq!(res.status().as_u16(), 401, "and may not write");
    let tokens = run_ok(&dir, &["token", "list"], "");
    assert!(tokens.contains("revoked"), "{tokens}");

    run_ok(&dir, &["user", "disable", "ana"], "");
    let res = ana.get(app.url("/cases")).send().await.expect("cases");
    assert_eq!(res.status().as_u16(), 303, "ana's session has ended");
    let location = res.headers()["location"].to_str().expect("ascii");
    assert!(location.starts_with("/login"), "{location}");
    let res = browser()
        .post(app.url("/login"))
        .form(&[("username", "ana"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 401, "and she cannot log in again");
}
