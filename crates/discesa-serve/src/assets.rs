//! The page, embedded in the binary: no file on disk is read to serve it and it loads nothing
//! from the network.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/style.css");

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`.
pub async fn index() -> Response {
    asset(INDEX, "text/html; charset=utf-8")
}

/// `GET /app.js`.
pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /style.css`.
pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

/// `GET /api/health`: the server is up, and what it is.
pub async fn health() -> Response {
    axum::Json(
        serde_json::json!({ "ok": true, "name": "discesa", "version": env!("CARGO_PKG_VERSION") }),
    )
    .into_response()
}

/// Anything else: 404 (no path is ever mapped to a file).
pub async fn not_found() -> Response {
    crate::error::ApiError::not_found("no such page or API route").into_response()
}

/// The total size of the page's assets, in bytes.
pub fn page_bytes() -> usize {
    INDEX.len() + SCRIPT.len() + STYLE.len()
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_is_small_and_loads_nothing_from_elsewhere() {
        assert!(super::page_bytes() < 300 * 1024, "{}", super::page_bytes());
        for text in [super::INDEX, super::SCRIPT, super::STYLE] {
            assert!(
                !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn")
            );
        }
    }
}
