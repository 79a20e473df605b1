use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{AppError, AppState};
use crate::auth::{Caller, Permission};

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Answers only when the database answers, so a load balancer sees a real failure.
/// The guide count and content hash (which node serves which guides) only for callers who
/// may read guides.
async fn healthz(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, AppError> {
    sqlx::query("SELECT 1").execute(&state.db).await?;
    if !state.auth.allows(&caller, Permission::ReadGuides) {
        return Ok(Json(json!({ "status": "ok" })));
    }
    Ok(Json(json!({
        "status": "ok",
        "guides": state.library.all().len(),
        "content_hash": state.library.content_hash,
    })))
}
