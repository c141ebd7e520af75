//! Resolving the `[view]` and `[edit]` layouts of item files (`crate::layout`). Runs after the
//! details are linked, since an edit layout names details.

use std::collections::HashSet;

use super::file::ItemFile;
use crate::layout::*;
use crate::model::{FieldId, Item, SystemField};

/// Checks an item's layouts and resolves their names; problems go to `err`.
pub(super) fn resolve(
    item: &Item,
    items: &[Item],
    file: &ItemFile,
    err: &mut dyn FnMut(String),
) -> Layout {
    Layout {
        view: file.view.as_ref().map(|v| view(item, v, err)),
        edit: file.edit.as_ref().map(|e| edit(item, items, e, err)),
    }
}

/// A field of the item a layout may name: any but the soft-delete flag, which clients never see.
fn field(item: &Item, key: &str, name: &str, err: &mut dyn FnMut(String)) -> Option<FieldId> {
    match item
        .field_by_name(name)
        .filter(|f| f.system != Some(SystemField::Deleted))
    {
        Some(f) => Some(f.id),
        None => {
            err(format!("{key}: \"{name}\" is not a field of this item"));
            None
        }
    }
}

/// Fields named at most once in one list (a second column or input of a field means nothing).
fn fields(
    item: &Item,
    key: &str,
    names: &[String],
    seen: &mut HashSet<FieldId>,
    err: &mut dyn FnMut(String),
) -> Vec<FieldId> {
    let mut out = Vec::new();
    for name in names {
        if let Some(id) = field(item, key, name, err) {
            if seen.insert(id) {
                out.push(id);
            } else {
                err(format!("{key}: \"{name}\" is named twice"));
            }
        }
    }
    out
}

fn width(key: &str, w: u32, err: &mut dyn FnMut(String)) -> Option<u32> {
    if WIDTHS.contains(&w) {
        Some(w)
    } else {
        err(format!(
            "{key}: {w} is not a width in pixels from {} to {}",
            WIDTHS.start(),
            WIDTHS.end()
        ));
        None
    }
}

fn columns(key: &str, n: Option<u32>, err: &mut dyn FnMut(String)) -> u32 {
    match n {
        None => 1,
        Some(n) if (1..=MAX_COLUMNS).contains(&n) => n,
        Some(n) => {
            err(format!("{key}: {n} columns; a band has 1 to {MAX_COLUMNS}"));
            1
        }
    }
}

fn view(item: &Item, v: &ViewFile, err: &mut dyn FnMut(String)) -> ViewLayout {
    let shown = v
        .fields
        .as_ref()
        .map(|names| fields(item, "view.fields", names, &mut HashSet::new(), err));
    let mut widths = Vec::new();
    for (name, w) in &v.widths {
        if let (Some(id), Some(w)) = (
            field(item, "view.widths", name, err),
            width(&format!("view.widths.{name}"), *w, err),
        ) {
            widths.push((id, w));
        }
    }
    let sort_fields = v.sort_fields.as_ref().map(|names| {
        let ids = fields(item, "view.sort_fields", names, &mut HashSet::new(), err);
        if let Some(shown) = &shown {
            for id in &ids {
                if !shown.contains(id) {
                    err(format!(
                        "view.sort_fields: \"{}\" is not one of view.fields (only a column can be sorted by its header)",
                        item.field(*id).name
                    ));
                }
            }
        }
        ids
    });
    let search_field = v.search_field.as_ref().and_then(|name| {
        let id = field(item, "view.search_field", name, err)?;
        let f = item.field(id);
        // What the search box can search: text, and the texts of lookups and lookup lists.
        let searchable = f.lookup.is_some()
            || f.lookup_values.is_some()
            || matches!(
                f.field_type,
                crate::FieldType::Text | crate::FieldType::LongText
            );
        if !searchable || f.field_type == crate::FieldType::Keys {
            err(format!(
                "view.search_field: \"{name}\" cannot be searched (a text field, a lookup or a lookup list can)"
            ));
            return None;
        }
        Some(id)
    });
    ViewLayout {
        fields: shown,
        widths,
        sort_fields,
        search_field,
        width: v.width.and_then(|w| width("view.width", w, err)),
    }
}

fn edit(item: &Item, items: &[Item], e: &EditFile, err: &mut dyn FnMut(String)) -> EditLayout {
    let mut seen = HashSet::new();
    let tabs = match (&e.fields, e.tabs.is_empty()) {
        (Some(_), false) => {
            err("edit: give either fields (one band) or tabs, not both".into());
            None
        }
        (Some(names), true) => Some(vec![Tab {
            caption: None,
            bands: vec![Band {
                caption: None,
                columns: columns("edit.columns", e.columns, err),
                fields: fields(item, "edit.fields", names, &mut seen, err),
            }],
        }]),
        (None, false) => {
            if e.columns.is_some() {
                err("edit.columns: with tabs, each band has its columns".into());
            }
            Some(
                e.tabs
                    .iter()
                    .enumerate()
                    .map(|(t, tab)| {
                        if tab.bands.is_empty() {
                            err(format!("edit.tabs[{t}]: a tab needs at least one band"));
                        }
                        Tab {
                            caption: tab.caption.clone(),
                            bands: tab
                                .bands
                                .iter()
                                .enumerate()
                                .map(|(b, band)| {
                                    let key = format!("edit.tabs[{t}].bands[{b}]");
                                    Band {
                                        caption: band.caption.clone(),
                                        columns: columns(
                                            &format!("{key}.columns"),
                                            band.columns,
                                            err,
                                        ),
                                        fields: fields(
                                            item,
                                            &format!("{key}.fields"),
                                            &band.fields,
                                            &mut seen,
                                            err,
                                        ),
                                    }
                                })
                                .collect(),
                        }
                    })
                    .collect(),
            )
        }
        (None, true) => {
            if e.columns.is_some() {
                err("edit.columns: needs edit.fields (the band it lays out)".into());
            }
            None
        }
    };
    if let Some(tabs) = &tabs
        && tabs.len() > 1
        && tabs.iter().any(|t| t.caption.is_none())
    {
        err("edit.tabs: with several tabs, each needs a caption".into());
    }
    let details = e.details.as_ref().map(|names| {
        let mut out = Vec::new();
        for name in names {
            match item
                .details
                .iter()
                .find(|d| items[d.0 as usize].name.as_str() == name)
            {
                Some(d) if !out.contains(d) => out.push(*d),
                Some(_) => err(format!("edit.details: \"{name}\" is named twice")),
                None => err(format!(
                    "edit.details: \"{name}\" is not one of this item's details"
                )),
            }
        }
        out
    });
    EditLayout {
        tabs,
        details,
        width: e.width.and_then(|w| width("edit.width", w, err)),
        modal: e.modal.unwrap_or(true),
    }
}
