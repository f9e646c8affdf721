//! Answers in the shape Graph and Entra give them: JSON bodies with their content type, and
//! Graph's error body.

use serde_json::{Value, json};

use super::http::Request;

/// A JSON answer, with any extra headers.
pub(super) fn respond(request: Request, status: u16, body: &Value, extra: &[(&str, &str)]) {
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend_from_slice(extra);
    request.respond(status, &headers, body.to_string().into_bytes())
}

/// Graph's error body, with the innerError Graph adds.
pub(super) fn graph_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "innerError": {
        "date": "2026-11-20T08:00:00", "request-id": "7f3c1a52-2f4e-4a4b-9a57-1c7c1d0e2a11",
        "client-request-id": "7f3c1a52-2f4e-4a4b-9a57-1c7c1d0e2a11"}}})
}

/// A JSON answer already assembled as text.
pub(super) fn respond_text(request: Request, status: u16, body: String) {
    request.respond(
        status,
        &[("Content-Type", "application/json")],
        body.into_bytes(),
    )
}

/// Graph's answer to a request its permissions do not cover.
pub(super) fn denied() -> Value {
    graph_error(
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}
