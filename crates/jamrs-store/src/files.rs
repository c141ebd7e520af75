//! Uploaded files of file and image fields, in the system tables `jamrs_files` (one row per
//! upload) and `jamrs_file_chunks` (the content, for the database store).
//!
//! A file is uploaded first (a row with no record, its uploader's user and tenant), then named
//! by a record's field in an apply: the engine checks the name belongs to an upload of that
//! field by the same user and tenant ([`Engine::check_files`]), writes Jam.py's value
//! (`"<name>?<original>"` for files, the name for images) and attaches the upload to the
//! record in the apply's transaction. A file a record stops naming (replaced, cleared), or whose
//! record is removed (a hard delete, a detail cascade), is removed with it; soft delete keeps
//! it. Content in the database store goes with its row; a folder's files without a row are
//! swept by the server.
//!
//! Names are 32 random bytes (URL-safe base64, 43 characters): unguessable, and never the
//! name a person gave, which is kept as `original`.
//!
//! SQL here is portable (`?` placeholders become the dialect's), as in `auth` and `history`;
//! chunks are base64 text rather than blobs so that no driver needs a binary value type.

use jamrs_core::files::stored_name;
use jamrs_core::model::{FieldId, Item, MasterLink};
use jamrs_core::session::Tenant;
use jamrs_core::{Error, FieldError, FieldType, Key, Result, Value};

use crate::auth::sql;
use crate::builder::{self, Keys};
use crate::conn::Conn;
use crate::engine::Engine;

pub const FILES: &str = "jamrs_files";
pub const CHUNKS: &str = "jamrs_file_chunks";
/// Bytes of content per chunk row (a quarter more as base64 text).
pub const CHUNK_BYTES: usize = 192 * 1024;
/// Uploads no record names are removed after this long (seconds).
pub const UNATTACHED_SECONDS: i64 = 24 * 3600;

/// An upload's row as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    pub id: i64,
    pub name: String,
    pub item: String,
    pub field: String,
    pub record_id: Option<i64>,
    pub tenant: Option<String>,
    pub user_id: Option<i64>,
    pub original: String,
    pub mime: String,
    pub size: i64,
    /// `"folder"` or `"database"`: where the content is.
    pub store: String,
}

/// A new upload's row.
pub struct NewFile<'a> {
    pub name: &'a str,
    pub item: &'a str,
    pub field: &'a str,
    pub tenant: Option<&'a Value>,
    pub user_id: Option<i64>,
    pub original: &'a str,
    pub mime: &'a str,
    pub size: i64,
    pub store: &'a str,
    pub created: i64,
}

/// The tenant as the files table keeps it (as the history table: JSON text).
pub fn tenant_text(v: &Value) -> String {
    v.to_json().to_string()
}

/// Adds an upload's row (no record yet); returns its id.
pub fn insert(conn: &mut dyn Conn, f: &NewFile) -> Result<i64> {
    let mut text = String::from(
        "INSERT INTO jamrs_files (name, item, field, record_id, tenant, user_id, original, type, size, store, created) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
    );
    // As the builder's INSERT: a backend that returns the key with the statement says how.
    if let Some(ret) = conn.dialect().insert_returning("id") {
        text.push_str(&ret);
    }
    let s = sql(
        conn,
        &text,
        vec![
            Value::Text(f.name.into()),
            Value::Text(f.item.into()),
            Value::Text(f.field.into()),
            f.tenant
                .map_or(Value::Null, |t| Value::Text(tenant_text(t))),
            f.user_id.map_or(Value::Null, Value::Int),
            Value::Text(f.original.into()),
            Value::Text(f.mime.into()),
            Value::Int(f.size),
            Value::Text(f.store.into()),
            Value::Int(f.created),
        ],
    );
    conn.insert(&s)
}

/// Stores chunk `seq` of upload `file_id` (database store).
pub fn put_chunk(conn: &mut dyn Conn, file_id: i64, seq: i64, bytes: &[u8]) -> Result<()> {
    let s = sql(
        conn,
        "INSERT INTO jamrs_file_chunks (file_id, seq, data) VALUES (?, ?, ?)",
        vec![
            Value::Int(file_id),
            Value::Int(seq),
            Value::Text(base64_encode(bytes)),
        ],
    );
    conn.execute(&s)?;
    Ok(())
}

/// Chunk `seq` of upload `file_id`, if there is one.
pub fn chunk(conn: &mut dyn Conn, file_id: i64, seq: i64) -> Result<Option<Vec<u8>>> {
    let s = sql(
        conn,
        "SELECT data FROM jamrs_file_chunks WHERE file_id = ? AND seq = ?",
        vec![Value::Int(file_id), Value::Int(seq)],
    );
    match conn.query(&s, &[FieldType::Text])?.first() {
        Some(row) => match &row[0] {
            Value::Text(t) => base64_decode(t)
                .map(Some)
                .ok_or_else(|| Error::internal("a stored file chunk is not base64")),
            _ => Ok(None),
        },
        None => Ok(None),
    }
}

const COLUMNS: &str =
    "id, name, item, field, record_id, tenant, user_id, original, type, size, store";
const TYPES: [FieldType; 11] = [
    FieldType::Integer,
    FieldType::Text,
    FieldType::Text,
    FieldType::Text,
    FieldType::Integer,
    FieldType::Text,
    FieldType::Integer,
    FieldType::Text,
    FieldType::Text,
    FieldType::Integer,
    FieldType::Text,
];

fn stored(row: Vec<Value>) -> StoredFile {
    let text = |v: &Value| match v {
        Value::Text(s) => s.clone(),
        _ => String::new(),
    };
    StoredFile {
        id: row[0].as_i64().unwrap_or(0),
        name: text(&row[1]),
        item: text(&row[2]),
        field: text(&row[3]),
        record_id: row[4].as_i64(),
        tenant: match &row[5] {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        },
        user_id: row[6].as_i64(),
        original: text(&row[7]),
        mime: text(&row[8]),
        size: row[9].as_i64().unwrap_or(0),
        store: text(&row[10]),
    }
}

/// The upload named `name`, if there is one.
pub fn find(conn: &mut dyn Conn, name: &str) -> Result<Option<StoredFile>> {
    let s = sql(
        conn,
        &format!("SELECT {COLUMNS} FROM jamrs_files WHERE name = ?"),
        vec![Value::Text(name.into())],
    );
    Ok(conn.query(&s, &TYPES)?.into_iter().next().map(stored))
}

/// Gives upload `name` to record `record_id`.
pub fn attach(conn: &mut dyn Conn, name: &str, record_id: i64) -> Result<()> {
    let s = sql(
        conn,
        "UPDATE jamrs_files SET record_id = ? WHERE name = ?",
        vec![Value::Int(record_id), Value::Text(name.into())],
    );
    conn.execute(&s)?;
    Ok(())
}

/// Removes upload `name` (its row and its chunks).
pub fn remove(conn: &mut dyn Conn, name: &str) -> Result<()> {
    let s = sql(
        conn,
        "DELETE FROM jamrs_file_chunks WHERE file_id IN (SELECT id FROM jamrs_files WHERE name = ?)",
        vec![Value::Text(name.into())],
    );
    conn.execute(&s)?;
    let s = sql(
        conn,
        "DELETE FROM jamrs_files WHERE name = ?",
        vec![Value::Text(name.into())],
    );
    conn.execute(&s)?;
    Ok(())
}

/// Removes the uploads of records `ids` of `item` (removed by a hard delete).
pub fn remove_for_records(conn: &mut dyn Conn, item: &str, ids: Keys) -> Result<()> {
    let list = vec!["?"; ids.len()].join(", ");
    let mut params = vec![Value::Text(item.into())];
    params.extend(ids.as_slice().iter().map(Key::to_value));
    let s = sql(
        conn,
        &format!(
            "DELETE FROM jamrs_file_chunks WHERE file_id IN (SELECT id FROM jamrs_files WHERE item = ? AND record_id IN ({list}))"
        ),
        params.clone(),
    );
    conn.execute(&s)?;
    let s = sql(
        conn,
        &format!("DELETE FROM jamrs_files WHERE item = ? AND record_id IN ({list})"),
        params,
    );
    conn.execute(&s)?;
    Ok(())
}

/// Uploads no record took before `created` (unix seconds): `(name, store)`, at most `limit`.
pub fn unattached_before(
    conn: &mut dyn Conn,
    created: i64,
    limit: i64,
) -> Result<Vec<(String, String)>> {
    let s = sql(
        conn,
        "SELECT name, store FROM jamrs_files WHERE record_id IS NULL AND created < ? LIMIT ?",
        vec![Value::Int(created), Value::Int(limit)],
    );
    Ok(conn
        .query(&s, &[FieldType::Text, FieldType::Text])?
        .into_iter()
        .map(|r| {
            let t = |v: &Value| match v {
                Value::Text(s) => s.clone(),
                _ => String::new(),
            };
            (t(&r[0]), t(&r[1]))
        })
        .collect())
}

/// Which of `names` have a row (for sweeping a folder of files without one).
pub fn existing(conn: &mut dyn Conn, names: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in names.chunks(builder::KEYS_PER_STATEMENT) {
        let list = vec!["?"; chunk.len()].join(", ");
        let s = sql(
            conn,
            &format!("SELECT name FROM jamrs_files WHERE name IN ({list})"),
            chunk.iter().map(|n| Value::Text(n.clone())).collect(),
        );
        for row in conn.query(&s, &[FieldType::Text])? {
            if let Value::Text(n) = &row[0] {
                out.push(n.clone());
            }
        }
    }
    Ok(out)
}

/// The file fields of an item.
fn file_fields(item: &Item) -> impl Iterator<Item = &jamrs_core::model::Field> {
    item.stored_fields()
        .filter(|f| matches!(f.field_type, FieldType::File | FieldType::Image))
}

/// True when `item` has file or image fields.
pub fn has_files(item: &Item) -> bool {
    file_fields(item).next().is_some()
}

/// The stored name a value of a file field holds.
fn name_of(v: &Value) -> Option<&str> {
    match v {
        Value::Text(s) => stored_name(s),
        _ => None,
    }
}

/// What a record's file fields do in an apply: the uploads to attach, and those to remove.
#[derive(Debug, Default)]
pub(crate) struct FileChanges {
    pub attach: Vec<String>,
    pub release: Vec<String>,
}

impl Engine<'_> {
    /// Checks the file fields `fields` of a record being written (`row`, its stored row before
    /// the change `old`) and writes Jam.py's value into `row`: a field that names an upload
    /// must name one of this item and field, made by this user in this tenant and held by no
    /// other record (or the one it already holds). An empty value clears the field. The same
    /// message answers every refusal, so nothing tells whether someone else's upload exists.
    pub(crate) fn check_files(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        row: &mut [Value],
        old: Option<&[Value]>,
        fields: &[FieldId],
        path: &str,
    ) -> Result<FileChanges> {
        let mut out = FileChanges::default();
        let mut errors = Vec::new();
        for f in file_fields(item).filter(|f| fields.contains(&f.id)) {
            let slot = f.id.0 as usize;
            let before = old.and_then(|o| name_of(&o[slot])).map(str::to_string);
            let value = row[slot].clone();
            let empty = match &value {
                Value::Null => true,
                Value::Text(s) => s.is_empty(),
                _ => false,
            };
            if empty {
                row[slot] = Value::Null;
                out.release.extend(before);
                continue;
            }
            let refused = || FieldError {
                field: format!("{path}.{}", f.name),
                message: format!(
                    "is not a file uploaded for this field (upload it with POST /api/items/{}/upload/{})",
                    item.name, f.name
                ),
            };
            let Some(name) = name_of(&value).map(str::to_string) else {
                errors.push(refused());
                continue;
            };
            if before.as_deref() == Some(name.as_str()) {
                // Unchanged: keep the stored value as it is.
                row[slot] = old.map_or(value.clone(), |o| o[slot].clone());
                continue;
            }
            let Some(file) = find(conn, &name)? else {
                errors.push(refused());
                continue;
            };
            let same_tenant = match self.tenant() {
                Tenant::Only(t) if item.tenant_field.is_some() => {
                    file.tenant.as_deref() == Some(tenant_text(t).as_str())
                }
                Tenant::Nobody => false,
                _ => true,
            };
            let same_user = match (&self.caller().user, file.user_id) {
                (Some(u), Some(by)) => u.user_id == by,
                (Some(_), None) => false,
                (None, _) => true,
            };
            if file.item != item.name.as_str()
                || file.field != f.name.as_str()
                || file.record_id.is_some()
                || !same_tenant
                || !same_user
            {
                errors.push(refused());
                continue;
            }
            row[slot] = Value::Text(match f.field_type {
                FieldType::File => format!("{name}?{}", file.original),
                _ => name.clone(),
            });
            out.attach.push(name);
            out.release.extend(before);
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(Error::validation(errors))
        }
    }

    /// Attaches and removes what [`Engine::check_files`] found, once the record is written.
    pub(crate) fn apply_files(
        &self,
        conn: &mut dyn Conn,
        changes: FileChanges,
        id: &Key,
    ) -> Result<()> {
        if changes.attach.is_empty() && changes.release.is_empty() {
            return Ok(());
        }
        // The loader gives file fields only to items keyed by integers.
        let id = id
            .as_i64()
            .ok_or_else(|| Error::internal("uploads of a record keyed by text"))?;
        for name in &changes.attach {
            attach(conn, name, id)?;
        }
        for name in &changes.release {
            remove(conn, name)?;
        }
        Ok(())
    }

    /// The stored row of record `id` of `item` (one value per field) if this request could
    /// open it: the role views the item, the row is live and in the tenant's scope, it passes
    /// the filters the item's `on_open` adds for the session, and, for a detail row, its master
    /// row could be opened too. `None` otherwise (the caller answers 404 alike for each).
    pub fn can_open_record(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        id: i64,
    ) -> Result<Option<Vec<Value>>> {
        // Detail levels are bounded at load (8); one more for the item itself.
        self.record_reachable(conn, item, Key::Int(id), 9)
    }

    fn record_reachable(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        id: Key,
        levels: usize,
    ) -> Result<Option<Vec<Value>>> {
        if !self.access().privileges(item.id).view || levels == 0 {
            return Ok(None);
        }
        self.require_tenant(item)?;
        let sql = builder::select_rows(
            conn.dialect(),
            item,
            Keys::one(&id),
            None,
            self.tenant(),
            crate::dialect::RowLock::None,
        );
        let types: Vec<FieldType> = item.stored_fields().map(|f| f.field_type).collect();
        let Some(stored) = conn.query(&sql, &types)?.into_iter().next() else {
            return Ok(None);
        };
        let mut full = vec![Value::Null; item.fields.len()];
        for (f, v) in item.stored_fields().zip(stored) {
            full[f.id.0 as usize] = v;
        }
        let master = match item.master_link {
            None => None,
            Some(link) => {
                let (master_item, master_id) = match link {
                    MasterLink::MasterField(f) => {
                        let m = item.masters.first().copied();
                        let key =
                            m.and_then(|m| Key::of_item(self.task().item(m), &full[f.0 as usize]));
                        (m, key)
                    }
                    MasterLink::MasterIdRecId {
                        master_id,
                        master_rec_id,
                    } => {
                        let number = full[master_id.0 as usize].as_i64();
                        let m = item.masters.iter().copied().find(|m| {
                            self.task().item(*m).number.is_some()
                                && self.task().item(*m).number == number
                        });
                        (m, full[master_rec_id.0 as usize].as_i64().map(Key::Int))
                    }
                };
                let (Some(m), Some(mid)) = (master_item, master_id) else {
                    return Ok(None);
                };
                if self
                    .record_reachable(conn, self.task().item(m), mid.clone(), levels - 1)?
                    .is_none()
                {
                    return Ok(None);
                }
                Some(jamrs_core::query::MasterRef { item: m, id: mid })
            }
        };
        if self.reach() != crate::engine::Reach::Off
            && let Some(q) = self.reach_query(conn, item, master)?
            && !self
                .reachable_ids(conn, item, &q, std::slice::from_ref(&id))?
                .contains(&id)
        {
            return Ok(None);
        }
        Ok(Some(full))
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes [`base64_encode`]'s text; `None` for anything else.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| -> Option<u32> { B64.iter().position(|b| *b == c).map(|p| p as u32) };
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for quad in bytes.chunks(4) {
        let pad = quad.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in quad.iter().enumerate() {
            let v = if i >= 4 - pad { 0 } else { value(*c)? };
            n |= v << (18 - 6 * i);
        }
        let full = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&full[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for len in 0..70 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64_encode(&bytes);
            assert_eq!(base64_decode(&text).as_deref(), Some(&bytes[..]), "{len}");
        }
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_decode("TW=u"), None);
        assert_eq!(base64_decode("TWF"), None);
        assert_eq!(base64_decode("T!Fu"), None);
    }
}
