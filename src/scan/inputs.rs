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

/// A CSV file as (lower-case first row, every non-blank row with its line number).
type Rows = (Vec<String>, Vec<(u64, Vec<String>)>);

fn read_csv(path: &Path) -> Result<Rows, InputError> {
    let err = |message: String| InputError {
        path: path.to_owned(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| err(e.to_string()))?;
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
    Ok(rows
        .into_iter()
        .skip(usize::from(has_header))
        .map(|(line, cells)| Entry {
            line,
            user: cells[0].clone(),
            external_email: None,
        })
        .collect())
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
    Ok(rows
        .into_iter()
        .skip(1)
        .map(|(line, cells)| Entry {
            line,
            user: cells.get(user).cloned().unwrap_or_default(),
            external_email: cells.get(email).cloned().filter(|e| !e.is_empty()),
        })
        .collect())
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
