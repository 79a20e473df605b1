//! Photos built to exhaust the server: tiny files whose headers claim huge images, cut-off
//! files, and many of them at once. Each is refused from its header, fast, and decoding
//! never holds more memory than the server-wide limit allows.

mod common;

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{spawn_app, TestApp};
use reqwest::multipart::{Form, Part};

/// A valid lossless WebP of 34 bytes that decodes to 11 000 x 11 000 black pixels.
fn webp_bomb() -> Vec<u8> {
    let side = 11_000u32 - 1;
    let bits = side | side << 14; // width - 1, height - 1, no alpha, version 0
    let mut vp8l = vec![0x2f];
    vp8l.extend_from_slice(&bits.to_le_bytes());
    // No transform, no colour cache, one group of five prefix codes that each hold a single
    // symbol: every pixel then takes zero bits, so these few bytes decode to the whole image.
    vp8l.extend_from_slice(&[0x88, 0x88, 0x08]);
    vp8l.extend_from_slice(&[0; 6]);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&((4 + 8 + vp8l.len()) as u32).to_le_bytes());
    out.extend_from_slice(b"WEBPVP8L");
    out.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
    out.extend_from_slice(&vp8l);
    assert_eq!(out.len(), 34);
    out
}

fn jpeg(img: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("jpeg");
    out
}

/// A real 16 x 16 JPEG whose frame header then claims 11 999 x 11 999 pixels.
fn jpeg_bomb() -> Vec<u8> {
    let mut out = jpeg(&image::RgbImage::new(16, 16), 90);
    let sof = out
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("a baseline frame header");
    out[sof + 5..sof + 9].copy_from_slice(&[0x2e, 0xdf, 0x2e, 0xdf]);
    out
}

/// A complete, valid PNG of 12 000 x 12 000 RGBA pixels (576 MB decoded), all zero, which
/// deflate squeezes to about 560 KB. Built once per test binary.
fn png_bomb() -> Vec<u8> {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut crc = crc32fast::Hasher::new();
            crc.update(kind);
            crc.update(data);
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&crc.finalize().to_be_bytes());
        }
        let side = 12_000u32;
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&side.to_be_bytes());
        ihdr.extend_from_slice(&side.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8 bits, RGBA
        chunk(&mut out, b"IHDR", &ihdr);
        let row = vec![0u8; 1 + 4 * side as usize]; // filter byte, then the pixels
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..side {
            z.write_all(&row).expect("zlib");
        }
        chunk(&mut out, b"IDAT", &z.finish().expect("zlib"));
        chunk(&mut out, b"IEND", &[]);
        out
    })
    .clone()
}

fn bombs() -> [(&'static str, Vec<u8>); 3] {
    [
        ("bomb.webp", webp_bomb()),
        ("bomb.jpg", jpeg_bomb()),
        ("bomb.png", png_bomb()),
    ]
}

const CASE: &str = r#"{"verbatim_alarm":"Bad_Timeout","outcome":"fixed"}"#;

async fn api_case_with_photos(
    app: &TestApp,
    key: &str,
    photos: Vec<(&str, Vec<u8>)>,
) -> reqwest::Response {
    let mut form = Form::new().text("case", CASE);
    for (name, bytes) in photos {
        form = form.part("photo", Part::bytes(bytes).file_name(name.to_string()));
    }
    app.client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", key)
        .multipart(form)
        .send()
        .await
        .expect("request reaches the test server")
}

async fn case_count(app: &TestApp) -> usize {
    let (_, list) = app.get_json("/api/cases").await;
    list["cases"].as_array().expect("cases").len()
}

#[tokio::test]
async fn each_bomb_is_refused_from_its_header_within_100_ms() {
    let app = spawn_app().await;
    // Warms the connection and the database, so the times below are the photos' own.
    assert_eq!(case_count(&app).await, 0);
    for (name, bytes) in bombs() {
        // The round trip on loopback bounds the server's time from above.
        let size = bytes.len();
        let started = Instant::now();
        let res = api_case_with_photos(&app, name, vec![(name, bytes)]).await;
        let took = started.elapsed();
        let status = res.status().as_u16();
        let body: serde_json::Value = res.json().await.expect("JSON error");
        assert_eq!(status, 422, "{name}: {body}");
        let error = body["error"].as_str().expect("error text");
        assert!(error.starts_with(name), "names the photo: {error}");
        assert!(error.contains("the limit is 50 megapixels"), "{error}");
        assert!(took < Duration::from_millis(100), "{name} took {took:?}");
        println!("{name} ({size} bytes): refused in {took:?}");
    }
    assert_eq!(case_count(&app).await, 0);
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// Runs one ignored test of this binary in a fresh process and returns the figures it
/// prints (`NAME=value` words on a line starting with `PEAK_RSS_KIB=`). The server runs in
/// that process, so its peak memory is the server's, untouched by other tests' images.
fn figures_of_child(test: &str, envs: &[(&str, &str)]) -> Vec<(String, u64)> {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([test, "--exact", "--ignored", "--nocapture"])
        .envs(envs.iter().copied())
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("PEAK_RSS_KIB="))
        .expect("the child prints its figures");
    println!("{test}: {line}");
    line.split_whitespace()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn figure(figures: &[(String, u64)], name: &str) -> u64 {
    figures
        .iter()
        .find(|(k, _)| k == name)
        .map(|f| f.1)
        .unwrap_or_else(|| panic!("{name} in {figures:?}"))
}

/// Sends eight requests of two photos each at once; gives each answer's status and time.
async fn eight_at_once(app: &TestApp, photos: &[(&'static str, Vec<u8>)]) -> Vec<(u16, Duration)> {
    let requests = (0..8).map(|i| {
        let first = photos[i % photos.len()].clone();
        let second = photos[(i + 1) % photos.len()].clone();
        async move {
            let t = Instant::now();
            let res = api_case_with_photos(app, &format!("par-{i}"), vec![first, second]).await;
            (res.status().as_u16(), t.elapsed())
        }
    });
    futures_util::future::join_all(requests).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run in a fresh process by eight_parallel_requests_of_two_bombs_stay_under_1_gb"]
async fn eight_parallel_bomb_requests_in_this_process() {
    let app = spawn_app().await;
    let answers = eight_at_once(&app, &bombs()).await;
    for (status, _) in &answers {
        assert_eq!(*status, 422, "{answers:?}");
    }
    let slowest = answers.iter().map(|a| a.1).max().unwrap_or_default();
    assert_eq!(case_count(&app).await, 0);
    println!(
        "PEAK_RSS_KIB={} SLOWEST_MS={}",
        peak_rss_kib(),
        slowest.as_millis()
    );
}

#[test]
fn eight_parallel_requests_of_two_bombs_stay_under_1_gb() {
    let figures = figures_of_child("eight_parallel_bomb_requests_in_this_process", &[]);
    let peak_mib = figure(&figures, "PEAK_RSS_KIB") / 1024;
    assert!(peak_mib < 1024, "peak RSS {peak_mib} MiB with 8 x 2 bombs");
}

/// A genuine 48 MP phone photo (8000 x 6000) as a JPEG, built once per test binary (scaled up
/// from a small gradient by the optimised `image` code, since a per-pixel loop here is slow).
fn phone_photo() -> Vec<u8> {
    static PHOTO: OnceLock<Vec<u8>> = OnceLock::new();
    PHOTO
        .get_or_init(|| {
            let small = image::RgbImage::from_fn(250, 188, |x, y| {
                image::Rgb([x as u8, (y * 4 / 3) as u8, ((x + y) / 2) as u8])
            });
            let big =
                image::imageops::resize(&small, 8000, 6000, image::imageops::FilterType::Triangle);
            jpeg(&big, 80)
        })
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run in a fresh process by sixteen_48_mp_photos_at_once_stay_under_1_gb"]
async fn eight_parallel_phone_photo_requests_in_this_process() {
    // Read from a file so that building it does not count towards this process's peak.
    let photo = match std::env::var("PHONE_PHOTO") {
        Ok(path) => std::fs::read(path).expect("the photo file"),
        Err(_) => phone_photo(),
    };
    let app = spawn_app().await;
    let answers = eight_at_once(&app, &[("IMG_0001.jpg", photo)]).await;
    let filed = answers.iter().filter(|a| a.0 == 201).count();
    let busy = answers.iter().filter(|a| a.0 == 503).count();
    assert_eq!(filed + busy, answers.len(), "{answers:?}");
    let slowest = answers.iter().map(|a| a.1).max().unwrap_or_default();
    // The first two photos took free slots and are decoded to the end even when their
    // request was answered busy; taking every slot waits for those decodes to finish.
    drop(app.app_state.cases.decodes.occupy_all().await);
    println!(
        "PEAK_RSS_KIB={} FILED={filed} BUSY={busy} SLOWEST_MS={}",
        peak_rss_kib(),
        slowest.as_millis()
    );
}

#[test]
fn sixteen_48_mp_photos_at_once_stay_under_1_gb() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("IMG_0001.jpg");
    std::fs::write(&path, phone_photo()).expect("photo written");
    let figures = figures_of_child(
        "eight_parallel_phone_photo_requests_in_this_process",
        &[("PHONE_PHOTO", path.to_str().expect("a UTF-8 temp path"))],
    );
    let peak_mib = figure(&figures, "PEAK_RSS_KIB") / 1024;
    assert!(
        peak_mib < 1024,
        "peak RSS {peak_mib} MiB with 8 x 2 photos of 48 MP"
    );
}

#[tokio::test]
async fn a_jpeg_cut_in_half_is_refused_naming_the_photo() {
    let app = spawn_app().await;
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([
            (x * 7 % 251) as u8,
            (y * 5 % 241) as u8,
            ((x ^ y) % 255) as u8,
        ])
    });
    let whole = jpeg(&img, 90);
    let half = whole[..whole.len() / 2].to_vec();
    let res = api_case_with_photos(&app, "cut-1", vec![("cabinet.jpg", half)]).await;
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.expect("JSON error");
    assert_eq!(status, 422, "{body}");
    let error = body["error"].as_str().expect("error text");
    assert!(error.contains("cabinet.jpg is cut off"), "{error}");
    assert_eq!(case_count(&app).await, 0);

    let res = api_case_with_photos(&app, "cut-2", vec![("cabinet.jpg", whole)]).await;
    assert_eq!(res.status().as_u16(), 201, "the whole photo is fine");
}

#[tokio::test]
async fn a_48_megapixel_phone_photo_is_accepted() {
    let app = spawn_app().await;
    let res = api_case_with_photos(&app, "phone-48mp", vec![("IMG_0001.jpg", phone_photo())]).await;
    let status = res.status().as_u16();
    let case: serde_json::Value = res.json().await.expect("case JSON");
    assert_eq!(status, 201, "{case}");
    let photo = &case["photos"][0];
    assert_eq!(
        (photo["width"].as_u64(), photo["height"].as_u64()),
        (Some(2560), Some(1920)),
        "stored at the shrunk size"
    );
}

fn small_png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(40, 30)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

#[tokio::test]
async fn a_busy_server_answers_503_with_retry_after_and_keeps_the_typed_form() {
    let app = spawn_app().await;
    let held = app.app_state.cases.decodes.occupy_all().await;
    let form = Form::new()
        .text("verbatim_alarm", "Bad_Timeout on PLC-7")
        .text("outcome", "workaround")
        .text("asset", "IGN-GW-02")
        .text("idempotency_key", "busy-1")
        .part("photo", Part::bytes(small_png()).file_name("p.png"));
    let started = Instant::now();
    let (html_res, api_res) = tokio::join!(
        app.client.post(app.url("/cases")).multipart(form).send(),
        api_case_with_photos(&app, "busy-api", vec![("p.png", small_png())]),
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "waited for a slot"
    );
    let retry_after = |res: &reqwest::Response| {
        res.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    let res = html_res.expect("request");
    assert_eq!(res.status().as_u16(), 503);
    assert_eq!(retry_after(&res).as_deref(), Some("5"));
    let html = res.text().await.expect("html");
    assert!(html.contains("busy decoding other photos"), "says why");
    assert!(
        html.contains("Bad_Timeout on PLC-7</textarea>"),
        "alarm kept"
    );
    assert!(html.contains("value=\"IGN-GW-02\""), "asset kept");
    assert!(html.contains("value=\"busy-1\""), "same key for the retry");

    assert_eq!(api_res.status().as_u16(), 503);
    assert_eq!(retry_after(&api_res).as_deref(), Some("5"));
    let body: serde_json::Value = api_res.json().await.expect("JSON error");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("busy decoding other photos")),
        "{body}"
    );
    assert_eq!(case_count(&app).await, 0);

    drop(held);
    let res = api_case_with_photos(&app, "busy-api", vec![("p.png", small_png())]).await;
    assert_eq!(
        res.status().as_u16(),
        201,
        "the same request goes through once slots free up"
    );
}
