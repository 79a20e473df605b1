//! `/cases.csv`: the filtered cases as a spreadsheet, streamed as it is written.

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::list::ListParams;
use super::{AppError, AppState};
use crate::cases::export;

pub async fn csv(
    State(state): State<AppState>,
    ListParams(q): ListParams,
) -> Result<Response, AppError> {
    let filter = q.filter(&state.library())?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"faultbook-cases.csv\"",
            ),
        ],
        Body::from_stream(export::csv_stream(state.db.clone(), filter)),
    )
        .into_response())
}

/// One quoted CSV cell with the export's formula guard, for other CSV pages (the audit log).
pub fn csv_cell(s: &str) -> String {
    let line = export::csv_line([s]);
    line.strip_suffix("\r\n").unwrap_or(&line).to_string()
}
