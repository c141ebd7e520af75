//! Exporting the rows a grid shows (its filters, search and order, every page) to CSV or XLSX
//! on a job thread, in bounded memory: the keys are read a page at a time in the grid's order,
//! the rows of each page in chunks by key (an expanded open: lookup texts), and each row goes
//! to the file as it is read. Every open is the caller's (`Engine::for_client`): their tenant,
//! their role's privileges (prohibited fields cannot be exported), the filters `on_open` adds
//! for them. All of it reads one state of the database (the store runs a job in one read
//! transaction).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use jamrs_core::model::Field;
use jamrs_core::query::OpenParams;
use jamrs_core::session::Caller;
use jamrs_core::{Error, FieldId, FieldType, ItemId, Key, Result, Value};
use jamrs_reports::Cell;
use jamrs_reports::export::{ExportFormat, writer};
use jamrs_store::report::{keys_filter, open_keys, shown, shown_type};
use jamrs_store::{Conn, Engine};

use super::{Job, Output, file_name};
use crate::AppState;

/// Keys read per page: a few MB while a page is read, and each page of an order without an
/// index is one more sort of the rows (bench/export: 1,000,000 rows ordered by a date).
const KEY_PAGE: u64 = 100_000;
/// Rows read per open (within an open's budget of compared values).
const ROW_CHUNK: usize = 1_000;

/// What an export job needs, checked by the request that queued it.
pub struct ExportWork {
    pub state: AppState,
    pub caller: Caller,
    pub item: ItemId,
    /// The grid's open params (filters, search, order, master, user params).
    pub params: OpenParams,
    /// The fields to export, in order.
    pub fields: Vec<FieldId>,
    pub format: ExportFormat,
}

/// A row's value for `field` as a cell of its type (lookups and lookup lists as their text).
fn cell(task: &jamrs_core::Task, field: &Field, v: Value) -> Cell {
    match (v, shown_type(task, field)) {
        (Value::Null, _) => Cell::Empty,
        (Value::Text(t), FieldType::Date) => Cell::Date(t),
        (Value::Text(t), FieldType::DateTime) => Cell::DateTime(t),
        (Value::Text(t), _) => Cell::Text(t),
        (Value::Int(i), FieldType::Boolean) => Cell::Bool(i != 0),
        (Value::Int(i), _) => Cell::Int(i),
        (Value::Float(f), _) => Cell::Float(f),
        (Value::Bool(b), _) => Cell::Bool(b),
    }
}

pub fn run(conn: &mut dyn Conn, job: &Arc<Job>, work: ExportWork) -> Result<Output> {
    let state = &work.state;
    let task = &state.task;
    let item = task.item(work.item);
    let engine = Engine::for_client(task, &*state.hooks, &work.caller);
    let path = job
        .dir
        .join(file_name(item.name.as_str(), work.format.name()));

    // The count, for progress (and the XLSX limit): the grid's own totals query.
    let count = engine.open(
        conn,
        item,
        OpenParams {
            fields: Some(vec![item.pk().name.to_string()]),
            summary: true,
            filters: work.params.filters.clone(),
            search: work.params.search.clone(),
            master: work.params.master.clone(),
            params: work.params.params.clone(),
            ..OpenParams::default()
        },
    )?;
    let total = match count.rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    if total > work.format.max_rows() {
        return Err(Error::bad_request(format!(
            "{total} rows are more than an {} file holds ({}); export CSV, or fewer rows",
            work.format.name(),
            work.format.max_rows()
        )));
    }
    job.progress.total.store(total, Ordering::Relaxed);

    let fields: Vec<&Field> = work.fields.iter().map(|f| item.field(*f)).collect();
    let mut out = writer(work.format, &path, &job.dir).map_err(super::report::error)?;
    let titles: Vec<String> = fields.iter().map(|f| f.caption.clone()).collect();
    out.header(&titles).map_err(super::report::error)?;
    let mut names: Vec<String> = vec![item.pk().name.to_string()];
    names.extend(
        fields
            .iter()
            .filter(|f| f.id != item.primary_key)
            .map(|f| f.name.to_string()),
    );
    let mut offset = 0;
    loop {
        job.progress.check()?;
        let keys = open_keys(&engine, conn, item, work.params.clone(), offset, KEY_PAGE)?;
        for chunk in keys.chunks(ROW_CHUNK) {
            job.progress.check()?;
            let rows = engine.open(
                conn,
                item,
                OpenParams {
                    fields: Some(names.clone()),
                    filters: vec![keys_filter(item, chunk)],
                    expanded: true,
                    master: work.params.master.clone(),
                    params: work.params.params.clone(),
                    limit: Some(chunk.len() as u64),
                    unlimited: true,
                    ..OpenParams::default()
                },
            )?;
            let by_key: HashMap<Key, usize> = rows
                .rows
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    r.first()
                        .and_then(|v| Key::of_item(item, v))
                        .map(|k| (k, i))
                })
                .collect();
            let mut cells = Vec::with_capacity(fields.len());
            for k in chunk {
                // A row the second open no longer shows (an `on_open` that answers by time,
                // say) is left out rather than written empty.
                let Some(&i) = by_key.get(k) else { continue };
                let row = &rows.rows[i];
                cells.clear();
                for f in &fields {
                    let v = shown(task, f, &rows.columns, row);
                    cells.push(cell(task, f, v));
                }
                out.row(&cells).map_err(super::report::error)?;
                job.progress.done.fetch_add(1, Ordering::Relaxed);
            }
        }
        if (keys.len() as u64) < KEY_PAGE {
            break;
        }
        offset += KEY_PAGE;
    }
    job.progress.check()?;
    out.finish().map_err(super::report::error)?;
    Ok(Output {
        path,
        file_name: file_name(item.name.as_str(), work.format.name()),
        content_type: work.format.content_type(),
    })
}
