//! Images in guides: editors upload screenshots, which are checked and re-encoded like case
//! photos (PNG staying PNG), stored by hash and served to guide readers; `content/images/`
//! imports and exports the same way.

mod common;

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use common::{spawn_app, token, TestApp};
use faultbook::auth::Role;
use faultbook::content::images::{self, GuideImageStore};
use image::{DynamicImage, ImageFormat};
use reqwest::multipart::{Form, Part};

fn png_chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// The chunk types of a PNG, in order.
fn png_chunks(bytes: &[u8]) -> Vec<String> {
    let mut rest = &bytes[8..];
    let mut kinds = Vec::new();
    while rest.len() >= 12 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        kinds.push(String::from_utf8_lossy(&rest[4..8]).into_owned());
        rest = &rest[12 + len..];
    }
    kinds
}

/// A screenshot-like PNG (text-ish pixels) with a tEXt and an eXIf chunk after its header.
fn screenshot_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        if (x / 3 + y / 5) % 4 == 0 {
            image::Rgba([20, 20, 20, 255])
        } else {
            image::Rgba([240, 240, 240, 255])
        }
    });
    let mut plain = Cursor::new(Vec::new());
    DynamicImage::ImageRgba8(img)
        .write_to(&mut plain, ImageFormat::Png)
        .expect("png");
    let plain = plain.into_inner();
    // Signature and IHDR (8 + 25 bytes), then the metadata, then the rest.
    let mut out = plain[..33].to_vec();
    png_chunk(&mut out, b"tEXt", b"Author\0Jane Operator, Plant 2");
    png_chunk(&mut out, b"eXIf", b"MM\0\x2a\0\0\0\x08\0\0\0\0\0\0");
    out.extend_from_slice(&plain[33..]);
    assert!(png_chunks(&out).contains(&"tEXt".to_string()));
    out
}

/// A JPEG with an EXIF block holding a GPS position.
fn jpeg_with_exif_gps(w: u32, h: u32) -> Vec<u8> {
    let mut plain = Cursor::new(Vec::new());
    let img = image::RgbImage::from_fn(w, h, |x, _| image::Rgb([(x % 255) as u8, 40, 200]));
    DynamicImage::ImageRgb8(img)
        .write_to(&mut plain, ImageFormat::Jpeg)
        .expect("jpeg");
    let plain = plain.into_inner();
    // TIFF, big-endian: IFD0 {GPSInfo -> GPS IFD}, GPS IFD {GPSLatitudeRef = "N"}.
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
    tiff.extend_from_slice(&1u16.to_be_bytes());
    let gps_offset: u32 = 8 + 2 + 12 + 4;
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

/// A valid PNG claiming 20 000 x 20 000 pixels in a small file: a decompression bomb.
fn png_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&20_000u32.to_be_bytes());
    ihdr.extend_from_slice(&20_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 2_000_000]).expect("zlib");
    png_chunk(&mut out, b"IDAT", &z.finish().expect("zlib"));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn stored_files(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(app.data.path().join("guide-images"))
        .expect("guide image folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

async fn upload_with(
    client: &reqwest::Client,
    app: &TestApp,
    file_name: &str,
    bytes: Vec<u8>,
) -> (u16, serde_json::Value) {
    let form = Form::new().part("image", Part::bytes(bytes).file_name(file_name.to_string()));
    let res = client
        .post(app.url("/guides/images"))
        .multipart(form)
        .send()
        .await
        .expect("request reaches the test server");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

async fn editor(app: &TestApp) -> reqwest::Client {
    common::client_with(Some(&token(&app.app_state, "ed", Role::Editor).await))
}

#[tokio::test]
async fn an_editor_uploads_a_png_screenshot_served_as_png_without_text_or_exif_chunks() {
    let app = spawn_app().await;
    let client = editor(&app).await;
    let (status, body) =
        upload_with(&client, &app, "OPC dialog.png", screenshot_png(320, 200)).await;
    assert_eq!(status, 201, "{body}");
    let name = body["name"].as_str().expect("name");
    assert!(
        images::is_image_name(name) && name.ends_with(".png"),
        "{name}"
    );
    assert_eq!(body["url"], format!("/guides/images/{name}"));
    assert_eq!(
        body["markdown"],
        format!("![OPC dialog](/guides/images/{name})")
    );
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(320), Some(200))
    );

    let res = client
        .get(app.url(&format!("/guides/images/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let cache = res.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(
        cache.contains("max-age=31536000") && cache.contains("immutable"),
        "{cache}"
    );
    let bytes = res.bytes().await.unwrap();
    assert_eq!(image::guess_format(&bytes).unwrap(), ImageFormat::Png);
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (320, 200));
    let chunks = png_chunks(&bytes);
    assert!(
        !chunks
            .iter()
            .any(|c| c == "tEXt" || c == "eXIf" || c == "iTXt" || c == "zTXt"),
        "{chunks:?}"
    );
    assert!(!bytes.windows(8).any(|w| w == b"Operator"));

    // The upload is in the audit log.
    let entries = faultbook::auth::audit::list(
        &app.app_state.db,
        &faultbook::auth::audit::AuditFilter {
            action: Some("guide.image".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target, name);
}

#[tokio::test]
async fn a_jpeg_with_exif_gps_is_served_as_jpeg_without_exif() {
    let app = spawn_app().await;
    let jpeg = jpeg_with_exif_gps(300, 150);
    assert!(jpeg.windows(4).any(|w| w == b"Exif"));
    let (status, body) = upload_with(&app.client, &app, "cabinet.jpg", jpeg).await;
    assert_eq!(status, 201, "{body}");
    let name = body["name"].as_str().unwrap();
    assert!(name.ends_with(".jpg"), "{name}");
    let res = app.get(&format!("/guides/images/{name}")).await;
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let bytes = res.bytes().await.unwrap();
    assert_eq!(image::guess_format(&bytes).unwrap(), ImageFormat::Jpeg);
    assert!(!bytes.windows(4).any(|w| w == b"Exif"), "EXIF removed");
    assert!(
        !bytes.windows(2).any(|w| w == [0xFF, 0xE1]),
        "no APP1 segment"
    );
}

#[tokio::test]
async fn the_same_image_twice_is_one_file_under_one_name() {
    let app = spawn_app().await;
    let png = screenshot_png(100, 60);
    let (s1, first) = upload_with(&app.client, &app, "a.png", png.clone()).await;
    let (s2, second) = upload_with(&app.client, &app, "b.png", png).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first["name"], second["name"]);
    assert_eq!(
        stored_files(&app),
        vec![first["name"].as_str().unwrap().to_string()]
    );
}

#[tokio::test]
async fn a_text_file_named_png_is_refused_with_a_message_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (status, body) = upload_with(
        &app.client,
        &app,
        "notes.png",
        b"just some notes, not a picture".to_vec(),
    )
    .await;
    assert!((400..500).contains(&status), "{status} {body}");
    let message = body["error"].as_str().expect("a JSON error");
    assert!(
        message.contains("notes.png") && message.contains("not a JPEG, PNG or WebP"),
        "{message}"
    );
    assert!(stored_files(&app).is_empty());
}

#[tokio::test]
async fn a_bomb_and_an_oversized_file_are_refused_quickly_and_nothing_is_stored() {
    let app = spawn_app().await;
    let started = Instant::now();
    let (status, body) = upload_with(&app.client, &app, "bomb.png", png_bomb()).await;
    // Too many pixels answers as case photos do: 422, naming the size.
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("20000 x 20000"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let mut big = screenshot_png(16, 16);
    big.resize(images::MAX_BYTES + 1024, 0);
    let (status, body) = upload_with(&app.client, &app, "big.png", big).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].as_str().unwrap().contains("10 MB"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(stored_files(&app).is_empty());
}

#[tokio::test]
async fn techs_and_anonymous_callers_cannot_upload() {
    let app = spawn_app().await;
    let tech = common::client_with(Some(&token(&app.app_state, "t", Role::Tech).await));
    let (status, body) = upload_with(&tech, &app, "a.png", screenshot_png(40, 30)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = upload_with(&app.anon, &app, "a.png", screenshot_png(40, 30)).await;
    assert_eq!(status, 401, "{body}");
    assert!(stored_files(&app).is_empty());
}

#[tokio::test]
async fn a_browser_upload_needs_the_form_token() {
    let app = spawn_app().await;
    let (browser, csrf) = app.logged_in("editor-anna", Role::Editor).await;
    let (status, body) = upload_with(&browser, &app, "a.png", screenshot_png(40, 30)).await;
    assert_eq!(status, 403, "no token: {body}");
    assert!(stored_files(&app).is_empty());

    let form = Form::new().text("csrf_token", csrf.clone()).part(
        "image",
        Part::bytes(screenshot_png(40, 30)).file_name("a.png"),
    );
    let res = browser
        .post(app.url("/guides/images"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201, "token as the first part");

    let form = Form::new().part(
        "image",
        Part::bytes(screenshot_png(41, 30)).file_name("b.png"),
    );
    let res = browser
        .post(app.url("/guides/images"))
        .header("x-csrf-token", csrf)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201, "token in the header");
    assert_eq!(stored_files(&app).len(), 2);
}

#[tokio::test]
async fn bad_names_are_404_and_reach_no_file() {
    let app = spawn_app().await;
    let (status, body) = upload_with(&app.client, &app, "a.png", screenshot_png(40, 30)).await;
    assert_eq!(status, 201);
    let name = body["name"].as_str().unwrap();
    let stem = name.trim_end_matches(".png");
    for path in [
        "/guides/images/..%2F..%2Fetc%2Fpasswd".to_string(),
        "/guides/images/../photos/x.jpg".to_string(),
        format!("/guides/images/{stem}.jpg"),
        format!("/guides/images/{}.png", stem.to_uppercase()),
        format!("/guides/images/{stem}"),
        "/guides/images/nothing.png".to_string(),
        format!("/guides/images/{}.png", "0".repeat(64)),
    ] {
        let res = app.get(&path).await;
        assert_eq!(res.status().as_u16(), 404, "{path}");
    }
    assert_eq!(
        app.get(&format!("/guides/images/{name}"))
            .await
            .status()
            .as_u16(),
        200
    );
    // Readers of guides may fetch images; the anonymous only when guides are public.
    let tech = common::client_with(Some(&token(&app.app_state, "t", Role::Tech).await));
    let res = tech
        .get(app.url(&format!("/guides/images/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let res = app
        .anon
        .get(app.url(&format!("/guides/images/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "guides are public by default");
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("public"));
}

#[tokio::test]
async fn when_guides_are_not_public_only_readers_fetch_images_and_caches_keep_them_private() {
    let app = common::spawn_app_with(|c| c.guides_public = false).await;
    let (status, body) = upload_with(&app.client, &app, "a.png", screenshot_png(40, 30)).await;
    assert_eq!(status, 201, "{body}");
    let path = format!("/guides/images/{}", body["name"].as_str().unwrap());
    let res = app.anon.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let res = app.get(&path).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("private"));
}

#[test]
fn content_images_import_and_export_round_trip() {
    let content = tempfile::tempdir().unwrap();
    let images_dir = content.path().join("images");
    std::fs::create_dir_all(&images_dir).unwrap();
    std::fs::write(images_dir.join("dialog.png"), screenshot_png(120, 80)).unwrap();
    std::fs::write(images_dir.join("cabinet.jpg"), jpeg_with_exif_gps(90, 60)).unwrap();
    std::fs::write(images_dir.join("README.txt"), b"screenshots for the guides").unwrap();

    let data = tempfile::tempdir().unwrap();
    let store = GuideImageStore::open(&data.path().join("guide-images")).unwrap();
    let report = store.import_dir(&images_dir).unwrap();
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert_eq!(report.refused[0].0, "README.txt");
    assert_eq!(report.stored.len(), 2, "{report:?}");
    let names: Vec<&str> = report.stored.iter().map(|(_, n)| n.as_str()).collect();
    for name in &names {
        let bytes = std::fs::read(store.path(name).unwrap()).unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"Exif"));
        assert!(!bytes.windows(4).any(|w| w == b"tEXt"));
    }

    let out = tempfile::tempdir().unwrap();
    assert_eq!(
        store.export_to(names.iter().copied(), out.path()).unwrap(),
        2
    );
    for name in &names {
        assert_eq!(
            std::fs::read(out.path().join("images").join(name)).unwrap(),
            std::fs::read(store.path(name).unwrap()).unwrap(),
            "{name} exported byte for byte"
        );
    }

    // The export imports into a fresh store under the same names, with the same bytes.
    let again = tempfile::tempdir().unwrap();
    let store2 = GuideImageStore::open(again.path()).unwrap();
    let report2 = store2.import_dir(&out.path().join("images")).unwrap();
    assert!(report2.refused.is_empty(), "{report2:?}");
    let mut pairs = report2.stored.clone();
    pairs.sort();
    for (file, stored) in &pairs {
        assert_eq!(file, stored, "kept its name");
        assert_eq!(
            std::fs::read(store2.path(stored).unwrap()).unwrap(),
            std::fs::read(store.path(stored).unwrap()).unwrap()
        );
    }

    // A guide's references are what gets exported.
    let body = format!(
        "## Fix\n\n{}\n\n{}\n",
        images::markdown("Dialog", names[0]),
        images::markdown("Cabinet", names[1])
    );
    assert_eq!(images::referenced(&body), names);
    assert!(store.export_to(["../x.png"], out.path()).is_err());
}

#[tokio::test]
async fn a_guide_shows_an_uploaded_image_where_its_markdown_puts_it() {
    // The stored name is the hash of the re-encoded bytes: the same in any store.
    let png = screenshot_png(64, 40);
    let scratch = tempfile::tempdir().unwrap();
    let name = GuideImageStore::open(scratch.path())
        .unwrap()
        .store("dialog.png", &png)
        .unwrap()
        .name;
    let body = format!("\n{}\n", images::markdown("The OPC [UA] dialog", &name));
    let content = common::content_folder(&[(
        "ignition/opc-dialog.md",
        common::guide_text("ignition", "OPC dialog", "aliases = []\n", &body),
    )]);
    let app = common::spawn_app_with_content(content.path().to_path_buf()).await;
    let (status, uploaded) = upload_with(&app.client, &app, "dialog.png", png).await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["name"], name.as_str());
    let (status, html) = app.get_text("/guides/opc-dialog").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("src=\"/guides/images/{name}\""))
            && html.contains("alt=\"The OPC [UA] dialog\""),
        "{html}"
    );
    let res = app.get(&format!("/guides/images/{name}")).await;
    assert_eq!(res.status().as_u16(), 200);
}
