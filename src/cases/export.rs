//! The CSV export: one row per case, written while the rows are read, so the memory it takes
//! stays the same whether the plant has a hundred cases or a million.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use super::fields::FIELDS;
use super::store::{self, CaseFilter, ExportRow};
use crate::db::Db;
use crate::text::spreadsheet_safe;

/// Written rows are handed on in chunks of about this size.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks waiting for a slow client; the reader pauses when they are all full.
const CHUNKS_IN_FLIGHT: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

/// The column names: the case's id, its guide and when it was filed, the other fields in table
/// order, then its photos.
pub fn header() -> Vec<&'static str> {
    let mut h = vec!["id", "guide", "created_at"];
    h.extend(FIELDS.iter().map(|f| f.name).filter(|n| *n != "guide"));
    h.push("photos");
    h
}

fn record(row: &ExportRow) -> Vec<String> {
    let c = &row.case;
    let mut r = vec![
        c.id.to_string(),
        c.fields.text("guide"),
        c.created_at.to_string(),
    ];
    r.extend(
        FIELDS
            .iter()
            .filter(|f| f.name != "guide")
            .map(|f| c.fields.text(f.name)),
    );
    r.push(
        row.photo_ids
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(|id| format!("/photos/{id}.jpg"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    r
}

/// Every cell quoted (RFC 4180), rows ending in CRLF, as spreadsheets expect.
fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(CHUNK_BYTES + 4096))
}

fn write_row<'a>(
    w: &mut csv::Writer<Vec<u8>>,
    cells: impl IntoIterator<Item = &'a str>,
) -> Result<(), csv::Error> {
    w.write_record(cells.into_iter().map(|c| spreadsheet_safe(c).into_owned()))
}

/// One CSV line (with its CRLF), for other exports that share the formula guard.
pub fn csv_line<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut w = writer();
    if write_row(&mut w, cells).is_err() {
        return String::new();
    }
    w.into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// Takes what the writer holds so far, leaving a fresh one in its place.
fn take(w: &mut csv::Writer<Vec<u8>>) -> Result<Bytes, ExportError> {
    let full = std::mem::replace(w, writer());
    let bytes = full
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(Bytes::from(bytes))
}

/// The export of the cases matching `filter`, as a stream of CSV chunks. A background task
/// reads the rows and writes them; it stops when the stream is dropped (the client went away).
pub fn csv_stream(db: Db, filter: CaseFilter) -> impl Stream<Item = Result<Bytes, ExportError>> {
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::spawn(async move {
        if let Err(e) = write_all(&db, &filter, &tx).await {
            // The client sees a cut-off download rather than a silently short file.
            let _ = tx.send(Err(e)).await;
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
}

async fn write_all(
    db: &Db,
    filter: &CaseFilter,
    tx: &mpsc::Sender<Result<Bytes, ExportError>>,
) -> Result<(), ExportError> {
    let mut w = writer();
    write_row(&mut w, header())?;
    let mut query = store::export_query(filter);
    let mut rows = query.build_query_as::<ExportRow>()?.fetch(db);
    while let Some(row) = rows.next().await {
        let cells = record(&row?);
        write_row(&mut w, cells.iter().map(String::as_str))?;
        if w.get_ref().len() >= CHUNK_BYTES && tx.send(Ok(take(&mut w)?)).await.is_err() {
            return Ok(());
        }
    }
    let rest = take(&mut w)?;
    if !rest.is_empty() {
        let _ = tx.send(Ok(rest)).await;
    }
    Ok(())
}
