//! Reading a Builder export: a zip archive (stored or deflated entries, no encryption, no
//! zip64), enough for `task.dat`, the templates, `js/` and `reports/`. Read from the central
//! directory, as every zip reader must (local headers may lack sizes).

use std::io::Read;

/// One entry: its name and its bytes.
pub struct Entry {
    pub name: String,
    pub data: Vec<u8>,
}

/// The largest archive or entry read: a Builder export holds metadata, code and templates.
const MAX_BYTES: usize = 512 << 20;

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// Every file entry of the archive `bytes` (folders left out).
pub fn entries(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let bad = || "not a zip archive this importer can read".to_string();
    // The end-of-central-directory record: the last "PK\x05\x06" within the final 64 KiB.
    let from = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(bad)?;
    let count = u16_at(bytes, eocd + 10).ok_or_else(bad)?;
    let mut at = u32_at(bytes, eocd + 16).ok_or_else(bad)?;
    let mut out = Vec::new();
    for _ in 0..count {
        if !bytes
            .get(at..)
            .is_some_and(|b| b.starts_with(b"PK\x01\x02"))
        {
            return Err(bad());
        }
        let method = u16_at(bytes, at + 10).ok_or_else(bad)?;
        let compressed = u32_at(bytes, at + 20).ok_or_else(bad)?;
        let size = u32_at(bytes, at + 24).ok_or_else(bad)?;
        let name_len = u16_at(bytes, at + 28).ok_or_else(bad)?;
        let extra_len = u16_at(bytes, at + 30).ok_or_else(bad)?;
        let comment_len = u16_at(bytes, at + 32).ok_or_else(bad)?;
        let local = u32_at(bytes, at + 42).ok_or_else(bad)?;
        let name = bytes.get(at + 46..at + 46 + name_len).ok_or_else(bad)?;
        let name = String::from_utf8_lossy(name).replace('\\', "/");
        at += 46 + name_len + extra_len + comment_len;
        if name.ends_with('/') {
            continue;
        }
        if size > MAX_BYTES {
            return Err(format!("{name}: larger than {MAX_BYTES} bytes"));
        }
        let local_name = u16_at(bytes, local + 26).ok_or_else(bad)?;
        let local_extra = u16_at(bytes, local + 28).ok_or_else(bad)?;
        let start = local + 30 + local_name + local_extra;
        let raw = bytes.get(start..start + compressed).ok_or_else(bad)?;
        let data = match method {
            0 => raw.to_vec(),
            8 => {
                let mut data = Vec::with_capacity(size);
                flate2::read::DeflateDecoder::new(raw)
                    .take(MAX_BYTES as u64)
                    .read_to_end(&mut data)
                    .map_err(|e| format!("{name}: {e}"))?;
                data
            }
            m => return Err(format!("{name}: compression method {m} is not supported")),
        };
        out.push(Entry { name, data });
    }
    Ok(out)
}
