//! What the user store reads from a user's line: its id, the addresses it holds and its
//! invitation state.

use serde::Deserialize;
use serde_json::Value;

use super::addresses::{normal, smtp};
use crate::snapshot::Text;

/// What the store follows in a user's line: its id, the addresses it holds (lower-cased)
/// and its externalUserState.
#[derive(Default)]
pub(super) struct Keys {
    pub id: Option<String>,
    pub addresses: Vec<String>,
    pub state: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKeys<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    mail: Option<Text<'a>>,
    #[serde(borrow)]
    user_principal_name: Option<Text<'a>>,
    #[serde(borrow, default)]
    proxy_addresses: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    external_user_state: Option<Text<'a>>,
}

impl Keys {
    /// The keys of a line. Read without building the whole object (a million lines are read
    /// at load); a line whose properties have unexpected types is read leniently instead.
    pub(super) fn of(line: &str) -> Keys {
        match serde_json::from_str::<RawKeys>(line) {
            Ok(raw) => {
                let proxies = raw.proxy_addresses.unwrap_or_default();
                let addresses = raw
                    .mail
                    .as_deref()
                    .into_iter()
                    .chain(raw.user_principal_name.as_deref());
                Keys::made(
                    raw.id.map(Text::into_owned),
                    addresses.chain(proxies.iter().filter_map(|p| smtp(p))),
                    raw.external_user_state.map(Text::into_owned),
                )
            }
            Err(_) => {
                let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
                let proxies = v["proxyAddresses"].as_array().cloned().unwrap_or_default();
                let addresses = v["mail"]
                    .as_str()
                    .into_iter()
                    .chain(v["userPrincipalName"].as_str());
                Keys::made(
                    v["id"].as_str().map(str::to_owned),
                    addresses.chain(proxies.iter().filter_map(Value::as_str).filter_map(smtp)),
                    v["externalUserState"].as_str().map(str::to_owned),
                )
            }
        }
    }

    fn made<'a>(
        id: Option<String>,
        addresses: impl Iterator<Item = &'a str>,
        state: Option<String>,
    ) -> Keys {
        let mut addresses: Vec<String> = addresses.filter_map(normal).collect();
        addresses.sort();
        addresses.dedup();
        Keys {
            id,
            addresses,
            state,
        }
    }
}
