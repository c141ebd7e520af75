//! Open requests: the Jam.py open params as they arrive ([`OpenParams`]) and the checked,
//! typed query the engine runs ([`OpenQuery`]).
//!
//! [`OpenQuery::resolve`] is where every name in a request is looked up in the metadata and every
//! value is typed for its field. Nothing unchecked gets past it: unknown fields, unknown filter
//! types, aggregate names outside count/sum/min/max/avg, limits over the maximum, detail opens
//! without their master link and queries over the budget ([`MAX_CONDITIONS`], [`MAX_VALUES`],
//! [`MAX_FILTER_DEPTH`], [`MAX_PATTERN_BYTES`]) are all errors here.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::access::Access;
use crate::error::{Error, Result};
use crate::model::{Field, FieldId, Item, ItemId, SystemField, Task};
use crate::params::{count, or_default};
use crate::types::{Agg, FieldType, FilterOp, Value};
use crate::values;

/// Open params on the wire (`__fields`, `__filters`, … without the underscores). Every member
/// is optional, and `null` is the same as leaving it out; `limit` and `offset` take whole
/// numbers (`20` or `20.0`) (see [`crate::params`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenParams {
    /// Field names; empty or absent means every field.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// `[field, op, value]` triples (op as a Jam.py number or name), or OR groups.
    #[serde(default, deserialize_with = "or_default")]
    pub filters: Vec<Json>,
    /// `[[field, desc]]`, or `"field"` / `"-field"`.
    #[serde(default, deserialize_with = "or_default")]
    pub order: Vec<Json>,
    #[serde(default, deserialize_with = "count")]
    pub limit: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub offset: Option<u64>,
    /// Join lookup texts and compute calculated fields.
    #[serde(default, deserialize_with = "or_default")]
    pub expanded: bool,
    /// `{field: "count" | "sum" | "min" | "max" | "avg"}`.
    #[serde(default)]
    pub funcs: Option<Map<String, Json>>,
    /// The first column becomes `COUNT(*)` (Jam.py's pager and totals row).
    #[serde(default, deserialize_with = "or_default")]
    pub summary: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub group_by: Vec<String>,
    /// For details: `{"item": master_item, "id": master_key}`, or the key alone.
    #[serde(default)]
    pub master: Option<Json>,
    /// `{"field": name, "text": words}` or `[name, words]`.
    #[serde(default)]
    pub search: Option<Json>,
    /// User params, passed to server module handlers.
    #[serde(default, deserialize_with = "or_default")]
    pub params: Map<String, Json>,
    /// Also answer how many rows the filters select, whatever `limit` and `offset` are: a
    /// grid's page and its pager's total in one request and one snapshot (jamrs's own param;
    /// Jam.py's client sends a second open with `summary`).
    #[serde(default, deserialize_with = "or_default")]
    pub total: bool,
    /// Set by server-side datasets, which Jam.py does not page: no limit unless one is given.
    #[serde(skip)]
    pub unlimited: bool,
}

/// A checked open request.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenQuery {
    pub item: ItemId,
    /// Requested fields, in request order.
    pub fields: Vec<FieldId>,
    pub expanded: bool,
    /// AND-ed.
    pub filters: Vec<Filter>,
    pub order: Vec<OrderBy>,
    pub limit: u64,
    pub offset: u64,
    pub funcs: Vec<(FieldId, Agg)>,
    pub summary: bool,
    pub group_by: Vec<FieldId>,
    pub master: Option<MasterRef>,
    pub params: Map<String, Json>,
    /// Count the rows the filters select along with the page (`OpenParams::total`).
    pub total: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Cond(Cond),
    /// Members are OR-ed; the filters inside each member are AND-ed.
    Or(Vec<Vec<Filter>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub field: FieldId,
    pub op: FilterOp,
    /// Compare the lookup text instead of the stored key (filter types 16–30, and LIKE filters
    /// on lookup fields).
    pub on_lookup: bool,
    pub value: FilterValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    One(Value),
    List(Vec<Value>),
    Range(Value, Value),
    IsNull(bool),
    /// CONTAINS_ALL: every word must appear.
    Words(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderBy {
    pub field: FieldId,
    pub desc: bool,
}

/// The master row a detail open is restricted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterRef {
    pub item: ItemId,
    pub id: crate::key::Key,
}

// The budget of one open: what a query may ask of the database, checked by
// `OpenQuery::resolve` before any SQL is built. The builder joins conditions with AND and OR
// into a tree as deep as they are many, and binds every value; within these limits every query
// it writes stays inside SQLite's own (an expression depth of 1000, 32766 bound values, LIKE
// patterns of 50000 bytes), with room for what the engine adds to a query (its scope, the
// `on_open` reach filters, its own lists of keys): measured, SQLite refuses about 985 of the
// costliest conditions (LIKE on a tenant-scoped calculated field) and 32,767 values, so the
// limits leave half its depth and two thirds of its values. Each field is named once in `fields`,
// `order` and `group_by` at most (repeats are dropped: they change nothing), and the loader
// bounds the fields and lookup joins of an item, so those parts are bounded by the metadata.

/// Conditions in one query: each filter, each word of a `contains_all` filter or a search, and
/// each empty OR-group member count one.
pub const MAX_CONDITIONS: usize = 500;
/// Values one query compares with: each value of an `in` list, each word, each compared value
/// (two for `range`) count one.
pub const MAX_VALUES: usize = 10_000;
/// OR groups nest at most this deep.
pub const MAX_FILTER_DEPTH: usize = 4;
/// The longest text a LIKE filter (`contains`, `startwith`, `endwith`, each word of
/// `contains_all` and of a search) searches for, in bytes.
pub const MAX_PATTERN_BYTES: usize = 10_000;
/// User params nest at most as deep as the JSON parser lets a request body nest; a module may
/// build deeper values, which no walk of ours takes.
pub const MAX_PARAMS_DEPTH: usize = 128;

/// What is left of a query's budget while its filters are read.
struct Budget {
    conditions: usize,
    values: usize,
}

impl Budget {
    fn new() -> Self {
        Budget {
            conditions: MAX_CONDITIONS,
            values: MAX_VALUES,
        }
    }

    fn conditions(&mut self, n: usize, at: &str) -> Result<()> {
        self.conditions = self.conditions.checked_sub(n).ok_or_else(|| {
            Error::bad_field(
                at,
                format!(
                    "the query has more than {MAX_CONDITIONS} conditions (each filter, each word of contains_all or search and each empty OR member counts one)"
                ),
            )
        })?;
        Ok(())
    }

    fn values(&mut self, n: usize, at: &str) -> Result<()> {
        self.values = self.values.checked_sub(n).ok_or_else(|| {
            Error::bad_field(
                at,
                format!(
                    "the query compares with more than {MAX_VALUES} values (each value of an in list, each word and each compared value counts one)"
                ),
            )
        })?;
        Ok(())
    }

    /// Charges one typed condition.
    fn charge(&mut self, filter: &Filter, at: &str) -> Result<()> {
        let Filter::Cond(c) = filter else {
            // OR groups are charged member by member as they are read.
            return Ok(());
        };
        let (conditions, values) = match &c.value {
            FilterValue::One(_) => (1, 1),
            FilterValue::List(l) => (1, l.len()),
            FilterValue::Range(..) => (1, 2),
            FilterValue::IsNull(_) => (1, 0),
            FilterValue::Words(w) => (w.len().max(1), w.len()),
        };
        self.conditions(conditions, at)?;
        self.values(values, at)
    }
}

impl OpenQuery {
    /// Checks `params` against `item`'s metadata and the session's `access`: the role must be
    /// able to view the item, and no parameter may name a field the role is prohibited from.
    pub fn resolve(
        task: &Task,
        item: &Item,
        params: &OpenParams,
        access: &Access,
    ) -> Result<OpenQuery> {
        if !access.privileges(item.id).view {
            return Err(Error::forbidden(format!(
                "your role may not view \"{}\"",
                item.name
            )));
        }
        if params
            .params
            .values()
            .any(|v| values::nests_deeper_than(v, MAX_PARAMS_DEPTH - 1))
        {
            return Err(Error::bad_field(
                "params",
                format!("params nest deeper than {MAX_PARAMS_DEPTH} levels"),
            ));
        }
        // Which fields a list already names, so a repeated name costs no scan of the list.
        let named = || vec![false; item.fields.len()];
        let mut fields = Vec::new();
        let mut in_fields = named();
        match &params.fields {
            Some(names) if !names.is_empty() => {
                for (i, name) in names.iter().enumerate() {
                    let f = public_field(item, name, &format!("fields[{i}]"), access)?;
                    if !std::mem::replace(&mut in_fields[f.id.0 as usize], true) {
                        fields.push(f.id);
                    }
                }
            }
            _ => fields.extend(visible_fields(item, access)),
        }

        let mut budget = Budget::new();
        let mut filters = Vec::new();
        for (i, f) in params.filters.iter().enumerate() {
            filters.push(parse_filter(
                task,
                item,
                access,
                f,
                &format!("filters[{i}]"),
                0,
                &mut budget,
            )?);
        }
        if let Some(search) = &params.search
            && let Some(f) = parse_search(task, item, access, search)?
        {
            budget.charge(&f, "search")?;
            filters.push(f);
        }

        let mut order: Vec<OrderBy> = Vec::new();
        let mut in_order = named();
        for (i, o) in params.order.iter().enumerate() {
            let o = parse_order(item, access, o, &format!("order[{i}]"))?;
            // A field ordered by again changes nothing.
            if !std::mem::replace(&mut in_order[o.field.0 as usize], true) {
                order.push(o);
            }
        }
        if params.order.is_empty() {
            // Sorting by a prohibited field would reveal its values' order: skip it.
            order.extend(
                item.default_order
                    .iter()
                    .filter(|o| !access.is_prohibited(item.id, o.field))
                    .map(|o| OrderBy {
                        field: o.field,
                        desc: o.desc,
                    }),
            );
        }

        let max = task.settings.max_limit;
        let limit = match params.limit {
            Some(l) if l > max && !params.unlimited => {
                return Err(Error::bad_field(
                    "limit",
                    format!("limit {l} is over the maximum of {max}"),
                ));
            }
            Some(0) | None if params.unlimited => i64::MAX as u64,
            Some(0) | None => max,
            Some(l) => l,
        };

        let mut funcs = Vec::new();
        if let Some(map) = &params.funcs {
            for (name, func) in map {
                let at = format!("funcs.{name}");
                let f = public_field(item, name, &at, access)?;
                let agg = func.as_str().and_then(Agg::from_name).ok_or_else(|| {
                    Error::bad_field(
                        &at,
                        format!(
                            "{} is not one of count, sum, min, max, avg",
                            values::describe(func)
                        ),
                    )
                })?;
                if matches!(agg, Agg::Sum | Agg::Avg) && !f.field_type.is_numeric() {
                    return Err(Error::bad_field(
                        &at,
                        format!(
                            "{} needs a numeric field; \"{name}\" is {}",
                            agg.name(),
                            f.field_type
                        ),
                    ));
                }
                if f.master_field.is_some() {
                    return Err(Error::bad_field(
                        &at,
                        format!("\"{name}\" shows a lookup text and cannot be aggregated"),
                    ));
                }
                funcs.push((f.id, agg));
            }
        }

        let mut group_by = Vec::new();
        let mut in_group_by = named();
        for (i, name) in params.group_by.iter().enumerate() {
            let f = public_field(item, name, &format!("group_by[{i}]"), access)?;
            if f.calc.is_some() {
                return Err(Error::bad_field(
                    format!("group_by[{i}]"),
                    "cannot group by a calculated field",
                ));
            }
            if !std::mem::replace(&mut in_group_by[f.id.0 as usize], true) {
                group_by.push(f.id);
            }
        }
        let aggregate = !funcs.is_empty() || !group_by.is_empty() || params.summary;
        if !aggregate && !params.expanded && !fields.iter().any(|f| item.field(*f).is_stored()) {
            // Calculated and master-field fields are only computed when expanded: there would
            // be nothing to SELECT.
            return Err(Error::bad_field(
                "fields",
                "none of these fields has a column of its own; calculated fields and lookup texts need expanded",
            ));
        }
        if aggregate {
            // Every other selected column must be aggregated or grouped, so the result is defined
            // on every database.
            for (pos, fid) in fields.iter().enumerate() {
                let skip = params.summary && pos == 0;
                if !skip && !funcs.iter().any(|(f, _)| f == fid) && !group_by.contains(fid) {
                    return Err(Error::bad_field(
                        "fields",
                        format!(
                            "\"{}\" is neither aggregated in funcs nor listed in group_by",
                            item.field(*fid).name
                        ),
                    ));
                }
            }
            if !order.is_empty() && group_by.is_empty() {
                order.clear();
            }
            if params.order.is_empty() {
                // The item's default order is a preference, not a request: keep only what the
                // grouping allows.
                order.retain(|o| {
                    group_by.contains(&o.field) || funcs.iter().any(|(f, _)| *f == o.field)
                });
            }
            for o in &order {
                if !group_by.contains(&o.field) && !funcs.iter().any(|(f, _)| *f == o.field) {
                    return Err(Error::bad_field(
                        "order",
                        format!(
                            "\"{}\" is not grouped or aggregated",
                            item.field(o.field).name
                        ),
                    ));
                }
            }
        }

        let master = parse_master(task, item, access, params.master.as_ref())?;
        if params.total && aggregate {
            return Err(Error::bad_field(
                "total",
                "total counts the rows of a page; an open with funcs, summary or group_by answers counts already",
            ));
        }

        Ok(OpenQuery {
            item: item.id,
            fields,
            expanded: params.expanded,
            filters,
            order,
            limit,
            offset: params.offset.unwrap_or(0),
            funcs,
            summary: params.summary,
            group_by,
            master,
            params: params.params.clone(),
            total: params.total,
        })
    }

    /// Checks filters alone (`params.filters`' shape) against `item`, as [`OpenQuery::resolve`]
    /// checks an open's: for the filters an item's `on_open` adds when the engine holds the
    /// item's rows to them outside an open of that item (the rows a calculated field
    /// aggregates), where there is no master to name and nothing to select.
    pub fn resolve_filters(
        task: &Task,
        item: &Item,
        filters: &[Json],
        access: &Access,
    ) -> Result<Vec<Filter>> {
        let mut budget = Budget::new();
        filters
            .iter()
            .enumerate()
            .map(|(i, f)| {
                parse_filter(
                    task,
                    item,
                    access,
                    f,
                    &format!("filters[{i}]"),
                    0,
                    &mut budget,
                )
            })
            .collect()
    }

    /// A plain query for every field of `item` that `access` may see, as a server-side dataset
    /// starts.
    pub fn all(task: &Task, item: &Item, access: &Access) -> OpenQuery {
        OpenQuery {
            item: item.id,
            fields: visible_fields(item, access).collect(),
            expanded: false,
            filters: Vec::new(),
            order: Vec::new(),
            limit: task.settings.max_limit,
            offset: 0,
            funcs: Vec::new(),
            summary: false,
            group_by: Vec::new(),
            master: None,
            total: false,
            params: Map::new(),
        }
    }
}

/// The fields of `item` a client with `access` may see (every field but the soft-delete flag
/// and the role's prohibited fields).
pub fn visible_fields<'a>(
    item: &'a Item,
    access: &'a Access,
) -> impl Iterator<Item = FieldId> + 'a {
    item.public_fields()
        .filter(move |f| !access.is_prohibited(item.id, f.id))
        .map(|f| f.id)
}

/// Looks a field up by a client-supplied name. The soft-delete flag does not exist for
/// clients; a field the role is prohibited from is refused wherever it is named.
pub fn public_field<'a>(
    item: &'a Item,
    name: &str,
    at: &str,
    access: &Access,
) -> Result<&'a Field> {
    public_field_at(item, name, || at.to_string(), access)
}

/// [`public_field`] with the field's path made only for an error (a delta names every field
/// of every record it writes).
pub fn public_field_at<'a>(
    item: &'a Item,
    name: &str,
    at: impl Fn() -> String,
    access: &Access,
) -> Result<&'a Field> {
    let field = item
        .field_by_name(name)
        .filter(|f| f.system != Some(SystemField::Deleted))
        .ok_or_else(|| {
            Error::bad_field(
                at(),
                format!("item \"{}\" has no field \"{name}\"", item.name),
            )
        })?;
    if access.is_prohibited(item.id, field.id) {
        return Err(Error::forbidden(format!(
            "your role may not use field \"{name}\" of \"{}\"",
            item.name
        ))
        .with_field(&at()));
    }
    Ok(field)
}

fn parse_filter(
    task: &Task,
    item: &Item,
    access: &Access,
    raw: &Json,
    at: &str,
    depth: usize,
    budget: &mut Budget,
) -> Result<Filter> {
    let Json::Array(parts) = raw else {
        return Err(Error::bad_field(
            at,
            "a filter is a list [field, type, value]",
        ));
    };
    if parts.first().is_some_and(Json::is_array) {
        // OR group: [[filters…], [filters…], …]
        if depth >= MAX_FILTER_DEPTH {
            return Err(Error::bad_field(
                at,
                format!("OR groups nest deeper than {MAX_FILTER_DEPTH}"),
            ));
        }
        let mut members = Vec::new();
        for (i, member) in parts.iter().enumerate() {
            let Json::Array(list) = member else {
                return Err(Error::bad_field(
                    format!("{at}[{i}]"),
                    "an OR group member is a list of filters",
                ));
            };
            if list.is_empty() {
                // An empty member is a condition that is always true.
                budget.conditions(1, &format!("{at}[{i}]"))?;
            }
            let mut and = Vec::new();
            for (j, f) in list.iter().enumerate() {
                and.push(parse_filter(
                    task,
                    item,
                    access,
                    f,
                    &format!("{at}[{i}][{j}]"),
                    depth + 1,
                    budget,
                )?);
            }
            members.push(and);
        }
        if members.is_empty() {
            budget.conditions(1, at)?;
        }
        return Ok(Filter::Or(members));
    }
    // The Jam.py client may add a 4th marker element; it means nothing to the server.
    if !(3..=4).contains(&parts.len()) {
        return Err(Error::bad_field(
            at,
            "a filter is a list [field, type, value]",
        ));
    }
    let name = parts[0]
        .as_str()
        .ok_or_else(|| Error::bad_field(at, "the first element of a filter is a field name"))?;
    let field = public_field(item, name, at, access)?;
    let (op, on_lookup) = match &parts[1] {
        Json::Number(n) => n.as_i64().and_then(FilterOp::from_number),
        Json::String(s) => FilterOp::from_name(s),
        _ => None,
    }
    .ok_or_else(|| {
        Error::bad_field(at, format!("{} is not a filter type (a number 1–30 or a name such as \"eq\", \"in\", \"contains\")", values::describe(&parts[1])))
    })?;
    let filter = condition(task, item, field, op, on_lookup, &parts[2], at)?;
    budget.charge(&filter, at)?;
    Ok(filter)
}

/// Builds one condition, typing the value for the column it is compared with.
pub fn condition(
    task: &Task,
    item: &Item,
    field: &Field,
    op: FilterOp,
    on_lookup: bool,
    value: &Json,
    at: &str,
) -> Result<Filter> {
    let explicit_lookup = on_lookup;
    // LIKE filters on a lookup field search its text (Jam.py does the same).
    let on_lookup = on_lookup
        || (op.is_like() && field.lookup.is_some() && field.field_type != FieldType::Keys);
    if on_lookup && (field.lookup.is_none() || field.field_type == FieldType::Keys) {
        return Err(Error::bad_field(
            at,
            format!(
                "\"{}\" has no lookup text (it is not a lookup field, or it is a keys list), so a lookup filter type does not apply",
                field.name
            ),
        ));
    }
    if let Some(master) = field.master_field
        && !on_lookup
    {
        // The value column of a master-field field is its master's: compare there.
        return condition(
            task,
            item,
            item.field(master),
            op,
            explicit_lookup,
            value,
            at,
        );
    }
    // The type the compared column holds.
    let column_type = if on_lookup {
        field
            .lookup
            .as_ref()
            .map_or(field.field_type, |l| task.lookup_text_field(l).field_type)
    } else {
        field.field_type
    };
    let typed = |v: &Json| -> Result<Value> {
        if v.is_null() {
            return Err(Error::bad_field(
                at,
                "null is not a filter value; use isnull",
            ));
        }
        values::from_json(column_type, v).map_err(|e| Error::bad_field(at, e))
    };
    let text = |v: &Json| -> Result<String> {
        let text = match v {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            _ => return Err(Error::bad_field(at, "expected text to search for")),
        };
        if text.len() > MAX_PATTERN_BYTES {
            return Err(Error::bad_field(
                at,
                format!("the text to search for is longer than {MAX_PATTERN_BYTES} bytes"),
            ));
        }
        Ok(text)
    };
    let value = match op {
        FilterOp::In | FilterOp::NotIn => {
            let Json::Array(list) = value else {
                return Err(Error::bad_field(at, "in and not_in take a list of values"));
            };
            if list.len() > MAX_VALUES {
                // Refused before typing them; the query's budget counts the rest.
                return Err(Error::bad_field(
                    at,
                    format!(
                        "the query compares with more than {MAX_VALUES} values (each value of an in list, each word and each compared value counts one)"
                    ),
                ));
            }
            FilterValue::List(list.iter().map(typed).collect::<Result<_>>()?)
        }
        FilterOp::Range => match value {
            Json::Array(pair) if pair.len() == 2 => {
                FilterValue::Range(typed(&pair[0])?, typed(&pair[1])?)
            }
            _ => {
                return Err(Error::bad_field(
                    at,
                    "range takes a list of two values [from, to]",
                ));
            }
        },
        FilterOp::IsNull => FilterValue::IsNull(match value {
            Json::Bool(b) => *b,
            Json::Number(n) => n.as_f64() != Some(0.0),
            Json::Null => false,
            Json::String(s) => !s.is_empty(),
            _ => {
                return Err(Error::bad_field(
                    at,
                    "isnull takes true (IS NULL) or false (IS NOT NULL)",
                ));
            }
        }),
        FilterOp::ContainsAll => FilterValue::Words(
            text(value)?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        ),
        FilterOp::Contains | FilterOp::StartWith | FilterOp::EndWith => {
            FilterValue::One(Value::Text(text(value)?))
        }
        _ => FilterValue::One(typed(value)?),
    };
    // A lookup list shows texts for integer values: LIKE filters match those texts.
    if let (Some(list), true, false) = (field.lookup_values, op.is_like(), on_lookup) {
        let words: Vec<String> = match &value {
            FilterValue::Words(w) => w.iter().map(|w| w.to_lowercase()).collect(),
            FilterValue::One(Value::Text(t)) => vec![t.to_lowercase()],
            _ => Vec::new(),
        };
        let matches = task.lookup_lists[list]
            .values
            .iter()
            .filter(|(_, text)| {
                let t = text.to_lowercase();
                words.iter().all(|w| match op {
                    FilterOp::StartWith => t.starts_with(w.as_str()),
                    FilterOp::EndWith => t.ends_with(w.as_str()),
                    _ => t.contains(w.as_str()),
                })
            })
            .map(|(v, _)| Value::Int(*v))
            .collect();
        return Ok(Filter::Cond(Cond {
            field: field.id,
            op: FilterOp::In,
            on_lookup: false,
            value: FilterValue::List(matches),
        }));
    }
    Ok(Filter::Cond(Cond {
        field: field.id,
        op,
        on_lookup,
        value,
    }))
}

fn parse_search(task: &Task, item: &Item, access: &Access, raw: &Json) -> Result<Option<Filter>> {
    let (name, text) = match raw {
        Json::Object(o) => (o.get("field"), o.get("text")),
        Json::Array(a) if a.len() >= 2 => (a.first(), a.get(1)),
        _ => (None, None),
    };
    let (Some(Json::String(name)), Some(text)) = (name, text) else {
        return Err(Error::bad_field(
            "search",
            "search is {\"field\": name, \"text\": words}",
        ));
    };
    let field = public_field(item, name, "search", access)?;
    let words = match text {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        _ => {
            return Err(Error::bad_field(
                "search",
                "the search text must be a string",
            ));
        }
    };
    if words.trim().is_empty() {
        return Ok(None);
    }
    condition(
        task,
        item,
        field,
        FilterOp::ContainsAll,
        false,
        &Json::String(words),
        "search",
    )
    .map(Some)
}

fn parse_order(item: &Item, access: &Access, raw: &Json, at: &str) -> Result<OrderBy> {
    let (name, desc) = match raw {
        Json::String(s) => match s.strip_prefix('-') {
            Some(n) => (n, true),
            None => (s.as_str(), false),
        },
        Json::Array(pair) if !pair.is_empty() && pair.len() <= 2 => {
            let name = pair[0]
                .as_str()
                .ok_or_else(|| Error::bad_field(at, "order is [field, desc]"))?;
            let desc = match pair.get(1) {
                None => false,
                Some(Json::Bool(b)) => *b,
                Some(Json::Number(n)) => n.as_i64() == Some(1),
                Some(_) => {
                    return Err(Error::bad_field(
                        at,
                        "order is [field, desc] with desc true or false",
                    ));
                }
            };
            (name, desc)
        }
        _ => {
            return Err(Error::bad_field(
                at,
                "order is [field, desc] or \"field\" / \"-field\"",
            ));
        }
    };
    let f = public_field(item, name, at, access)?;
    Ok(OrderBy { field: f.id, desc })
}

fn parse_master(
    task: &Task,
    item: &Item,
    access: &Access,
    raw: Option<&Json>,
) -> Result<Option<MasterRef>> {
    let Some(raw) = raw.filter(|r| !r.is_null()) else {
        if item.is_detail() {
            let masters: Vec<&str> = item
                .masters
                .iter()
                .map(|m| task.item(*m).name.as_str())
                .collect();
            return Err(Error::bad_field(
                "master",
                format!(
                    "\"{}\" is a detail: open it with its master, {{\"item\": \"{}\", \"id\": …}}",
                    item.name,
                    masters.join("\" or \"")
                ),
            ));
        }
        return Ok(None);
    };
    if !item.is_detail() {
        return Err(Error::bad_field(
            "master",
            format!("\"{}\" is not a detail", item.name),
        ));
    }
    let (master_name, id) = match raw {
        Json::Object(o) => (o.get("item").and_then(Json::as_str), o.get("id")),
        other => (None, Some(other)),
    };
    let master_item = match master_name {
        Some(name) => item
            .masters
            .iter()
            .map(|m| task.item(*m))
            .find(|m| m.name.as_str() == name)
            .ok_or_else(|| {
                Error::bad_field(
                    "master.item",
                    format!("\"{name}\" is not a master of \"{}\"", item.name),
                )
            })?,
        None if item.masters.len() == 1 => task.item(item.masters[0]),
        None => {
            return Err(Error::bad_field(
                "master.item",
                "this detail has several masters: name one",
            ));
        }
    };
    let id = id
        .filter(|v| !v.is_null())
        .ok_or_else(|| Error::bad_field("master.id", "the master's key is missing"))
        .and_then(|v| {
            crate::key::Key::from_json(master_item, v).map_err(|e| {
                Error::bad_field("master.id", format!("the master's key is not valid: {e}"))
            })
        })?;
    if !access.privileges(master_item.id).view {
        return Err(Error::forbidden(format!(
            "your role may not view \"{}\", the master of \"{}\"",
            master_item.name, item.name
        )));
    }
    Ok(Some(MasterRef {
        item: master_item.id,
        id,
    }))
}
