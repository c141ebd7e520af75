//! File and image fields: what a field accepts (Jam.py's Accept string, checked against the
//! file's content), its size limits and thumbnail sizes, where a project keeps its files, and
//! the stored value (Jam.py's `"<stored name>?<original name>"` for files, the stored name for
//! images).
//!
//! The content itself is told by the HTTP layer (magic numbers, or valid UTF-8 text); this
//! module says which kinds a field takes: [`Kind`] is what the content turned out to be.

/// What a file's content turned out to be: a canonical extension (`"jpg"`, `"pdf"`, `"docx"`)
/// and its family, or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    /// The canonical extension of the detected type; `"txt"` for text.
    pub ext: String,
    pub family: Family,
    /// The MIME type the file is served with.
    pub mime: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Image,
    Audio,
    Video,
    Text,
    Other,
}

/// Raster images a browser shows in an `<img>`: what an image field takes (never SVG, which
/// is a document that can run script).
pub const IMAGE_EXTS: &[&str] = &["jpg", "png", "gif", "webp", "bmp", "ico", "avif"];

/// Extensions an `accept` entry may name, each with the canonical extension the content must
/// be detected as (several names for one type map to one). Text types (`.txt`, `.csv`, …) are
/// checked as valid UTF-8 without NUL bytes.
const KNOWN: &[(&str, &str)] = &[
    ("jpg", "jpg"),
    ("jpeg", "jpg"),
    ("png", "png"),
    ("gif", "gif"),
    ("webp", "webp"),
    ("bmp", "bmp"),
    ("ico", "ico"),
    ("avif", "avif"),
    ("tif", "tif"),
    ("tiff", "tif"),
    ("heic", "heic"),
    ("pdf", "pdf"),
    ("zip", "zip"),
    ("gz", "gz"),
    ("7z", "7z"),
    ("rar", "rar"),
    ("tar", "tar"),
    ("docx", "docx"),
    ("xlsx", "xlsx"),
    ("pptx", "pptx"),
    ("odt", "odt"),
    ("ods", "ods"),
    ("odp", "odp"),
    ("doc", "doc"),
    ("xls", "xls"),
    ("ppt", "ppt"),
    ("rtf", "rtf"),
    ("epub", "epub"),
    ("mp3", "mp3"),
    ("wav", "wav"),
    ("ogg", "ogg"),
    ("oga", "ogg"),
    ("flac", "flac"),
    ("m4a", "m4a"),
    ("aac", "aac"),
    ("mp4", "mp4"),
    ("m4v", "m4v"),
    ("webm", "webm"),
    ("mov", "mov"),
    ("avi", "avi"),
    ("mkv", "mkv"),
    ("txt", "txt"),
    ("csv", "txt"),
    ("tsv", "txt"),
    ("json", "txt"),
    ("md", "txt"),
    ("log", "txt"),
];

/// The canonical extension an `accept` entry's extension must be detected as, if jamrs can
/// tell that type by content.
pub fn canonical_ext(ext: &str) -> Option<&'static str> {
    let ext = ext.to_ascii_lowercase();
    KNOWN.iter().find(|(e, _)| *e == ext).map(|(_, c)| *c)
}

/// Every extension an `accept` entry may name (for error messages).
pub fn known_exts() -> Vec<&'static str> {
    KNOWN.iter().map(|(e, _)| *e).collect()
}

/// One entry of a field's `accept` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accept {
    /// `image/*`, `audio/*`, `video/*`, `text/*`.
    Family(Family),
    /// `.pdf`: content of that type (and a file name with that extension, or its synonym).
    Ext { written: String, canonical: String },
}

/// A file or image field's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSettings {
    /// Empty: any content for a file field (served as a download), the raster images of
    /// [`IMAGE_EXTS`] for an image field.
    pub accept: Vec<Accept>,
    /// The largest file, in bytes (the field's `max_size`, at most the project's).
    pub max_size: u64,
    /// Thumbnail sizes in pixels (Jam.py's image options); `None` where not set.
    pub image: ImageSize,
}

/// Jam.py's image options: the size an image is shown at in grids (`view_*`) and forms
/// (`edit_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImageSize {
    pub view_width: Option<u32>,
    pub view_height: Option<u32>,
    pub edit_width: Option<u32>,
    pub edit_height: Option<u32>,
}

/// Where a project keeps uploaded files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStore {
    /// A folder (relative to the project, outside anything served), one file per upload.
    Folder(String),
    /// The database: a system table of chunks, seen by every server process on that database.
    Database,
}

/// `[files]` of `jamrs.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesSettings {
    pub store: FileStore,
    /// The largest file any field takes, in bytes.
    pub max_size: u64,
}

pub const DEFAULT_FOLDER: &str = "files";
pub const DEFAULT_MAX_SIZE: u64 = 10 << 20;
/// A file is streamed, never held whole; but a single upload past a gigabyte is not what a
/// form field is for.
pub const MAX_MAX_SIZE: u64 = 1 << 30;

impl Default for FilesSettings {
    fn default() -> Self {
        FilesSettings {
            store: FileStore::Folder(DEFAULT_FOLDER.into()),
            max_size: DEFAULT_MAX_SIZE,
        }
    }
}

/// Parses an `accept` string: comma-separated `image/*`, `audio/*`, `video/*`, `text/*` or
/// `.ext` entries (Jam.py's grammar).
pub fn parse_accept(text: &str) -> Result<Vec<Accept>, String> {
    let mut out = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let rule = match entry.to_ascii_lowercase().as_str() {
            "image/*" => Accept::Family(Family::Image),
            "audio/*" => Accept::Family(Family::Audio),
            "video/*" => Accept::Family(Family::Video),
            "text/*" => Accept::Family(Family::Text),
            e => match e.strip_prefix('.') {
                Some(ext) => match canonical_ext(ext) {
                    Some(c) => Accept::Ext {
                        written: ext.to_string(),
                        canonical: c.to_string(),
                    },
                    None => {
                        return Err(format!(
                            "\"{entry}\": jamrs cannot tell this type by its content (known: .{})",
                            known_exts().join(", .")
                        ));
                    }
                },
                None => {
                    return Err(format!(
                        "\"{entry}\" is not image/*, audio/*, video/*, text/* or an extension such as .pdf"
                    ));
                }
            },
        };
        out.push(rule);
    }
    Ok(out)
}

/// Whether a field takes a file whose content is `kind` and whose name is `file_name`.
/// An image field takes only raster images; `.ext` entries also want the name's extension to
/// be that type's (so a PDF named `a.txt` is refused by `.txt, .pdf`).
pub fn accepts(image: bool, accept: &[Accept], kind: &Kind, file_name: &str) -> bool {
    if image && !IMAGE_EXTS.contains(&kind.ext.as_str()) {
        return false;
    }
    if accept.is_empty() {
        return true;
    }
    let name_ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .and_then(|e| canonical_ext(&e));
    accept.iter().any(|a| match a {
        Accept::Family(f) => *f == kind.family,
        Accept::Ext { canonical, .. } => {
            *canonical == kind.ext && name_ext == Some(kind.ext.as_str())
        }
    })
}

/// The stored name of a file value (`"<name>?<original>"` or `"<name>"`), if it looks like one
/// jamrs gives (43 characters of URL-safe base64).
pub fn stored_name(value: &str) -> Option<&str> {
    let name = value.split_once('?').map_or(value, |(n, _)| n);
    (name.len() == 43
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(name)
}

/// A file name as a person gave it, made safe to keep and show: the last path segment, no
/// control characters or `?` (the value's separator), at most 200 characters.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && *c != '?')
        .take(200)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').to_string();
    if trimmed.is_empty() {
        "file".into()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(ext: &str, family: Family) -> Kind {
        Kind {
            ext: ext.into(),
            family,
            mime: String::new(),
        }
    }

    #[test]
    fn accept_strings_parse_like_jampys() {
        assert_eq!(
            parse_accept("image/*, .PDF ,.csv").unwrap(),
            [
                Accept::Family(Family::Image),
                Accept::Ext {
                    written: "pdf".into(),
                    canonical: "pdf".into()
                },
                Accept::Ext {
                    written: "csv".into(),
                    canonical: "txt".into()
                },
            ]
        );
        assert!(parse_accept(".exe").unwrap_err().contains("cannot tell"));
        assert!(parse_accept("application/pdf").is_err());
        assert!(parse_accept("").unwrap().is_empty());
    }

    #[test]
    fn content_and_name_must_both_fit() {
        let pdf = parse_accept(".pdf").unwrap();
        assert!(accepts(false, &pdf, &kind("pdf", Family::Other), "a.PDF"));
        assert!(!accepts(false, &pdf, &kind("pdf", Family::Other), "a.txt"));
        assert!(!accepts(false, &pdf, &kind("txt", Family::Text), "a.pdf"));
        let images = parse_accept("image/*").unwrap();
        assert!(accepts(false, &images, &kind("png", Family::Image), "x"));
        assert!(!accepts(true, &[], &kind("tif", Family::Image), "x.tif"));
        assert!(accepts(true, &[], &kind("webp", Family::Image), "x"));
        assert!(!accepts(true, &[], &kind("txt", Family::Text), "x.svg"));
    }

    #[test]
    fn stored_names_and_file_names() {
        let name = "A".repeat(43);
        assert_eq!(
            stored_name(&format!("{name}?photo.png")),
            Some(name.as_str())
        );
        assert_eq!(stored_name("../etc/passwd"), None);
        assert_eq!(stored_name(&"A".repeat(44)), None);
        assert_eq!(clean_file_name("C:\\docs\\..\\report?.pdf"), "report.pdf");
        assert_eq!(clean_file_name("../../.."), "file");
        assert_eq!(clean_file_name(".bashrc"), "bashrc");
    }
}
