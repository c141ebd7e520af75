//! Per-item schemas, from the metadata and one role's `Access`: the item's field names as enums
//! (for `fields`, `order`, filters, `group_by`, `funcs`, `search`), its row as a typed record,
//! the values an insert or update may carry (required fields on insert), and its details.
//!
//! Only what the role may see is named: items it cannot view are left out, and so are fields it
//! is prohibited from and details it cannot view. Named `<item>.<Schema>`.

use jamrs_core::model::{Field, Item};
use jamrs_core::types::FieldType;
use jamrs_core::{Access, Task};
use serde_json::{Map, Value as Json, json};

use super::schemas::{self, or_null, schema_ref};

/// The items `access` may view.
pub fn visible<'t>(task: &'t Task, access: &'t Access) -> impl Iterator<Item = &'t Item> + 't {
    task.items
        .iter()
        .filter(move |i| access.privileges(i.id).view)
}

/// The file and image fields of `item` the role may see (upload and download paths).
pub fn file_fields<'t>(
    item: &'t Item,
    access: &'t Access,
) -> impl Iterator<Item = &'t jamrs_core::model::Field> + 't {
    item.stored_fields().filter(move |f| {
        matches!(
            f.field_type,
            jamrs_core::FieldType::File | jamrs_core::FieldType::Image
        ) && !access.is_prohibited(item.id, f.id)
    })
}

/// The name of schema `what` of `item`.
pub fn name(item: &Item, what: &str) -> String {
    format!("{}.{what}", item.name)
}

fn item_ref(item: &Item, what: &str) -> Json {
    schema_ref(&name(item, what))
}

/// The JSON type a value of `t` has in a reply.
fn json_type(t: FieldType) -> &'static str {
    match t {
        FieldType::Integer => "integer",
        FieldType::Float | FieldType::Currency => "number",
        FieldType::Boolean => "boolean",
        FieldType::Text
        | FieldType::LongText
        | FieldType::Date
        | FieldType::DateTime
        | FieldType::Keys
        | FieldType::File
        | FieldType::Image => "string",
    }
}

/// How a value of `t` reads in a reply.
fn shape(t: FieldType) -> Option<&'static str> {
    match t {
        FieldType::Date => Some("a date, YYYY-MM-DD"),
        FieldType::DateTime => Some("a date and time, YYYY-MM-DD HH:MM:SS"),
        FieldType::Keys => Some("keys of the lookup item, \"1;5;9\""),
        _ => None,
    }
}

/// A value of `t` in a reply (any value may be null).
fn reply_value(t: FieldType, caption: &str) -> Json {
    let mut s = json!({"type": [json_type(t), "null"], "description": caption});
    if let Some(shape) = shape(t) {
        s["description"] = json!(format!("{caption}: {shape}"));
    }
    s
}

const DATE: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
/// What `values::parse_datetime` reads: a date, or a date and `HH:MM[:SS]` after a space or
/// `T`, with fractions of a second and a `Z` ignored.
const DATETIME: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?([.].*)?Z*)?$";
const KEYS: &str = "^(\\s*[+-]?[0-9]+\\s*(;\\s*[+-]?[0-9]+\\s*)*)?$";

/// A value the client may write to `f` (what `values::from_json` takes for its type).
fn write_value(task: &Task, f: &Field) -> Json {
    let mut s = match f.field_type {
        FieldType::Text | FieldType::LongText | FieldType::File | FieldType::Image => {
            let mut s = json!({"type": "string"});
            if let Some(size) = f.size {
                s["maxLength"] = json!(size);
            }
            if f.required {
                s["minLength"] = json!(1);
            }
            s
        }
        FieldType::Integer => match f.lookup_values {
            Some(list) => json!({
                "type": "integer",
                "enum": task.lookup_lists[list].values.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
            }),
            None => schemas::int64(""),
        },
        FieldType::Float | FieldType::Currency => json!({"type": "number"}),
        FieldType::Boolean => json!({"enum": [false, true, 0, 1]}),
        FieldType::Date => json!({"type": "string", "pattern": DATE}),
        FieldType::DateTime => json!({"type": "string", "pattern": DATETIME}),
        FieldType::Keys => json!({"anyOf": [
            {"type": "string", "pattern": KEYS},
            {"type": "array", "items": schemas::int64("")},
        ]}),
    };
    let mut description = f.caption.clone();
    if let Some(shape) = shape(f.field_type) {
        description = format!("{description}: {shape}");
    }
    if f.lookup.is_some() && f.field_type == FieldType::Integer {
        description = format!("{description} (the key of a row of the lookup item)");
    }
    s["description"] = json!(description);
    // A required field cannot be emptied; others take null.
    if f.required { s } else { or_null(s) }
}

fn add_type(t: &'static str, types: &mut Vec<&'static str>) {
    if !types.contains(&t) {
        types.push(t);
    }
}

/// Whether `f` shows a lookup text (`<field>.text` when expanded).
fn shows_lookup(f: &Field) -> bool {
    f.lookup.is_some() && f.field_type != FieldType::Keys
}

/// Every schema of `item` for a role with `access`, into `out`.
pub fn schemas(task: &Task, item: &Item, access: &Access, out: &mut Map<String, Json>) {
    let fields: Vec<&Field> = item
        .public_fields()
        .filter(|f| !access.is_prohibited(item.id, f.id))
        .collect();
    let names: Vec<String> = fields.iter().map(|f| f.name.to_string()).collect();
    let field_ref = item_ref(item, "Field");
    let mut put = |what: &str, schema: Json| {
        out.insert(name(item, what), schema);
    };

    put(
        "Field",
        json!({"type": "string", "enum": names, "description": format!("A field of {}", item.name)}),
    );

    // Reply columns: stored fields, calculated fields and lookup texts (when expanded).
    let mut record = Map::new();
    let mut columns: Vec<String> = names.clone();
    let mut types: Vec<&'static str> = vec!["null", "integer"];
    for f in &fields {
        if f.is_stored() || f.calc.is_some() {
            record.insert(f.name.to_string(), reply_value(f.field_type, &f.caption));
        }
        add_type(json_type(f.field_type), &mut types);
        if f.field_type.is_numeric() {
            // avg
            add_type("number", &mut types);
        }
        if shows_lookup(f)
            && let Some(l) = &f.lookup
        {
            let text = task.lookup_text_field(l);
            let key = format!("{}.text", f.name);
            record.insert(
                key.clone(),
                reply_value(
                    text.field_type,
                    &format!("{}: the lookup's text", f.caption),
                ),
            );
            columns.push(key);
            add_type(json_type(text.field_type), &mut types);
        }
    }
    put(
        "Column",
        json!({"type": "string", "enum": columns, "description": "A column of a reply: a field, or <field>.text (a lookup's text, when expanded)"}),
    );
    put(
        "Record",
        json!({
            "type": "object",
            "additionalProperties": false,
            "description": format!("A row of {} by field name: its stored fields, and with expanded its calculated fields and lookup texts", item.name),
            "properties": record,
        }),
    );
    put(
        "Row",
        json!({
            "type": "array",
            "items": {"type": types},
            "description": format!("A row of {}: its values in the order of the reply's `fields`; each has the type of its field in {}", item.name, name(item, "Record")),
        }),
    );

    // Open.
    let groupable: Vec<&str> = fields
        .iter()
        .filter(|f| f.calc.is_none())
        .map(|f| f.name.as_str())
        .collect();
    let funcs: Map<String, Json> = fields
        .iter()
        .filter(|f| f.master_field.is_none())
        .map(|f| {
            (
                f.name.to_string(),
                json!({"type": "string", "enum": schemas::agg_names(f.field_type.is_numeric())}),
            )
        })
        .collect();
    let mut open = json!({
        "type": "object",
        "additionalProperties": false,
        "description": format!("Open params of {}. An optional param sent as null is the same as one left out.", item.name),
        "properties": {
            "fields": or_null(json!({"type": "array", "items": field_ref, "description": "Empty or absent: every field"})),
            "filters": or_null(json!({"type": "array", "items": item_ref(item, "Filter")})),
            "order": or_null(json!({"type": "array", "items": item_ref(item, "Order")})),
            "limit": or_null(json!({"type": "integer", "minimum": 0, "maximum": task.settings.max_limit, "description": "0 or absent: the maximum"})),
            "offset": or_null(json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})),
            "expanded": or_null(json!({"type": "boolean", "description": "Add lookup texts (<field>.text) and calculated fields"})),
            "funcs": or_null(json!({"type": "object", "additionalProperties": false, "properties": funcs})),
            "summary": or_null(json!({"type": "boolean", "description": "The first column becomes COUNT(*)"})),
            "group_by": or_null(json!({"type": "array", "items": {"type": "string", "enum": groupable}})),
            "search": schemas::search(&field_ref),
            "params": or_null(json!({"type": "object", "description": "User params for server module handlers"})),
            "total": or_null(json!({"type": "boolean", "description": "Also answer `total`: how many rows the filters select, whatever limit and offset are (not with funcs, summary or group_by)"})),
        }
    });
    let masters: Vec<&str> = item
        .masters
        .iter()
        .filter(|m| access.privileges(**m).view)
        .map(|m| task.item(*m).name.as_str())
        .collect();
    if item.is_detail() {
        open["required"] = json!(["master"]);
        open["properties"]["master"] = json!({
            "description": "The master row: {\"item\": master, \"id\": key}, or the key alone when there is one master",
            "anyOf": [
                schemas::int64("The master's key"),
                {"type": "object", "required": ["id"], "properties": {"item": {"type": "string", "enum": masters}, "id": schemas::int64("The master's key")}},
            ]
        });
    }
    put("OpenParams", open);
    put(
        "Filter",
        schemas::filter(&field_ref, &item_ref(item, "Filter")),
    );
    put("Order", schemas::order(&field_ref, Some(names.clone())));
    put(
        "OpenReply",
        json!({
            "type": "object",
            "required": ["fields", "rows"],
            "properties": {
                "fields": {"type": "array", "items": item_ref(item, "Column")},
                "rows": {"type": "array", "items": item_ref(item, "Row")},
                "total": {"type": "integer", "minimum": 0, "description": "With `total: true`: how many rows the filters select, whatever the page"},
            }
        }),
    );

    // Apply: the values a client may send. Fields set by the server take any value and ignore
    // it; read-only fields (for everyone or for the role) are refused, so are not listed.
    let mut values = Map::new();
    let mut required = Vec::new();
    for f in &fields {
        if item.is_server_set(f.id) {
            let what = if f.id == item.primary_key {
                "The key: ignored on insert; on update, if given, it must equal `id`"
            } else {
                "Set by the server: a value sent is ignored"
            };
            values.insert(f.name.to_string(), json!({"description": what}));
        } else if !f.read_only && !access.is_read_only(item.id, f.id) {
            values.insert(f.name.to_string(), write_value(task, f));
            if f.required && f.default_value.is_none() {
                required.push(f.name.as_str());
            }
        }
    }
    put(
        "Values",
        json!({"type": "object", "additionalProperties": false, "properties": values}),
    );
    let values_required = !required.is_empty();
    put(
        "InsertValues",
        json!({"type": "object", "additionalProperties": false, "required": required, "properties": values}),
    );
    let details: Vec<&Item> = item
        .details
        .iter()
        .filter(|d| access.privileges(**d).view)
        .map(|d| task.item(*d))
        .collect();
    put(
        "Details",
        json!({
            "type": "object",
            "additionalProperties": false,
            "description": "Changes of detail rows under this record, by detail; the link to the master is set by the server",
            "properties": details.iter().map(|d| (d.name.to_string(), schemas::or_null(json!({"type": "array", "items": item_ref(d, "Change")})))).collect::<Map<_, _>>(),
        }),
    );
    for (n, s) in schemas::change(
        &format!("{}.", item.name),
        &item_ref(item, "InsertValues"),
        &item_ref(item, "Values"),
        &item_ref(item, "Details"),
        values_required,
    ) {
        out.insert(n, s);
    }
    out.insert(
        name(item, "ApplyParams"),
        schemas::apply_params(&item_ref(item, "Change")),
    );
    out.insert(
        name(item, "ChangeResult"),
        schemas::change_result(
            &item_ref(item, "Record"),
            &json!({
                "type": "object",
                "additionalProperties": false,
                "properties": details.iter().map(|d| (d.name.to_string(), json!({"type": "array", "items": item_ref(d, "ChangeResult")}))).collect::<Map<_, _>>(),
            }),
        ),
    );
    out.insert(
        name(item, "ApplyReply"),
        schemas::apply_reply(&item_ref(item, "ChangeResult")),
    );
}
