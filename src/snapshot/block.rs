//! A block of whole lines of a collection file, as the reader hands them to the parsers, and
//! the lines in it.

use std::ops::Range;
use std::path::Path;

use super::SnapshotError;

/// Whole lines of a file, with the number of the first one.
pub struct Block {
    pub first_line: u64,
    pub data: Vec<u8>,
}

impl Block {
    /// The non-blank lines with their numbers. A trailing `\r` is left to the JSON parser,
    /// which reads it as white space.
    pub fn lines(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let data = self.data.as_slice();
        non_blank_lines(data, self.first_line).map(move |(n, at)| (n, &data[at]))
    }

    /// Non-blank lines of the block's `text`, with their line numbers in the file.
    pub fn text_lines<'a>(&self, text: &'a str) -> impl Iterator<Item = (u64, &'a str)> + 'a {
        // A line feed is never inside a character: every cut is one `str` may be cut at.
        non_blank_lines(text.as_bytes(), self.first_line).map(move |(n, at)| (n, &text[at]))
    }

    /// The block as text. Every byte must be UTF-8, also in properties the scan does not
    /// read: a file that is not text is not a snapshot. Checked once, so lines parsed from the
    /// text need no second check.
    pub fn text(&self, path: &Path) -> Result<&str, SnapshotError> {
        // The fast check answers almost always; only a bad block is checked again, to find
        // where it goes wrong.
        if let Ok(text) = simdutf8::basic::from_utf8(&self.data) {
            return Ok(text);
        }
        match std::str::from_utf8(&self.data) {
            Ok(text) => Ok(text),
            Err(e) => {
                let before = &self.data[..e.valid_up_to()];
                Err(SnapshotError::BadLine {
                    path: path.to_owned(),
                    line: self.first_line + memchr::memchr_iter(b'\n', before).count() as u64,
                    message: "invalid UTF-8".into(),
                })
            }
        }
    }
}

/// Where each non-blank line of `data` lies, with its number; line ends are found with
/// memchr, many bytes at a time, and the last line may have none.
fn non_blank_lines(data: &[u8], first: u64) -> impl Iterator<Item = (u64, Range<usize>)> + '_ {
    let mut start = 0;
    memchr::memchr_iter(b'\n', data)
        .chain(std::iter::once(data.len()))
        .enumerate()
        .map(move |(i, end)| {
            let at = start..end;
            start = end + 1;
            (first + i as u64, at)
        })
        .filter(move |(_, at)| !data[at.clone()].iter().all(u8::is_ascii_whitespace))
}

#[cfg(test)]
mod tests {
    use super::Block;

    fn lines(data: &str, first_line: u64) -> Vec<(u64, String)> {
        let block = Block {
            first_line,
            data: data.as_bytes().to_vec(),
        };
        block
            .lines()
            .map(|(n, l)| (n, String::from_utf8_lossy(l).into_owned()))
            .collect()
    }

    #[test]
    fn text_lines_are_the_lines_as_text() {
        let data = "{\"zoë\":1}\n\n \r\n{\"日本\":2}\r\n{}";
        let block = Block {
            first_line: 3,
            data: data.as_bytes().to_vec(),
        };
        let text: Vec<(u64, &str)> = block.text_lines(data).collect();
        assert_eq!(text, [(3, "{\"zoë\":1}"), (6, "{\"日本\":2}\r"), (7, "{}")]);
        let bytes: Vec<(u64, &[u8])> = block.lines().collect();
        let as_bytes: Vec<(u64, &[u8])> = text.iter().map(|(n, l)| (*n, l.as_bytes())).collect();
        assert_eq!(bytes, as_bytes);
    }

    #[test]
    fn blank_lines_are_skipped_and_numbers_kept() {
        assert_eq!(
            lines("{\"a\":1}\n\n  \t\n{\"b\":2}\r\n{\"c\":3}", 5),
            [
                (5, "{\"a\":1}".to_owned()),
                (8, "{\"b\":2}\r".to_owned()),
                (9, "{\"c\":3}".to_owned())
            ]
        );
        assert_eq!(lines("{}\n", 1), [(1, "{}".to_owned())]);
        assert_eq!(lines("\n\n", 1), []);
        assert_eq!(lines("", 1), []);
    }
}
