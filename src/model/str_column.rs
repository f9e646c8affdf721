//! A string column: every value in one buffer with the offsets of their ends, like Arrow, so
//! a million accounts' strings take a few allocations instead of millions.

/// The flag of a null value in [`StrColumn`]'s ends: no column holds 2^63 bytes.
const NULL: u64 = 1 << 63;

/// A string column: all values in one buffer, `None` kept apart from `""`.
#[derive(Debug, Default, Clone)]
pub struct StrColumn {
    data: String,
    /// Where each value ends in `data`, with [`NULL`] set for a null: one lookup finds both.
    ends: Vec<u64>,
}

impl StrColumn {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            data: String::new(),
            ends: Vec::with_capacity(rows),
        }
    }

    pub fn push(&mut self, value: Option<&str>) {
        if let Some(v) = value {
            self.data.push_str(v);
        }
        let null = if value.is_none() { NULL } else { 0 };
        self.ends.push(self.data.len() as u64 | null);
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, row: usize) -> Option<&str> {
        let end = self.ends[row];
        if end & NULL != 0 {
            return None;
        }
        let start = match row {
            0 => 0,
            _ => self.ends[row - 1] & !NULL,
        };
        Some(&self.data[start as usize..end as usize])
    }

    pub fn append(&mut self, other: &StrColumn) {
        let base = self.data.len() as u64;
        self.data.push_str(&other.data);
        self.ends.extend(other.ends.iter().map(|e| e + base));
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Sorts `rows` by their values, nulls first, as comparing `get` would. Each value's first
    /// sixteen bytes are read once, in row order, and compared as a number; the values
    /// themselves are only looked up when those are equal, so a million rows do not cost
    /// tens of millions of lookups at random places.
    pub fn sort_rows(&self, rows: &mut [u32]) {
        use rayon::prelude::*;
        let prefix = |r: u32| {
            let mut key = [0u8; 16];
            if let Some(v) = self.get(r as usize) {
                let n = v.len().min(16);
                key[..n].copy_from_slice(&v.as_bytes()[..n]);
            }
            u128::from_be_bytes(key)
        };
        let mut keyed: Vec<(u128, u32)> = rows.par_iter().map(|&r| (prefix(r), r)).collect();
        keyed.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| self.get(a.1 as usize).cmp(&self.get(b.1 as usize)))
        });
        for (slot, (_, r)) in rows.iter_mut().zip(keyed) {
            *slot = r;
        }
    }

    /// How many bytes the values and their bounds take.
    pub fn bytes(&self) -> usize {
        self.data.len() + std::mem::size_of_val(self.ends.as_slice())
    }

    /// An empty column with room for all of this one's values.
    pub fn room_for_all(&self) -> StrColumn {
        let mut out = StrColumn::with_capacity(self.len());
        out.data.reserve_exact(self.data.len());
        out
    }

    /// Appends the values of the rows `order` names, in that order, to `out`.
    ///
    /// Rows are read at random places: the bounds of a batch of values are read first, in a
    /// loop with nothing else in it, so the processor fetches many at once; then their bytes.
    pub fn gather_into(&self, order: &[u32], out: &mut StrColumn) {
        const BATCH: usize = 256;
        let mut bounds = [(0u64, 0u64); BATCH];
        for rows in order.chunks(BATCH) {
            for (b, &r) in bounds.iter_mut().zip(rows) {
                let r = r as usize;
                let start = if r == 0 { 0 } else { self.ends[r - 1] & !NULL };
                *b = (start, self.ends[r]);
            }
            for &(start, end) in &bounds[..rows.len()] {
                if end & NULL == 0 {
                    out.data.push_str(&self.data[start as usize..end as usize]);
                }
                out.ends.push(out.data.len() as u64 | (end & NULL));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_column_keeps_null_apart_from_empty() {
        let mut c = StrColumn::default();
        c.push(Some("a"));
        c.push(None);
        c.push(Some(""));
        c.push(Some("bcd"));
        assert_eq!(
            c.iter().collect::<Vec<_>>(),
            vec![Some("a"), None, Some(""), Some("bcd")]
        );
        let mut rows: Vec<u32> = (0..c.len() as u32).collect();
        c.sort_rows(&mut rows);
        assert_eq!(rows, [1, 2, 0, 3]);
        let mut long = StrColumn::default();
        for v in [
            "0123456789abcdefZ",
            "0123456789abcdef",
            "0123456789abcdefA",
            "0123456789abcde\0",
            "0123456789abcde",
        ] {
            long.push(Some(v));
        }
        let mut rows: Vec<u32> = (0..5).collect();
        long.sort_rows(&mut rows);
        let mut expected: Vec<u32> = (0..5).collect();
        expected.sort_by(|&a, &b| long.get(a as usize).cmp(&long.get(b as usize)));
        assert_eq!(rows, expected);
        let mut d = StrColumn::default();
        d.push(Some("x"));
        d.append(&c);
        assert_eq!(d.get(0), Some("x"));
        assert_eq!(d.get(4), Some("bcd"));
        assert_eq!(d.get(2), None);
    }

    #[test]
    fn gathering_rows_keeps_each_value_null_or_empty_across_batches() {
        let value = |i: usize| match i % 4 {
            0 => None,
            1 => Some(String::new()),
            2 => Some(format!("zoë-{i}")),
            _ => Some("x".repeat(i % 50)),
        };
        let mut c = StrColumn::default();
        for i in 0..1_000 {
            c.push(value(i).as_deref());
        }
        // Every row once, backwards and interleaved, over several batches of bounds.
        let order: Vec<u32> = (0..1_000u32).rev().filter(|r| r % 3 != 1).collect();
        let mut out = StrColumn::with_capacity(order.len());
        c.gather_into(&order, &mut out);
        assert_eq!(out.len(), order.len());
        for (i, &r) in order.iter().enumerate() {
            assert_eq!(out.get(i), value(r as usize).as_deref(), "row {r}");
        }
    }
}
