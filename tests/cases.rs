mod common;

use std::io::{Cursor, Read, Write};
use std::time::{Duration, Instant};

use common::{spawn_app, spawn_app_in, TestApp};
use image::{DynamicImage, ImageFormat};
use reqwest::multipart::{Form, Part};

const GUIDE: &str = "ignition-opcua-subscription-lost";

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::new_rgb8(w, h)
        .write_to(&mut out, ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// A JPEG with an EXIF block holding an orientation (rotate 90) and a GPS position.
fn jpeg_with_exif_gps(w: u32, h: u32) -> Vec<u8> {
    let mut plain = Cursor::new(Vec::new());
    let mut img = image::RgbImage::new(w, h);
    for (x, _, p) in img.enumerate_pixels_mut() {
        *p = image::Rgb([(x % 255) as u8, 40, 200]);
    }
    DynamicImage::ImageRgb8(img)
        .write_to(&mut plain, ImageFormat::Jpeg)
        .expect("jpeg");
    let plain = plain.into_inner();
    // TIFF, big-endian: IFD0 {Orientation = 6, GPSInfo -> GPS IFD}, GPS IFD {GPSLatitudeRef = "N"}.
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    let gps_offset: u32 = 8 + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1]);
    tiff.extend_from_slice(&gps_offset.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A PNG that declares 20 000 x 20 000 pixels with a small compressed body: a decompression bomb.
fn png_bomb() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&20_000u32.to_be_bytes());
    ihdr.extend_from_slice(&20_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 2_000_000]).expect("zlib");
    chunk(&mut out, b"IDAT", &z.finish().expect("zlib"));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn form(fields: &[(&str, &str)], photos: Vec<(&str, Vec<u8>)>) -> Form {
    let mut f = Form::new();
    for (k, v) in fields {
        f = f.text(k.to_string(), v.to_string());
    }
    for (name, bytes) in photos {
        f = f.part("photo", Part::bytes(bytes).file_name(name.to_string()));
    }
    f
}

async fn post_form(app: &TestApp, path: &str, f: Form) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .multipart(f)
        .send()
        .await
        .expect("request")
}

async fn api_case(app: &TestApp, id: &str) -> serde_json::Value {
    let (status, v) = app.get_json(&format!("/api/cases/{id}")).await;
    assert_eq!(status, 200);
    v
}

fn photo_files(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(app.data.path().join("photos"))
        .expect("photo dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn html_form_files_a_case_with_a_jpeg_whose_exif_and_gps_are_gone() {
    let app = spawn_app().await;
    let (status, html) = app
        .get_text(&format!("/guides/{GUIDE}/cases/new?site=Plant2&line=L3&cell=C07&asset=IGN-GW-02&alarm=Bad_Timeout"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"accept="image/*" capture="environment" multiple"#));
    for v in [
        "value=\"Plant2\"",
        "value=\"L3\"",
        "value=\"C07\"",
        "value=\"IGN-GW-02\"",
        ">Bad_Timeout</textarea>",
    ] {
        assert!(html.contains(v), "prefilled {v}");
    }
    assert!(html.contains("name=\"idempotency_key\" value=\""));

    let jpeg = jpeg_with_exif_gps(400, 200);
    assert!(jpeg.windows(4).any(|w| w == b"Exif"));
    let res = post_form(
        &app,
        &format!("/guides/{GUIDE}/cases"),
        form(
            &[
                ("verbatim_alarm", "Bad_Timeout"),
                ("outcome", "fixed"),
                ("cell", "C07"),
                ("idempotency_key", "k-exif"),
            ],
            vec![("cabinet.jpg", jpeg), ("hmi.png", png(64, 48))],
        ),
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let id = location.trim_start_matches("/cases/");
    let case = api_case(&app, id).await;
    let photos = case["photos"].as_array().expect("photos");
    assert_eq!(photos.len(), 2);
    // EXIF orientation 6 was applied: the 400 x 200 photo now stands upright.
    assert_eq!(
        (photos[0]["width"].as_u64(), photos[0]["height"].as_u64()),
        (Some(200), Some(400))
    );
    for p in photos {
        for key in ["url", "thumbnail_url"] {
            let res = app.get(p[key].as_str().expect("url")).await;
            assert_eq!(res.status().as_u16(), 200);
            assert_eq!(res.headers()["content-type"], "image/jpeg");
            assert_eq!(res.headers()["x-content-type-options"], "nosniff");
            let bytes = res.bytes().await.expect("bytes");
            assert!(
                !bytes.windows(4).any(|w| w == b"Exif"),
                "EXIF removed from {key}"
            );
            assert!(
                !bytes.windows(2).any(|w| w == [0xFF, 0xE1]),
                "no APP1 segment in {key}"
            );
            assert_eq!(
                image::guess_format(&bytes).expect("format"),
                ImageFormat::Jpeg
            );
        }
    }
    let (_, page) = app.get_text(&location).await;
    assert!(page.contains(&format!(
        "{}.thumb.jpg",
        photos[0]["id"].as_str().expect("id")
    )));
    assert!(page.contains(&format!("href=\"/guides/{GUIDE}\"")));
}

#[tokio::test]
async fn a_text_file_named_jpg_is_refused_and_typed_values_are_kept() {
    let app = spawn_app().await;
    let res = post_form(
        &app,
        &format!("/guides/{GUIDE}/cases"),
        form(
            &[
                (
                    "verbatim_alarm",
                    "W [OpcUaConnection] Subscription watchdog timer elapsed",
                ),
                ("outcome", "workaround"),
                ("asset", "IGN-GW-02"),
                ("notes", "rebooted switch <b>"),
                ("idempotency_key", "k-text"),
            ],
            vec![("fake.jpg", b"this is not a photo at all".to_vec())],
        ),
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    let html = res.text().await.expect("html");
    assert!(
        html.contains("fake.jpg is not a JPEG, PNG or WebP image"),
        "reason shown"
    );
    assert!(
        html.contains("id=\"photo-error\""),
        "reason next to the photo field"
    );
    assert!(html.contains("Subscription watchdog timer elapsed</textarea>"));
    assert!(html.contains("value=\"IGN-GW-02\""));
    assert!(html.contains("rebooted switch &#60;b&#62;</textarea>"));
    assert!(html.contains("value=\"workaround\" required checked"));
    assert!(html.contains("value=\"k-text\""), "same key for the retry");
    let (_, list) = app.get_json("/api/cases").await;
    assert_eq!(
        list["cases"].as_array().expect("cases").len(),
        0,
        "nothing stored"
    );
}

#[tokio::test]
async fn a_png_bomb_is_refused_quickly() {
    let app = spawn_app().await;
    let bomb = png_bomb();
    assert!(bomb.len() < 100_000);
    let started = Instant::now();
    let res = post_form(
        &app,
        "/cases",
        form(
            &[("verbatim_alarm", "x"), ("outcome", "fixed")],
            vec![("bomb.png", bomb)],
        ),
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused in {:?}",
        started.elapsed()
    );
    let html = res.text().await.expect("html");
    assert!(
        html.contains("20000 x 20000") || html.contains("larger than 12000"),
        "says why"
    );
}

#[tokio::test]
async fn eleven_photos_and_oversized_photos_are_refused_with_413() {
    let app = spawn_app().await;
    let eleven = (0..11).map(|i| ("p.png", png(8 + i, 8))).collect();
    let res = post_form(
        &app,
        "/cases",
        form(
            &[("verbatim_alarm", "Bad_Timeout"), ("outcome", "fixed")],
            eleven,
        ),
    )
    .await;
    assert_eq!(res.status().as_u16(), 413);
    let html = res.text().await.expect("html");
    assert!(html.contains("At most 10 photos"));
    assert!(html.contains("Bad_Timeout</textarea>"), "typed values kept");

    let big = vec![0u8; 16 * 1024 * 1024];
    let res = post_form(
        &app,
        "/cases",
        form(
            &[("verbatim_alarm", "Bad_Timeout"), ("outcome", "fixed")],
            vec![("big.jpg", big)],
        ),
    )
    .await;
    assert_eq!(res.status().as_u16(), 413);
    assert!(res.text().await.expect("html").contains("over 15 MB"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_60_mb_gets_413_before_it_is_read() {
    let app = spawn_app().await;
    let addr = app.addr.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let head = format!(
        "POST /api/cases HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nIdempotency-Key: big-1\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: {}\r\n\r\n--XYZ\r\n",
        app.admin_token,
        70 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).expect("write");
    let mut buf = [0u8; 2048];
    let n = stream
        .read(&mut buf)
        .expect("the server answers without waiting for 70 MB");
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn the_same_idempotency_key_gives_one_case() {
    let app = spawn_app().await;
    let fields = [
        ("verbatim_alarm", "Bad_Timeout"),
        ("outcome", "fixed"),
        ("idempotency_key", "same-key-1"),
    ];
    let a = post_form(
        &app,
        &format!("/guides/{GUIDE}/cases"),
        form(&fields, vec![("a.png", png(20, 20))]),
    )
    .await;
    let b = post_form(
        &app,
        &format!("/guides/{GUIDE}/cases"),
        form(&fields, vec![("a.png", png(20, 20))]),
    )
    .await;
    assert_eq!(a.status().as_u16(), 303);
    assert_eq!(b.status().as_u16(), 303);
    assert_eq!(a.headers()["location"], b.headers()["location"]);
    let (_, list) = app.get_json("/api/cases").await;
    assert_eq!(list["cases"].as_array().expect("cases").len(), 1);

    // The API: 201, then 200 with the same case; a different body under the key is a 422.
    let body =
        serde_json::json!({"guide": GUIDE, "verbatim_alarm": "Bad_Timeout", "outcome": "fixed"});
    let post = |key: &'static str, body: serde_json::Value| {
        app.client
            .post(app.url("/api/cases"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = post("api-key-1", body.clone()).await.expect("req");
    assert_eq!(first.status().as_u16(), 201);
    let location = first.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let first: serde_json::Value = first.json().await.expect("json");
    assert_eq!(location, first["url"]);
    let again = post("api-key-1", body.clone()).await.expect("req");
    assert_eq!(again.status().as_u16(), 200);
    let again: serde_json::Value = again.json().await.expect("json");
    assert_eq!(first["id"], again["id"]);
    let other = post(
        "api-key-1",
        serde_json::json!({"verbatim_alarm": "other", "outcome": "fixed"}),
    )
    .await
    .expect("req");
    assert_eq!(other.status().as_u16(), 422);
    let missing = app
        .client
        .post(app.url("/api/cases"))
        .json(&body)
        .send()
        .await
        .expect("req");
    assert_eq!(missing.status().as_u16(), 400);
    let (_, list) = app.get_json("/api/cases").await;
    assert_eq!(list["cases"].as_array().expect("cases").len(), 2);
}

#[tokio::test]
async fn twenty_concurrent_submissions_give_twenty_cases() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = app.client.clone();
        let url = app.url("/api/cases");
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("Idempotency-Key", format!("concurrent-{i}"))
                .json(&serde_json::json!({"guide": GUIDE, "verbatim_alarm": format!("Bad_Timeout #{i}"), "outcome": "fixed"}))
                .send()
                .await
                .expect("request")
        }));
    }
    for t in tasks {
        let res = t.await.expect("task");
        let status = res.status().as_u16();
        let body = res.text().await.expect("body");
        assert_eq!(status, 201, "{body}");
        assert!(!body.contains("locked"));
    }
    let (_, list) = app.get_json("/api/cases?limit=100").await;
    assert_eq!(list["cases"].as_array().expect("cases").len(), 20);
}

/// Files a small case with one photo through the multipart API.
async fn api_case_with_photo(app: &TestApp, key: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", key)
        .multipart(
            Form::new()
                .text(
                    "case",
                    r#"{"verbatim_alarm":"Bad_Timeout","outcome":"fixed"}"#,
                )
                .part("photo", Part::bytes(png(30, 30)).file_name("p.png")),
        )
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_failure_between_photo_write_and_commit_leaves_no_case_and_no_file() {
    let app = spawn_app().await;
    app.app_state
        .cases
        .fail_before_commit
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let res = api_case_with_photo(&app, "inject-1").await;
    assert_eq!(res.status().as_u16(), 500);
    let (_, list) = app.get_json("/api/cases").await;
    assert_eq!(list["cases"].as_array().expect("cases").len(), 0);
    assert!(photo_files(&app).is_empty(), "{:?}", photo_files(&app));

    app.app_state
        .cases
        .fail_before_commit
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let res = api_case_with_photo(&app, "inject-1").await;
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(photo_files(&app).len(), 2, "photo and thumbnail");
}

#[tokio::test]
async fn orphan_photo_files_are_removed_at_start() {
    let app = spawn_app().await;
    let res = api_case_with_photo(&app, "keep-1").await;
    assert_eq!(res.status().as_u16(), 201);
    let kept = photo_files(&app);
    let dir = app.data.path().join("photos");
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for name in [format!("{}.jpg", "a".repeat(64)), ".tmp-1-abc".to_string()] {
        let path = dir.join(name);
        std::fs::write(&path, b"left by an interrupted filing").expect("write");
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_modified(two_hours_ago).expect("age the file");
    }
    // A file written a moment ago may be another node's filing in progress: it stays.
    let in_flight = format!("{}.jpg", "b".repeat(64));
    std::fs::write(dir.join(&in_flight), b"being filed elsewhere").expect("write");
    let TestApp {
        data, content_dir, ..
    } = app;
    let restarted = spawn_app_in(data, content_dir).await;
    let mut expected = kept;
    expected.push(in_flight);
    expected.sort();
    let mut now = photo_files(&restarted);
    now.sort();
    assert_eq!(now, expected);
}

#[tokio::test]
async fn verbatim_alarm_is_kept_byte_for_byte_and_faults_are_per_field() {
    let app = spawn_app().await;
    let alarm = "  Bad_Timeout\t(Zähler)  \r\n second line with trailing spaces   ";
    let res = app
        .client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "bytes-1")
        .json(&serde_json::json!({"verbatim_alarm": alarm, "outcome": "escalated", "hour_meter": 15230.5, "part_count": "42"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 201);
    let case: serde_json::Value = res.json().await.expect("json");
    assert_eq!(case["verbatim_alarm"], alarm);
    assert_eq!(case["hour_meter"], 15230.5);
    assert_eq!(case["part_count"], 42);
    assert!(case["guide"].is_null());
    let (_, page) = app.get_text(case["url"].as_str().expect("url")).await;
    assert!(page.contains("<pre class=\"verbatim alarmbox\"><code>  Bad_Timeout\t(Zähler)  \r\n second line with trailing spaces   </code></pre>"));

    let res = app
        .client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "bad-1")
        .json(&serde_json::json!({"verbatim_alarm": "  ", "outcome": "done", "part_count": -1, "guide": "no-such", "site": "x".repeat(300)}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 422);
    let body: serde_json::Value = res.json().await.expect("json");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().expect("name"))
        .collect();
    for f in ["verbatim_alarm", "outcome", "part_count", "guide", "site"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let res = app
        .client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "bad-2")
        .json(&serde_json::json!({"verbatim_alarm": "x", "outcome": "fixed", "colour": "red"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 400, "unknown fields are refused");
}

#[tokio::test]
async fn a_new_case_is_searchable_at_once_and_unsorted_cases_are_listed() {
    let app = spawn_app().await;
    let (_, html) = app.get_text("/search?q=ZX-9%20frobnicator%20stall").await;
    assert!(html.contains("File a case"));
    assert!(html.contains("/cases/new?alarm=ZX-9+frobnicator+stall"));
    let (_, form) = app
        .get_text("/cases/new?alarm=ZX-9+frobnicator+stall")
        .await;
    assert!(form.contains("ZX-9 frobnicator stall</textarea>"));
    assert!(form.contains("action=\"/cases\""));

    let res = post_form(
        &app,
        "/cases",
        form_fields(&[
            ("verbatim_alarm", "ZX-9 frobnicator stall"),
            ("outcome", "not_fixed"),
            ("asset", "PRESS-4"),
        ]),
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let url = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    // Searchable as soon as the answer arrives.
    let (_, found) = app.get_json("/api/search?q=frobnicator").await;
    assert_eq!(found["hits"][0]["kind"], "case", "{found}");
    assert_eq!(found["hits"][0]["url"], url);
    let (_, unsorted) = app.get_text("/cases?guide=none").await;
    assert!(unsorted.contains(&url));
    assert!(unsorted.contains("Unsorted cases"));
    let (_, filed) = app.get_text(&format!("/cases?guide={GUIDE}")).await;
    assert!(!filed.contains(&url));
}

fn form_fields(fields: &[(&str, &str)]) -> Form {
    form(fields, Vec::new())
}

#[tokio::test]
async fn csv_export_escapes_formulas_and_the_guide_shows_its_record() {
    let app = spawn_app().await;
    for (i, (alarm, outcome, fw, cell)) in [
        ("=HYPERLINK(\"http://evil\")", "fixed", "33.011", "C07"),
        ("+1+1", "fixed", "33.015", "C07"),
        ("@SUM(A1)", "not_fixed", "32.0", "C08"),
        ("-2136211456 \"quoted\", comma", "workaround", "", "C07"),
    ]
    .into_iter()
    .enumerate()
    {
        let res = app
            .client
            .post(app.url("/api/cases"))
            .header("Idempotency-Key", format!("csv-{i}"))
            .json(&serde_json::json!({"guide": GUIDE, "verbatim_alarm": alarm, "outcome": outcome, "firmware_revision": fw, "line": "L3", "cell": cell}))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status().as_u16(), 201);
    }
    let res = app.get("/cases.csv").await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/csv"));
    let csv = res.text().await.expect("csv");
    assert!(csv.starts_with("\"id\",\"guide\",\"created_at\""));
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""));
    assert!(csv.contains("\"'+1+1\""));
    assert!(csv.contains("\"'@SUM(A1)\""));
    assert!(csv.contains("\"'-2136211456 \"\"quoted\"\", comma\""));
    assert_eq!(csv.matches("\r\n").count(), 5, "header and four rows");

    let (_, page) = app.get_text(&format!("/guides/{GUIDE}")).await;
    assert!(page.contains("Fixed 2 of 4 times"), "record");
    assert!(page.contains("<code>33.011</code> <code>33.015</code>"));
    assert!(page.contains("L3 C07 (3)"));
    assert!(page.contains(&format!("href=\"/guides/{GUIDE}/cases/new\"")));

    let (_, filtered) = app.get_json("/api/cases?limit=2").await;
    assert_eq!(filtered["cases"].as_array().expect("cases").len(), 2);
    let cursor = filtered["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_string();
    let (_, rest) = app
        .get_json(&format!(
            "/api/cases?limit=2&cursor={}",
            form_urlencoded::byte_serialize(cursor.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(rest["cases"].as_array().expect("cases").len(), 2);
    assert_ne!(rest["cases"][0]["id"], filtered["cases"][0]["id"]);
    let (_, fixed) = app.get_json("/api/cases?outcome=fixed").await;
    assert_eq!(fixed["cases"].as_array().expect("cases").len(), 2);
    let (status, _) = app.get_json("/api/cases?since=yesterday").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn photo_urls_refuse_anything_but_a_hash() {
    let app = spawn_app().await;
    for path in [
        "/photos/..%2F..%2Fetc%2Fpasswd",
        "/photos/faultbook.db",
        &format!("/photos/{}.jpg", "a".repeat(64)),
        "/cases/not-a-uuid",
        "/api/cases/../../etc",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), 404, "{path}");
    }
}

#[tokio::test]
async fn an_unsorted_case_can_be_attached_to_a_guide() {
    let app = spawn_app().await;
    let res = post_form(
        &app,
        "/cases",
        form_fields(&[
            ("verbatim_alarm", "Quuxfault on press 4"),
            ("outcome", "fixed"),
        ]),
    )
    .await;
    let url = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let (_, page) = app.get_text(&url).await;
    assert!(
        page.contains(&format!("action=\"{url}/guide\"")),
        "unsorted cases offer attaching"
    );
    let res = app
        .client
        .post(app.url(&format!("{url}/guide")))
        .form(&[("guide", GUIDE)])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 303);
    let (_, unsorted) = app.get_text("/cases?guide=none").await;
    assert!(!unsorted.contains(&url));
    let (_, guide_page) = app.get_text(&format!("/guides/{GUIDE}")).await;
    assert!(guide_page.contains("Fixed 1 of 1 time"));
    let (_, found) = app.get_json("/api/search?q=Quuxfault").await;
    assert_eq!(
        found["hits"][0]["guide"], GUIDE,
        "the index knows the new guide"
    );
    let res = app
        .client
        .post(app.url(&format!("{url}/guide")))
        .form(&[("guide", "no-such-guide")])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 422);
}

// On PostgreSQL a statement is prepared once per connection with the types of its first binds:
// a case without an hour meter must not make the next one with it fail.
#[tokio::test]
async fn cases_with_and_without_an_hour_meter_file_in_any_order() {
    let app = spawn_app().await;
    for i in 0..40 {
        let mut body = serde_json::json!({"verbatim_alarm": format!("Bad_Timeout meter {i}"), "outcome": "fixed"});
        if i % 3 == 2 {
            body["hour_meter"] = serde_json::json!(15230.5 + f64::from(i));
        }
        let res = app
            .client
            .post(app.url("/api/cases"))
            .header("Idempotency-Key", format!("meter-{i}"))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(
            res.status().as_u16(),
            201,
            "case {i}: {}",
            res.text().await.unwrap_or_default()
        );
    }
}
