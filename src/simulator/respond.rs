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

/// Graph's answer for an object that is not there (or is soft-deleted).
pub(super) fn not_found(id: &str) -> Value {
    graph_error("Request_ResourceNotFound", &not_found_message(id))
}

pub(super) fn not_found_message(id: &str) -> String {
    format!(
        "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
    )
}

/// An answer without a body: 204 No Content.
pub(super) fn no_content(request: Request) {
    request.respond(204, &[], Vec::new())
}

/// A request Graph refuses: its status, error code and message.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub(super) fn new(status: u16, code: &'static str, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
        }
    }

    pub(super) fn send(self, request: Request) {
        respond(
            request,
            self.status,
            &graph_error(self.code, &self.message),
            &[],
        )
    }
}
