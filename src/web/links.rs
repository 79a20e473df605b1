//! Links that never break: alarm short links, QR codes and cabinet labels, the Atom feed.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use qrcode::render::svg;
use qrcode::QrCode;

use super::{absolute, page, AppError, AppState};
use crate::auth::{Caller, Permission};
use crate::cases::{store, CaseFilter};
use crate::content::Guide;
use crate::search::{guides_listing, status, DocKind, SearchRequest};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alarm/{code}", get(alarm))
        .route("/guides/{slug}/qr.svg", get(qr_svg))
        .route("/guides/{slug}/qr.png", get(qr_png))
        .route("/labels", get(labels))
        .route("/labels/qr.png", get(label_qr_png))
        .route("/feed.xml", get(feed))
}

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => AppError::BadRequest("invalid redirect target".into()).into_response(),
    }
}

fn search_href(q: &str) -> String {
    format!("/search{}", super::query_string([("q", q)]))
}

/// The guide that clearly owns an alarm: the only guide listing a recognised status code, or a
/// search winner well ahead of the runner-up.
async fn owning_guide(state: &AppState, code: &str) -> Result<Option<Guide>, AppError> {
    let library = state.library();
    if let Some(sc) = status::table().find_in(code) {
        let listing = guides_listing(&library, sc);
        if listing.len() == 1 {
            return Ok(Some(listing[0].clone()));
        }
        if listing.len() > 1 {
            return Ok(None);
        }
    }
    // An OPC Classic or Windows code (`0xC0040007`, `OPC_E_UNKNOWNITEMID`, `-2147024891`).
    if let Some(cc) = crate::search::classic::table().find_in(code).first() {
        let listing = crate::search::classic::guides_listing(&library, cc.value);
        if listing.len() == 1 {
            return Ok(Some(listing[0].clone()));
        }
        if listing.len() > 1 {
            return Ok(None);
        }
    }
    let outcome = state
        .search
        .search(SearchRequest {
            text: code.to_string(),
            platform: None,
            limit: 5,
            with_counts: false,
            // Only a guide can own an alarm, and cases must not sway the answer for someone
            // who may not read them.
            include_cases: false,
        })
        .await?;
    let guides: Vec<_> = outcome
        .hits
        .iter()
        .filter(|h| h.kind == DocKind::Guide)
        .collect();
    let clear = match guides.as_slice() {
        [only] => Some(only),
        [first, second, ..] if first.score >= 1.5 * second.score => Some(first),
        _ => None,
    };
    Ok(clear.and_then(|h| library.get(&h.id)).cloned())
}

/// `/alarm/Bad_ConnectionRejected`, `/alarm/0x80AC0000`: 302 to the guide that owns the alarm
/// (with `?alarm=` for its case form), else to the search for it. What an HMI banner or a wiki page links to.
async fn alarm(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let code = code.trim();
    if code.is_empty() {
        return Ok(found("/search"));
    }
    Ok(match owning_guide(&state, code).await? {
        // The alarm rides along, so the guide's "File a case" opens with it filled in.
        Some(g) => found(&format!(
            "{}{}",
            g.url(),
            crate::web::query_string([("alarm", code)])
        )),
        None => found(&search_href(code)),
    })
}

fn qr(url: &str) -> Result<QrCode, AppError> {
    QrCode::new(url.as_bytes())
        .map_err(|e| AppError::BadRequest(format!("cannot encode that link as a QR code: {e}")))
}

fn svg_of(url: &str) -> Result<String, AppError> {
    Ok(qr(url)?
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

fn png_of(url: &str) -> Result<Vec<u8>, AppError> {
    let img = qr(url)?
        .render::<image::Luma<u8>>()
        .min_dimensions(300, 300)
        .quiet_zone(true)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(anyhow::Error::from)?;
    Ok(out.into_inner())
}

fn image_response(content_type: &'static str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

fn guide(state: &AppState, slug: &str) -> Result<Guide, AppError> {
    let library = state.library();
    library
        .find(slug)
        .cloned()
        .ok_or_else(|| AppError::NotFound(format!("There is no guide `{slug}`.")))
}

async fn qr_svg(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let url = absolute(&state, &headers, &guide(&state, &slug)?.url());
    Ok(image_response("image/svg+xml", svg_of(&url)?.into_bytes()))
}

async fn qr_png(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let url = absolute(&state, &headers, &guide(&state, &slug)?.url());
    Ok(image_response("image/png", png_of(&url)?))
}

/// Where a label's QR code leads: the case form for that guide, prefilled with where it hangs.
struct LabelTarget {
    form_path: String,
    /// Non-empty `(name, value)` of site, line, cell, asset.
    place: Vec<(&'static str, String)>,
}

fn label_target(g: &Guide, raw: Option<&str>) -> LabelTarget {
    let q: std::collections::HashMap<String, String> =
        form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.trim().to_string()))
            .collect();
    let place: Vec<(&'static str, String)> = ["site", "line", "cell", "asset"]
        .into_iter()
        .filter_map(|k| q.get(k).filter(|v| !v.is_empty()).map(|v| (k, v.clone())))
        .collect();
    LabelTarget {
        form_path: format!(
            "/guides/{}/cases/new{}",
            g.slug,
            super::query_string(place.iter().map(|(k, v)| (k, v)))
        ),
        place,
    }
}

fn guide_param(raw: Option<&str>) -> Option<String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "guide")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub struct Label {
    pub title: String,
    pub platform: &'static str,
    pub svg: String,
    pub short_url: String,
    pub place: String,
}

#[derive(Template)]
#[template(path = "labels.html")]
struct LabelsPage {
    labels: Vec<Label>,
    guides: Vec<(String, String)>,
    /// The guide chosen ("" for all) and the place, as the form sent them: the form shows
    /// them again.
    guide: String,
    /// `(name, label, value)` of site, line, cell and asset.
    place: Vec<(&'static str, &'static str, String)>,
}

/// `/labels?guide=&site=&line=&cell=&asset=`: printable labels whose QR opens the prefilled case
/// form; without `guide`, one label for every guide.
async fn labels(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let library = state.library();
    let param = guide_param(raw.as_deref());
    let one;
    let chosen: Vec<&Guide> = match &param {
        Some(slug) => {
            one = guide(&state, slug)?;
            vec![&one]
        }
        None => library.all().iter().collect(),
    };
    let mut labels = Vec::new();
    // The current slug, so a renamed guide's old slug still shows as chosen.
    let chosen_slug = match (&param, chosen.first()) {
        (Some(_), Some(g)) => g.slug.clone(),
        _ => String::new(),
    };
    for g in chosen {
        let target = label_target(g, raw.as_deref());
        labels.push(Label {
            title: g.front.title.clone(),
            platform: g.front.platform.label(),
            svg: svg_of(&absolute(&state, &headers, &target.form_path))?,
            short_url: absolute(&state, &headers, &g.url()),
            place: target
                .place
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(" · "),
        });
    }
    let place = [
        ("site", "Site"),
        ("line", "Line"),
        ("cell", "Cell"),
        ("asset", "Asset"),
    ]
    .into_iter()
    .map(|(k, label)| {
        let v = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        (k, label, v)
    })
    .collect();
    page(&LabelsPage {
        labels,
        guides: library.choices(),
        guide: chosen_slug,
        place,
    })
}

/// The label's QR code as PNG, for printing software that wants an image.
async fn label_qr_png(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let slug = guide_param(raw.as_deref())
        .ok_or_else(|| AppError::BadRequest("Say which guide: ?guide=<slug>.".into()))?;
    let g = guide(&state, &slug)?;
    let target = label_target(&g, raw.as_deref());
    Ok(image_response(
        "image/png",
        png_of(&absolute(&state, &headers, &target.form_path))?,
    ))
}

pub struct FeedEntry {
    pub id: String,
    pub title: String,
    pub url: String,
    pub updated: String,
    pub summary: String,
    pub category: &'static str,
}

/// Text for the feed: XML forbids most control characters, which alarms copied from a
/// terminal can hold, and one of them makes the whole feed unreadable.
fn xml(s: &str) -> String {
    crate::text::xml_safe(s).into_owned()
}

impl FeedEntry {
    /// The entry with every text fit for XML.
    fn for_xml(self) -> FeedEntry {
        FeedEntry {
            id: xml(&self.id),
            title: xml(&self.title),
            url: xml(&self.url),
            updated: xml(&self.updated),
            summary: xml(&self.summary),
            category: self.category,
        }
    }
}

#[derive(Template)]
#[template(path = "feed.xml")]
struct Feed {
    self_url: String,
    home_url: String,
    updated: String,
    entries: Vec<FeedEntry>,
}

/// Atom feed of guides (by their `updated` date) and the newest cases.
async fn feed(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let mut entries: Vec<FeedEntry> = state
        .library()
        .all()
        .iter()
        .map(|g| FeedEntry {
            id: absolute(&state, &headers, &g.url()),
            url: absolute(&state, &headers, &g.url()),
            title: g.front.title.clone(),
            updated: format!("{}T00:00:00Z", g.front.updated),
            summary: g.summary.clone(),
            category: "guide",
        })
        .collect();
    let cases = if state.auth.allows(&caller, Permission::ReadCases) {
        store::list(&state.db, &CaseFilter::default(), 50).await?
    } else {
        Vec::new()
    };
    for c in &cases {
        entries.push(FeedEntry {
            id: format!("urn:uuid:{}", c.id),
            url: absolute(&state, &headers, &c.url()),
            title: format!("Case: {}", c.title()),
            updated: c.created_at.to_string(),
            summary: format!("{} — {}", c.fields.outcome.label(), c.fields.fix_applied),
            category: "case",
        });
    }
    entries.sort_by(|a, b| b.updated.cmp(&a.updated));
    let body = Feed {
        self_url: xml(&absolute(&state, &headers, "/feed.xml")),
        home_url: xml(&absolute(&state, &headers, "/")),
        updated: entries
            .first()
            .map(|e| xml(&e.updated))
            .unwrap_or_else(|| "2026-01-01T00:00:00Z".into()),
        entries: entries.into_iter().map(FeedEntry::for_xml).collect(),
    }
    .render()?;
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response())
}
