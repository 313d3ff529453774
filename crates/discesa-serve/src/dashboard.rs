//! `/api/run*`: the training dashboard. The metrics file is re-read when its size or
//! modification time changes, and each change is pushed to the page as a server-sent event.

use crate::error::ApiError;
use crate::run_files::{read_landscape, read_metrics};
use crate::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, Stream};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often a followed metrics file is looked at.
const POLL: Duration = Duration::from_millis(400);
/// Most event streams open at once.
const STREAMS: usize = 16;
static OPEN_STREAMS: AtomicUsize = AtomicUsize::new(0);

/// `GET /api/run`: what the dashboard has to show.
pub async fn info(State(s): State<Arc<AppState>>) -> Json<Value> {
    let run = s.run.as_ref();
    Json(json!({
        "metrics": run.and_then(|r| r.metrics.as_ref()).map(|p| p.display().to_string()),
        "landscape": run.and_then(|r| r.landscape.as_ref()).map(|p| p.display().to_string()),
    }))
}

fn metrics_path(s: &AppState) -> Result<PathBuf, ApiError> {
    s.run
        .as_ref()
        .and_then(|r| r.metrics.clone())
        .ok_or_else(|| {
            ApiError::not_found("no metrics file was named (start with --run FILE_OR_DIR)")
        })
}

/// `GET /api/run/metrics`: the whole metrics file as `{layers, records}`.
pub async fn metrics(State(s): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let path = metrics_path(&s)?;
    read_metrics(&path).map(Json).map_err(ApiError::internal)
}

/// `GET /api/run/landscape`: coordinates, loss surface and settings of the landscape directory.
pub async fn landscape(State(s): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let dir = s
        .run
        .as_ref()
        .and_then(|r| r.landscape.clone())
        .ok_or_else(|| {
            ApiError::not_found("no landscape directory was named (start with --run DIR)")
        })?;
    s.jobs
        .run(move |_| read_landscape(&dir).map_err(ApiError::internal))
        .await
        .map(Json)
}

fn stamp(p: &PathBuf) -> Option<(u64, SystemTime)> {
    let m = std::fs::metadata(p).ok()?;
    Some((m.len(), m.modified().ok()?))
}

struct Follow {
    path: PathBuf,
    last: Option<Option<(u64, SystemTime)>>,
}

impl Drop for Follow {
    fn drop(&mut self) {
        OPEN_STREAMS.fetch_sub(1, Ordering::SeqCst);
    }
}

fn follow(path: PathBuf) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(Follow { path, last: None }, |mut f| async move {
        loop {
            let now = stamp(&f.path);
            if f.last.as_ref() != Some(&now) {
                f.last = Some(now);
                let data = match read_metrics(&f.path) {
                    Ok(v) => v,
                    Err(e) => json!({ "error": e }),
                };
                let event = Event::default().event("metrics").data(data.to_string());
                return Some((Ok(event), f));
            }
            tokio::time::sleep(POLL).await;
        }
    })
}

/// `GET /api/run/events`: a `metrics` event with the whole file at once and after each change.
pub async fn events(State(s): State<Arc<AppState>>) -> Response {
    let path = match metrics_path(&s) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if OPEN_STREAMS.fetch_add(1, Ordering::SeqCst) >= STREAMS {
        OPEN_STREAMS.fetch_sub(1, Ordering::SeqCst);
        return ApiError::unavailable(format!("more than {STREAMS} dashboards are open"))
            .into_response();
    }
    Sse::new(follow(path))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response()
}
