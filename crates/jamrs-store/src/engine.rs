//! open and apply with Jam.py's semantics, over any [`Conn`].
//!
//! Open: hooks → check params ([`OpenQuery::resolve`]) → master row must be live (and, for a
//! client, reachable) → one SELECT (whose calculated fields aggregate only rows the session
//! could open).
//! Apply (to a top-level item; a detail's rows change through its master): type the delta →
//! read the stored row of every update and delete (a missing or soft-deleted row fails the
//! apply) → `on_apply` → per record, in order: defaults, detail link, required/size/lookup
//! checks of the values that change, the statement (which carries key, soft-delete flag and
//! detail link in its WHERE), then its details; a delete cascades to its details → the rows
//! written must be ones the session could open (the reach rule, [`Reach`]). The caller runs
//! apply inside one transaction, so any error leaves the database as it was.
//!
//! An [`Engine`] is made only by its constructors, from the caller: [`Engine::for_client`],
//! [`Engine::for_server`], and [`Engine::for_server_code`] from the [`Scope`] of the request
//! the code runs in. Every IN list of keys it builds is a [`Keys`] list.

use std::collections::{HashMap, HashSet};

use jamrs_core::delta::{Change, DetailChanges};
use jamrs_core::model::{DefaultValue, FieldId, Item, ItemId, MasterLink, OnDelete, SystemField};
use jamrs_core::query::{Filter, MasterRef, OpenParams, OpenQuery};
use jamrs_core::session::{Caller, Tenant};
use jamrs_core::{Access, Error, FieldError, FieldType, Key, Result, Task, Value, values};

use serde_json::{Map, Value as Json};

use crate::builder::{self, CalcFilters, Column, Keys, Link, Under, Where};
use crate::conn::Conn;
use crate::dialect::RowLock;
use crate::history::{self, FieldChange, NewEntry, Operation};
use crate::hooks::Hooks;

/// Rows of an open, with their column layout.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenResult {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// With `total`: how many rows the filters select, whatever the page.
    pub total: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

/// One record of a delta, as handlers see and change it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub op: Op,
    /// The key: given for updates and deletes, set after an insert.
    pub id: Option<Key>,
    /// New values (client's, then handlers').
    pub values: Vec<(FieldId, Value)>,
    /// The stored row before the change, one entry per field of the item (`Null` for fields
    /// without a column). Read inside the apply transaction; `None` for inserts.
    pub old: Option<Vec<Value>>,
    pub details: Vec<DetailRecords>,
    /// Where the record sits in the request, for error messages (`changes[0].lines[1]`).
    pub path: String,
    /// Set when `before_apply_record` skipped it.
    pub skipped: bool,
}

impl Record {
    /// The new value of a field if the record sets it.
    pub fn value(&self, field: FieldId) -> Option<&Value> {
        self.values
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v)
    }

    /// Sets a field's new value.
    pub fn set(&mut self, field: FieldId, value: Value) {
        match self.values.iter_mut().find(|(f, _)| *f == field) {
            Some(slot) => slot.1 = value,
            None => self.values.push((field, value)),
        }
    }

    /// The stored value before the change (`None` for inserts).
    pub fn old_value(&self, field: FieldId) -> Option<&Value> {
        self.old.as_ref().map(|row| &row[field.0 as usize])
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetailRecords {
    pub item: ItemId,
    pub records: Vec<Record>,
}

/// The records of one apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub item: ItemId,
    pub records: Vec<Record>,
    /// The user params sent with the apply (`params` of `on_apply`).
    pub params: Map<String, Json>,
}

/// The outcome of one change, 1:1 with the request's changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeResult {
    pub op: Op,
    /// `None` only for an insert a handler skipped.
    pub id: Option<Key>,
    /// The final row by column name (empty for deletes and skipped records).
    pub row: Vec<(String, Value)>,
    pub details: Vec<(ItemId, Vec<ChangeResult>)>,
}

impl ChangeResult {
    /// The key of a record of an item keyed by integers.
    pub fn int_id(&self) -> Option<i64> {
        self.id.as_ref().and_then(Key::as_i64)
    }
}

pub type ApplyResult = Vec<ChangeResult>;

/// How far the engine holds what a request names to the filters the items' `on_open` adds
/// for its session: the reach rule, by which the seed's recipe (which filters opens) also
/// holds for what a request names and writes (see [`Engine::apply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A client's request (the HTTP API): the master of a detail it opens, and every lookup
    /// value and every row its applies write.
    Client,
    /// Server code running for a client's request (a server function, the handlers of its
    /// open or apply, the datasets they use): every lookup value and every row it writes. What
    /// it opens is its own business, as in Jam.py.
    Writes,
    /// Server code outside a client's request (`on_created`, `/ext`, `on_login`), or a write
    /// that asked to be unchecked (`apply(unchecked=True)`): nothing.
    Off,
}

/// What server code running inside a request inherits from the request's engine: the caller,
/// whose rows it sees and how far its writes are checked. Only an engine makes one
/// ([`Engine::scope`]), so server code can neither make up a caller or a tenant nor drop the
/// check without asking ([`Engine::unchecked`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    caller: Caller,
    tenant: Tenant,
    reach: Reach,
}

impl Scope {
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    pub fn reach(&self) -> Reach {
        self.reach
    }
}

/// The caller of server code outside any request: no session, no role.
static NO_SESSION: Caller = Caller {
    user: None,
    role: None,
};

/// The engine for one request. Its fields are private: the constructors are the only ways to
/// get one, and each takes the tenant and the reach from the caller (or from the request the
/// server code runs in), so a new endpoint cannot forget either. A literal does not compile:
///
/// ```compile_fail
/// # use jamrs_core::session::{Caller, Tenant};
/// # use jamrs_store::engine::Reach;
/// # use jamrs_store::{Engine, NoHooks};
/// # fn f(task: &jamrs_core::Task, caller: &Caller) {
/// let engine = Engine {
///     task,
///     hooks: &NoHooks,
///     reach_hooks: &NoHooks,
///     caller,
///     access: &task.unrestricted,
///     tenant: Tenant::All,
///     reach: Reach::Client,
/// };
/// # }
/// ```
///
/// while the constructor does:
///
/// ```
/// # use jamrs_core::session::Caller;
/// # use jamrs_store::{Engine, NoHooks};
/// # fn f(task: &jamrs_core::Task, caller: &Caller) {
/// let engine = Engine::for_client(task, &NoHooks, caller);
/// # }
/// ```
pub struct Engine<'a> {
    task: &'a Task,
    hooks: &'a dyn Hooks,
    /// The hooks whose `on_open` filters the reach rule reads: the request's own (every
    /// module's handlers), also when `hooks` are a dataset's without the item's handlers.
    reach_hooks: &'a dyn Hooks,
    /// Who sends the request (what server modules read as `item.session`).
    caller: &'a Caller,
    /// What the request may see and do; results leave out fields it is prohibited from. The
    /// caller's rights for a client; server code picks the caller's or none.
    access: &'a Access,
    /// Whose rows of items `[tenancy]` covers the request sees and changes
    /// (`caller.tenant(task)`; `Tenant::All` only for unscoped server code).
    tenant: Tenant,
    reach: Reach,
}

impl<'a> Engine<'a> {
    /// The engine of a client's request: the caller's rights and tenant, and the reach rule
    /// for what it names and writes.
    pub fn for_client(task: &'a Task, hooks: &'a dyn Hooks, caller: &'a Caller) -> Engine<'a> {
        Engine {
            task,
            hooks,
            reach_hooks: hooks,
            caller,
            access: caller.access(task),
            tenant: caller.tenant(task),
            reach: Reach::Client,
        }
    }

    /// The engine of server code outside any request (`on_created`, `/ext`, `on_login`, the
    /// command line): no session, no restrictions of rights, no tenant (items `[tenancy]`
    /// covers are refused unless the code asks for every tenant), no reach rule (with no
    /// session, `on_open` has nobody to filter for).
    pub fn for_server(task: &'a Task, hooks: &'a dyn Hooks) -> Engine<'a> {
        Engine {
            task,
            hooks,
            reach_hooks: hooks,
            caller: &NO_SESSION,
            access: &task.unrestricted,
            tenant: NO_SESSION.tenant(task),
            reach: Reach::Off,
        }
    }

    /// The engine of server code running inside a request (a dataset, `apply_delta`): the
    /// request's caller, tenant and reach (`scope`, from the request's engine), with the rights
    /// the code asked for (the caller's, or none). `reach_hooks` are the request's hooks with
    /// every module's handlers, which the reach rule reads.
    pub fn for_server_code(
        task: &'a Task,
        hooks: &'a dyn Hooks,
        reach_hooks: &'a dyn Hooks,
        scope: &'a Scope,
        access: &'a Access,
    ) -> Engine<'a> {
        Engine {
            task,
            hooks,
            reach_hooks,
            caller: &scope.caller,
            access,
            tenant: scope.tenant.clone(),
            reach: scope.reach,
        }
    }

    /// The same engine seeing every tenant's rows (`copy(unscoped=True)`).
    pub fn unscoped(self) -> Engine<'a> {
        Engine {
            tenant: Tenant::All,
            ..self
        }
    }

    /// The same engine without the reach rule (`apply(unchecked=True)`).
    pub fn unchecked(self) -> Engine<'a> {
        Engine {
            reach: Reach::Off,
            ..self
        }
    }

    /// What server code running for this request inherits: a client's request makes the
    /// code's writes checked ([`Reach::Writes`]).
    pub fn scope(&self) -> Scope {
        Scope {
            caller: self.caller.clone(),
            tenant: self.tenant.clone(),
            reach: match self.reach {
                Reach::Client => Reach::Writes,
                other => other,
            },
        }
    }

    pub fn task(&self) -> &'a Task {
        self.task
    }

    pub fn caller(&self) -> &'a Caller {
        self.caller
    }

    pub fn access(&self) -> &'a Access {
        self.access
    }

    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    pub fn reach(&self) -> Reach {
        self.reach
    }
}

impl Engine<'_> {
    /// An open as a client sends it.
    pub fn open(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        mut params: OpenParams,
    ) -> Result<OpenResult> {
        if let Some(answer) = self.hooks.on_open(self, conn, item, &mut params)? {
            return Ok(answer);
        }
        let run = self.hooks.before_open(self, conn, item, &mut params)?;
        let q = OpenQuery::resolve(self.task, item, &params, self.access)?;
        if self.reach == Reach::Client
            && let Some(m) = &q.master
        {
            self.require_reachable_master(conn, m)?;
        }
        let mut result = if run {
            self.open_query(conn, &q)?
        } else {
            OpenResult {
                columns: builder::columns(self.task, &q),
                rows: Vec::new(),
                total: q.total.then_some(0),
            }
        };
        self.hooks
            .after_open(self, conn, item, &params, &mut result)?;
        Ok(result)
    }

    /// A client names the master of a detail it opens: that row must be one it could open.
    fn require_reachable_master(&self, conn: &mut dyn Conn, m: &MasterRef) -> Result<()> {
        let master = self.task.item(m.item);
        match self.reachable(conn, master, std::slice::from_ref(&m.id), None)? {
            Some(seen) if !seen.contains(&m.id) => Err(Error::not_found(format!(
                "{} {} does not exist",
                master.name, m.id
            ))
            .with_field("master.id")),
            _ => Ok(()),
        }
    }

    /// Refuses work on an item `[tenancy]` covers when the request belongs to nobody: fail
    /// closed rather than read or write every tenant's rows.
    pub fn require_tenant(&self, item: &Item) -> Result<()> {
        if item.tenant_field.is_some() && self.tenant == Tenant::Nobody {
            return Err(Error::forbidden(format!(
                "\"{}\" keeps each tenant's rows apart, and this request belongs to no tenant (log in; server code outside a request must ask for an unscoped dataset)",
                item.name
            )));
        }
        Ok(())
    }

    /// A checked open.
    pub fn open_query(&self, conn: &mut dyn Conn, q: &OpenQuery) -> Result<OpenResult> {
        self.require_tenant(self.task.item(q.item))?;
        if let Some(m) = &q.master {
            self.require_live(conn, self.task.item(m.item), &m.id)?;
        }
        let calc = self.calc_filters(conn, q)?;
        let select = builder::select(conn.dialect(), self.task, q, &self.tenant, &calc);
        let types: Vec<FieldType> = select.columns.iter().map(|c| c.value_type).collect();
        let mut rows = conn.query(&select.sql, &types)?;
        let mut columns = select.columns;
        let mut total = None;
        if columns.first().map(|c| c.kind) == Some(builder::ColumnKind::Total) {
            columns.remove(0);
            let counted = rows
                .first()
                .map(|r| r[0].as_i64().unwrap_or(0).max(0) as u64);
            for r in &mut rows {
                r.remove(0);
            }
            total = Some(match counted {
                Some(n) => n,
                // A page past the end has no row to carry the count: ask for it alone.
                None if q.offset > 0 => {
                    let mut count = q.clone();
                    count.limit = 1;
                    count.offset = 0;
                    self.open_query(conn, &count)?.total.unwrap_or(0)
                }
                None => 0,
            });
        }
        Ok(OpenResult {
            columns,
            rows,
            total,
        })
    }

    /// The filters the rows `q`'s calculated fields aggregate are held to: for every item they
    /// reach (and, for a detail, its masters, through which its rows are reached), the filters
    /// the item's `on_open` adds for this session, as built-in tenancy holds them to the
    /// tenant. Without it the seed's recipe would total every user's rows, and a filter on the
    /// total would tell one user about another's. Nothing runs for an open that reads no
    /// calculated field.
    fn calc_filters(&self, conn: &mut dyn Conn, q: &OpenQuery) -> Result<CalcFilters> {
        let mut out = CalcFilters::new();
        let mut todo = builder::calculated_items(self.task, q);
        while let Some(id) = todo.pop() {
            if out.contains(id) {
                continue;
            }
            let item = self.task.item(id);
            let filters = self.open_filters(conn, item)?;
            let mut named = Vec::new();
            builder::calculated_items_in(item, &filters, &mut named);
            todo.extend(named.into_iter().map(|(_, i)| i));
            if item.master_link.is_some() {
                todo.extend(item.masters.iter().copied());
            }
            out.insert(id, filters);
        }
        Ok(out)
    }

    /// The filters `item`'s `on_open` adds for this session to an open without filters of
    /// its own, typed against the item; none when it adds none, or answers opens itself.
    fn open_filters(&self, conn: &mut dyn Conn, item: &Item) -> Result<Vec<Filter>> {
        let mut params = OpenParams::default();
        if self.hooks.on_open(self, conn, item, &mut params)?.is_some() || params.filters.is_empty()
        {
            return Ok(Vec::new());
        }
        OpenQuery::resolve_filters(self.task, item, &params.filters, &self.task.unrestricted)
    }

    fn require_live(&self, conn: &mut dyn Conn, item: &Item, id: &Key) -> Result<()> {
        self.require_tenant(item)?;
        let sql = builder::lookup_exists(conn.dialect(), item, id, &self.tenant, RowLock::None);
        if conn.query(&sql, &[FieldType::Integer])?.is_empty() {
            return Err(Error::not_found(format!(
                "{} {id} does not exist",
                item.name
            )));
        }
        Ok(())
    }

    /// Applies typed changes to `item`. Run it inside a transaction.
    ///
    /// Unless the engine's reach is [`Reach::Off`], every row the apply wrote (inserted or
    /// changed, at every detail level, by the default processing or by a handler's
    /// `apply_delta`) must afterwards pass the filters its item's `on_open` adds for the
    /// session, or the apply fails and, as the caller runs it in one transaction, nothing
    /// changes ([`Engine::check_written`]).
    pub fn apply(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        changes: Vec<Change>,
        params: Map<String, Json>,
        expanded: bool,
    ) -> Result<ApplyResult> {
        top_level(self.task, item)?;
        self.require_tenant(item)?;
        let mut delta = Delta {
            item: item.id,
            records: records_from(self.task, changes, "changes"),
            params,
        };
        self.load_old(conn, item, &mut delta.records, None)?;
        let mut results = match self.hooks.on_apply(self, conn, item, &mut delta)? {
            Some(answer) => answer,
            None => self.apply_delta(conn, &mut delta)?,
        };
        if self.reach != Reach::Off {
            self.check_written(conn, item, &delta.records, None)?;
        }
        if expanded {
            self.expand(conn, item, &mut results, None)?;
        }
        Ok(results)
    }

    /// The default processing of a delta (Jam.py's `apply_delta`). The rows it writes are
    /// checked by the [`Engine::apply`] it runs in.
    pub fn apply_delta(&self, conn: &mut dyn Conn, delta: &mut Delta) -> Result<ApplyResult> {
        let item = self.task.item(delta.item);
        top_level(self.task, item)?;
        self.process(conn, item, &mut delta.records, None, &delta.params)
    }

    /// Reads the stored row of every update and delete, at every level: one statement per
    /// [`Keys`] list of a level's keys.
    fn load_old(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        records: &mut [Record],
        link: Option<Link>,
    ) -> Result<()> {
        let ids: Vec<Key> = records.iter().filter_map(|r| r.id.clone()).collect();
        let types: Vec<FieldType> = item.stored_fields().map(|f| f.field_type).collect();
        let pk = item.stored_fields().position(|f| f.id == item.primary_key);
        let mut stored: HashMap<Key, Vec<Value>> = HashMap::new();
        for keys in Keys::chunks(&ids) {
            // The rows are about to change: hold them so a concurrent apply (another writer
            // connection, another instance) waits instead of writing over what is read here.
            let lock = if conn.read_only() {
                RowLock::None
            } else {
                RowLock::Update
            };
            let sql = builder::select_rows(conn.dialect(), item, keys, link, &self.tenant, lock);
            for row in conn.query(&sql, &types)? {
                if let Some(id) = pk.and_then(|p| Key::of_item(item, &row[p])) {
                    stored.insert(id, row);
                }
            }
        }
        for rec in records {
            let Some(id) = rec.id.clone() else {
                // A new master has no stored details: its details, and theirs, can only be
                // inserts.
                if let Some(bad) = stored_change_under(&rec.details) {
                    return Err(Error::bad_field(
                        &bad.path,
                        "a new record has no stored details to update or delete",
                    ));
                }
                continue;
            };
            let Some(row) = stored.get(&id) else {
                return Err(Error::not_found(match link {
                    Some(l) => format!(
                        "{} {id} does not exist under this master ({})",
                        item.name, l.master_id
                    ),
                    None => format!("{} {id} does not exist", item.name),
                })
                .with_field(&rec.path));
            };
            let mut full = vec![Value::Null; item.fields.len()];
            for (f, v) in item.stored_fields().zip(row) {
                full[f.id.0 as usize] = v.clone();
            }
            rec.old = Some(full);
            let master = Some(Link {
                master_number: item.number,
                master_id: &id,
            });
            for d in &mut rec.details {
                let detail = self.task.item(d.item);
                self.load_old(conn, detail, &mut d.records, master)?;
            }
        }
        Ok(())
    }

    fn process(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        records: &mut [Record],
        master: Option<&MasterRow>,
        params: &Map<String, Json>,
    ) -> Result<Vec<ChangeResult>> {
        let link = master.map(|m| Link {
            master_number: m.item.number,
            master_id: &m.id,
        });
        self.require_tenant(item)?;
        let mut results = Vec::with_capacity(records.len());
        for rec in records.iter_mut() {
            if !self
                .hooks
                .before_apply_record(self, conn, item, rec, params)?
            {
                rec.skipped = true;
                results.push(ChangeResult {
                    op: rec.op,
                    id: rec.id.clone(),
                    row: Vec::new(),
                    details: Vec::new(),
                });
                continue;
            }
            let result = match rec.op {
                Op::Insert => self.insert(conn, item, rec, link, master, params)?,
                Op::Update => self.update(conn, item, rec, link, params)?,
                Op::Delete => self.delete(conn, item, rec, link)?,
            };
            self.hooks
                .after_apply_record(self, conn, item, rec, params)?;
            results.push(result);
        }
        Ok(results)
    }

    fn insert(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        rec: &mut Record,
        link: Option<Link>,
        master: Option<&MasterRow>,
        params: &Map<String, Json>,
    ) -> Result<ChangeResult> {
        let mut row = vec![Value::Null; item.fields.len()];
        for (f, v) in &rec.values {
            row[f.0 as usize] = v.clone();
        }
        // A default fills a field the insert does not name; one it names as null stays empty
        // (a person cleared it; the web UI fills defaults into a new record's form itself).
        for f in item.stored_fields() {
            let slot = &mut row[f.id.0 as usize];
            if rec.value(f.id).is_none()
                && let Some(d) = &f.default_value
            {
                *slot = match d {
                    DefaultValue::Value(v) => v.clone(),
                    DefaultValue::Today => Value::Text(values::today()),
                    DefaultValue::Now => Value::Text(values::now()),
                };
            }
        }
        set_link(item, &mut row, link);
        // The tenant column is the server's: the caller's tenant, whatever a client or a
        // handler put there. For a role that sees every tenant, a detail row takes its master
        // row's tenant (it must stay visible to the master's owner); other rows keep a value a
        // handler set, and otherwise get the caller's own; without one the insert is refused.
        if let Some(tf) = item.tenant_field {
            let slot = &mut row[tf.0 as usize];
            let inherited = master
                .and_then(|m| m.tenant.as_ref())
                .filter(|t| !t.is_null());
            match (&self.tenant, inherited) {
                (Tenant::Only(v), _) => *slot = v.clone(),
                (Tenant::All, Some(t)) => *slot = t.clone(),
                (Tenant::All, None) if slot.is_null() => {
                    match self.caller.tenant_value(self.task) {
                        Some(v) => *slot = v,
                        // A row of nobody's would be seen only by all-tenants roles: refuse it
                        // rather than write it.
                        None => {
                            return Err(Error::forbidden(format!(
                                "\"{}\" keeps each tenant's rows apart, and this row would belong to no tenant: the session has no tenant of its own (a user without an organisation, or server code without a session) and the row names none",
                                item.name
                            ))
                            .with_field(&format!("{}.{}", rec.path, item.field(tf).name)));
                        }
                    }
                }
                (Tenant::All, None) => {}
                (Tenant::Nobody, _) => return Err(Error::internal("insert for nobody")),
            }
        }
        if let Some(flag) = item.deleted_flag {
            row[flag.0 as usize] = Value::Bool(false);
        }
        if let Some(v) = item.record_version {
            row[v.0 as usize] = Value::Int(1);
        }
        let files = if crate::files::has_files(item) {
            let every: Vec<FieldId> = item.stored_fields().map(|f| f.id).collect();
            self.check_files(conn, item, &mut row, None, &every, &rec.path)?
        } else {
            crate::files::FileChanges::default()
        };
        let checked: Vec<FieldId> = item
            .stored_fields()
            .filter(|f| f.system.is_none() && !item.is_server_set(f.id))
            .map(|f| f.id)
            .collect();
        self.validate(conn, item, &row, &checked, &rec.path)?;
        // A text key is the client's (or a handler's): the new record must name one that no
        // row holds.
        let text_key = if item.text_key() {
            Some(self.new_text_key(conn, item, &row, &rec.path)?)
        } else {
            None
        };

        let values: Vec<(FieldId, Value)> = item
            .stored_fields()
            .filter(|f| f.id != item.primary_key || text_key.is_some())
            .map(|f| (f.id, row[f.id.0 as usize].clone()))
            .collect();
        let sql = builder::insert(conn.dialect(), item, &values);
        let id = match text_key {
            Some(key) => {
                conn.execute(&sql)?;
                key
            }
            None => {
                let id = conn.insert(&sql)?;
                row[item.primary_key.0 as usize] = Value::Int(id);
                Key::Int(id)
            }
        };
        rec.id = Some(id.clone());
        self.apply_files(conn, files, &id)?;
        if item.keep_history {
            self.write_history(conn, item, &id, Operation::Insert, None, Some(&row))?;
        }
        let details = self.process_details(conn, item, rec, &id, &row, params)?;
        Ok(ChangeResult {
            op: Op::Insert,
            id: Some(id),
            row: public_row(item, &row, self.access),
            details,
        })
    }

    fn update(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        rec: &mut Record,
        link: Option<Link>,
        params: &Map<String, Json>,
    ) -> Result<ChangeResult> {
        let id = rec
            .id
            .clone()
            .ok_or_else(|| Error::internal("update without a key"))?;
        let old = rec
            .old
            .as_ref()
            .ok_or_else(|| Error::internal("update without its stored row"))?;
        let mut row = old.clone();
        // The server owns the key, the flag and the link; handlers cannot move a row with them.
        let mut values: Vec<(FieldId, Value)> = rec
            .values
            .iter()
            .filter(|(f, _)| !item.is_server_set(*f) && item.field(*f).is_stored())
            .cloned()
            .collect();
        // Only what changes is checked: a client that sends the whole record (Jam.py's does)
        // must not fail on a stored value it did not touch, such as a lookup to a row deleted
        // since.
        let changed: Vec<FieldId> = values
            .iter()
            .filter(|(f, v)| old[f.0 as usize] != *v)
            .map(|(f, _)| *f)
            .collect();
        for (f, v) in &values {
            row[f.0 as usize] = v.clone();
        }
        let files = if crate::files::has_files(item) {
            let files = self.check_files(conn, item, &mut row, Some(old), &changed, &rec.path)?;
            for (f, v) in values.iter_mut() {
                *v = row[f.0 as usize].clone();
            }
            files
        } else {
            crate::files::FileChanges::default()
        };
        self.validate(conn, item, &row, &changed, &rec.path)?;
        // With an edit lock every update raises the version, and one that names a version
        // other than the stored one is refused; the UPDATE's WHERE holds the stored version
        // too, so a change made in between cannot slip through.
        let guard = match item.record_version {
            Some(vf) => {
                let stored = old[vf.0 as usize].clone();
                check_version(item, &id, &stored, rec, vf)?;
                let next = Value::Int(stored.as_i64().unwrap_or(0).saturating_add(1));
                values.push((vf, next.clone()));
                row[vf.0 as usize] = next;
                Some(stored)
            }
            None => None,
        };
        if !values.is_empty() {
            let sql = builder::update(
                conn.dialect(),
                item,
                &id,
                &values,
                link,
                &self.tenant,
                guard.as_ref(),
            );
            if conn.execute(&sql)? != 1 {
                return Err(Error::conflict(format!(
                    "{} {id} changed while it was being saved",
                    item.name
                )));
            }
        }
        self.apply_files(conn, files, &id)?;
        if item.keep_history && !changed.is_empty() {
            self.write_history(conn, item, &id, Operation::Update, Some(old), Some(&row))?;
        }
        let details = self.process_details(conn, item, rec, &id, &row, params)?;
        Ok(ChangeResult {
            op: Op::Update,
            id: Some(id),
            row: public_row(item, &row, self.access),
            details,
        })
    }

    fn delete(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        rec: &mut Record,
        link: Option<Link>,
    ) -> Result<ChangeResult> {
        let id = rec
            .id
            .clone()
            .ok_or_else(|| Error::internal("delete without a key"))?;
        let old = rec
            .old
            .as_deref()
            .ok_or_else(|| Error::internal("delete without its stored row"))?;
        if let Some(vf) = item.record_version {
            check_version(item, &id, &old[vf.0 as usize], rec, vf)?;
        }
        let mut deleted = Vec::new();
        self.delete_details(conn, item, std::slice::from_ref(&id), &mut deleted)?;
        let soft = item.deleted_flag.is_some();
        let sql = builder::delete_row(conn.dialect(), item, &id, link, &self.tenant, soft);
        if conn.execute(&sql)? != 1 {
            return Err(Error::conflict(format!(
                "{} {id} changed while it was being deleted",
                item.name
            )));
        }
        if item.keep_history {
            self.write_history(conn, item, &id, Operation::Delete, Some(old), None)?;
        }
        // A row removed takes its uploads with it; a soft-deleted one keeps them.
        if !soft && crate::files::has_files(item) {
            crate::files::remove_for_records(conn, item.name.as_str(), Keys::one(&id))?;
        }
        deleted.push((item.id, vec![id.clone()]));
        self.release_references(conn, deleted, &rec.path)?;
        Ok(ChangeResult {
            op: Op::Delete,
            id: Some(id),
            row: Vec::new(),
            details: Vec::new(),
        })
    }

    /// Deletes the detail rows of deleted masters (`ids`, rows of `item`), depth first: one
    /// statement per [`Keys`] list of masters at each level. A soft-deleted master
    /// soft-deletes details that have the flag; otherwise detail rows are removed. The rows of
    /// details that have details, history or referrers are read first: their keys go to
    /// `deleted` (for [`Engine::release_references`]), and each gets its history entry.
    fn delete_details(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        ids: &[Key],
        deleted: &mut Vec<(ItemId, Vec<Key>)>,
    ) -> Result<()> {
        for did in &item.details {
            let detail = self.task.item(*did);
            let soft = item.deleted_flag.is_some() && detail.deleted_flag.is_some();
            let files = !soft && crate::files::has_files(detail);
            if !detail.details.is_empty()
                || detail.keep_history
                || !detail.referrers.is_empty()
                || files
            {
                let mut rows = Vec::new();
                for chunk in Keys::chunks(ids) {
                    let under = Under {
                        master_number: item.number,
                        master_ids: chunk,
                    };
                    let sql = builder::select_stored(
                        conn.dialect(),
                        detail,
                        None,
                        Some(under),
                        &self.tenant,
                    );
                    rows.extend(self.stored_rows(conn, detail, &sql)?);
                }
                let keys: Vec<Key> = rows.iter().map(|(id, _)| id.clone()).collect();
                if !keys.is_empty() {
                    self.delete_details(conn, detail, &keys, deleted)?;
                    if detail.keep_history {
                        for (id, row) in &rows {
                            self.write_history(
                                conn,
                                detail,
                                id,
                                Operation::Delete,
                                Some(row),
                                None,
                            )?;
                        }
                    }
                    if files {
                        for chunk in Keys::chunks(&keys) {
                            crate::files::remove_for_records(conn, detail.name.as_str(), chunk)?;
                        }
                    }
                    deleted.push((detail.id, keys));
                }
            }
            for chunk in Keys::chunks(ids) {
                let under = Under {
                    master_number: item.number,
                    master_ids: chunk,
                };
                let sql = builder::delete_under(conn.dialect(), detail, under, &self.tenant, soft);
                conn.execute(&sql)?;
            }
        }
        Ok(())
    }

    /// Runs `sql`, a [`builder::select_stored`] of `item`, and returns each row by its key, with
    /// one value per field of the item (`Null` for fields without a column).
    fn stored_rows(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        sql: &crate::Sql,
    ) -> Result<Vec<(Key, Vec<Value>)>> {
        let types: Vec<FieldType> = item.stored_fields().map(|f| f.field_type).collect();
        let mut out = Vec::new();
        for stored in conn.query(sql, &types)? {
            let mut full = vec![Value::Null; item.fields.len()];
            for (f, v) in item.stored_fields().zip(stored) {
                full[f.id.0 as usize] = v;
            }
            if let Some(id) = Key::of_item(item, &full[item.primary_key.0 as usize]) {
                out.push((id, full));
            }
        }
        Ok(out)
    }

    /// Delete integrity: what the rows just deleted (`deleted`: keys by item, details and
    /// cascades included) do to the live rows whose lookup fields point at them, by each
    /// field's `on_delete`: `restrict` refuses the delete (409, naming the referring item and
    /// how many of its rows refer), `set_null` empties the field, `cascade` deletes those rows
    /// too (with their details, history and own referrers). Rows are counted and changed in
    /// the request's scope (live rows of its tenant), so a count tells nothing of another
    /// tenant. It runs after the rows are deleted, so rows deleted together (a self-reference,
    /// a cycle of cascades) do not hold each other; the work list keeps a long chain of
    /// cascades off the stack.
    fn release_references(
        &self,
        conn: &mut dyn Conn,
        mut todo: Vec<(ItemId, Vec<Key>)>,
        path: &str,
    ) -> Result<()> {
        while let Some((iid, keys)) = todo.pop() {
            let item = self.task.item(iid);
            for r in &item.referrers {
                let referrer = self.task.item(r.item);
                self.require_tenant(referrer)?;
                // What the caller could open of the referring rows: with the filters its
                // `on_open` adds (the seed's recipe), only the rows that pass them.
                let reach = match self.reach {
                    Reach::Off => None,
                    _ => self.reach_query(conn, referrer, None)?,
                };
                if r.on_delete == OnDelete::Restrict && reach.is_none() {
                    let mut count = 0;
                    for chunk in Keys::chunks(&keys) {
                        let w = Where {
                            field: r.field,
                            keys: chunk,
                        };
                        let sql = builder::count_rows(conn.dialect(), referrer, w, &self.tenant);
                        count += conn
                            .query(&sql, &[FieldType::Integer])?
                            .first()
                            .and_then(|row| row[0].as_i64())
                            .unwrap_or(0);
                    }
                    refuse_delete(item, &keys, referrer, r.field, count, path)?;
                    continue;
                }
                let mut rows = Vec::new();
                for chunk in Keys::chunks(&keys) {
                    let w = Where {
                        field: r.field,
                        keys: chunk,
                    };
                    let sql = builder::select_stored(
                        conn.dialect(),
                        referrer,
                        Some(w),
                        None,
                        &self.tenant,
                    );
                    rows.extend(self.stored_rows(conn, referrer, &sql)?);
                }
                if let Some(q) = &reach {
                    let ids: Vec<Key> = rows.iter().map(|(id, _)| id.clone()).collect();
                    let seen = self.reachable_ids(conn, referrer, q, &ids)?;
                    rows.retain(|(id, _)| seen.contains(id));
                }
                let ids: Vec<Key> = rows.iter().map(|(id, _)| id.clone()).collect();
                if ids.is_empty() {
                    continue;
                }
                match r.on_delete {
                    OnDelete::Restrict => {
                        let count = i64::try_from(ids.len()).unwrap_or(i64::MAX);
                        refuse_delete(item, &keys, referrer, r.field, count, path)?;
                    }
                    OnDelete::SetNull => {
                        if referrer.keep_history {
                            for (id, old) in &rows {
                                let mut new = old.clone();
                                new[r.field.0 as usize] = Value::Null;
                                self.write_history(
                                    conn,
                                    referrer,
                                    id,
                                    Operation::Update,
                                    Some(old),
                                    Some(&new),
                                )?;
                            }
                        }
                        for chunk in Keys::chunks(&ids) {
                            let w = Where {
                                field: referrer.primary_key,
                                keys: chunk,
                            };
                            let sql = builder::set_null(
                                conn.dialect(),
                                referrer,
                                r.field,
                                w,
                                &self.tenant,
                            );
                            conn.execute(&sql)?;
                        }
                    }
                    OnDelete::Cascade => {
                        self.delete_details(conn, referrer, &ids, &mut todo)?;
                        let soft = referrer.deleted_flag.is_some();
                        for chunk in Keys::chunks(&ids) {
                            let w = Where {
                                field: referrer.primary_key,
                                keys: chunk,
                            };
                            let sql = builder::delete_rows(
                                conn.dialect(),
                                referrer,
                                w,
                                &self.tenant,
                                soft,
                            );
                            conn.execute(&sql)?;
                        }
                        if referrer.keep_history {
                            for (id, old) in &rows {
                                self.write_history(
                                    conn,
                                    referrer,
                                    id,
                                    Operation::Delete,
                                    Some(old),
                                    None,
                                )?;
                            }
                        }
                        if !soft && crate::files::has_files(referrer) {
                            for chunk in Keys::chunks(&ids) {
                                crate::files::remove_for_records(
                                    conn,
                                    referrer.name.as_str(),
                                    chunk,
                                )?;
                            }
                        }
                        todo.push((referrer.id, ids));
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the history entry of one row of an item with `keep_history`: the fields an
    /// insert set, an update changed or a delete removed, with old and new values (system
    /// fields and the tenant column aside). An update that changed none writes nothing.
    fn write_history(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        id: &Key,
        operation: Operation,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<()> {
        // The loader gives keep_history only to items keyed by integers.
        let id = id
            .as_i64()
            .ok_or_else(|| Error::internal("history of a record keyed by text"))?;
        // Compared in place: only the fields that changed are copied into the entry.
        fn at(row: Option<&[Value]>, f: FieldId) -> &Value {
            static NULL: Value = Value::Null;
            row.map_or(&NULL, |r| &r[f.0 as usize])
        }
        let changes: Vec<FieldChange> = item
            .stored_fields()
            .filter(|f| !item.is_server_set(f.id))
            .filter_map(|f| {
                let (o, n) = (at(old, f.id), at(new, f.id));
                (o != n).then(|| FieldChange {
                    field: f.name.as_str().to_owned(),
                    old: o.to_json(),
                    new: n.to_json(),
                })
            })
            .collect();
        if operation == Operation::Update && changes.is_empty() {
            return Ok(());
        }
        let row = new.or(old);
        let tenant = item
            .tenant_field
            .and_then(|t| row.map(|r| &r[t.0 as usize]));
        history::record(
            conn,
            &NewEntry {
                item: item.name.as_str(),
                record_id: id,
                operation,
                changes,
                user: self.caller.user.as_ref(),
                tenant,
            },
        )
    }

    /// Saves a record's details under its row `id`, whose stored values are `row`.
    fn process_details(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        rec: &mut Record,
        id: &Key,
        row: &[Value],
        params: &Map<String, Json>,
    ) -> Result<Vec<(ItemId, Vec<ChangeResult>)>> {
        let master = MasterRow {
            item,
            id: id.clone(),
            tenant: item.tenant_field.map(|f| row[f.0 as usize].clone()),
        };
        let mut out = Vec::with_capacity(rec.details.len());
        for d in &mut rec.details {
            let detail = self.task.item(d.item);
            let results = self.process(conn, detail, &mut d.records, Some(&master), params)?;
            out.push((d.item, results));
        }
        Ok(out)
    }

    /// Required fields, text sizes, lookup-list values and lookup targets of `fields`.
    fn validate(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        row: &[Value],
        fields: &[FieldId],
        path: &str,
    ) -> Result<()> {
        let mut errors = Vec::new();
        for fid in fields {
            let f = item.field(*fid);
            let v = &row[fid.0 as usize];
            // The field's path, for an error only (most values are valid).
            let at = || format!("{path}.{}", f.name);
            let empty = match v {
                Value::Null => true,
                Value::Text(s) => s.is_empty(),
                _ => false,
            };
            if f.required && empty {
                errors.push(FieldError {
                    field: at(),
                    message: "is required".into(),
                });
                continue;
            }
            // A text of at most `max` bytes has at most `max` characters: count only longer ones.
            if let (Some(max), Value::Text(s)) = (f.size, v)
                && s.len() > max as usize
                && s.chars().count() > max as usize
            {
                errors.push(FieldError {
                    field: at(),
                    message: format!("is longer than {max} characters"),
                });
                continue;
            }
            if let (Some(list), Value::Int(i)) = (f.lookup_values, v)
                && !self.task.lookup_lists[list]
                    .values
                    .iter()
                    .any(|(k, _)| k == i)
            {
                errors.push(FieldError {
                    field: at(),
                    message: format!(
                        "{i} is not one of the values of list \"{}\"",
                        self.task.lookup_lists[list].name
                    ),
                });
                continue;
            }
            if let (Some(lookup), FieldType::Integer | FieldType::Text) = (&f.lookup, f.field_type)
                && let Some(key) = Key::of_item(self.task.item(lookup.item()), v)
            {
                let target = self.task.item(lookup.item());
                // The target must still exist when this transaction commits.
                let lock = if conn.read_only() {
                    RowLock::None
                } else {
                    RowLock::Share
                };
                let sql = builder::lookup_exists(conn.dialect(), target, &key, &self.tenant, lock);
                // A client, and server code writing for one, may only point at a row the client
                // could open (as it would pick it from the lookup's list); the answer is the
                // same as for a row that does not exist.
                let hidden = conn.query(&sql, &[FieldType::Integer])?.is_empty()
                    || (self.reach != Reach::Off
                        && self
                            .reachable(conn, target, std::slice::from_ref(&key), None)?
                            .is_some_and(|seen| !seen.contains(&key)));
                if hidden {
                    errors.push(FieldError {
                        field: at(),
                        message: format!("{} {key} does not exist", target.name),
                    });
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::validation(errors))
        }
    }

    /// The text key of a new record of an item keyed by text: the record must name one (the
    /// client chooses it; a handler may set it), within the key field's size, that no row of
    /// the table holds, soft-deleted or another tenant's included (a key is unique in the
    /// table, so the insert would collide; see docs/project-format.md on keys and tenancy).
    fn new_text_key(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        row: &[Value],
        path: &str,
    ) -> Result<Key> {
        let pk = item.pk();
        let at = || format!("{path}.{}", pk.name);
        let key = match &row[item.primary_key.0 as usize] {
            Value::Text(s) if !s.is_empty() => Key::Text(s.clone()),
            _ => {
                return Err(Error::validation(vec![FieldError {
                    field: at(),
                    message: format!(
                        "is required: a record of \"{}\" is keyed by the text of its field \"{}\", which the new record must give",
                        item.name, pk.name
                    ),
                }]));
            }
        };
        if let (Some(max), Key::Text(s)) = (pk.size, &key)
            && s.chars().count() > max as usize
        {
            return Err(Error::validation(vec![FieldError {
                field: at(),
                message: format!("is longer than {max} characters"),
            }]));
        }
        let sql = builder::key_taken(conn.dialect(), item, &key);
        if !conn.query(&sql, &[FieldType::Integer])?.is_empty() {
            return Err(Error::conflict(format!(
                "{} {key} already exists: a new record needs a key of its own",
                item.name
            ))
            .with_field(&at()));
        }
        Ok(key)
    }

    /// The reach rule for what an apply wrote: every row it inserted or changed (skipped
    /// records aside), as it is now, must pass the filters its item's `on_open` adds for this
    /// session (the seed recipe's `user_id = me`), and so at every detail level under the rows
    /// written. It reads the records, not the results, which are empty for a role that may
    /// change rows but not view them. This is PostgreSQL's row-security rule (a policy's
    /// `WITH CHECK` defaults to its `USING`): without it the seed recipe, which checks only
    /// `old_value`, lets a user give their row to another user by changing `user_id`. An
    /// `on_open` that answers the open itself cannot be checked this way and is left to its
    /// module.
    fn check_written(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        records: &[Record],
        master: Option<MasterRef>,
    ) -> Result<()> {
        let written: Vec<(&Record, &Key)> = records
            .iter()
            .filter(|r| !r.skipped && r.op != Op::Delete)
            .filter_map(|r| r.id.as_ref().map(|id| (r, id)))
            .collect();
        if written.is_empty() {
            return Ok(());
        }
        if let Some(q) = self.reach_query(conn, item, master)? {
            let ids: Vec<Key> = written.iter().map(|&(_, id)| id.clone()).collect();
            let seen = self.reachable_ids(conn, item, &q, &ids)?;
            if let Some(&(rec, id)) = written.iter().find(|(_, id)| !seen.contains(*id)) {
                let message = match self.reach {
                    Reach::Client => format!(
                        "after this change {} {id} would be a row you cannot open (the filters of its on_open no longer hold): the change is refused",
                        item.name
                    ),
                    _ => format!(
                        "server code wrote {} {id}, a row this session cannot open (the filters of its on_open do not hold for it): the change is refused; code that means to write it asks for apply(unchecked=True)",
                        item.name
                    ),
                };
                return Err(Error::forbidden(message).with_field(&rec.path));
            }
        }
        for (rec, id) in written {
            for d in &rec.details {
                let detail = self.task.item(d.item);
                let m = Some(MasterRef {
                    item: item.id,
                    id: id.clone(),
                });
                self.check_written(conn, detail, &d.records, m)?;
            }
        }
        Ok(())
    }

    /// Which of `ids` (rows of `item`, under `master` for a detail) the request could open
    /// through the filters `item`'s `on_open` adds for its session; `None` when `on_open` adds
    /// none (or answers opens itself), so that every row the engine's own scope allows is.
    fn reachable(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        ids: &[Key],
        master: Option<MasterRef>,
    ) -> Result<Option<HashSet<Key>>> {
        match self.reach_query(conn, item, master)? {
            Some(q) => Ok(Some(self.reachable_ids(conn, item, &q, ids)?)),
            None => Ok(None),
        }
    }

    /// The open that holds `item`'s rows to the filters its `on_open` adds for this session
    /// (run with the request's hooks, as for a client's open without filters of its own);
    /// `None` when it adds none, or answers opens itself. The filters are the server's, so
    /// they are typed without the role's rights: a role that may change rows but not view
    /// them is held to them too.
    pub(crate) fn reach_query(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        master: Option<MasterRef>,
    ) -> Result<Option<OpenQuery>> {
        if item.is_detail() && master.is_none() {
            // A nested master or a lookup target that is a detail: its open needs a master
            // this check does not have; the engine's own scope still applies.
            return Ok(None);
        }
        let master_json = master.map(
            |m| serde_json::json!({"item": self.task.item(m.item).name.as_str(), "id": m.id.to_json()}),
        );
        let mut params = OpenParams {
            master: master_json.clone(),
            ..OpenParams::default()
        };
        if self
            .reach_hooks
            .on_open(self, conn, item, &mut params)?
            .is_some()
            || params.filters.is_empty()
        {
            return Ok(None);
        }
        let filters_only = OpenParams {
            filters: params.filters,
            master: master_json,
            ..OpenParams::default()
        };
        let mut q = OpenQuery::resolve(self.task, item, &filters_only, &self.task.unrestricted)?;
        q.fields = vec![item.primary_key];
        q.order.clear();
        q.offset = 0;
        Ok(Some(q))
    }

    /// The keys among `ids` that the reach query `q` of `item` finds: one open per [`Keys`]
    /// list.
    pub(crate) fn reachable_ids(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        q: &OpenQuery,
        ids: &[Key],
    ) -> Result<HashSet<Key>> {
        let mut found = HashSet::new();
        for keys in Keys::chunks(ids) {
            let mut q = q.clone();
            q.limit = keys.len() as u64;
            q.filters.push(builder::key_in(item, keys));
            let rows = self.open_query(conn, &q)?.rows;
            found.extend(rows.iter().filter_map(|r| Key::of_item(item, &r[0])));
        }
        Ok(found)
    }

    /// Replaces each result's row with the expanded one (lookup texts, calculated fields):
    /// one open per [`Keys`] list of the rows at each level.
    fn expand(
        &self,
        conn: &mut dyn Conn,
        item: &Item,
        results: &mut [ChangeResult],
        master: Option<MasterRef>,
    ) -> Result<()> {
        let mut ids: Vec<Key> = results
            .iter()
            .filter(|r| r.op != Op::Delete && !r.row.is_empty())
            .filter_map(|r| r.id.clone())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut by_id: HashMap<Key, Vec<(String, Value)>> = HashMap::new();
        for keys in Keys::chunks(&ids) {
            let mut q = OpenQuery::all(self.task, item, self.access);
            q.expanded = true;
            q.master = master.clone();
            q.limit = keys.len() as u64;
            q.filters.push(builder::key_in(item, keys));
            let found = self.open_query(conn, &q)?;
            let pk_pos = found
                .columns
                .iter()
                .position(|c| c.field == item.primary_key);
            for row in found.rows {
                let Some(id) = pk_pos.and_then(|p| Key::of_item(item, &row[p])) else {
                    continue;
                };
                let named = found
                    .columns
                    .iter()
                    .map(|c| c.name.clone())
                    .zip(row)
                    .collect();
                by_id.insert(id, named);
            }
        }
        for r in results.iter_mut() {
            // `get`, not `remove`: one row can be the result of several changes.
            if let Some(row) = r.id.as_ref().and_then(|id| by_id.get(id)) {
                r.row = row.clone();
            }
        }
        for r in results.iter_mut() {
            let Some(id) = r.id.clone().filter(|_| r.op != Op::Delete) else {
                continue;
            };
            for (did, detail_results) in &mut r.details {
                let detail = self.task.item(*did);
                let m = Some(MasterRef {
                    item: item.id,
                    id: id.clone(),
                });
                self.expand(conn, detail, detail_results, m)?;
            }
        }
        Ok(())
    }
}

/// The master row a detail record is saved under.
struct MasterRow<'a> {
    item: &'a Item,
    id: Key,
    /// The master row's tenant column, when `[tenancy]` covers the master.
    tenant: Option<Value>,
}

/// Refuses a detail as the item of an apply: without a master there is no link to set or to
/// check, so its rows would be reachable across masters.
fn top_level(task: &Task, item: &Item) -> Result<()> {
    if !item.is_detail() {
        return Ok(());
    }
    let masters: Vec<&str> = item
        .masters
        .iter()
        .map(|m| task.item(*m).name.as_str())
        .collect();
    Err(Error::bad_request(format!(
        "\"{}\" is a detail: change its rows through its master ({})",
        item.name,
        masters.join(", ")
    )))
}

/// The first update or delete anywhere under a new record's details.
fn stored_change_under(details: &[DetailRecords]) -> Option<&Record> {
    details.iter().flat_map(|d| &d.records).find_map(|r| {
        if r.op == Op::Insert {
            stored_change_under(&r.details)
        } else {
            Some(r)
        }
    })
}

/// Records with their paths in the request (`changes[0].lines[1]`).
fn records_from(task: &Task, changes: Vec<Change>, at: &str) -> Vec<Record> {
    changes
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let path = format!("{at}[{i}]");
            let details = |ds: Vec<DetailChanges>, path: &str| -> Vec<DetailRecords> {
                ds.into_iter()
                    .map(|d| DetailRecords {
                        item: d.item,
                        records: records_from(
                            task,
                            d.changes,
                            &format!("{path}.{}", task.item(d.item).name),
                        ),
                    })
                    .collect()
            };
            let (op, id, values, dets) = match c {
                Change::Insert { values, details } => (Op::Insert, None, values, details),
                Change::Update {
                    id,
                    values,
                    details,
                } => (Op::Update, Some(id), values, details),
                Change::Delete { id, values } => (Op::Delete, Some(id), values, Vec::new()),
            };
            Record {
                op,
                id,
                values,
                old: None,
                details: details(dets, &path),
                path,
                skipped: false,
            }
        })
        .collect()
}

/// Writes the master link into a detail row.
fn set_link(item: &Item, row: &mut [Value], link: Option<Link>) {
    let (Some(link), Some(master_link)) = (link, item.master_link) else {
        return;
    };
    match master_link {
        MasterLink::MasterField(f) => row[f.0 as usize] = link.master_id.to_value(),
        MasterLink::MasterIdRecId {
            master_id,
            master_rec_id,
        } => {
            row[master_id.0 as usize] = link.master_number.map_or(Value::Null, Value::Int);
            row[master_rec_id.0 as usize] = link.master_id.to_value();
        }
    }
}

/// The stored fields the session may see, by name: none when its role may change the item
/// but not view it (an update would otherwise read the whole row).
fn public_row(item: &Item, row: &[Value], access: &Access) -> Vec<(String, Value)> {
    if !access.privileges(item.id).view {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(item.fields.len());
    out.extend(
        item.stored_fields()
            .filter(|f| {
                f.system != Some(SystemField::Deleted) && !access.is_prohibited(item.id, f.id)
            })
            .map(|f| (f.name.as_str().to_owned(), row[f.id.0 as usize].clone())),
    );
    out
}

/// Edit lock: a change that names a record version must name the stored one. (One that names
/// none is not checked, as in Jam.py: the web UI always names it.)
fn check_version(
    item: &Item,
    id: &Key,
    stored: &Value,
    rec: &Record,
    field: FieldId,
) -> Result<()> {
    let Some(named) = rec.value(field) else {
        return Ok(());
    };
    if named == stored {
        return Ok(());
    }
    let show = |v: &Value| v.as_i64().map_or("none".to_string(), |n| n.to_string());
    Err(Error::conflict(format!(
        "{} {id} was changed by someone else since it was opened (its version is now {}, the change was made to version {}): nothing was saved; reload the record and make the change again",
        item.name,
        show(stored),
        show(named),
    ))
    .with_field(&format!("{}.{}", rec.path, item.field(field).name)))
}

/// Restrict: the delete of `keys` (rows of `item`) is refused when `count` rows of `referrer`
/// the caller could open point at them through `field`.
fn refuse_delete(
    item: &Item,
    keys: &[Key],
    referrer: &Item,
    field: FieldId,
    count: i64,
    path: &str,
) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let what = match keys {
        [one] => format!("{} {one}", item.name),
        many => format!("{} rows of {}", many.len(), item.name),
    };
    let one = count == 1;
    Err(Error::conflict(format!(
        "{what} cannot be deleted: {count} record{} of \"{}\" refer{} to it (field \"{}\"); delete or change {} first",
        if one { "" } else { "s" },
        referrer.name,
        if one { "s" } else { "" },
        referrer.field(field).name,
        if one { "it" } else { "them" },
    ))
    .with_field(path))
}
