//! Photos: checked by their bytes, decoded with limits, turned upright, re-encoded (which drops
//! EXIF and GPS), stored by SHA-256 with a thumbnail. Files are written to a temporary name,
//! synced and renamed; files no case refers to are removed at start.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{stream, StreamExt, TryStreamExt};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

mod jpeg;

/// Most pixels a photo may have: a 48 MP phone sensor (8064 x 6048, 48.8 MP) fits, and nothing
/// much larger, since every pixel costs up to 4 bytes while it is decoded.
pub const MAX_PIXELS: u64 = 50_000_000;
/// Longest side a photo may have (a phone panorama within the pixel limit).
pub const MAX_SIDE: u32 = 12_000;
/// Most memory one decode may take: the pixels (a 50 MP RGBA photo is 200 MB) and, for a
/// progressive JPEG, its coefficients. Checked from the header before decoding.
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// Photos decoded at once by the whole server. Each may take `MAX_DECODE_BYTES`, so decoding
/// never holds much more than 512 MiB however many requests arrive.
pub const DECODES_AT_ONCE: u32 = 2;
/// Photos that may wait for a decode; beyond that the server answers busy at once.
pub const DECODE_QUEUE: usize = 16;
/// Longest wait for a decode before the server answers busy.
pub const DECODE_WAIT: Duration = Duration::from_secs(5);
/// Longest side of a stored photo; phones send 4000+ px, which nobody needs to fix a fault.
pub const STORED_MAX_SIDE: u32 = 2560;
pub const THUMB_SIDE: u32 = 320;
const JPEG_QUALITY: u8 = 85;
/// How old an unreferenced photo file must be before the start-up sweep removes it.
pub const ORPHAN_AGE: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("{0} is not a JPEG, PNG or WebP image (checked by its content, not its name).")]
    NotAnImage(String),
    #[error("{0} is a HEIC/HEIF photo, which this server cannot decode. On an iPhone choose Settings > Camera > Formats > Most Compatible, or share the photo as JPEG.")]
    Heic(String),
    #[error(
        "{name} is {width} x {height} pixels; the limit is {} megapixels and {MAX_SIDE} pixels a side.",
        MAX_PIXELS / 1_000_000
    )]
    TooLarge {
        name: String,
        width: u32,
        height: u32,
    },
    #[error("{0} is cut off (the file ends before the image does). Send the photo again.")]
    Truncated(String),
    #[error("{0} could not be decoded: {1}")]
    Undecodable(String, String),
    #[error("The server is busy decoding other photos. Nothing was saved; send again in {retry_after_secs} seconds.")]
    Busy { retry_after_secs: u64 },
    #[error("photo storage: {0}")]
    Io(#[from] std::io::Error),
}

impl PhotoError {
    /// A fixed word for the metrics' `reason` label.
    pub fn reason(&self) -> &'static str {
        match self {
            PhotoError::NotAnImage(_) => "not_an_image",
            PhotoError::Heic(_) => "heic",
            PhotoError::TooLarge { .. } => "too_many_pixels",
            PhotoError::Truncated(_) => "truncated",
            PhotoError::Undecodable(..) => "undecodable",
            PhotoError::Busy { .. } => "busy",
            PhotoError::Io(_) => "storage",
        }
    }

    /// Whether the fault lies with the upload (4xx) rather than the server.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, PhotoError::Io(_) | PhotoError::Busy { .. })
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

fn within_size(width: u32, height: u32) -> bool {
    width <= MAX_SIDE && height <= MAX_SIDE && u64::from(width) * u64::from(height) <= MAX_PIXELS
}

/// An upload whose content was sniffed and whose size was checked, decoded but not yet
/// turned upright.
struct Decoded {
    img: DynamicImage,
    orientation: image::metadata::Orientation,
    format: ImageFormat,
}

/// Sniffs the content (never the name), checks the size from the header, and decodes within
/// the memory limits: the part photos and guide screenshots share.
fn decode(name: &str, bytes: &[u8]) -> Result<Decoded, PhotoError> {
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
    let undecodable = |e: image::ImageError| undecodable(name, e);
    // The memory fence applies while the header is read (PNG text and colour-profile chunks);
    // the size is checked by hand below, so that the answer can name it.
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let (width, height) = decoder.dimensions();
    if !within_size(width, height) {
        return Err(PhotoError::TooLarge {
            name: name.to_string(),
            width,
            height,
        });
    }
    if format == ImageFormat::Jpeg {
        let layout = jpeg::layout(bytes);
        if !layout.complete {
            return Err(PhotoError::Truncated(name.to_string()));
        }
        limits
            .reserve(layout.coefficient_bytes)
            .map_err(undecodable)?;
    }
    // `DynamicImage::from_decoder` does not count the pixel buffer against the limits
    // (only `ImageReader::decode` does), so it is reserved here.
    limits.reserve(decoder.total_bytes()).map_err(undecodable)?;
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    decoder.set_limits(limits).map_err(undecodable)?;
    let orientation = decoder.orientation().map_err(undecodable)?;
    let img = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    Ok(Decoded {
        img,
        orientation,
        format,
    })
}

fn undecodable(name: &str, e: image::ImageError) -> PhotoError {
    match e {
        image::ImageError::Limits(_) => PhotoError::Undecodable(
            name.to_string(),
            "it needs more memory to decode than this server allows for one photo".into(),
        ),
        other => PhotoError::Undecodable(name.to_string(), other.to_string()),
    }
}

impl Decoded {
    /// Shrunk to `max_side` (area averaging in integers: a filtered resize would hold a float
    /// copy of the whole image just to shrink it), then turned upright; shrinking first keeps
    /// the turn's copy small.
    fn upright(self, max_side: u32) -> DynamicImage {
        let mut img = self.img;
        if img.width().max(img.height()) > max_side {
            img = img.thumbnail(max_side, max_side);
        }
        img.apply_orientation(self.orientation);
        img
    }
}

/// Decodes and re-encodes one upload. CPU-heavy: call it on a blocking thread, through
/// [`DecodeGate`] so that few run at once.
pub fn process(name: &str, bytes: &[u8]) -> Result<ProcessedPhoto, PhotoError> {
    let img = decode(name, bytes)?.upright(STORED_MAX_SIDE);
    let undecodable = |e: image::ImageError| undecodable(name, e);
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

/// Longest side of a stored screenshot: a 4K screen keeps its text sharp.
pub const SCREENSHOT_MAX_SIDE: u32 = 3840;

/// A screenshot ready to store: PNG when it came as PNG (or with transparency), else JPEG.
/// Either way re-encoded from its pixels, so no metadata of the upload survives.
#[derive(Debug, Clone)]
pub struct ProcessedScreenshot {
    pub bytes: Vec<u8>,
    pub png: bool,
    pub width: u32,
    pub height: u32,
}

/// Like [`process`], with the same checks and limits, for pictures of screens: text stays
/// crisp in a PNG, so PNG stays PNG. No thumbnail. CPU-heavy, like [`process`].
pub fn process_screenshot(name: &str, bytes: &[u8]) -> Result<ProcessedScreenshot, PhotoError> {
    let decoded = decode(name, bytes)?;
    let png = decoded.format == ImageFormat::Png || decoded.img.color().has_alpha();
    let img = decoded.upright(SCREENSHOT_MAX_SIDE);
    let undecodable = |e: image::ImageError| undecodable(name, e);
    let (width, height) = (img.width(), img.height());
    let bytes = if png {
        let img = match img {
            DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageRgb8(_)
            | DynamicImage::ImageRgba8(_) => img,
            other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
            other => DynamicImage::ImageRgb8(other.to_rgb8()),
        };
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png)
            .map_err(undecodable)?;
        out.into_inner()
    } else {
        encode_jpeg(&img).map_err(undecodable)?
    };
    Ok(ProcessedScreenshot {
        bytes,
        png,
        width,
        height,
    })
}

/// The server-wide limit on photo decodes: `DECODES_AT_ONCE` run, `DECODE_QUEUE` wait up to
/// `DECODE_WAIT`, and everyone else is told the server is busy. Without it, every request
/// decoded on its own threads and parallel uploads multiplied the memory a decode takes.
#[derive(Clone)]
pub struct DecodeGate {
    slots: Arc<Semaphore>,
    at_once: u32,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    max_wait: Duration,
}

impl Default for DecodeGate {
    fn default() -> Self {
        DecodeGate::new(DECODES_AT_ONCE, DECODE_QUEUE, DECODE_WAIT)
    }
}

/// A place in the decode queue, given back when the wait ends either way.
struct QueuePlace(Arc<AtomicUsize>);

impl Drop for QueuePlace {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl DecodeGate {
    pub fn new(at_once: u32, max_waiting: usize, max_wait: Duration) -> Self {
        DecodeGate {
            slots: Arc::new(Semaphore::new(at_once as usize)),
            at_once,
            waiting: Arc::default(),
            max_waiting,
            max_wait,
        }
    }

    fn busy(&self) -> PhotoError {
        PhotoError::Busy {
            retry_after_secs: self.max_wait.as_secs().max(1),
        }
    }

    /// Takes every decode slot until the returned permit is dropped, waiting for the decodes
    /// that hold one to end (tests of a busy server, and of the memory decoding takes).
    pub async fn occupy_all(&self) -> OwnedSemaphorePermit {
        self.slots
            .clone()
            .acquire_many_owned(self.at_once)
            .await
            .expect("the decode semaphore is never closed")
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, PhotoError> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(self.busy());
        }
        let _place = QueuePlace(self.waiting.clone());
        match tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(slot),
            _ => Err(self.busy()),
        }
    }

    /// Decodes one upload in a slot. The slot goes with the blocking thread, so it is held
    /// until the decode really ends, even when the request that asked for it is gone.
    async fn process_one(&self, upload: super::Upload) -> Result<ProcessedPhoto, PhotoError> {
        let name = upload.name.clone();
        self.run(name, move || process(&upload.name, &upload.bytes))
            .await
    }

    /// Runs one decode (`work`, of the upload `name`) on a blocking thread in a slot of the
    /// server-wide limit, as photos are.
    pub async fn run<T: Send + 'static>(
        &self,
        name: String,
        work: impl FnOnce() -> Result<T, PhotoError> + Send + 'static,
    ) -> Result<T, PhotoError> {
        let slot = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .unwrap_or_else(|_| Err(PhotoError::Undecodable(name, "the decoder failed".into())))
    }

    /// Processes a request's uploads in order, each in a slot of the server-wide limit (so one
    /// request uses at most all of them); stops at the first refused photo.
    pub async fn process_all(
        &self,
        uploads: Vec<super::Upload>,
    ) -> Result<Vec<ProcessedPhoto>, PhotoError> {
        let processed = stream::iter(uploads)
            .map(|upload| self.process_one(upload))
            .buffered(self.at_once as usize)
            .try_collect()
            .await;
        if let Err(e) = &processed {
            crate::telemetry::prometheus::photo_refused(e.reason());
        }
        processed
    }
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

    /// Removes temporary files and photos that no case refers to and that are older than an
    /// hour; returns how many files went.
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
            // Another app node sharing this folder may be filing that photo right now: only
            // files older than an hour are left over from an interrupted filing.
            let fresh = entry
                .metadata()?
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_none_or(|age| age < ORPHAN_AGE);
            if !keep && !fresh && entry.file_type()?.is_file() {
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
    fn a_progressive_jpeg_whose_coefficients_would_not_fit_is_refused_before_decoding() {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&image::RgbImage::new(16, 16))
            .unwrap();
        let sof = out.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        // Progressive, 8000 x 6000: within the size limit, but its pixels and coefficients
        // together need more than MAX_DECODE_BYTES.
        out[sof + 1] = 0xc2;
        out[sof + 5..sof + 9].copy_from_slice(&[0x17, 0x70, 0x1f, 0x40]);
        let started = std::time::Instant::now();
        let refused = process("prog.jpg", &out);
        assert!(
            matches!(&refused, Err(PhotoError::Undecodable(n, why)) if n == "prog.jpg" && why.contains("more memory")),
            "{refused:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
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

    fn uploads(sizes: &[(u32, u32)]) -> Vec<crate::cases::Upload> {
        sizes
            .iter()
            .map(|&(w, h)| crate::cases::Upload {
                name: format!("{w}.png"),
                bytes: png(w, h),
            })
            .collect()
    }

    #[tokio::test]
    async fn several_photos_keep_their_order() {
        let gate = DecodeGate::default();
        let uploads = uploads(&[(30, 20), (40, 30), (50, 40)]);
        let done = gate.process_all(uploads.clone()).await.unwrap();
        let sizes: Vec<_> = done.iter().map(|p| (p.width, p.height)).collect();
        assert_eq!(sizes, [(30, 20), (40, 30), (50, 40)]);
        let mut bad = uploads;
        bad[2].bytes = b"not a photo".to_vec();
        assert!(
            matches!(gate.process_all(bad).await, Err(PhotoError::NotAnImage(n)) if n == "50.png")
        );
    }

    #[test]
    fn cut_png_and_webp_are_refused() {
        let whole = png(300, 200);
        assert!(process("cut.png", &whole[..whole.len() / 2]).is_err());
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([x as u8, y as u8, (x * y) as u8])
        }));
        let mut webp = Cursor::new(Vec::new());
        img.write_to(&mut webp, ImageFormat::WebP).unwrap();
        let webp = webp.into_inner();
        assert!(process("whole.webp", &webp).is_ok());
        assert!(process("cut.webp", &webp[..webp.len() / 2]).is_err());
    }

    #[test]
    fn size_limits_fit_a_48_megapixel_phone() {
        assert!(within_size(8064, 6048));
        assert!(within_size(6048, 8064));
        assert!(within_size(MAX_SIDE, 4000));
        assert!(!within_size(8200, 6200));
        assert!(!within_size(MAX_SIDE + 1, 100));
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_at_once_and_a_long_wait_is_busy_after_it() {
        let gate = DecodeGate::new(1, 1, Duration::from_millis(300));
        let held = gate.occupy_all().await;
        let started = std::time::Instant::now();
        let (waiter, over) = tokio::join!(gate.process_all(uploads(&[(10, 10)])), async {
            // Lets the first request take the one queue place.
            tokio::time::sleep(Duration::from_millis(50)).await;
            gate.process_all(uploads(&[(10, 10)])).await
        });
        assert!(matches!(over, Err(PhotoError::Busy { .. })));
        assert!(matches!(
            waiter,
            Err(PhotoError::Busy {
                retry_after_secs: 1
            })
        ));
        assert!(started.elapsed() >= Duration::from_millis(300));
        drop(held);
        assert_eq!(
            gate.waiting.load(Ordering::SeqCst),
            0,
            "queue places given back"
        );
        assert!(gate.process_all(uploads(&[(10, 10)])).await.is_ok());
    }

    #[test]
    fn photo_ids_are_only_hex() {
        assert!(!is_photo_id("../../etc/passwd"));
        assert!(!is_photo_id(&"A".repeat(64)));
        assert!(is_photo_id(&"a".repeat(64)));
    }
}
