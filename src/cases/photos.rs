//! Photos: checked by their bytes, decoded with limits, turned upright, re-encoded (which drops
//! EXIF and GPS), stored by SHA-256 with a thumbnail. Files are written to a temporary name,
//! synced and renamed; files no case refers to are removed at start.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

/// Largest accepted width or height of an uploaded photo.
pub const MAX_DIMENSION: u32 = 12_000;
/// Most memory one decode may allocate.
pub const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// Longest side of a stored photo; phones send 4000+ px, which nobody needs to fix a fault.
pub const STORED_MAX_SIDE: u32 = 2560;
pub const THUMB_SIDE: u32 = 320;
const JPEG_QUALITY: u8 = 85;

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("{0} is not a JPEG, PNG or WebP image (checked by its content, not its name).")]
    NotAnImage(String),
    #[error("{0} is a HEIC/HEIF photo, which this server cannot decode. On an iPhone choose Settings > Camera > Formats > Most Compatible, or share the photo as JPEG.")]
    Heic(String),
    #[error(
        "{name} is {width} x {height} pixels; the limit is {MAX_DIMENSION} x {MAX_DIMENSION}."
    )]
    TooLarge {
        name: String,
        width: u32,
        height: u32,
    },
    #[error("{0} could not be decoded: {1}")]
    Undecodable(String, String),
    #[error("photo storage: {0}")]
    Io(#[from] std::io::Error),
}

impl PhotoError {
    /// Whether the fault lies with the upload (4xx) rather than the server.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, PhotoError::Io(_))
    }
}

/// A photo ready to store: re-encoded JPEG and thumbnail, named by the JPEG's hash.
#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    pub sha256: String,
    pub jpeg: Vec<u8>,
    pub thumb: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

fn is_heic(bytes: &[u8]) -> bool {
    bytes.len() > 12
        && &bytes[4..8] == b"ftyp"
        && matches!(
            &bytes[8..12],
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1"
        )
}

fn encode_jpeg(img: &DynamicImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(&img.to_rgb8())?;
    Ok(out)
}

/// Decodes and re-encodes one upload. CPU-heavy: call it on a blocking thread.
pub fn process(name: &str, bytes: &[u8]) -> Result<ProcessedPhoto, PhotoError> {
    if is_heic(bytes) {
        return Err(PhotoError::Heic(name.to_string()));
    }
    let format =
        image::guess_format(bytes).map_err(|_| PhotoError::NotAnImage(name.to_string()))?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP
    ) {
        return Err(PhotoError::NotAnImage(name.to_string()));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let undecodable = |e: image::ImageError| {
        match e {
        image::ImageError::Limits(_) => PhotoError::Undecodable(
            name.to_string(),
            format!("it is larger than {MAX_DIMENSION} x {MAX_DIMENSION} pixels or needs too much memory"),
        ),
        other => PhotoError::Undecodable(name.to_string(), other.to_string()),
    }
    };
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(PhotoError::TooLarge {
            name: name.to_string(),
            width,
            height,
        });
    }
    let orientation = decoder.orientation().map_err(undecodable)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    img.apply_orientation(orientation);
    if img.width().max(img.height()) > STORED_MAX_SIDE {
        // Area averaging in integers: a filtered resize would hold a float copy of the whole
        // 12 MP photo (about 150 MB) just to shrink it.
        img = img.thumbnail(STORED_MAX_SIDE, STORED_MAX_SIDE);
    }
    let jpeg = encode_jpeg(&img).map_err(undecodable)?;
    let thumb = encode_jpeg(&img.thumbnail(THUMB_SIDE, THUMB_SIDE)).map_err(undecodable)?;
    Ok(ProcessedPhoto {
        sha256: hex::encode(Sha256::digest(&jpeg)),
        width: img.width(),
        height: img.height(),
        jpeg,
        thumb,
    })
}

/// Processes uploads in order, two at a time at most (a decoded 12 MP photo takes 36 MB, so
/// more at once would only raise peak memory on a small server). Blocking: call off the runtime.
pub fn process_all(uploads: &[super::Upload]) -> Result<Vec<ProcessedPhoto>, PhotoError> {
    const AT_ONCE: usize = 2;
    let mut out = Vec::with_capacity(uploads.len());
    for batch in uploads.chunks(AT_ONCE) {
        let results: Vec<Result<ProcessedPhoto, PhotoError>> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .iter()
                .map(|u| s.spawn(move || process(&u.name, &u.bytes)))
                .collect();
            handles
                .into_iter()
                .zip(batch)
                .map(|(h, u)| {
                    h.join().unwrap_or_else(|_| {
                        Err(PhotoError::Undecodable(
                            u.name.clone(),
                            "the decoder failed".into(),
                        ))
                    })
                })
                .collect()
        });
        for r in results {
            out.push(r?);
        }
    }
    Ok(out)
}

/// `true` for a 64-character lower-case hex id, the only names photos are served by.
pub fn is_photo_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Photo files on disk: `<sha>.jpg` and `<sha>.thumb.jpg`.
#[derive(Debug, Clone)]
pub struct PhotoStore {
    dir: PathBuf,
}

impl PhotoStore {
    pub fn open(dir: &Path) -> std::io::Result<PhotoStore> {
        std::fs::create_dir_all(dir)?;
        Ok(PhotoStore {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self, sha: &str, thumb: bool) -> PathBuf {
        self.dir
            .join(format!("{sha}{}.jpg", if thumb { ".thumb" } else { "" }))
    }

    fn write_atomic(&self, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
        if target.exists() {
            return Ok(());
        }
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, target)?;
        Ok(())
    }

    /// Writes photo and thumbnail, synced, before the database row that points at them.
    pub fn write(&self, p: &ProcessedPhoto) -> std::io::Result<()> {
        self.write_atomic(&self.path(&p.sha256, false), &p.jpeg)?;
        self.write_atomic(&self.path(&p.sha256, true), &p.thumb)?;
        // The renames must be durable before the case row is committed.
        std::fs::File::open(&self.dir)?.sync_all()
    }

    pub fn remove(&self, sha: &str) {
        let _ = std::fs::remove_file(self.path(sha, false));
        let _ = std::fs::remove_file(self.path(sha, true));
    }

    /// Removes temporary files and photos that no case refers to; returns how many files went.
    pub fn remove_orphans(
        &self,
        referenced: &std::collections::HashSet<String>,
    ) -> std::io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let sha = name
                .strip_suffix(".thumb.jpg")
                .or_else(|| name.strip_suffix(".jpg"))
                .unwrap_or("");
            let keep = is_photo_id(sha) && referenced.contains(sha);
            if !keep && entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::new_rgb8(w, h);
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn png_is_reencoded_as_jpeg_with_thumbnail() {
        let p = process("a.png", &png(800, 600)).unwrap();
        assert_eq!(image::guess_format(&p.jpeg).unwrap(), ImageFormat::Jpeg);
        assert_eq!((p.width, p.height), (800, 600));
        let t = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!(t.width().max(t.height()), THUMB_SIDE);
        assert!(is_photo_id(&p.sha256));
    }

    #[test]
    fn large_photo_is_shrunk_to_the_stored_size() {
        let p = process("big.png", &png(4000, 1000)).unwrap();
        assert_eq!((p.width, p.height), (STORED_MAX_SIDE, 640));
    }

    #[test]
    fn text_named_jpg_and_heic_are_refused() {
        assert!(matches!(
            process("x.jpg", b"hello, not a photo"),
            Err(PhotoError::NotAnImage(_))
        ));
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert!(matches!(process("x.heic", &heic), Err(PhotoError::Heic(_))));
    }

    #[test]
    fn several_photos_keep_their_order() {
        let uploads: Vec<crate::cases::Upload> = [(30, 20), (40, 30), (50, 40)]
            .into_iter()
            .map(|(w, h)| crate::cases::Upload {
                name: format!("{w}.png"),
                bytes: png(w, h),
            })
            .collect();
        let done = process_all(&uploads).unwrap();
        let sizes: Vec<_> = done.iter().map(|p| (p.width, p.height)).collect();
        assert_eq!(sizes, [(30, 20), (40, 30), (50, 40)]);
        let mut bad = uploads.clone();
        bad[2].bytes = b"not a photo".to_vec();
        assert!(matches!(process_all(&bad), Err(PhotoError::NotAnImage(n)) if n == "50.png"));
    }

    #[test]
    fn photo_ids_are_only_hex() {
        assert!(!is_photo_id("../../etc/passwd"));
        assert!(!is_photo_id(&"A".repeat(64)));
        assert!(is_photo_id(&"a".repeat(64)));
    }
}
