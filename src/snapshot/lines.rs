//! Streams a collection file as blocks of whole lines, decompressing `.zst` and hashing the
//! JSON-lines content as it goes, so a file is read once and never held whole in memory.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use rayon::iter::{ParallelBridge, ParallelIterator};
use sha2::{Digest, Sha256};

pub use super::block::Block;
use super::manifest::CollectionFile;
use super::{SnapshotError, io_error};

const BLOCK: usize = 4 << 20;
/// The longest line a collection may hold. Graph objects are kilobytes; even an account with
/// thousands of proxy addresses stays far below this.
pub const MAX_LINE: usize = 16 << 20;

/// What the whole file held, to check against the manifest.
#[derive(Debug)]
pub struct Digest256 {
    pub sha256: String,
    pub records: u64,
}

pub struct BlockReader {
    reader: Box<dyn Read + Send>,
    /// The records the manifest counts, and the bytes (after decompression) that many
    /// records could plausibly take: a compressed file that expands beyond that is refused.
    expected: u64,
    budget: u64,
    read: u64,
    hasher: Sha256,
    carry: Vec<u8>,
    next_line: u64,
    records: u64,
    done: bool,
}

impl BlockReader {
    pub fn open(file: &CollectionFile) -> Result<Self, SnapshotError> {
        let f = crate::files::open_regular_no_link(&file.path).map_err(io_error(&file.path))?;
        let reader: Box<dyn Read + Send> = if file.zstd {
            Box::new(zstd::Decoder::new(f).map_err(io_error(&file.path))?)
        } else {
            Box::new(BufReader::with_capacity(1 << 16, f))
        };
        Ok(Self {
            reader,
            expected: file.count,
            budget: file.count.saturating_add(1).saturating_mul(MAX_LINE as u64),
            read: 0,
            hasher: Sha256::new(),
            carry: Vec::new(),
            next_line: 1,
            records: 0,
            done: false,
        })
    }

    /// The next block of whole lines, or `None` at the end of the file.
    pub fn next_block(&mut self, path: &Path) -> Result<Option<Block>, SnapshotError> {
        if self.done {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.carry);
        let mut scanned = 0;
        loop {
            let start = buf.len();
            // Read into the buffer's spare room: no zeroing of memory about to be overwritten.
            let want = BLOCK.max(start / 2);
            buf.reserve(want);
            let n = (&mut self.reader)
                .take(want as u64)
                .read_to_end(&mut buf)
                .map_err(io_error(path))?;
            self.read += n as u64;
            if self.read > self.budget {
                return Err(SnapshotError::BadLine {
                    path: path.to_owned(),
                    line: self.next_line,
                    message: format!(
                        "the file holds far more data than {} records could (over {} MiB); it is not the collection the manifest describes",
                        self.expected,
                        self.budget >> 20
                    ),
                });
            }
            self.hasher.update(&buf[start..]);
            if n == 0 {
                self.done = true;
                break;
            }
            // Cut after the last newline, unless the block is still one unfinished line.
            if let Some(pos) = memchr::memrchr(b'\n', &buf[scanned..]) {
                let cut = scanned + pos + 1;
                self.carry = buf[cut..].to_vec();
                buf.truncate(cut);
                break;
            }
            scanned = buf.len();
            if scanned > MAX_LINE {
                return Err(SnapshotError::BadLine {
                    path: path.to_owned(),
                    line: self.next_line + memchr::memchr_iter(b'\n', &buf).count() as u64,
                    message: format!("a line longer than {} MiB", MAX_LINE >> 20),
                });
            }
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let block = Block {
            first_line: self.next_line,
            data: buf,
        };
        self.next_line += memchr::memchr_iter(b'\n', &block.data).count() as u64;
        self.records += block.lines().count() as u64;
        if self.records > self.expected {
            return Err(SnapshotError::BadLine {
                path: path.to_owned(),
                line: self.next_line,
                message: format!(
                    "the file holds more than the {} records the manifest counts",
                    self.expected
                ),
            });
        }
        Ok(Some(block))
    }

    pub fn finish(self) -> Digest256 {
        Digest256 {
            sha256: hex(&self.hasher.finalize()),
            records: self.records,
        }
    }
}

/// The sha256 of everything `reader` gives, as lower-case hex.
pub fn sha256_hex_of(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(hex(&hasher.finalize())),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = vec![0; bytes.len() * 2];
    hex_into(bytes, &mut s);
    String::from_utf8(s).unwrap_or_default()
}

/// Writes `bytes` as lower-case hex digits into the start of `out`, two per byte.
pub fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
}

/// Checks what was read against the manifest entry.
pub fn verify(file: &CollectionFile, digest: &Digest256) -> Result<(), SnapshotError> {
    if digest.records != file.count {
        return Err(SnapshotError::CountMismatch {
            path: file.path.clone(),
            expected: file.count,
            actual: digest.records,
        });
    }
    if !digest.sha256.eq_ignore_ascii_case(&file.sha256) {
        return Err(SnapshotError::DigestMismatch {
            path: file.path.clone(),
        });
    }
    Ok(())
}

/// Parses the blocks of a file in parallel and hands the results to `sink` in file order.
/// Reading stops at the first error; the error of the earliest block wins, so the message
/// does not depend on thread timing.
pub fn parse_parallel<T, P, S>(
    file: &CollectionFile,
    parse: P,
    mut sink: S,
) -> Result<Digest256, SnapshotError>
where
    T: Send,
    P: Fn(Block) -> Result<T, SnapshotError> + Sync,
    S: FnMut(T),
{
    let mut reader = BlockReader::open(file)?;
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::sync_channel::<(usize, Result<T, SnapshotError>)>(4);
    let path = file.path.as_path();
    let outcome = std::thread::scope(|s| {
        let producer = s.spawn(|| {
            let blocks = std::iter::from_fn(|| {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                match reader.next_block(path) {
                    Ok(Some(b)) => Some(Ok(b)),
                    Ok(None) => None,
                    Err(e) => Some(Err(e)),
                }
            });
            blocks
                .enumerate()
                .par_bridge()
                .for_each_with(tx, |tx, (i, block)| {
                    // The parser checks the block's UTF-8 as it takes its text.
                    let parsed = block.and_then(&parse);
                    let _ = tx.send((i, parsed));
                });
        });
        let mut pending = BTreeMap::new();
        let mut next = 0;
        let mut first_error: Option<(usize, SnapshotError)> = None;
        for (i, result) in rx {
            match result {
                Ok(v) if first_error.is_none() => {
                    pending.insert(i, v);
                    while let Some(v) = pending.remove(&next) {
                        sink(v);
                        next += 1;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_error = Some((i, e));
                    }
                }
            }
        }
        let _ = producer.join();
        first_error
    });
    if let Some((_, e)) = outcome {
        return Err(e);
    }
    let digest = reader.finish();
    verify(file, &digest)?;
    Ok(digest)
}

/// Reads a small collection whole: one typed record per line, checked against the manifest.
/// A property of the wrong type is named in the error.
pub fn read_records<T: serde::de::DeserializeOwned>(
    file: &CollectionFile,
) -> Result<Vec<T>, SnapshotError> {
    let mut reader = BlockReader::open(file)?;
    let mut records = Vec::new();
    while let Some(block) = reader.next_block(&file.path)? {
        for (line, text) in block.lines() {
            let bad = |message: String| SnapshotError::BadLine {
                path: file.path.clone(),
                line,
                message,
            };
            let mut de = serde_json::Deserializer::from_slice(text);
            let record: T = match serde_path_to_error::deserialize(&mut de) {
                Ok(r) => r,
                Err(e) => {
                    let at = e.path().to_string();
                    let inner = e.into_inner();
                    return Err(bad(if at == "." || at.is_empty() {
                        json_message(&inner)
                    } else {
                        format!("property {at}: {}", json_message(&inner))
                    }));
                }
            };
            de.end().map_err(|e| bad(json_message(&e)))?;
            records.push(record);
        }
    }
    verify(file, &reader.finish())?;
    Ok(records)
}

/// serde_json's message without its "at line 1 column N" tail, which would contradict the
/// file line we report; the column stays.
pub fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let base = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(head, _)| head);
    let what = match e.classify() {
        serde_json::error::Category::Eof => "truncated JSON: ",
        serde_json::error::Category::Syntax => "not valid JSON: ",
        _ => "",
    };
    format!("{what}{base} (column {})", e.column())
}
