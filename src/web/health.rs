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
/// The release and the schema version the database is at (an upgrade check); the guide count
/// and content hash (which node serves which guides) only for callers who may read guides.
async fn healthz(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, AppError> {
    let schema = crate::db::applied_schema_version(&state.db)
        .await
        .map_err(anyhow::Error::from)?;
    let mut body = json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "schema": schema,
        "database": crate::db::Backend::of(&state.db).name(),
    });
    if state.auth.allows(&caller, Permission::ReadGuides) {
        body["guides"] = json!(state.library().all().len());
        body["content_hash"] = json!(state.library().content_hash);
    }
    Ok(Json(body))
}
