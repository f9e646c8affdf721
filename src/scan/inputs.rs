//! The user's own lists: `--scope-file` (ids or UPNs) and `--external-identities`
//! (`user`, `externalEmail`). Both name accounts by object id or userPrincipalName.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::model::StrColumn;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct InputError {
    pub path: PathBuf,
    pub message: String,
}

/// One entry of a list, with the line it came from.
#[derive(Debug, Clone)]
pub struct Entry {
    pub line: u64,
    pub user: String,
    pub external_email: Option<String>,
}

/// A list of a few million accounts stays well below this.
const LIST_LIMIT: u64 = 1024 * crate::files::MIB;

/// Whether a cell can name an account: an object id or a userPrincipalName, at most 1,024
/// characters without white space or control characters. Anything else (a line of some other
/// file) is refused without being quoted.
fn names_an_account(cell: &str) -> bool {
    let id = cell.len() == 36 && cell.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let upn = cell.contains('@') && cell.len() <= 1024;
    (id || upn) && !cell.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_accounts(path: &Path, entries: &[Entry]) -> Result<(), InputError> {
    match entries.iter().find(|e| !names_an_account(&e.user)) {
        Some(e) => Err(InputError {
            path: path.to_owned(),
            message: format!(
                "line {}: the first column is not an object id or a userPrincipalName",
                e.line
            ),
        }),
        None => Ok(()),
    }
}

/// A CSV file as (lower-case first row, every non-blank row with its line number).
type Rows = (Vec<String>, Vec<(u64, Vec<String>)>);

fn read_csv(path: &Path) -> Result<Rows, InputError> {
    let err = |message: String| InputError {
        path: path.to_owned(),
        message,
    };
    let file = crate::files::open_regular(path).map_err(|e| err(e.to_string()))?;
    if file.metadata().map_err(|e| err(e.to_string()))?.len() > LIST_LIMIT {
        return Err(err(format!(
            "larger than {} MiB",
            LIST_LIMIT / crate::files::MIB
        )));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, LIST_LIMIT), &mut bytes)
        .map_err(|e| err(e.to_string()))?;
    // Excel's "CSV UTF-8" starts with a byte order mark, which is not part of the first cell.
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| err(e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        rows.push((line, cells));
    }
    let header = if rows.is_empty() {
        Vec::new()
    } else {
        rows[0].1.iter().map(|c| c.to_ascii_lowercase()).collect()
    };
    Ok((header, rows))
}

/// A scope file: one account per line (first column), with or without a header row.
pub fn read_scope_file(path: &Path) -> Result<Vec<Entry>, InputError> {
    let (header, rows) = read_csv(path)?;
    let has_header = header.first().is_some_and(|h| {
        matches!(
            h.as_str(),
            "id" | "user" | "userprincipalname" | "upn" | "objectid"
        )
    });
    let entries: Vec<Entry> = rows
        .into_iter()
        .skip(usize::from(has_header))
        .map(|(line, cells)| Entry {
            line,
            user: cells[0].clone(),
            external_email: None,
        })
        .collect();
    check_accounts(path, &entries)?;
    Ok(entries)
}

/// An external identities file: a header row naming `user` and `externalEmail`.
pub fn read_external_identities(path: &Path) -> Result<Vec<Entry>, InputError> {
    let (header, rows) = read_csv(path)?;
    let find = |name: &str| header.iter().position(|h| h == name);
    let (Some(user), Some(email)) = (find("user"), find("externalemail")) else {
        return Err(InputError {
            path: path.to_owned(),
            message: "the first row must name the columns user and externalEmail".into(),
        });
    };
    let entries: Vec<Entry> = rows
        .into_iter()
        .skip(1)
        .map(|(line, cells)| Entry {
            line,
            user: cells.get(user).cloned().unwrap_or_default(),
            external_email: cells.get(email).cloned().filter(|e| !e.is_empty()),
        })
        .collect();
    check_accounts(path, &entries)?;
    Ok(entries)
}

/// Finds accounts by object id (exact, case-insensitive) or userPrincipalName
/// (case-insensitive).
pub struct AccountIndex {
    map: HashMap<String, u32>,
}

impl AccountIndex {
    pub fn new(ids: &StrColumn, upns: &StrColumn) -> Self {
        let mut map = HashMap::with_capacity(ids.len() * 2);
        for (row, upn) in upns.iter().enumerate() {
            if let Some(u) = upn {
                map.insert(u.to_lowercase(), row as u32);
            }
        }
        for (row, id) in ids.iter().enumerate() {
            if let Some(i) = id {
                map.insert(i.to_lowercase(), row as u32);
            }
        }
        Self { map }
    }

    pub fn find(&self, key: &str) -> Option<u32> {
        self.map.get(&key.trim().to_lowercase()).copied()
    }
}
