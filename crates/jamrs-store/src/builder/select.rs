//! SELECT for an open: columns (values, calculated fields, lookup texts, aggregates), lookup
//! joins up to three levels, filters, master link, soft-delete flag, grouping, order, paging.

use std::borrow::Cow;

use jamrs_core::model::{Field, FieldId, Item, ItemId, MasterLink};
use jamrs_core::query::{Cond, Filter, FilterValue, OpenQuery};
use jamrs_core::{Agg, FieldType, FilterOp, Ident, Key, Task, Value};

use super::scope::{Keys, Link, RowScope, Under, push_tenant};
use crate::dialect::{Dialect, escape_like};
use crate::sql::{Sql, SqlWriter};
use jamrs_core::session::Tenant;

/// The alias of the item's own table.
const MAIN: &str = "t";

/// How deep sub-selects nest (a calculated field's rows, their master's rows, a calculated
/// field those filters name, …). Deeper than any sensible project; past it the rows a
/// sub-select would read are none (fail closed), so a cycle cannot recurse.
const MAX_NESTING: usize = 4;

/// What one result column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// The field's stored value.
    Value,
    /// A calculated field's aggregate over its detail rows.
    Calc,
    /// The text of a lookup field.
    LookupText,
    /// `COUNT(*)` (summary).
    Count,
    /// An aggregate from `funcs`.
    Agg(Agg),
    /// The number of rows the filters select, whatever the page (`OpenQuery::total`): a
    /// sub-select in the first column, so page and total come from one statement and one
    /// snapshot. The engine takes it out of the rows.
    Total,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The name in the response: the field's name, or `<field>.text` for a lookup text.
    pub name: String,
    pub field: FieldId,
    pub kind: ColumnKind,
    /// How to decode the database value (booleans come back as 0/1 on some databases).
    pub value_type: FieldType,
}

/// A SELECT and the layout of its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub sql: Sql,
    pub columns: Vec<Column>,
}

/// The filters the rows that calculated fields aggregate are held to, per aggregated item:
/// those the item's `on_open` adds for the request's session (the engine runs it, see
/// `Engine::open_query`), so that a total counts only rows the caller could open. A detail's
/// rows are also held to its masters' filters, as a client reaches detail rows only through a
/// master it can open. An item that calculated fields reach but that is missing here
/// aggregates nothing (fail closed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CalcFilters(Vec<(ItemId, Vec<Filter>)>);

impl CalcFilters {
    pub fn new() -> CalcFilters {
        CalcFilters(Vec::new())
    }

    /// Holds the rows of `item` to `filters` (resolved against `item`).
    pub fn insert(&mut self, item: ItemId, filters: Vec<Filter>) {
        match self.0.iter_mut().find(|(i, _)| *i == item) {
            Some(slot) => slot.1 = filters,
            None => self.0.push((item, filters)),
        }
    }

    pub fn contains(&self, item: ItemId) -> bool {
        self.0.iter().any(|(i, _)| *i == item)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The filters of `item`'s rows; `None` when the item is missing.
    pub fn filters(&self, item: ItemId) -> Option<&[Filter]> {
        self.0
            .iter()
            .find(|(i, _)| *i == item)
            .map(|(_, f)| f.as_slice())
    }

    /// Whether a row of `item` must pass more than the engine's own scope: filters of its
    /// own, or of a master it is reached through (a missing item counts as restricted).
    fn restricts(&self, task: &Task, item: &Item, depth: usize) -> bool {
        match self.filters(item.id) {
            None => true,
            Some(f) if !f.is_empty() => true,
            Some(_) => {
                depth < MAX_NESTING
                    && item.master_link.is_some()
                    && item
                        .masters
                        .iter()
                        .any(|m| self.restricts(task, task.item(*m), depth + 1))
            }
        }
    }
}

/// The items whose rows the calculated fields `q` reads aggregate: the engine asks their
/// `on_open` for filters ([`CalcFilters`]). Empty, and so free, for an open that reads no
/// calculated field (selected when expanded or aggregated, filtered, ordered).
pub fn calculated_items(task: &Task, q: &OpenQuery) -> Vec<ItemId> {
    let item = task.item(q.item);
    let aggregate = !q.funcs.is_empty() || !q.group_by.is_empty() || q.summary;
    let mut out = Vec::new();
    let mut add = |f: FieldId| {
        if let Some(c) = &item.field(f).calc
            && !out.contains(&c.item)
        {
            out.push(c.item);
        }
    };
    if q.expanded || aggregate {
        q.fields.iter().for_each(|f| add(*f));
    }
    q.funcs.iter().for_each(|(f, _)| add(*f));
    q.group_by.iter().for_each(|f| add(*f));
    q.order.iter().for_each(|o| add(o.field));
    let mut in_filters = Vec::new();
    calculated_items_in(item, &q.filters, &mut in_filters);
    in_filters.into_iter().for_each(|(f, _)| add(f));
    out
}

/// The calculated fields of `item` that `filters` compare, with the items they aggregate.
pub fn calculated_items_in(item: &Item, filters: &[Filter], out: &mut Vec<(FieldId, ItemId)>) {
    for f in filters {
        match f {
            Filter::Cond(c) => {
                if let Some(calc) = &item.field(c.field).calc
                    && !c.on_lookup
                    && !out.contains(&(c.field, calc.item))
                {
                    out.push((c.field, calc.item));
                }
            }
            Filter::Or(members) => {
                for m in members {
                    calculated_items_in(item, m, out);
                }
            }
        }
    }
}

/// A LEFT JOIN to a lookup item: from `from_alias.from_col` to the lookup item's key.
struct Join {
    from_alias: String,
    from_col: Ident,
    item: ItemId,
    alias: String,
}

struct Builder<'a> {
    task: &'a Task,
    item: &'a Item,
    tenant: &'a Tenant,
    calc: &'a CalcFilters,
    /// The alias of the item's own table: `t` in the open's SELECT, the sub-select's own in a
    /// nested one (aliases inside a sub-select start with it, so they never clash).
    main: Cow<'static, str>,
    /// 0 for the open's SELECT; each nested sub-select one more.
    depth: usize,
    joins: Vec<Join>,
    frozen: bool,
}

/// The columns an open of `q` answers, without its SQL (for an open that runs no query).
pub fn columns(task: &Task, q: &OpenQuery) -> Vec<Column> {
    let aggregate = !q.funcs.is_empty() || !q.group_by.is_empty() || q.summary;
    plan_columns(task, task.item(q.item), q, aggregate)
}

/// Builds the SELECT for `q`, seeing only `tenant`'s rows of covered items (the item's own,
/// those its lookups join and those its calculated fields aggregate), and holding the rows its
/// calculated fields aggregate to `calc`.
pub fn select(
    dialect: &dyn Dialect,
    task: &Task,
    q: &OpenQuery,
    tenant: &Tenant,
    calc: &CalcFilters,
) -> Select {
    let mut w = SqlWriter::new(dialect);
    let columns = push_select(&mut w, task, q, tenant, calc);
    Select {
        sql: w.finish(),
        columns,
    }
}

/// The query that counts the rows `q` selects: its filters, master and scope, no page.
fn count_of(task: &Task, q: &OpenQuery) -> OpenQuery {
    OpenQuery {
        fields: vec![task.item(q.item).primary_key],
        expanded: false,
        order: Vec::new(),
        limit: 0,
        offset: 0,
        funcs: Vec::new(),
        summary: true,
        group_by: Vec::new(),
        total: false,
        ..q.clone()
    }
}

/// Writes the SELECT for `q` into `w` (see [`select`]) and returns its columns.
fn push_select(
    w: &mut SqlWriter,
    task: &Task,
    q: &OpenQuery,
    tenant: &Tenant,
    calc: &CalcFilters,
) -> Vec<Column> {
    let item = task.item(q.item);
    let mut b = Builder {
        task,
        item,
        tenant,
        calc,
        main: Cow::Borrowed(MAIN),
        depth: 0,
        joins: Vec::new(),
        frozen: false,
    };
    let aggregate = !q.funcs.is_empty() || !q.group_by.is_empty() || q.summary;
    let mut plan = plan_columns(task, item, q, aggregate);
    let total = q.total && !aggregate;

    // Find every join first: joins come before WHERE in the text, and bound values must be in
    // text order.
    for col in &plan {
        if col.kind == ColumnKind::LookupText {
            b.lookup_text(item.field(col.field));
        }
    }
    for f in &q.filters {
        b.plan_filter(f);
    }
    // GROUP BY adds the text of a grouped lookup field even when the field is not selected.
    for g in &q.group_by {
        let field = item.field(*g);
        if q.expanded && shows_lookup(field) {
            b.lookup_text(field);
        }
    }
    for o in &q.order {
        let field = item.field(o.field);
        if q.expanded && shows_lookup(field) {
            b.lookup_text(field);
        }
    }
    b.frozen = true;

    w.push("SELECT ");
    if total {
        // Its bound values come first, as its text does.
        w.push("(");
        push_select(w, task, &count_of(task, q), tenant, calc);
        w.push(")");
        if !plan.is_empty() {
            w.push(", ");
        }
    }
    for (i, col) in plan.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        let field = item.field(col.field);
        match col.kind {
            ColumnKind::Value => b.push_value(w, field),
            ColumnKind::Calc => b.push_value(w, field),
            ColumnKind::LookupText => {
                let text = b.lookup_text(field);
                w.column(&text.0, &text.1);
            }
            ColumnKind::Count => {
                w.push("COUNT(*)");
            }
            // Written before the planned columns (and added to them after).
            ColumnKind::Total => {}
            ColumnKind::Agg(agg) => {
                w.push(agg.sql()).push("(");
                b.push_value(w, field);
                w.push(")");
            }
        }
    }
    w.push(" FROM ").ident(&item.table).push(" AS ").push(MAIN);
    b.push_joins(w);

    w.push(" WHERE 1=1");
    let link = q.master.as_ref().map(|m| Link {
        master_number: task.item(m.item).number,
        master_id: &m.id,
    });
    RowScope {
        item,
        alias: Some(MAIN),
        under: link.as_ref().map(Under::link),
        tenant,
    }
    .push_and(w);
    for f in &q.filters {
        w.push(" AND ");
        b.push_filter(w, f);
    }

    if !q.group_by.is_empty() {
        w.push(" GROUP BY ");
        let mut first = true;
        for g in &q.group_by {
            let field = item.field(*g);
            if !first {
                w.push(", ");
            }
            first = false;
            b.push_value(w, field);
            if q.expanded && shows_lookup(field) {
                let text = b.lookup_text(field);
                w.push(", ").column(&text.0, &text.1);
            }
        }
    }

    let ordered = !aggregate || !q.group_by.is_empty();
    if ordered {
        let mut first = true;
        let mut sep = |w: &mut SqlWriter| {
            w.push(if first { " ORDER BY " } else { ", " });
            first = false;
        };
        for o in &q.order {
            sep(w);
            let field = item.field(o.field);
            match q.funcs.iter().find(|(f, _)| *f == o.field) {
                Some((_, agg)) => {
                    w.push(agg.sql()).push("(");
                    b.push_value(w, field);
                    w.push(")");
                }
                None if q.expanded && shows_lookup(field) => {
                    let text = b.lookup_text(field);
                    w.column(&text.0, &text.1);
                }
                None => b.push_value(w, field),
            }
            let order = w.dialect.order(o.desc);
            w.push(order);
        }
        // A stable order, so pages neither repeat nor skip rows.
        if !aggregate && !q.order.iter().any(|o| o.field == item.primary_key) {
            sep(w);
            b.push_value(w, item.pk());
            let order = w.dialect.order(false);
            w.push(order);
        }
        w.push(" LIMIT ")
            .param(Value::Int(i64::try_from(q.limit).unwrap_or(i64::MAX)))
            .push(" OFFSET ")
            .param(Value::Int(i64::try_from(q.offset).unwrap_or(i64::MAX)));
    }

    if total {
        plan.insert(
            0,
            Column {
                name: "total".into(),
                field: item.primary_key,
                kind: ColumnKind::Total,
                value_type: FieldType::Integer,
            },
        );
    }
    plan
}

/// Lookup fields that have a text to show (keys lists are not joined).
fn shows_lookup(field: &Field) -> bool {
    field.lookup.is_some() && field.field_type != FieldType::Keys
}

fn plan_columns(task: &Task, item: &Item, q: &OpenQuery, aggregate: bool) -> Vec<Column> {
    let mut cols = Vec::new();
    let column = |f: &Field, kind: ColumnKind, value_type: FieldType| Column {
        name: f.name.as_str().to_owned(),
        field: f.id,
        kind,
        value_type,
    };
    if aggregate {
        for (pos, fid) in q.fields.iter().enumerate() {
            let f = item.field(*fid);
            if q.summary && pos == 0 {
                cols.push(column(f, ColumnKind::Count, FieldType::Integer));
            } else if let Some((_, agg)) = q.funcs.iter().find(|(x, _)| x == fid) {
                let t = match agg {
                    Agg::Count => FieldType::Integer,
                    Agg::Avg => FieldType::Float,
                    _ => f.field_type,
                };
                cols.push(column(f, ColumnKind::Agg(*agg), t));
            } else {
                cols.push(column(f, ColumnKind::Value, f.field_type));
            }
        }
        if q.expanded {
            for fid in &q.fields {
                let f = item.field(*fid);
                if q.group_by.contains(fid) && shows_lookup(f) {
                    cols.push(lookup_column(task, f));
                }
            }
        }
        return cols;
    }
    for fid in &q.fields {
        let f = item.field(*fid);
        if f.is_stored() {
            cols.push(column(f, ColumnKind::Value, f.field_type));
        }
    }
    if q.expanded {
        for fid in &q.fields {
            let f = item.field(*fid);
            if f.calc.is_some() {
                cols.push(column(f, ColumnKind::Calc, f.field_type));
            }
        }
        for fid in &q.fields {
            let f = item.field(*fid);
            if shows_lookup(f) {
                cols.push(lookup_column(task, f));
            }
        }
    }
    cols
}

fn lookup_column(task: &Task, f: &Field) -> Column {
    let text_type = f
        .lookup
        .as_ref()
        .map_or(FieldType::Text, |l| task.lookup_text_field(l).field_type);
    Column {
        name: format!("{}.text", f.name),
        field: f.id,
        kind: ColumnKind::LookupText,
        value_type: text_type,
    }
}

impl<'a> Builder<'a> {
    /// An alias inside this builder's statement: `suffix` itself in the open's SELECT, else
    /// prefixed with the sub-select's own alias.
    fn alias(&self, suffix: &str) -> String {
        if self.depth == 0 {
            suffix.to_string()
        } else {
            format!("{}{suffix}", self.main)
        }
    }

    /// A builder for a sub-select over `item`'s table as `alias`, inside this one.
    fn nested(&self, item: &'a Item, alias: String) -> Builder<'a> {
        Builder {
            task: self.task,
            item,
            tenant: self.tenant,
            calc: self.calc,
            main: Cow::Owned(alias),
            depth: self.depth + 1,
            joins: Vec::new(),
            frozen: false,
        }
    }

    /// The LEFT JOINs found so far, each carrying its target's tenant (another tenant's row
    /// joins as no row: its lookup text is not shown).
    fn push_joins(&self, w: &mut SqlWriter) {
        for j in &self.joins {
            let target = self.task.item(j.item);
            w.push(" LEFT JOIN ")
                .ident(&target.table)
                .push(" AS ")
                .push(&j.alias)
                .push(" ON ");
            w.column(&j.from_alias, &j.from_col).push(" = ");
            if let Some(pk) = &target.pk().column {
                w.column(&j.alias, pk);
            }
            push_tenant(w, target, Some(&j.alias), self.tenant);
        }
    }

    /// ` FROM <table> AS <main> <joins> WHERE <head>` for a nested builder's item, then the
    /// rows it may read: the engine's scope (soft-delete flag, tenant), the item's filters
    /// from [`CalcFilters`], and for a detail, a master those allow.
    fn push_reached_rows(&mut self, w: &mut SqlWriter, head: impl FnOnce(&mut SqlWriter)) {
        let calc = self.calc;
        let filters = calc.filters(self.item.id);
        for f in filters.unwrap_or_default() {
            self.plan_filter(f);
        }
        self.frozen = true;
        w.push(" FROM ")
            .ident(&self.item.table)
            .push(" AS ")
            .push(&self.main);
        self.push_joins(w);
        w.push(" WHERE ");
        head(w);
        RowScope {
            item: self.item,
            alias: Some(&self.main),
            under: None,
            tenant: self.tenant,
        }
        .push_and(w);
        let Some(filters) = filters else {
            w.push(" AND 1=0");
            return;
        };
        for f in filters {
            w.push(" AND ");
            self.push_filter(w, f);
        }
        self.push_master_reach(w);
    }

    /// For a detail whose masters' rows are restricted: ` AND <link> IN (<the master keys
    /// those allow>)`, one sub-select per master.
    fn push_master_reach(&self, w: &mut SqlWriter) {
        let item = self.item;
        let Some(link) = item.master_link else {
            return;
        };
        let masters: Vec<(&Item, bool)> = item
            .masters
            .iter()
            .map(|m| {
                let m = self.task.item(*m);
                (m, self.calc.restricts(self.task, m, self.depth + 1))
            })
            .collect();
        if !masters.iter().any(|(_, r)| *r) {
            return;
        }
        if self.depth >= MAX_NESTING {
            w.push(" AND 1=0");
            return;
        }
        let column = |f: FieldId| item.field(f).column.as_ref();
        match link {
            MasterLink::MasterField(f) => {
                // One column holds the key of any master: a row is reached when one of them
                // allows it, and through an unrestricted master every row is.
                let Some(col) = column(f) else { return };
                if masters.iter().any(|(_, r)| !*r) {
                    return;
                }
                w.push(" AND (");
                for (i, (m, _)) in masters.iter().enumerate() {
                    if i > 0 {
                        w.push(" OR ");
                    }
                    w.column(&self.main, col).push(" IN (");
                    self.push_master_keys(w, m, i);
                    w.push(")");
                }
                w.push(")");
            }
            MasterLink::MasterIdRecId {
                master_id,
                master_rec_id,
            } => {
                let (Some(id_col), Some(rec_col)) = (column(master_id), column(master_rec_id))
                else {
                    return;
                };
                w.push(" AND (");
                for (i, (m, restricted)) in masters.iter().enumerate() {
                    if i > 0 {
                        w.push(" OR ");
                    }
                    w.push("(").column(&self.main, id_col).push(" = ");
                    w.param(m.number.map_or(Value::Null, Value::Int));
                    if *restricted {
                        w.push(" AND ").column(&self.main, rec_col).push(" IN (");
                        self.push_master_keys(w, m, i);
                        w.push(")");
                    }
                    w.push(")");
                }
                w.push(")");
            }
        }
    }

    /// `SELECT <key> FROM <master> … WHERE <its reached rows>`.
    fn push_master_keys(&self, w: &mut SqlWriter, master: &'a Item, i: usize) {
        let mut sub = self.nested(master, self.alias(&format!("m{i}")));
        w.push("SELECT ");
        match &master.pk().column {
            Some(pk) => {
                w.column(&sub.main, pk);
            }
            None => {
                w.push("NULL");
            }
        }
        sub.push_reached_rows(w, |w| {
            w.push("1=1");
        });
    }

    fn plan_filter(&mut self, f: &Filter) {
        match f {
            Filter::Cond(c) => {
                if c.on_lookup {
                    self.lookup_text(self.item.field(c.field));
                }
            }
            Filter::Or(members) => {
                for m in members {
                    for f in m {
                        self.plan_filter(f);
                    }
                }
            }
        }
    }

    /// The alias of the join for `item` reached from `from_alias.from_col`, added if new.
    fn join(&mut self, from_alias: &str, from_col: &Ident, item: ItemId) -> String {
        if let Some(j) = self
            .joins
            .iter()
            .find(|j| j.from_alias == from_alias && &j.from_col == from_col && j.item == item)
        {
            return j.alias.clone();
        }
        assert!(!self.frozen, "a join was found after FROM was written");
        let alias = self.alias(&format!("j{}", self.joins.len() + 1));
        self.joins.push(Join {
            from_alias: from_alias.to_string(),
            from_col: from_col.clone(),
            item,
            alias: alias.clone(),
        });
        alias
    }

    /// `(alias, column)` of a lookup field's text, joining each level of the chain.
    fn lookup_text(&mut self, field: &Field) -> (String, Ident) {
        let lookup = field
            .lookup
            .as_ref()
            .expect("lookup_text is only called for lookup fields");
        let key_col = self
            .item
            .value_column(field)
            .expect("lookup fields have a column, their own or their master's")
            .clone();
        let mut alias = self.main.to_string();
        let mut col = key_col;
        for step in &lookup.steps {
            alias = self.join(&alias, &col, step.item);
            col = self
                .task
                .item(step.item)
                .field(step.field)
                .column
                .clone()
                .expect("lookup steps name stored fields");
        }
        (alias, col)
    }

    /// The expression of a field's value: its column (or its master field's), or a calculated
    /// field's correlated sub-select over the rows it aggregates.
    fn push_value(&self, w: &mut SqlWriter, field: &Field) {
        if let Some(calc) = &field.calc {
            let detail = self.task.item(calc.item);
            let agg_col = detail.field(calc.field).column.as_ref();
            let link_col = detail.field(calc.link).column.as_ref();
            let (Some(agg_col), Some(link_col), Some(pk)) =
                (agg_col, link_col, self.item.pk().column.as_ref())
            else {
                w.push("NULL");
                return;
            };
            let alias = self.alias(&format!("c{}", field.id.0));
            let empty = matches!(calc.op, Agg::Sum | Agg::Count);
            if self.depth >= MAX_NESTING {
                w.push(if empty { "0" } else { "NULL" });
                return;
            }
            w.push("(SELECT ");
            if empty {
                w.push("COALESCE(").push(calc.op.sql()).push("(");
                w.column(&alias, agg_col).push("), 0)");
            } else {
                w.push(calc.op.sql()).push("(");
                w.column(&alias, agg_col).push(")");
            }
            let main: &str = &self.main;
            let mut sub = self.nested(detail, alias.clone());
            sub.push_reached_rows(w, |w| {
                w.column(&alias, link_col).push(" = ").column(main, pk);
            });
            w.push(")");
            return;
        }
        match self.item.value_column(field) {
            Some(col) => {
                w.column(&self.main, col);
            }
            None => {
                w.push("NULL");
            }
        }
    }

    fn push_filter(&mut self, w: &mut SqlWriter, f: &Filter) {
        match f {
            Filter::Cond(c) => self.push_cond(w, c),
            Filter::Or(members) => {
                if members.is_empty() {
                    w.push("1=1");
                    return;
                }
                w.push("(");
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        w.push(" OR ");
                    }
                    w.push("(");
                    if m.is_empty() {
                        w.push("1=1");
                    }
                    for (j, f) in m.iter().enumerate() {
                        if j > 0 {
                            w.push(" AND ");
                        }
                        self.push_filter(w, f);
                    }
                    w.push(")");
                }
                w.push(")");
            }
        }
    }

    /// The compared expression of a condition: the lookup text, or the field's value. Written
    /// afresh wherever it is needed, so any values it binds are numbered in text order.
    fn push_operand(&mut self, w: &mut SqlWriter, field: &Field, on_lookup: bool) {
        if on_lookup {
            let (alias, col) = self.lookup_text(field);
            w.column(&alias, &col);
        } else {
            self.push_value(w, field);
        }
    }

    fn push_cond(&mut self, w: &mut SqlWriter, c: &Cond) {
        let field = self.item.field(c.field);
        let on_lookup = c.on_lookup;
        let cmp = |b: &mut Self, w: &mut SqlWriter, sign: &str, v: &Value| {
            b.push_operand(w, field, on_lookup);
            w.push(sign).param(v.clone());
        };
        match (&c.op, &c.value) {
            (FilterOp::Eq | FilterOp::Exact, FilterValue::One(v)) => cmp(self, w, " = ", v),
            (FilterOp::Lt, FilterValue::One(v)) => cmp(self, w, " < ", v),
            (FilterOp::Le, FilterValue::One(v)) => cmp(self, w, " <= ", v),
            (FilterOp::Gt, FilterValue::One(v)) => cmp(self, w, " > ", v),
            (FilterOp::Ge, FilterValue::One(v)) => cmp(self, w, " >= ", v),
            (FilterOp::Ne, FilterValue::One(v)) => {
                let [before, between, after] = w.dialect.distinct();
                w.push(before);
                self.push_operand(w, field, on_lookup);
                w.push(between).param(v.clone()).push(after);
            }
            (FilterOp::In | FilterOp::NotIn, FilterValue::List(list)) => {
                if list.is_empty() {
                    w.push(if c.op == FilterOp::In { "1=0" } else { "1=1" });
                    return;
                }
                self.push_operand(w, field, on_lookup);
                w.push(if c.op == FilterOp::In {
                    " IN ("
                } else {
                    " NOT IN ("
                });
                for (i, v) in list.iter().enumerate() {
                    if i > 0 {
                        w.push(", ");
                    }
                    w.param(v.clone());
                }
                w.push(")");
            }
            (FilterOp::Range, FilterValue::Range(a, b)) => {
                self.push_operand(w, field, on_lookup);
                w.push(" BETWEEN ")
                    .param(a.clone())
                    .push(" AND ")
                    .param(b.clone());
            }
            (FilterOp::IsNull, FilterValue::IsNull(is_null)) => {
                self.push_operand(w, field, on_lookup);
                w.push(if *is_null { " IS NULL" } else { " IS NOT NULL" });
            }
            (FilterOp::Contains, FilterValue::One(Value::Text(t))) => {
                self.like(w, field, on_lookup, &format!("%{}%", escape_like(t)))
            }
            (FilterOp::StartWith, FilterValue::One(Value::Text(t))) => {
                self.like(w, field, on_lookup, &format!("{}%", escape_like(t)))
            }
            (FilterOp::EndWith, FilterValue::One(Value::Text(t))) => {
                self.like(w, field, on_lookup, &format!("%{}", escape_like(t)))
            }
            (FilterOp::ContainsAll, FilterValue::Words(words)) => {
                if words.is_empty() {
                    w.push("1=1");
                    return;
                }
                w.push("(");
                for (i, word) in words.iter().enumerate() {
                    if i > 0 {
                        w.push(" AND ");
                    }
                    self.like(w, field, on_lookup, &format!("%{}%", escape_like(word)));
                }
                w.push(")");
            }
            // `OpenQuery::resolve` pairs every operator with its value shape; anything else
            // matches nothing rather than everything.
            _ => {
                w.push("1=0");
            }
        }
    }
}

impl Builder<'_> {
    /// A case-insensitive LIKE of the condition's operand against `pattern`.
    fn like(&mut self, w: &mut SqlWriter, field: &Field, on_lookup: bool, pattern: &str) {
        let [before, between, after] = w.dialect.ilike();
        let value = w.dialect.like_value(pattern);
        w.push(before);
        self.push_operand(w, field, on_lookup);
        w.push(between).param(Value::Text(value)).push(after);
    }
}

/// The condition `<key> IN (<keys>)` of an open the engine makes of rows it names itself
/// (expanding an apply's results, checking reach): built from [`Keys`], so that one list
/// holds at most [`super::KEYS_PER_STATEMENT`] keys.
pub fn key_in(item: &Item, keys: Keys) -> Filter {
    Filter::Cond(Cond {
        field: item.primary_key,
        op: FilterOp::In,
        on_lookup: false,
        value: FilterValue::List(keys.as_slice().iter().map(Key::to_value).collect()),
    })
}
