//! The journal of an apply run: `journal.jsonl`, append-only, one JSON record per event, each
//! written, flushed and synced to disk before the next request goes out. An `intent` is on
//! disk before its invitation is sent, so a run killed at any moment leaves either no trace of
//! a request (it was never sent) or an intent that the next run resolves by reading the
//! account back. The file is locked while a run appends to it, so two runs never act on the
//! same plan at once.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A journal of a million accounts stays well below this.
const JOURNAL_LIMIT: u64 = 8192 * crate::files::MIB;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// An invitation is about to be sent.
    Intent,
    /// Graph accepted the invitation (or a read-back showed it took effect).
    Sent,
    /// The live re-check stopped the account; nothing was sent.
    Skipped,
    /// Graph refused the invitation, or its outcome stayed unknown.
    Failed,
    /// A step after the invitation: done, failed, or left to a person.
    PostStep,
}

/// One event. Every record names the time, the account, the plan and the attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub time: String,
    pub event: Event,
    pub account_id: String,
    pub plan_digest: String,
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Graph's error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Graph's message, or what happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why an account was skipped or failed, in plain words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<String>,
    /// Whether Graph's answer held a redemption link (the link itself is never kept: whoever
    /// has it can redeem the invitation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_redeem_url_present: Option<bool>,
    /// The object the invitation went to, when it is not the planned account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_user_id: Option<String>,
    /// Set when the outcome was learnt by reading the account back, not from Graph's answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_back: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// For a post-step: `done`, `failed` or `manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

impl Record {
    pub fn new(event: Event, account_id: &str, plan_digest: &str, attempt: u32) -> Self {
        Record {
            time: now_millis(),
            event,
            account_id: account_id.to_owned(),
            plan_digest: plan_digest.to_owned(),
            attempt,
            status: None,
            code: None,
            message: None,
            reason: None,
            blockers: Vec::new(),
            invite_redeem_url_present: None,
            invited_user_id: None,
            read_back: false,
            step: None,
            result: None,
        }
    }
}

/// Now, to the millisecond, as RFC 3339: records of one second keep their order when read.
fn now_millis() -> String {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Millisecond)
        .unwrap_or(now)
        .to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot use the journal {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}, line {line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{} is in use by another apply run of this plan", path.display())]
    Locked { path: PathBuf },
}

/// The journal open for appending, locked for this run.
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (or creates) the journal for appending and locks it. A record cut off by a kill
    /// (no line end) was never complete, so no request followed it: it is cut away, and the
    /// records before it are returned.
    pub fn open(path: &Path) -> Result<(Self, Vec<Record>), JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::symlink_metadata(path);
        if let Ok(meta) = &meta
            && !meta.file_type().is_file()
        {
            return Err(io(std::io::Error::other("it is not a regular file")));
        }
        let created = meta.is_err();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Locked {
                    path: path.to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        if created {
            sync_parent(path);
        }
        let (records, complete) = parse(path, &mut file)?;
        let len = file.metadata().map_err(io)?.len();
        if complete < len {
            file.set_len(complete).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok((
            Journal {
                path: path.to_owned(),
                file,
            },
            records,
        ))
    }

    /// Appends one record and waits until it is on disk.
    pub fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

/// Reads a journal without locking it (for `apply --status`); an absent journal is empty.
pub fn read(path: &Path) -> Result<Vec<Record>, JournalError> {
    let mut file = match crate::files::open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JournalError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse(path, &mut file).map(|(records, _)| records)
}

/// The complete records, and where the last complete line ends.
fn parse(path: &Path, file: &mut File) -> Result<(Vec<Record>, u64), JournalError> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.take(JOURNAL_LIMIT).read_to_end(&mut bytes))
        .map_err(|source| JournalError::Io {
            path: path.to_owned(),
            source,
        })?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut records = Vec::new();
    for (i, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = serde_json::from_slice::<Record>(line).map_err(|e| JournalError::Invalid {
            path: path.to_owned(),
            line: i + 1,
            message: format!("not a journal record: {e}"),
        })?;
        records.push(record);
    }
    Ok((records, complete as u64))
}

/// A new file's name reaches the disk only when its folder is synced (on Unix).
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let dir = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Where each account stands after the records so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// The last event about the invitation itself.
    pub last: Option<Event>,
    /// Attempts made so far (the highest attempt recorded).
    pub attempts: u32,
    /// When the invitation was recorded as sent.
    pub sent_at: Option<String>,
    /// Post-steps recorded as done or left to a person.
    pub steps_done: Vec<String>,
    /// The reason of the last skip or failure.
    pub reason: Option<String>,
    /// A new guest object an invitation created instead of converting the account.
    pub new_guest: Option<String>,
}

impl Standing {
    /// An intent with no outcome after it: the request may or may not have reached Graph.
    pub fn unresolved(&self) -> bool {
        self.last == Some(Event::Intent)
    }

    pub fn sent(&self) -> bool {
        self.last == Some(Event::Sent)
    }
}

/// Folds the records into each account's standing. Records of another plan are refused.
pub fn standings(
    path: &Path,
    records: &[Record],
    plan_digest: &str,
) -> Result<HashMap<String, Standing>, JournalError> {
    let mut map: HashMap<String, Standing> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if r.plan_digest != plan_digest {
            return Err(JournalError::Invalid {
                path: path.to_owned(),
                line: i + 1,
                message: format!(
                    "records a run of another plan (planDigest {}); give this plan its own journal with --journal FILE",
                    r.plan_digest
                ),
            });
        }
        let s = map.entry(r.account_id.clone()).or_default();
        s.attempts = s.attempts.max(r.attempt);
        if let Some(other) = &r.invited_user_id {
            s.new_guest = Some(other.clone());
        }
        match r.event {
            Event::PostStep => {
                if matches!(r.result.as_deref(), Some("done" | "manual"))
                    && let Some(step) = &r.step
                {
                    s.steps_done.push(step.clone());
                }
            }
            // Once sent, an account stays sent: nothing later undoes an invitation.
            _ if s.sent() => {}
            event => {
                s.last = Some(event);
                if event == Event::Sent {
                    s.sent_at = Some(r.time.clone());
                }
                s.reason = r.reason.clone();
            }
        }
    }
    Ok(map)
}
