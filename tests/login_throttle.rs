//! Password guessing: guesses are counted before they are checked, one address guessing slows
//! only itself, and the current-password check is throttled like a login. Its own test binary,
//! so that its floods do not share the CPU with the search-latency test in `login_flood.rs`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use faultbook::auth::Role;

/// Guesses sent all at once are counted before any is checked: a burst from one address gets
/// no more checks than guesses sent one by one would, and the account's lock holds after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_are_counted_before_they_are_checked() {
    let app = spawn_app().await;
    let password = user(&app.app_state, "ana", Role::Tech).await;
    let mut tasks = Vec::new();
    for i in 0..100 {
        let url = app.url("/login");
        tasks.push(tokio::spawn(async move {
            client_with(None)
                .post(&url)
                .form(&[
                    ("username", "ana"),
                    ("password", &format!("parallel guess {i}")),
                ])
                .send()
                .await
                .expect("req")
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        checked <= 5,
        "{checked} of 100 parallel guesses were checked; at most 5 may be"
    );
    let res = app
        .anon
        .post(app.url("/login"))
        .form(&[("username", "ana"), ("password", password.as_str())])
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 429, "the right password waits too");
    eprintln!("{checked} of 100 parallel guesses were checked");
}

/// A flood against the admin from one address neither locks the admin out from another
/// address nor makes their login slow.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_from_one_address_leaves_a_user_elsewhere_logging_in_fast() {
    let app =
        spawn_app_with(|c| c.trusted_proxy = vec!["127.0.0.1/32".parse().expect("range")]).await;
    let password = user(&app.app_state, "boss", Role::Admin).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood = Vec::new();
    for worker in 0..8 {
        let url = app.url("/login");
        let stop = stop.clone();
        flood.push(tokio::spawn(async move {
            let c = client_with(None);
            let mut sent = 0u32;
            let mut checked = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let res = c
                    .post(&url)
                    .header("X-Forwarded-For", "203.0.113.9")
                    .form(&[
                        ("username", "boss"),
                        ("password", &format!("flood {worker} {sent}")),
                    ])
                    .send()
                    .await
                    .expect("req");
                sent += 1;
                if res.status().as_u16() == 401 {
                    checked += 1;
                }
                // A guess refused at once would otherwise spin this loop.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (sent, checked)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        let started = Instant::now();
        let res = browser()
            .post(app.url("/login"))
            .header("X-Forwarded-For", "198.51.100.7")
            .form(&[("username", "boss"), ("password", password.as_str())])
            .send()
            .await
            .expect("req");
        let took = started.elapsed();
        assert_eq!(
            res.status().as_u16(),
            303,
            "the admin logs in from another address during the flood"
        );
        slowest = slowest.max(took);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut sent, mut checked) = (0, 0);
    for f in flood {
        let (s, c) = f.await.expect("flood task");
        sent += s;
        checked += c;
    }
    assert!(
        slowest < Duration::from_secs(1),
        "a real login took {slowest:?} during the flood"
    );
    eprintln!(
        "slowest of 3 real logins during a flood of {sent} guesses ({checked} checked): {:.0} ms",
        slowest.as_secs_f64() * 1000.0
    );
}

/// The current-password check on the account page is a password check like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_the_current_password_is_throttled() {
    let app = spawn_app().await;
    let (tina, csrf) = app.logged_in("tina", Role::Tech).await;
    let right = "tina-tina-cabinet-42";
    let change = |current: String| {
        tina.post(app.url("/account/password"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("current", current.as_str()),
                ("password", "new lamp orange cabinet 7"),
                ("password_again", "new lamp orange cabinet 7"),
            ])
            .send()
    };
    for i in 0..40 {
        let status = change(format!("wrong guess {i}"))
            .await
            .expect("req")
            .status()
            .as_u16();
        assert!(status == 422 || status == 429, "{status}");
    }
    let res = change(right.to_string()).await.expect("req");
    assert_eq!(
        res.status().as_u16(),
        429,
        "40 wrong guesses, then the right one must wait"
    );
    assert!(res.headers().contains_key("retry-after"));
}
