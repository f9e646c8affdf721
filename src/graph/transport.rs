//! How transport failures and URLs are put into messages: one line, no query string (which
//! can hold page tokens), used by sign-in and by the client alike.

/// A transport error in one line, with no URL query (which could hold a token).
pub fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response was cut off"
    } else {
        "the connection failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// A URL for messages: without its query, which holds page tokens.
pub fn redact(url: &str) -> String {
    url.split_once('?').map_or(url, |(head, _)| head).to_owned()
}
