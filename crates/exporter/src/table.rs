//! Table definitions: every column once, with its type and meaning. Arrow schemas, Athena DDL and
//! docs/schema.md are all derived from these definitions.

use arrow_array::builder::{
    BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMillisecondBuilder,
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
    /// Its cells, in the table's column order.
    fn values(&self) -> Vec<Value<'_>>;
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
            .map(|c| match c.kind {
                Kind::String => Builder::Str(StringBuilder::new()),
                Kind::Int64 => Builder::Int(Int64Builder::new()),
                Kind::Bool => Builder::Bool(BooleanBuilder::new()),
                Kind::TimestampMs => {
                    Builder::Ts(TimestampMillisecondBuilder::new().with_timezone("UTC"))
                }
                Kind::StringList => Builder::List(ListBuilder::new(StringBuilder::new())),
            })
            .collect();
        Self {
            builders,
            rows: 0,
            bytes: 0,
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

    /// Append one row's cells, checked against the table's columns.
    pub fn push(&mut self, row: &R) -> Result<(), SchemaMismatch> {
        let def = R::TABLE;
        let values = row.values();
        if values.len() != def.columns.len() {
            return Err(SchemaMismatch {
                table: def.name,
                column: "*",
                message: format!("{} values for {} columns", values.len(), def.columns.len()),
            });
        }
        let mut bytes = 0;
        for ((builder, value), column) in self.builders.iter_mut().zip(values).zip(def.columns) {
            let null_in_required = matches!(
                &value,
                Value::Str(None) | Value::Int(None) | Value::Bool(None) | Value::Ts(None)
            ) && !column.nullable;
            if null_in_required {
                return Err(SchemaMismatch {
                    table: def.name,
                    column: column.name,
                    message: "null in a required column".into(),
                });
            }
            match (builder, value) {
                (Builder::Str(b), Value::Str(v)) => {
                    bytes += v.as_ref().map_or(0, |v| v.len());
                    b.append_option(v);
                }
                (Builder::Int(b), Value::Int(v)) => {
                    bytes += 8;
                    b.append_option(v);
                }
                (Builder::Bool(b), Value::Bool(v)) => {
                    bytes += 1;
                    b.append_option(v);
                }
                (Builder::Ts(b), Value::Ts(v)) => {
                    bytes += 8;
                    b.append_option(v);
                }
                (Builder::List(b), Value::List(items)) => bytes += append_list(b, items),
                (Builder::List(b), Value::Shared(items)) => bytes += append_list(b, items),
                (_, v) => {
                    return Err(SchemaMismatch {
                        table: def.name,
                        column: column.name,
                        message: format!("value {v:?} does not fit {:?}", column.kind),
                    });
                }
            }
        }
        self.rows += 1;
        self.bytes += bytes;
        Ok(())
    }

    /// The rows appended since the last batch, as one record batch; the builders start over.
    pub fn finish(&mut self) -> Result<RecordBatch, SchemaMismatch> {
        let def = R::TABLE;
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Str(b) => Arc::new(b.finish()),
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::Bool(b) => Arc::new(b.finish()),
                    Builder::Ts(b) => Arc::new(b.finish()),
                    Builder::List(b) => Arc::new(b.finish()),
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
