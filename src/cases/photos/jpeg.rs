//! A walk over a JPEG's segments, without decoding. zune-jpeg (behind `image`) paints missing
//! data grey instead of failing, and it does not count its own working memory against
//! `image::Limits`, so both facts are read here from the markers. Hand-written because no kept
//! crate exposes either (about 80 lines of marker walking).

/// What the markers say about a JPEG before it is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegLayout {
    /// The last scan's data is followed by an end-of-image marker: nothing was cut off.
    pub complete: bool,
    /// Bytes the decoder holds besides the pixels: every DCT coefficient of a progressive JPEG
    /// (2 bytes each, all components at their own sampling). A baseline JPEG needs a few rows.
    pub coefficient_bytes: u64,
}

fn be16(bytes: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(*bytes.get(at)?) << 8 | usize::from(*bytes.get(at + 1)?))
}

/// Coefficient memory of a progressive frame from its SOF segment (after the length field).
fn progressive_coefficients(sof: &[u8]) -> u64 {
    let height = be16(sof, 1).unwrap_or(0) as u64;
    let width = be16(sof, 3).unwrap_or(0) as u64;
    let components: Vec<(u64, u64)> = sof
        .get(6..)
        .unwrap_or(&[])
        .chunks_exact(3)
        .map(|c| (u64::from(c[1] >> 4).max(1), u64::from(c[1] & 0x0f).max(1)))
        .collect();
    let h_max = components.iter().map(|c| c.0).max().unwrap_or(1);
    let v_max = components.iter().map(|c| c.1).max().unwrap_or(1);
    components
        .iter()
        .map(|(h, v)| {
            // Each component is stored in whole 8 x 8 blocks.
            let w = (width * h).div_ceil(h_max).div_ceil(8) * 8;
            let hh = (height * v).div_ceil(v_max).div_ceil(8) * 8;
            w * hh * 2
        })
        .sum()
}

/// Finds the end of a scan's entropy-coded data: the next marker that is not a restart
/// marker or a stuffed `FF 00`. `None` when the data runs out first.
fn end_of_scan(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let ff = at + bytes.get(at..)?.iter().position(|&b| b == 0xff)?;
        match *bytes.get(ff + 1)? {
            0x00 | 0xd0..=0xd7 | 0xff => at = ff + 1,
            _ => return Some(ff),
        }
    }
}

/// Reads a JPEG's layout. A stream that ends inside a segment or a scan is not complete.
pub fn layout(bytes: &[u8]) -> JpegLayout {
    let mut out = JpegLayout {
        complete: false,
        coefficient_bytes: 0,
    };
    let mut at = 2; // after SOI
    loop {
        // Markers may be padded with any number of FF bytes; anything else between segments
        // is skipped, as the decoder does.
        let Some(skip) = bytes
            .get(at..)
            .and_then(|b| b.iter().position(|&x| x == 0xff))
        else {
            return out;
        };
        at += skip;
        while bytes.get(at) == Some(&0xff) {
            at += 1;
        }
        let Some(&marker) = bytes.get(at) else {
            return out;
        };
        at += 1;
        match marker {
            0xd9 => {
                out.complete = true;
                return out;
            }
            0x01 | 0xd0..=0xd7 => continue,
            _ => {}
        }
        let Some(len) = be16(bytes, at).filter(|&l| l >= 2) else {
            return out;
        };
        let Some(segment) = bytes.get(at + 2..at + len) else {
            return out;
        };
        if matches!(marker, 0xc2 | 0xc6 | 0xca | 0xce) {
            out.coefficient_bytes = progressive_coefficients(segment);
        }
        at += len;
        if marker == 0xda {
            match end_of_scan(bytes, at) {
                Some(next) => at = next,
                None => return out,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .expect("encodes");
        out
    }

    #[test]
    fn whole_jpeg_is_complete_and_a_cut_one_is_not() {
        let whole = jpeg(64, 48);
        assert!(layout(&whole).complete);
        assert_eq!(layout(&whole).coefficient_bytes, 0, "baseline");
        for cut in [whole.len() / 2, whole.len() - 2, 20, 2] {
            assert!(!layout(&whole[..cut]).complete, "cut at {cut}");
        }
    }

    #[test]
    fn data_after_the_end_marker_is_allowed() {
        // Motion photos append a video after the JPEG's end marker.
        let mut with_video = jpeg(32, 32);
        with_video.extend_from_slice(b"\0\0\0\x18ftypmp42 trailing video bytes");
        assert!(layout(&with_video).complete);
    }

    #[test]
    fn progressive_frames_count_their_coefficients() {
        // SOF2 of 1000 x 800 pixels, three components at 4:2:0.
        let sof = [
            8, 0x03, 0x20, 0x03, 0xe8, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
        ];
        // Luma 1000 x 800 (blocks: 1000 x 800), chroma 500 x 400 (504 x 400).
        assert_eq!(
            progressive_coefficients(&sof),
            (1000 * 800 + 2 * 504 * 400) * 2
        );
    }
}
