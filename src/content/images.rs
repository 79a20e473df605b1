//! Images in guides: screenshots uploaded from the editor and image files in `content/images/`.
//! Each goes through the case photos' checks (content sniffed, size and memory limits, decoded
//! and re-encoded, so EXIF and text chunks are gone), PNG staying PNG, and is stored as
//! `<sha256 of the stored bytes>.png|.jpg`, written atomically. Guides refer to them as
//! `/guides/images/<name>`. Knows nothing of HTTP.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cases::photos::{self, DecodeGate, PhotoError, ProcessedScreenshot};

/// The path guides refer to stored images under.
pub const URL_PREFIX: &str = "/guides/images/";
/// The folder, in `content/` and in an export, that holds the images of guides.
pub const CONTENT_FOLDER: &str = "images";
/// Most bytes one image file may have.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum GuideImageError {
    #[error(transparent)]
    Image(#[from] PhotoError),
    #[error("{name} is {size} bytes; an image may have at most {} MB.", MAX_BYTES / (1024 * 1024))]
    TooManyBytes { name: String, size: u64 },
    #[error("guide image storage: {0}")]
    Io(#[from] io::Error),
}

impl GuideImageError {
    /// Whether the fault lies with the image (4xx) rather than the server.
    pub fn is_user_error(&self) -> bool {
        match self {
            GuideImageError::Image(e) => e.is_user_error(),
            GuideImageError::TooManyBytes { .. } => true,
            GuideImageError::Io(_) => false,
        }
    }
}

/// An image as stored: its file name (`<sha256>.png|.jpg`), size in pixels and in bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredImage {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bytes_len: u64,
}

impl StoredImage {
    pub fn url(&self) -> String {
        url(&self.name)
    }
}

/// What importing `content/images/` did: each image file stored, each other file refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// (file name in the content folder, stored name).
    pub stored: Vec<(String, String)>,
    /// (file name in the content folder, why it was not stored).
    pub refused: Vec<(String, String)>,
}

/// `/guides/images/<name>`.
pub fn url(name: &str) -> String {
    format!("{URL_PREFIX}{name}")
}

/// `true` for exactly 64 lower-case hex digits and `.png` or `.jpg`: the only names that reach
/// the disk.
pub fn is_image_name(name: &str) -> bool {
    name.strip_suffix(".png")
        .or_else(|| name.strip_suffix(".jpg"))
        .is_some_and(photos::is_photo_id)
}

/// The Markdown that shows a stored image: `![alt](/guides/images/<name>)`, the alt text on one
/// line with the characters that would end or break it escaped.
pub fn markdown(alt: &str, name: &str) -> String {
    let mut escaped = String::with_capacity(alt.len());
    for c in alt.split_whitespace().collect::<Vec<_>>().join(" ").chars() {
        if matches!(c, '\\' | '[' | ']' | '*' | '_' | '`' | '<' | '>' | '!') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    format!("![{escaped}]({})", url(name))
}

/// The stored names a guide's Markdown refers to through `/guides/images/<name>`, in order of
/// first appearance, each once.
pub fn referenced(markdown_text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (at, _) in markdown_text.match_indices(URL_PREFIX) {
        let rest = &markdown_text[at + URL_PREFIX.len()..];
        let Some(candidate) = rest.get(..68) else {
            continue;
        };
        let ends = rest[68..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')));
        if ends && is_image_name(candidate) && !names.iter().any(|n| n == candidate) {
            names.push(candidate.to_string());
        }
    }
    names
}

/// The image files of guides: `<sha256>.png` and `<sha256>.jpg` in one folder.
#[derive(Clone)]
pub struct GuideImageStore {
    dir: PathBuf,
    gate: DecodeGate,
}

impl GuideImageStore {
    /// Opens (creating) the folder, with a decode limit of its own.
    pub fn open(dir: &Path) -> io::Result<GuideImageStore> {
        std::fs::create_dir_all(dir)?;
        Ok(GuideImageStore {
            dir: dir.to_path_buf(),
            gate: DecodeGate::default(),
        })
    }

    /// Decodes under this limit instead, e.g. the server-wide one of case photos.
    pub fn with_gate(mut self, gate: DecodeGate) -> GuideImageStore {
        self.gate = gate;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a stored image; `None` unless `name` has the shape of a stored name.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        is_image_name(name).then(|| self.dir.join(name))
    }

    /// Checks, re-encodes and stores one image. CPU-heavy and blocking: the server calls
    /// [`GuideImageStore::store_limited`] instead.
    pub fn store(&self, original_name: &str, bytes: &[u8]) -> Result<StoredImage, GuideImageError> {
        check_bytes(original_name, bytes.len() as u64)?;
        let processed = photos::process_screenshot(original_name, bytes)?;
        self.write(&processed)
    }

    /// [`GuideImageStore::store`] on a blocking thread, in a slot of the decode limit (busy
    /// when the server decodes too much already).
    pub async fn store_limited(
        &self,
        original_name: String,
        bytes: Vec<u8>,
    ) -> Result<StoredImage, GuideImageError> {
        check_bytes(&original_name, bytes.len() as u64)?;
        let name = original_name.clone();
        let processed = self
            .gate
            .run(name, move || {
                photos::process_screenshot(&original_name, &bytes)
            })
            .await?;
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.write(&processed))
            .await
            .map_err(|e| GuideImageError::Io(io::Error::other(e)))?
    }

    fn write(&self, p: &ProcessedScreenshot) -> Result<StoredImage, GuideImageError> {
        let name = format!(
            "{}.{}",
            hex::encode(Sha256::digest(&p.bytes)),
            if p.png { "png" } else { "jpg" }
        );
        self.write_named(&name, &p.bytes)?;
        Ok(StoredImage {
            name,
            width: p.width,
            height: p.height,
            bytes_len: p.bytes.len() as u64,
        })
    }

    /// Writes to a temporary name, syncs, renames, syncs the folder. An existing file of that
    /// name holds the same bytes (the name is their hash) and is left alone.
    fn write_named(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let target = self.dir.join(name);
        if target.exists() {
            return Ok(());
        }
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &target)?;
            std::fs::File::open(&self.dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Stores every image file in `content_images_dir` (the `content/images/` folder) with the
    /// same checks as an upload. A file already named by the hash of its bytes, as
    /// [`GuideImageStore::export_to`] writes them, keeps its bytes and name when it decodes
    /// and carries no metadata, so an export imports to the same names (a JPEG is not
    /// re-encoded once more). Files that are not acceptable images are reported, not fatal;
    /// sub-folders and hidden files are skipped. A missing folder imports nothing.
    pub fn import_dir(&self, content_images_dir: &Path) -> io::Result<ImportReport> {
        let mut report = ImportReport::default();
        let entries = match std::fs::read_dir(content_images_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(report),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name.starts_with('.') || !entry.file_type()?.is_file() {
                continue;
            }
            files.push((file_name, entry.path()));
        }
        files.sort();
        for (file_name, path) in files {
            let size = std::fs::metadata(&path)?.len();
            if let Err(e) = check_bytes(&file_name, size) {
                report.refused.push((file_name, e.to_string()));
                continue;
            }
            let bytes = std::fs::read(&path)?;
            match self.import_one(&file_name, &bytes) {
                Ok(stored) => report.stored.push((file_name, stored.name)),
                Err(GuideImageError::Io(e)) => return Err(e),
                Err(GuideImageError::Image(PhotoError::Io(e))) => return Err(e),
                Err(e) => report.refused.push((file_name, e.to_string())),
            }
        }
        Ok(report)
    }

    fn import_one(&self, file_name: &str, bytes: &[u8]) -> Result<StoredImage, GuideImageError> {
        let processed = photos::process_screenshot(file_name, bytes)?;
        let hash = hex::encode(Sha256::digest(bytes));
        let keep_png = file_name == format!("{hash}.png") && processed.png && clean_png(bytes);
        let keep_jpeg = file_name == format!("{hash}.jpg") && !processed.png && clean_jpeg(bytes);
        if keep_png || keep_jpeg {
            self.write_named(file_name, bytes)?;
            return Ok(StoredImage {
                name: file_name.to_string(),
                width: processed.width,
                height: processed.height,
                bytes_len: bytes.len() as u64,
            });
        }
        self.write(&processed)
    }

    /// Copies the named stored images, byte for byte, to `out_dir/images/<name>`; gives how
    /// many. A name that is not a stored image's is an error (`NotFound` or `InvalidInput`).
    pub fn export_to<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
        out_dir: &Path,
    ) -> io::Result<usize> {
        let target = out_dir.join(CONTENT_FOLDER);
        let mut copied = 0;
        for name in names {
            let from = self.path(name).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("`{name}` is not the name of a stored guide image"),
                )
            })?;
            if copied == 0 {
                std::fs::create_dir_all(&target)?;
            }
            std::fs::copy(&from, target.join(name)).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot copy the guide image {name}: {e}"))
            })?;
            copied += 1;
        }
        Ok(copied)
    }
}

fn check_bytes(name: &str, size: u64) -> Result<(), GuideImageError> {
    if size > MAX_BYTES as u64 {
        return Err(GuideImageError::TooManyBytes {
            name: name.to_string(),
            size,
        });
    }
    Ok(())
}

/// A PNG of only the chunks the encoder writes (no text, EXIF, time or colour profile), with
/// nothing after its end.
fn clean_png(bytes: &[u8]) -> bool {
    let Some(mut rest) = bytes.strip_prefix(b"\x89PNG\r\n\x1a\n".as_slice()) else {
        return false;
    };
    while rest.len() >= 12 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = &rest[4..8];
        if !matches!(kind, b"IHDR" | b"PLTE" | b"tRNS" | b"IDAT" | b"IEND") {
            return false;
        }
        let Some(after) = rest.get(12 + len..) else {
            return false;
        };
        if kind == b"IEND" {
            return after.is_empty();
        }
        rest = after;
    }
    false
}

/// A baseline JPEG of only the segments the encoder writes (no EXIF, XMP, comments or colour
/// profile), one scan, ending at its end-of-image marker.
fn clean_jpeg(bytes: &[u8]) -> bool {
    let Some(mut rest) = bytes.strip_prefix([0xFF, 0xD8].as_slice()) else {
        return false;
    };
    // Segments up to the start of the scan.
    loop {
        let [0xFF, marker, hi, lo, ..] = *rest else {
            return false;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let Some(body) = rest.get(4..2 + len).filter(|_| len >= 2) else {
            return false;
        };
        match marker {
            0xE0 if body.starts_with(b"JFIF\0") => {}
            0xDB | 0xC0 | 0xC1 | 0xC4 | 0xDD => {}
            0xDA => {
                rest = &rest[2 + len..];
                break;
            }
            _ => return false,
        }
        rest = &rest[2 + len..];
    }
    // The scan: 0xFF is stuffed (FF 00) or a restart marker until the end-of-image, last.
    let mut i = 0;
    while i + 1 < rest.len() {
        if rest[i] == 0xFF {
            match rest[i + 1] {
                0x00 | 0xD0..=0xD7 => i += 2,
                0xD9 => return i + 2 == rest.len(),
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, ImageFormat};
    use std::io::Cursor;

    #[test]
    fn names_are_hash_and_png_or_jpg_only() {
        let hex = "a".repeat(64);
        assert!(is_image_name(&format!("{hex}.png")));
        assert!(is_image_name(&format!("{hex}.jpg")));
        assert!(!is_image_name(&format!("{hex}.gif")));
        assert!(!is_image_name(&format!("{}.png", "A".repeat(64))));
        assert!(!is_image_name("../../etc/passwd"));
        assert!(!is_image_name(&format!("../{hex}.png")));
    }

    fn encoded(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn rgba(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgba8(image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([x as u8, y as u8, 90, if x < 4 { 0 } else { 255 }])
        }))
    }

    #[test]
    fn png_stays_png_with_its_transparency_and_jpeg_and_webp_become_jpeg() {
        let png =
            photos::process_screenshot("a.png", &encoded(rgba(40, 30), ImageFormat::Png)).unwrap();
        assert!(png.png && clean_png(&png.bytes));
        let back = image::load_from_memory(&png.bytes).unwrap();
        assert!(back.color().has_alpha());
        assert_eq!((back.width(), back.height()), (40, 30));
        let opaque = DynamicImage::ImageRgb8(rgba(40, 30).to_rgb8());
        for format in [ImageFormat::Jpeg, ImageFormat::WebP] {
            let out = photos::process_screenshot("x", &encoded(opaque.clone(), format)).unwrap();
            assert!(!out.png && clean_jpeg(&out.bytes), "{format:?}");
        }
    }

    #[test]
    fn a_file_named_by_its_hash_keeps_its_bytes_only_without_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let store = GuideImageStore::open(&dir.path().join("store")).unwrap();
        let content = dir.path().join("images");
        std::fs::create_dir_all(&content).unwrap();
        let clean = encoded(rgba(20, 10), ImageFormat::Png);
        // A comment chunk before the end: the same pixels, with text in it.
        let mut texted = clean[..33].to_vec();
        texted.extend_from_slice(&4u32.to_be_bytes());
        texted.extend_from_slice(b"tEXta\0bc");
        texted.extend_from_slice(&crc32fast::hash(b"tEXta\0bc").to_be_bytes());
        texted.extend_from_slice(&clean[33..]);
        let named = |bytes: &[u8]| format!("{}.png", hex::encode(Sha256::digest(bytes)));
        let stored_clean = store.store("c.png", &clean).unwrap();
        std::fs::write(
            content.join(&stored_clean.name),
            std::fs::read(store.path(&stored_clean.name).unwrap()).unwrap(),
        )
        .unwrap();
        std::fs::write(content.join(named(&texted)), &texted).unwrap();
        let report = store.import_dir(&content).unwrap();
        assert!(report.refused.is_empty(), "{report:?}");
        assert_eq!(report.stored.len(), 2, "{report:?}");
        for (file, stored) in &report.stored {
            let bytes = std::fs::read(store.path(stored).unwrap()).unwrap();
            assert!(clean_png(&bytes), "{file}");
            assert_eq!(
                file == stored,
                *file == stored_clean.name,
                "{file} -> {stored}"
            );
        }
    }

    #[test]
    fn markdown_escapes_the_alt_text() {
        let name = format!("{}.png", "b".repeat(64));
        assert_eq!(
            markdown("Dialog [OPC] *error*\nline", &name),
            format!("![Dialog \\[OPC\\] \\*error\\* line](/guides/images/{name})")
        );
    }

    #[test]
    fn referenced_finds_each_stored_name_once() {
        let a = format!("{}.png", "a".repeat(64));
        let b = format!("{}.jpg", "0".repeat(64));
        let text = format!(
            "![x](/guides/images/{a}) and ![y](/guides/images/{b} \"t\")\n![again](/guides/images/{a})\n/guides/images/{a}x /guides/images/short.png"
        );
        assert_eq!(referenced(&text), vec![a, b]);
    }
}
