//! Form layouts: how an item's view form (its grid) and edit form are laid out, written by the
//! author in the item's file (`[view]`, `[edit]`) — Jam.py's View Form and Edit Form dialogs.
//!
//! The server checks the names and sends the layout to clients; it never relies on it: a field a
//! layout leaves out is still a field of the API, with every rule of the item.

use serde::{Deserialize, Serialize};

use crate::model::{FieldId, ItemId};

// ---------------------------------------------------------------------------------------------
// As written (the `[view]` and `[edit]` tables of `items/<name>.toml`).

/// `[view]`: the view form and its grid.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewFile {
    /// The grid's columns, in order (Jam.py's view layout). Unset: every visible field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// `{field = pixels}`: a column's width (the user may still resize it).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub widths: std::collections::BTreeMap<String, u32>,
    /// Columns whose header sorts (Jam.py's "Sort fields"). Unset: every column; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_fields: Option<Vec<String>>,
    /// The field the search box searches first (Jam.py's "Default search field").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_field: Option<String>,
    /// The view form's width in pixels when it is shown in a dialog (a lookup's selection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
}

/// `[edit]`: the edit form.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditFile {
    /// One band of fields (with `columns`), when the form has no `tabs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// Columns of that band (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<u32>,
    /// Tabs of bands of fields (Jam.py's edit layout). A tab without a caption shows no tab bar.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tabs: Vec<TabFile>,
    /// The details shown in the form, in order (Jam.py's "Edit details"). Unset: every detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<String>>,
    /// The form's width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// `false`: the form is shown in the page (Jam.py's "Modeless form") instead of a dialog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modal: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TabFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    pub bands: Vec<BandFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Columns the band's fields are laid out in (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<u32>,
    pub fields: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Resolved.

/// An item's layouts; `None` parts keep the defaults (every visible field, in declaration order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    pub view: Option<ViewLayout>,
    pub edit: Option<EditLayout>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ViewLayout {
    pub fields: Option<Vec<FieldId>>,
    pub widths: Vec<(FieldId, u32)>,
    pub sort_fields: Option<Vec<FieldId>>,
    pub search_field: Option<FieldId>,
    pub width: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EditLayout {
    /// At least one tab; a form without tabs in its file has one tab without a caption.
    pub tabs: Option<Vec<Tab>>,
    pub details: Option<Vec<ItemId>>,
    pub width: Option<u32>,
    pub modal: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tab {
    pub caption: Option<String>,
    pub bands: Vec<Band>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub caption: Option<String>,
    pub columns: u32,
    pub fields: Vec<FieldId>,
}

/// The widest column count a band may have.
pub const MAX_COLUMNS: u32 = 6;
/// Form and column widths, in pixels.
pub const WIDTHS: std::ops::RangeInclusive<u32> = 24..=4000;
