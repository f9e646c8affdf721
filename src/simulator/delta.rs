//! `GET /v1.0/users/delta`, as Graph serves it for users: an initial round of pages of every
//! live user (`$skiptoken` in each `@odata.nextLink`) ending in an `@odata.deltaLink`;
//! `$deltatoken=latest` for a deltaLink alone ("from now on"); a deltaLink round with the users
//! changed since its token (the whole selected user, or its id with `@removed`: `changed` when
//! soft-deleted, `deleted` when gone for good). `$select` is given once and carried in the
//! tokens, as Graph does. A test can make earlier tokens expire (`POST /_simulator/delta`):
//! 400 `syncStateNotFound`, or a reset: 410 Gone with a `Location` that starts over.

use serde_json::json;

use super::Simulator;
use super::collections::{param, project, selection, users_served};
use super::http::Request;
use super::respond::{graph_error, respond, respond_text};

/// Users per delta page (Graph picks the size of delta pages itself).
const PAGE: usize = 100;
/// Mixed into tokens so they are opaque.
const KEY: u64 = 0x3C6E_F372_FE94_F82B;

/// How an expired delta token is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 400 with the error code `syncStateNotFound`.
    Expired,
    /// 410 Gone with a `Location` for a new initial round.
    Reset,
}

/// Where a request stands: an initial round from `offset`, or the changes after `since`
/// from `offset`; `issued` is the change count the round's deltaLink will carry.
struct Round {
    changes_after: Option<u64>,
    offset: usize,
    issued: u64,
    select: String,
}

fn hex(v: u64) -> String {
    format!("{:016x}", v ^ KEY)
}

fn unhex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok().map(|v| v ^ KEY)
}

/// `i.OFFSET.ISSUED.SELECT` (initial round) or `c.OFFSET.SINCE.ISSUED.SELECT` (changes).
fn skip_token(r: &Round) -> String {
    match r.changes_after {
        None => format!("i.{}.{}.{}", hex(r.offset as u64), hex(r.issued), r.select),
        Some(since) => format!(
            "c.{}.{}.{}.{}",
            hex(r.offset as u64),
            hex(since),
            hex(r.issued),
            r.select
        ),
    }
}

fn parse_skip(token: &str) -> Option<Round> {
    let mut parts = token.splitn(5, '.');
    let kind = parts.next()?;
    let offset = unhex(parts.next()?)? as usize;
    let (changes_after, issued) = match kind {
        "i" => (None, unhex(parts.next()?)?),
        "c" => (Some(unhex(parts.next()?)?), unhex(parts.next()?)?),
        _ => return None,
    };
    let select = match kind {
        "i" => parts.collect::<Vec<_>>().join("."),
        _ => parts.next().unwrap_or("").to_owned(),
    };
    Some(Round {
        changes_after,
        offset,
        issued,
        select,
    })
}

fn link(host: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(&format!("http://{host}/v1.0/users/delta")).expect("a valid URL");
    url.query_pairs_mut().append_pair(name, value);
    url.to_string()
}

/// What a request asks for, or how it is answered at once.
enum Start {
    Round(Round),
    /// `$deltatoken=latest`: a deltaLink from now, with this `$select`.
    Latest(String),
    Refused(Refusal),
    /// A token this server did not make.
    Unknown,
    BadSkip,
}

fn start(query: &[(String, String)], now: u64, floor: Option<(u64, Refusal)>) -> Start {
    if let Some(skip) = param(query, "$skiptoken") {
        return parse_skip(skip).map_or(Start::BadSkip, Start::Round);
    }
    let select = param(query, "$select").unwrap_or("").to_owned();
    let round = |changes_after, select| {
        Start::Round(Round {
            changes_after,
            offset: 0,
            issued: now,
            select,
        })
    };
    match param(query, "$deltatoken").filter(|t| !t.is_empty()) {
        None => round(None, select),
        Some("latest") => Start::Latest(select),
        Some(token) => {
            let (since, select) = token.split_once('.').unwrap_or((token, ""));
            match (unhex(since), floor) {
                (None, _) => Start::Unknown,
                (Some(since), Some((floor, how))) if since < floor => Start::Refused(how),
                (Some(since), _) => round(Some(since), select.to_owned()),
            }
        }
    }
}

pub(super) fn serve(sim: &Simulator, request: Request, query: &[(String, String)]) {
    if let Err((status, body)) = users_served(sim) {
        return respond(request, status, &body, &[]);
    }
    let host = request.header("Host").unwrap_or("localhost").to_owned();
    let store = sim.tenant.users.read();
    let now = store.changes();
    let round = match start(query, now, store.delta_floor) {
        Start::Round(round) => round,
        Start::Latest(select) => {
            drop(store);
            let token = format!("{}.{select}", hex(now));
            let body = json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
                "@odata.deltaLink": link(&host, "$deltatoken", &token),
                "value": [],
            });
            return respond(request, 200, &body, &[]);
        }
        Start::Refused(how) => {
            drop(store);
            return refuse(request, &host, how);
        }
        Start::Unknown => return respond(request, 400, &expired(), &[]),
        Start::BadSkip => {
            return respond(request, 400, &graph_error("", "Invalid Skip Token"), &[]);
        }
    };
    let keep = (!round.select.is_empty()).then(|| selection(&round.select));
    let show = |l: &str| project(l, keep.as_deref());
    let (records, total) = match round.changes_after {
        None => store.page(round.offset, PAGE, show),
        Some(since) => {
            let lines = store.changed_since(since);
            let page = lines.iter().skip(round.offset).take(PAGE);
            let records = page.filter_map(|&l| store.delta_item(l, show)).collect();
            (records, lines.len())
        }
    };
    drop(store);
    let (key, value) = if round.offset + PAGE < total {
        let next = Round {
            offset: round.offset + PAGE,
            ..round
        };
        let link = link(&host, "$skiptoken", &skip_token(&next));
        ("@odata.nextLink", link)
    } else {
        let token = format!("{}.{}", hex(round.issued), round.select);
        ("@odata.deltaLink", link(&host, "$deltatoken", &token))
    };
    let body = format!(
        "{{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#users\",\"value\":[{}],{}:{}}}",
        records.join(","),
        json!(key),
        json!(value)
    );
    respond_text(request, 200, body)
}

fn expired() -> serde_json::Value {
    graph_error(
        "syncStateNotFound",
        "The sync state cannot be found. It may have expired or been reset; start a new initial synchronization.",
    )
}

fn refuse(request: Request, host: &str, how: Refusal) {
    match how {
        Refusal::Expired => respond(request, 400, &expired(), &[]),
        Refusal::Reset => {
            let location = link(host, "$deltatoken", "");
            let body = graph_error(
                "resyncRequired",
                "Resync required: start a new initial synchronization.",
            );
            respond(request, 410, &body, &[("Location", &location)])
        }
    }
}
