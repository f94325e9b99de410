//! Table definitions: every column once, with its type and meaning. Arrow schemas, Athena DDL and
//! docs/schema.md are all derived from these definitions.

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use rolescope_model::Shared;
use std::sync::Arc;

/// Column types, chosen for Athena and QuickSight: signed integers, millisecond UTC timestamps,
/// strings (account ids included), booleans, and string lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 string.
    String,
    /// Signed 64-bit integer.
    Int64,
    /// Boolean.
    Bool,
    /// UTC timestamp, millisecond precision.
    TimestampMs,
    /// List of strings.
    StringList,
}

impl Kind {
    /// The Arrow type.
    pub fn arrow(self) -> DataType {
        match self {
            Kind::String => DataType::Utf8,
            Kind::Int64 => DataType::Int64,
            Kind::Bool => DataType::Boolean,
            Kind::TimestampMs => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            Kind::StringList => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        }
    }

    /// The Athena (Hive DDL) type.
    pub fn athena(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Int64 => "bigint",
            Kind::Bool => "boolean",
            Kind::TimestampMs => "timestamp",
            Kind::StringList => "array<string>",
        }
    }
}

/// One column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name (snake_case).
    pub name: &'static str,
    /// Type.
    pub kind: Kind,
    /// May be null.
    pub nullable: bool,
    /// What it holds.
    pub doc: &'static str,
}

/// One table of the dataset.
#[derive(Debug, Clone, Copy)]
pub struct TableDef {
    /// Table (and folder) name.
    pub name: &'static str,
    /// What a row is.
    pub doc: &'static str,
    /// Columns in file order. Every table starts with `scan_id`.
    pub columns: &'static [Column],
}

impl TableDef {
    /// The Arrow schema.
    pub fn schema(&self) -> Schema {
        Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(c.name, c.kind.arrow(), c.nullable))
                .collect::<Vec<_>>(),
        )
    }
}

/// A cell value, as a row hands it over (borrowed from the row: converting a row copies no
/// string until the Arrow builder does).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// String or null.
    Str(Option<&'a str>),
    /// Integer or null.
    Int(Option<i64>),
    /// Boolean or null.
    Bool(Option<bool>),
    /// Milliseconds since the epoch, or null.
    Ts(Option<i64>),
    /// List of strings.
    List(&'a [String]),
    /// List of shared strings.
    Shared(&'a [Shared]),
}

/// A Rust field type that can fill a column of some [`Kind`]; integers become timestamps in
/// `TimestampMs` columns.
pub trait Cell {
    /// The value for a column of `kind`.
    fn cell(&self, kind: Kind) -> Value<'_>;
}

impl Cell for String {
    fn cell(&self, _: Kind) -> Value<'_> {
        Value::Str(Some(self))
    }
}

impl Cell for Option<String> {
    fn cell(&self, _: Kind) -> Value<'_> {
        Value::Str(self.as_deref())
    }
}

impl Cell for Option<i64> {
    fn cell(&self, kind: Kind) -> Value<'_> {
        match kind {
            Kind::TimestampMs => Value::Ts(*self),
            _ => Value::Int(*self),
        }
    }
}

impl Cell for i64 {
    fn cell(&self, kind: Kind) -> Value<'_> {
        match kind {
            Kind::TimestampMs => Value::Ts(Some(*self)),
            _ => Value::Int(Some(*self)),
        }
    }
}

impl Cell for bool {
    fn cell(&self, _: Kind) -> Value<'_> {
        Value::Bool(Some(*self))
    }
}

impl Cell for Option<bool> {
    fn cell(&self, _: Kind) -> Value<'_> {
        Value::Bool(*self)
    }
}

impl Cell for Vec<String> {
    fn cell(&self, _: Kind) -> Value<'_> {
        Value::List(self)
    }
}

impl Cell for &'static str {
    fn cell(&self, _: Kind) -> Value<'_> {
        Value::Str(Some(self))
    }
}

impl Cell for Option<&'static str> {
    fn cell(&self, _: Kind) -> Value<'_> {
        Value::Str(*self)
    }
}

impl Cell for Shared {
    fn cell(&self, _: Kind) -> Value<'_> {
        Value::Str(Some(self))
    }
}

impl Cell for Option<Shared> {
    fn cell(&self, _: Kind) -> Value<'_> {
        Value::Str(self.as_deref())
    }
}

impl Cell for Vec<Shared> {
    fn cell(&self, _: Kind) -> Value<'_> {
        Value::Shared(self)
    }
}

/// A row type of one table.
pub trait Row {
    /// The table it belongs to.
    const TABLE: TableDef;
    /// Hand each of its cells to `each`, in the table's column order.
    fn cells(&self, each: impl FnMut(Value<'_>));
}

/// A value that does not fit its column: a bug in a row type, caught by the tests of each table.
#[derive(Debug, thiserror::Error)]
#[error("table {table}, column {column}: {message}")]
pub struct SchemaMismatch {
    /// Table.
    pub table: &'static str,
    /// Column.
    pub column: &'static str,
    /// What was wrong.
    pub message: String,
}

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMillisecondBuilder),
    List(ListBuilder<StringBuilder>),
}

impl Builder {
    /// A builder for a column of `kind` with room for `items` cells and `bytes` of text.
    fn with_capacity(kind: Kind, items: usize, bytes: usize) -> Builder {
        match kind {
            Kind::String => Builder::Str(StringBuilder::with_capacity(items, bytes)),
            Kind::Int64 => Builder::Int(Int64Builder::with_capacity(items)),
            Kind::Bool => Builder::Bool(BooleanBuilder::with_capacity(items)),
            Kind::TimestampMs => {
                Builder::Ts(TimestampMillisecondBuilder::with_capacity(items).with_timezone("UTC"))
            }
            // For a list column: its cells, and the strings in them with their bytes.
            Kind::StringList => Builder::List(ListBuilder::with_capacity(
                StringBuilder::with_capacity(items, bytes),
                items,
            )),
        }
    }

    /// Cells appended (list columns: list items) and their text bytes.
    fn size(&self) -> (usize, usize) {
        match self {
            Builder::Str(b) => (b.len(), b.values_slice().len()),
            Builder::Int(b) => (b.len(), 0),
            Builder::Bool(b) => (b.len(), 0),
            Builder::Ts(b) => (b.len(), 0),
            Builder::List(b) => (b.values_ref().len(), b.values_ref().values_slice().len()),
        }
    }
}

/// One list cell; returns its string bytes.
fn append_list(b: &mut ListBuilder<StringBuilder>, items: &[impl AsRef<str>]) -> usize {
    let mut bytes = 0;
    for item in items {
        bytes += item.as_ref().len();
        b.values().append_value(item.as_ref());
    }
    b.append(true);
    bytes
}

/// Append one cell to its column's builder; returns its approximate bytes, or what is wrong.
fn append(builder: &mut Builder, column: &Column, value: Value<'_>) -> Result<usize, String> {
    let null_in_required = matches!(
        &value,
        Value::Str(None) | Value::Int(None) | Value::Bool(None) | Value::Ts(None)
    ) && !column.nullable;
    if null_in_required {
        return Err("null in a required column".into());
    }
    Ok(match (builder, value) {
        (Builder::Str(b), Value::Str(v)) => {
            b.append_option(v);
            v.map_or(0, str::len)
        }
        (Builder::Int(b), Value::Int(v)) => {
            b.append_option(v);
            8
        }
        (Builder::Bool(b), Value::Bool(v)) => {
            b.append_option(v);
            1
        }
        (Builder::Ts(b), Value::Ts(v)) => {
            b.append_option(v);
            8
        }
        (Builder::List(b), Value::List(items)) => append_list(b, items),
        (Builder::List(b), Value::Shared(items)) => append_list(b, items),
        (_, v) => return Err(format!("value {v:?} does not fit {:?}", column.kind)),
    })
}

/// Build one record batch from rows.
pub fn batch<R: Row>(rows: &[R]) -> Result<RecordBatch, SchemaMismatch> {
    let mut builder = BatchBuilder::<R>::new();
    for row in rows {
        builder.push(row)?;
    }
    builder.finish()
}

/// Rows appended one at a time into a table's column builders, so a writer can hand the
/// Parquet encoder a batch when it is large enough (in rows or in bytes) without holding the
/// rows themselves: a row is converted as it is produced and dropped.
pub struct BatchBuilder<R> {
    builders: Vec<Builder>,
    rows: usize,
    bytes: usize,
    /// Each column's cells and text bytes in the last batch: the room the builders take when the
    /// next batch's first row arrives (not before, while the last batch is still being encoded).
    room: Vec<(usize, usize)>,
    kind: std::marker::PhantomData<fn(&R)>,
}

impl<R> std::fmt::Debug for BatchBuilder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("rows", &self.rows)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl<R: Row> Default for BatchBuilder<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Row> BatchBuilder<R> {
    /// Empty builders for `R`'s table.
    pub fn new() -> Self {
        let builders = R::TABLE
            .columns
            .iter()
            .map(|c| Builder::with_capacity(c.kind, 0, 0))
            .collect();
        Self {
            builders,
            rows: 0,
            bytes: 0,
            room: Vec::new(),
            kind: std::marker::PhantomData,
        }
    }

    /// Rows appended since the last batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Approximate bytes appended since the last batch: string bytes, eight per other cell.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Append one row's cells, checked against the table's columns. (A row that does not fit
    /// is a bug in its row type: the error ends the export, and the half-appended batch with it.)
    pub fn push(&mut self, row: &R) -> Result<(), SchemaMismatch> {
        let def = R::TABLE;
        if self.rows == 0 && !self.room.is_empty() {
            for ((builder, column), (items, bytes)) in self
                .builders
                .iter_mut()
                .zip(def.columns)
                .zip(self.room.drain(..))
            {
                *builder = Builder::with_capacity(column.kind, items, bytes);
            }
        }
        let (mut at, mut bytes, mut error) = (0, 0, None);
        let builders = &mut self.builders;
        row.cells(|value| {
            if error.is_none()
                && let (Some(builder), Some(column)) = (builders.get_mut(at), def.columns.get(at))
            {
                match append(builder, column, value) {
                    Ok(n) => bytes += n,
                    Err(message) => {
                        error = Some(SchemaMismatch {
                            table: def.name,
                            column: column.name,
                            message,
                        });
                    }
                }
            }
            at += 1;
        });
        if let Some(error) = error {
            return Err(error);
        }
        if at != def.columns.len() {
            return Err(SchemaMismatch {
                table: def.name,
                column: "*",
                message: format!("{at} values for {} columns", def.columns.len()),
            });
        }
        self.rows += 1;
        self.bytes += bytes;
        Ok(())
    }

    /// The rows appended since the last batch, as one record batch; the builders start over,
    /// and take room for a batch as large as this one with the next row (so the next batch does
    /// not grow them step by step).
    pub fn finish(&mut self) -> Result<RecordBatch, SchemaMismatch> {
        let def = R::TABLE;
        self.room.clear();
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .zip(def.columns)
            .map(|(b, column)| -> ArrayRef {
                self.room.push(b.size());
                let full = std::mem::replace(b, Builder::with_capacity(column.kind, 0, 0));
                match full {
                    Builder::Str(mut b) => Arc::new(b.finish()),
                    Builder::Int(mut b) => Arc::new(b.finish()),
                    Builder::Bool(mut b) => Arc::new(b.finish()),
                    Builder::Ts(mut b) => Arc::new(b.finish()),
                    Builder::List(mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        self.bytes = 0;
        RecordBatch::try_new(Arc::new(def.schema()), arrays).map_err(|e| SchemaMismatch {
            table: def.name,
            column: "*",
            message: e.to_string(),
        })
    }
}
