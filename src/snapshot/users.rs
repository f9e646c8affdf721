//! `users.jsonl` into the account table, in parallel, block by block.
//!
//! Each line is a Graph user object: unknown properties are ignored, `null` and absent are the
//! same, `@odata.*` keys pass. Only the properties the scan reads are kept, in compact columns.

use std::borrow::Cow;
use std::path::Path;

use serde::Deserialize;

use super::SnapshotError;
use super::lines::{Block, json_message, parse_parallel};
use super::manifest::CollectionFile;
use super::plans::MailboxPlan;
use super::text::Text;
use crate::model::user as col;
use crate::model::{Column, StrColumn, Table};

/// Graph allows 256 characters in displayName; longer values are cut, with a warning.
pub const DISPLAY_NAME_LIMIT: usize = 256;
const WARNINGS_KEPT: usize = 20;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUser<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    user_principal_name: Option<Text<'a>>,
    #[serde(borrow)]
    display_name: Option<Text<'a>>,
    #[serde(borrow)]
    mail: Option<Text<'a>>,
    #[serde(borrow)]
    user_type: Option<Text<'a>>,
    account_enabled: Option<bool>,
    #[serde(borrow)]
    creation_type: Option<Text<'a>>,
    #[serde(borrow)]
    external_user_state: Option<Text<'a>>,
    #[serde(borrow)]
    on_premises_user_principal_name: Option<Text<'a>>,
    on_premises_sync_enabled: Option<bool>,
    #[serde(borrow)]
    other_mails: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    proxy_addresses: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    assigned_plans: Option<MailboxPlan<'a>>,
    #[serde(borrow)]
    company_name: Option<Text<'a>>,
    #[serde(borrow)]
    employee_type: Option<Text<'a>>,
    #[serde(borrow)]
    external_user_state_change_date_time: Option<Text<'a>>,
    #[serde(borrow)]
    external_user_converted_on: Option<Text<'a>>,
    #[serde(borrow)]
    identities: Option<Issuers<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIdentity<'a> {
    #[serde(borrow)]
    issuer: Option<Text<'a>>,
}

/// The issuers of an account's `identities`, joined by `; ` as they are read: borrowed from
/// the line when there is one, no list kept.
struct Issuers<'a>(Text<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Issuers<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Joined;

        impl<'de> serde::de::Visitor<'de> for Joined {
            type Value = Issuers<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut ids: S,
            ) -> Result<Self::Value, S::Error> {
                let mut joined: Option<Text> = None;
                while let Some(identity) = ids.next_element::<RawIdentity<'de>>()? {
                    match (&mut joined, identity.issuer) {
                        (Some(j), Some(issuer)) => j.join("; ", &issuer),
                        (None, issuer) => joined = issuer,
                        (Some(_), None) => {}
                    }
                }
                Ok(Issuers(joined.unwrap_or_else(Text::empty)))
            }
        }

        d.deserialize_seq(Joined)
    }
}

/// The accounts of a snapshot: reader columns filled, derived columns still empty.
pub struct Users {
    pub table: Table,
    /// Per account, every address it holds (mail, userPrincipalName, otherMails, smtp
    /// proxies), lower-case,
    /// de-duplicated, joined by `\n`. Feeds the collision fact.
    pub addresses: StrColumn,
    /// The line of `users.jsonl` each account came from.
    pub lines: Vec<u64>,
    pub warnings: Vec<String>,
    pub warnings_total: usize,
}

impl Users {
    fn new(rows: usize) -> Self {
        Self {
            table: Table::new(col::COLUMNS, rows),
            addresses: StrColumn::with_capacity(rows),
            lines: Vec::with_capacity(rows),
            warnings: Vec::new(),
            warnings_total: 0,
        }
    }

    fn append(&mut self, other: Users) {
        self.table.append(&other.table);
        self.addresses.append(&other.addresses);
        self.lines.extend_from_slice(&other.lines);
        self.warnings_total += other.warnings_total;
        let room = WARNINGS_KEPT.saturating_sub(self.warnings.len());
        self.warnings.extend(other.warnings.into_iter().take(room));
    }

    /// A display name within Graph's limit, cut with a warning when longer.
    fn cut<'n>(&mut self, name: &'n str, path: &Path, line: u64) -> &'n str {
        match name.char_indices().nth(DISPLAY_NAME_LIMIT) {
            Some((cut, _)) => {
                self.warn(format!(
                    "{} line {line}: displayName is {} bytes long; cut to {DISPLAY_NAME_LIMIT} characters",
                    path.display(),
                    name.len()
                ));
                &name[..cut]
            }
            None => name,
        }
    }

    fn warn(&mut self, message: String) {
        self.warnings_total += 1;
        if self.warnings.len() < WARNINGS_KEPT {
            self.warnings.push(message);
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

pub fn load(file: &CollectionFile) -> Result<Users, SnapshotError> {
    let mut users = Users::new(0);
    parse_parallel(
        file,
        |block| parse_block(&file.path, &block),
        |part| users.append(part),
    )?;
    Ok(users)
}

/// Accounts from user objects read elsewhere (a live `GET /users/{id}`), parsed exactly as
/// `users.jsonl` is; `source` names them in errors, with the object's number as its line.
pub fn from_values(source: &Path, records: &[serde_json::Value]) -> Result<Users, SnapshotError> {
    // Compact JSON never holds a raw line break, so each object stays one line.
    let lines: Vec<String> = records.iter().map(serde_json::Value::to_string).collect();
    let block = Block {
        first_line: 1,
        data: lines.join("\n").into_bytes(),
    };
    parse_block(source, &block)
}

fn parse_block(path: &Path, block: &Block) -> Result<Users, SnapshotError> {
    let mut out = Users::new(block.data.len() / 600);
    let mut joined = String::new();
    // Checked as UTF-8 once here, so serde_json need not check each string again.
    let whole = block.text(path)?;
    for (line, text) in block.text_lines(whole) {
        let user: RawUser = serde_json::from_str(text).map_err(|e| SnapshotError::BadLine {
            path: path.to_owned(),
            line,
            message: explain(text.as_bytes(), &e),
        })?;
        let Some(id) = user.id.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Err(SnapshotError::BadLine {
                path: path.to_owned(),
                line,
                message: "user object has no id".into(),
            });
        };
        let display_name = user.display_name.as_deref().map(|n| out.cut(n, path, line));
        let exchange = user.assigned_plans.as_ref().and_then(|p| p.0.as_ref());
        let other_mails = user.other_mails.as_deref().unwrap_or_default();
        joined.clear();
        for (i, m) in other_mails.iter().enumerate() {
            joined.push_str(if i > 0 { "; " } else { "" });
            joined.push_str(m);
        }
        let t = &mut out.table.columns;
        text_col(&mut t[col::ID]).push(Some(id));
        text_col(&mut t[col::UPN]).push(user.user_principal_name.as_deref());
        text_col(&mut t[col::DISPLAY_NAME]).push(display_name);
        text_col(&mut t[col::MAIL]).push(user.mail.as_deref());
        text_col(&mut t[col::USER_TYPE]).push(user.user_type.as_deref());
        bool_col(&mut t[col::ACCOUNT_ENABLED]).push(user.account_enabled);
        text_col(&mut t[col::CREATION_TYPE]).push(user.creation_type.as_deref());
        text_col(&mut t[col::EXTERNAL_USER_STATE]).push(user.external_user_state.as_deref());
        text_col(&mut t[col::ONPREM_UPN]).push(user.on_premises_user_principal_name.as_deref());
        bool_col(&mut t[col::ONPREM_SYNC]).push(user.on_premises_sync_enabled);
        text_col(&mut t[col::OTHER_MAILS])
            .push((user.other_mails.is_some()).then_some(joined.as_str()));
        bool_col(&mut t[col::HAS_EXCHANGE_PLAN]).push(Some(exchange.is_some()));
        text_col(&mut t[col::EXCHANGE_PLAN_ID]).push(exchange.and_then(|id| id.as_deref()));
        text_col(&mut t[col::COMPANY_NAME]).push(user.company_name.as_deref());
        text_col(&mut t[col::EMPLOYEE_TYPE]).push(user.employee_type.as_deref());
        text_col(&mut t[col::EXTERNAL_USER_STATE_CHANGED])
            .push(user.external_user_state_change_date_time.as_deref());
        text_col(&mut t[col::EXTERNAL_USER_CONVERTED_ON])
            .push(user.external_user_converted_on.as_deref());
        text_col(&mut t[col::IDENTITY_ISSUERS]).push(user.identities.as_ref().map(|i| &*i.0));

        join_addresses(&user, &mut joined);
        out.addresses.push(Some(&joined));
        out.lines.push(line);
    }
    Ok(out)
}

/// Every address `user` holds (mail, userPrincipalName, otherMails, smtp proxies), trimmed,
/// lower-case and de-duplicated, sorted and joined by `\n` into `joined`.
fn join_addresses(user: &RawUser, joined: &mut String) {
    let smtp = user.proxy_addresses.iter().flatten().filter_map(|p| {
        let (scheme, address) = p.split_once(':')?;
        scheme.eq_ignore_ascii_case("smtp").then_some(address)
    });
    let other_mails = user.other_mails.iter().flatten().map(|m| &**m);
    let mut list: Vec<Cow<str>> = user
        .mail
        .as_deref()
        .into_iter()
        .chain(user.user_principal_name.as_deref())
        .chain(other_mails)
        .chain(smtp)
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| match a.chars().any(char::is_uppercase) {
            true => Cow::Owned(a.to_lowercase()),
            false => Cow::Borrowed(a),
        })
        .collect();
    list.sort_unstable();
    list.dedup();
    joined.clear();
    for (i, a) in list.iter().enumerate() {
        if i > 0 {
            joined.push('\n');
        }
        joined.push_str(a);
    }
}

fn text_col(c: &mut Column) -> &mut StrColumn {
    match c {
        Column::Text(s) => s,
        _ => unreachable!("schema declares a text column"),
    }
}

fn bool_col(c: &mut Column) -> &mut Vec<Option<bool>> {
    match c {
        Column::Bool(b) => b,
        _ => unreachable!("schema declares a bool column"),
    }
}

/// Names the property at fault when the line is valid JSON of the wrong shape.
fn explain(text: &[u8], e: &serde_json::Error) -> String {
    if e.classify() == serde_json::error::Category::Data {
        let mut de = serde_json::Deserializer::from_slice(text);
        if let Err(pe) = serde_path_to_error::deserialize::<_, RawUser>(&mut de) {
            let path = pe.path().to_string();
            let inner = pe.into_inner();
            return format!("property {path}: {}", json_message(&inner));
        }
    }
    json_message(e)
}

/// Parses one line into the typed user the scan reads and drops it; the benchmark's
/// typed baseline.
pub fn parse_only(line: &[u8]) -> bool {
    serde_json::from_slice::<RawUser>(line).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(users: &Users, column: usize, row: usize) -> Option<String> {
        match &users.table.columns[column] {
            Column::Text(s) => s.get(row).map(str::to_owned),
            _ => panic!("not a text column"),
        }
    }

    #[test]
    fn lists_are_folded_into_their_columns_as_read() {
        let records = serde_json::json!([
            {"id": "1", "mail": "A@x.example", "otherMails": ["b@x.example", "C@X.example"],
             "proxyAddresses": ["SMTP:a@x.example", "x500:/o=x", "smtp:d@x.example"],
             "identities": [{"issuer": "x.example"}, {"signInType": "federated"}, {"issuer": "ext\"ra"}],
             "assignedPlans": [{"service": "exchange", "capabilityStatus": "Enabled", "servicePlanId": "p1"}]},
            {"id": "2", "identities": [], "assignedPlans": []},
            {"id": "3"}
        ]);
        let users =
            from_values(Path::new("users"), records.as_array().expect("array")).expect("parsed");
        assert_eq!(
            text(&users, col::OTHER_MAILS, 0).as_deref(),
            Some("b@x.example; C@X.example")
        );
        assert_eq!(
            text(&users, col::IDENTITY_ISSUERS, 0).as_deref(),
            Some("x.example; ext\"ra")
        );
        assert_eq!(
            text(&users, col::EXCHANGE_PLAN_ID, 0).as_deref(),
            Some("p1")
        );
        assert_eq!(
            users.addresses.get(0),
            Some("a@x.example\nb@x.example\nc@x.example\nd@x.example")
        );
        assert_eq!(text(&users, col::IDENTITY_ISSUERS, 1).as_deref(), Some(""));
        assert_eq!(text(&users, col::OTHER_MAILS, 1), None);
        assert_eq!(text(&users, col::EXCHANGE_PLAN_ID, 1), None);
        assert_eq!(text(&users, col::IDENTITY_ISSUERS, 2), None);
        let has_plan = |row| match &users.table.columns[col::HAS_EXCHANGE_PLAN] {
            Column::Bool(b) => b[row],
            _ => None,
        };
        assert_eq!(
            (has_plan(0), has_plan(1), has_plan(2)),
            (Some(true), Some(false), Some(false))
        );
    }
}
