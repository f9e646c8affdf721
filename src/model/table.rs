//! Compact column storage shared by the snapshot reader, the facts step and the renderers.
//!
//! Accounts are kept column by column (strings in one buffer with offsets, like Arrow) so a
//! million users fit in a fraction of the size of `users.jsonl`; the rule engine turns the
//! rows it needs into a polars `DataFrame`.

pub use super::str_column::StrColumn;
use polars::prelude::{
    BooleanChunked, Column as PlColumn, DataFrame, Int64Chunked, IntoColumn, NewChunkedArray,
    PlSmallStr, PolarsResult, StringChunked,
};

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

    /// About how many bytes the column takes.
    pub fn bytes(&self) -> usize {
        match self {
            Column::Text(c) => c.bytes(),
            Column::Bool(c) => std::mem::size_of_val(c.as_slice()),
            Column::Int(c) => std::mem::size_of_val(c.as_slice()),
        }
    }

    /// An empty column of the same kind with room for all of this one's cells, so that
    /// filling it (on any thread) allocates nothing more.
    pub fn room_for_all(&self) -> Column {
        match self {
            Column::Text(c) => Column::Text(c.room_for_all()),
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
