//! SELECT for an open: columns (values, calculated fields, lookup texts, aggregates), lookup
//! joins up to three levels, filters, master link, soft-delete flag, grouping, order, paging.

use jamrs_core::model::{Field, FieldId, Item, ItemId};
use jamrs_core::query::{Cond, Filter, FilterValue, OpenQuery};
use jamrs_core::{Agg, FieldType, FilterOp, Ident, Task, Value};

use super::scope::{Link, RowScope, push_tenant};
use crate::dialect::{Dialect, escape_like};
use crate::sql::{Sql, SqlWriter};
use jamrs_core::session::Tenant;

/// The alias of the item's own table.
const MAIN: &str = "t";

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
    joins: Vec<Join>,
    frozen: bool,
}

/// Builds the SELECT for `q`, seeing only `tenant`'s rows of covered items (the item's own,
/// those its lookups join and those its calculated fields aggregate).
pub fn select(dialect: &dyn Dialect, task: &Task, q: &OpenQuery, tenant: &Tenant) -> Select {
    let item = task.item(q.item);
    let mut b = Builder {
        task,
        item,
        tenant,
        joins: Vec::new(),
        frozen: false,
    };
    let aggregate = !q.funcs.is_empty() || !q.group_by.is_empty() || q.summary;
    let plan = b.plan_columns(q, aggregate);

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

    let mut w = SqlWriter::new(dialect);
    w.push("SELECT ");
    for (i, col) in plan.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        let field = item.field(col.field);
        match col.kind {
            ColumnKind::Value => b.push_value(&mut w, field),
            ColumnKind::Calc => b.push_value(&mut w, field),
            ColumnKind::LookupText => {
                let text = b.lookup_text(field);
                w.column(&text.0, &text.1);
            }
            ColumnKind::Count => {
                w.push("COUNT(*)");
            }
            ColumnKind::Agg(agg) => {
                w.push(agg.sql()).push("(");
                b.push_value(&mut w, field);
                w.push(")");
            }
        }
    }
    w.push(" FROM ").ident(&item.table).push(" AS ").push(MAIN);
    for j in &b.joins {
        let target = task.item(j.item);
        w.push(" LEFT JOIN ")
            .ident(&target.table)
            .push(" AS ")
            .push(&j.alias)
            .push(" ON ");
        w.column(&j.from_alias, &j.from_col).push(" = ");
        if let Some(pk) = &target.pk().column {
            w.column(&j.alias, pk);
        }
        // Another tenant's row joins as no row: its lookup text is not shown.
        push_tenant(&mut w, target, Some(&j.alias), tenant);
    }

    w.push(" WHERE 1=1");
    let link = q.master.map(|m| Link {
        master_number: task.item(m.item).number,
        master_id: m.id,
    });
    RowScope {
        item,
        alias: Some(MAIN),
        link,
        tenant,
    }
    .push_and(&mut w);
    for f in &q.filters {
        w.push(" AND ");
        b.push_filter(&mut w, f);
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
            b.push_value(&mut w, field);
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
            sep(&mut w);
            let field = item.field(o.field);
            match q.funcs.iter().find(|(f, _)| *f == o.field) {
                Some((_, agg)) => {
                    w.push(agg.sql()).push("(");
                    b.push_value(&mut w, field);
                    w.push(")");
                }
                None if q.expanded && shows_lookup(field) => {
                    let text = b.lookup_text(field);
                    w.column(&text.0, &text.1);
                }
                None => b.push_value(&mut w, field),
            }
            w.push(if o.desc { " DESC" } else { " ASC" });
        }
        // A stable order, so pages neither repeat nor skip rows.
        if !aggregate && !q.order.iter().any(|o| o.field == item.primary_key) {
            sep(&mut w);
            b.push_value(&mut w, item.pk());
            w.push(" ASC");
        }
        w.push(" LIMIT ")
            .param(Value::Int(i64::try_from(q.limit).unwrap_or(i64::MAX)))
            .push(" OFFSET ")
            .param(Value::Int(i64::try_from(q.offset).unwrap_or(i64::MAX)));
    }

    Select {
        sql: w.finish(),
        columns: plan,
    }
}

/// Lookup fields that have a text to show (keys lists are not joined).
fn shows_lookup(field: &Field) -> bool {
    field.lookup.is_some() && field.field_type != FieldType::Keys
}

impl Builder<'_> {
    fn plan_columns(&self, q: &OpenQuery, aggregate: bool) -> Vec<Column> {
        let item = self.item;
        let mut cols = Vec::new();
        let column = |f: &Field, kind: ColumnKind, value_type: FieldType| Column {
            name: f.name.to_string(),
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
                        cols.push(self.lookup_column(f));
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
                    cols.push(self.lookup_column(f));
                }
            }
        }
        cols
    }

    fn lookup_column(&self, f: &Field) -> Column {
        let text_type = f.lookup.as_ref().map_or(FieldType::Text, |l| {
            self.task.lookup_text_field(l).field_type
        });
        Column {
            name: format!("{}.text", f.name),
            field: f.id,
            kind: ColumnKind::LookupText,
            value_type: text_type,
        }
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
        let alias = format!("j{}", self.joins.len() + 1);
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
        let mut alias = MAIN.to_string();
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
    /// field's correlated sub-select.
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
            let alias = format!("c{}", field.id.0);
            w.push("(SELECT ");
            match calc.op {
                Agg::Sum | Agg::Count => {
                    w.push("COALESCE(").push(calc.op.sql()).push("(");
                    w.column(&alias, agg_col).push("), 0)");
                }
                op => {
                    w.push(op.sql()).push("(");
                    w.column(&alias, agg_col).push(")");
                }
            }
            w.push(" FROM ")
                .ident(&detail.table)
                .push(" AS ")
                .push(&alias)
                .push(" WHERE ");
            w.column(&alias, link_col).push(" = ").column(MAIN, pk);
            RowScope {
                item: detail,
                alias: Some(&alias),
                link: None,
                tenant: self.tenant,
            }
            .push_and(w);
            w.push(")");
            return;
        }
        match self.item.value_column(field) {
            Some(col) => {
                w.column(MAIN, col);
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
