//! API errors: a status code and one message, sent as `{"error": "..."}` (plus the column of a
//! formula's parse error, so the page can mark it).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An answer that is not a success.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// What went wrong, in words.
    pub message: String,
    /// For formula parse errors: the 1-based column and length of the bad text.
    pub column: Option<(usize, usize)>,
}

impl ApiError {
    /// 400: the request itself is wrong.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            message: message.into(),
            column: None,
        }
    }

    /// 404: nothing there.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            message: message.into(),
            column: None,
        }
    }

    /// 503: too busy, or a job ran out of time.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 503,
            message: message.into(),
            column: None,
        }
    }

    /// 500: a fault of the server (a caught panic).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 500,
            message: message.into(),
            column: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some((column, len)) = self.column {
            body["column"] = json!(column);
            body["length"] = json!(len);
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(body)).into_response()
    }
}
