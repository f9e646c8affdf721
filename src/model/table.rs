//! Compact column storage shared by the snapshot reader, the facts step and the renderers.
//!
//! Accounts are kept column by column (strings in one buffer with offsets, like Arrow) so a
//! million users fit in a fraction of the size of `users.jsonl`; the rule engine turns the
//! rows it needs into a polars `DataFrame`.

use polars::prelude::{
    BooleanChunked, Column as PlColumn, DataFrame, Int64Chunked, IntoColumn, NewChunkedArray,
    PlSmallStr, PolarsResult, StringChunked,
};

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

/// The type of a column as rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Int,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Bool => "bool",
            Kind::Int => "int",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Column {
    Text(StrColumn),
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i64>>),
}

/// One cell, borrowed from its column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    Bool(bool),
    Int(i64),
}

impl Cell<'_> {
    /// How a value reads inside a message: nulls say so instead of vanishing.
    pub fn write_display(self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Cell::Null => out.push_str("(none)"),
            Cell::Text(s) => out.push_str(s),
            Cell::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Cell::Int(i) => {
                let _ = write!(out, "{i}");
            }
        }
    }
}

impl Column {
    pub fn kind(&self) -> Kind {
        match self {
            Column::Text(_) => Kind::Text,
            Column::Bool(_) => Kind::Bool,
            Column::Int(_) => Kind::Int,
        }
    }

    pub fn empty(kind: Kind, rows: usize) -> Self {
        match kind {
            Kind::Text => Column::Text(StrColumn::with_capacity(rows)),
            Kind::Bool => Column::Bool(Vec::with_capacity(rows)),
            Kind::Int => Column::Int(Vec::with_capacity(rows)),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Column::Text(c) => c.len(),
            Column::Bool(c) => c.len(),
            Column::Int(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn cell(&self, row: usize) -> Cell<'_> {
        match self {
            Column::Text(c) => c.get(row).map_or(Cell::Null, Cell::Text),
            Column::Bool(c) => c[row].map_or(Cell::Null, Cell::Bool),
            Column::Int(c) => c[row].map_or(Cell::Null, Cell::Int),
        }
    }

    /// An empty column of the same kind with room for all of this one's cells, so that
    /// filling it (on any thread) allocates nothing more.
    pub fn room_for_all(&self) -> Column {
        match self {
            Column::Text(c) => {
                let mut out = StrColumn::with_capacity(c.len());
                out.data.reserve_exact(c.data.len());
                Column::Text(out)
            }
            Column::Bool(c) => Column::Bool(Vec::with_capacity(c.len())),
            Column::Int(c) => Column::Int(Vec::with_capacity(c.len())),
        }
    }

    /// Appends the cells of the rows `order` names, in that order, to `out` (a column of the
    /// same kind).
    pub fn gather_into(&self, order: &[u32], out: &mut Column) {
        match (self, out) {
            (Column::Text(c), Column::Text(o)) => c.gather_into(order, o),
            (Column::Bool(c), Column::Bool(o)) => o.extend(order.iter().map(|&r| c[r as usize])),
            (Column::Int(c), Column::Int(o)) => o.extend(order.iter().map(|&r| c[r as usize])),
            _ => unreachable!("a column is gathered into one of its own kind"),
        }
    }

    pub fn text(&self) -> Option<&StrColumn> {
        match self {
            Column::Text(c) => Some(c),
            _ => None,
        }
    }

    pub fn append(&mut self, other: &Column) {
        match (self, other) {
            (Column::Text(a), Column::Text(b)) => a.append(b),
            (Column::Bool(a), Column::Bool(b)) => a.extend_from_slice(b),
            (Column::Int(a), Column::Int(b)) => a.extend_from_slice(b),
            _ => unreachable!("columns of one table keep their kind"),
        }
    }

    /// The column as polars sees it, restricted to `rows` when given.
    pub fn to_polars(&self, name: &str, rows: Option<&[u32]>) -> PlColumn {
        let name = PlSmallStr::from(name);
        match (self, rows) {
            (Column::Text(c), None) => {
                StringChunked::from_iter_options(name, c.iter()).into_column()
            }
            (Column::Text(c), Some(r)) => {
                StringChunked::from_iter_options(name, r.iter().map(|&i| c.get(i as usize)))
                    .into_column()
            }
            (Column::Bool(c), None) => {
                BooleanChunked::from_iter_options(name, c.iter().copied()).into_column()
            }
            (Column::Bool(c), Some(r)) => {
                BooleanChunked::from_iter_options(name, r.iter().map(|&i| c[i as usize]))
                    .into_column()
            }
            (Column::Int(c), None) => {
                Int64Chunked::from_iter_options(name, c.iter().copied()).into_column()
            }
            (Column::Int(c), Some(r)) => {
                Int64Chunked::from_iter_options(name, r.iter().map(|&i| c[i as usize]))
                    .into_column()
            }
        }
    }
}

/// A column's name, type and meaning, as documented for rule authors.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
}

/// Columns of equal length, named by a fixed schema.
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: &'static [ColumnDef],
    pub columns: Vec<Column>,
}

impl Table {
    pub fn new(schema: &'static [ColumnDef], rows: usize) -> Self {
        Self {
            schema,
            columns: schema.iter().map(|d| Column::empty(d.kind, rows)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.schema.iter().position(|d| d.name == name)
    }

    pub fn cell(&self, column: usize, row: usize) -> Cell<'_> {
        self.columns[column].cell(row)
    }

    pub fn append(&mut self, other: &Table) {
        for (a, b) in self.columns.iter_mut().zip(&other.columns) {
            a.append(b);
        }
    }

    pub fn to_dataframe(&self, rows: Option<&[u32]>) -> PolarsResult<DataFrame> {
        self.to_dataframe_of(rows, |_| true)
    }

    /// The frame of the columns `wanted` names (each built on its own core), restricted to
    /// `rows` when given: a rule set that reads five columns does not copy thirty.
    pub fn to_dataframe_of(
        &self,
        rows: Option<&[u32]>,
        wanted: impl Fn(&str) -> bool + Sync,
    ) -> PolarsResult<DataFrame> {
        use rayon::prelude::*;
        let columns = self
            .schema
            .par_iter()
            .zip(&self.columns)
            .filter(|(d, _)| wanted(d.name))
            .map(|(d, c)| c.to_polars(d.name, rows))
            .collect();
        DataFrame::new(rows.map_or(self.len(), <[u32]>::len), columns)
    }

    /// An empty frame with this table's schema, to check rule conditions against.
    pub fn empty_dataframe(schema: &'static [ColumnDef]) -> PolarsResult<DataFrame> {
        Table::new(schema, 0).to_dataframe(None)
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
