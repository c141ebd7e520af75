//! Where uploaded files live and how they are told apart: the folder store (a folder of the
//! project, never served statically: files leave it only through the download endpoint, after
//! its checks) or the database store (`jamrs_store::files` chunks); content sniffing; and the
//! sweeper that removes uploads no record took and folder files whose row is gone.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use jamrs_core::files::{Family, FileStore, Kind};
use jamrs_core::{Error, Result};
use jamrs_store::files::{self as stored, CHUNK_BYTES, UNATTACHED_SECONDS};
use jamrs_store::store;
use tokio::io::{AsyncRead, AsyncWriteExt};

use crate::AppState;

/// Bytes of a file's head that content sniffing reads.
pub const HEAD_BYTES: usize = 64 * 1024;

/// The folder of the folder store (`None` for the database store).
pub fn folder(state: &AppState) -> Option<PathBuf> {
    match &state.task.settings.files.store {
        FileStore::Folder(f) => Some(state.task.dir.join(f)),
        FileStore::Database => None,
    }
}

/// The store's name as the files table keeps it.
pub fn store_name(state: &AppState) -> &'static str {
    match state.task.settings.files.store {
        FileStore::Folder(_) => "folder",
        FileStore::Database => "database",
    }
}

/// Where an upload is spooled while it arrives: the store's folder (so the finished file is
/// renamed into place), or the system's temporary folder for the database store.
pub fn spool_dir(state: &AppState) -> PathBuf {
    folder(state).unwrap_or_else(std::env::temp_dir)
}

/// What the content is, from its head and whether all of it was UTF-8 text without NUL bytes.
pub fn kind_of(head: &[u8], text: bool) -> Kind {
    if let Some(t) = infer::get(head) {
        let family = match t.matcher_type() {
            infer::MatcherType::Image => Family::Image,
            infer::MatcherType::Audio => Family::Audio,
            infer::MatcherType::Video => Family::Video,
            _ => Family::Other,
        };
        let ext = match t.extension() {
            "jpeg" => "jpg",
            "tiff" => "tif",
            other => other,
        };
        return Kind {
            ext: ext.to_string(),
            family,
            mime: t.mime_type().to_string(),
        };
    }
    if text {
        return Kind {
            ext: "txt".into(),
            family: Family::Text,
            mime: "text/plain; charset=utf-8".into(),
        };
    }
    Kind {
        ext: "bin".into(),
        family: Family::Other,
        mime: "application/octet-stream".into(),
    }
}

/// Checks that a byte stream is UTF-8 text without NUL bytes, a piece at a time (a character
/// may be cut between pieces).
#[derive(Default)]
pub struct TextCheck {
    carry: Vec<u8>,
    failed: bool,
}

impl TextCheck {
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed {
            return;
        }
        if bytes.contains(&0) {
            self.failed = true;
            return;
        }
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(bytes);
        match std::str::from_utf8(&buf) {
            Ok(_) => {}
            Err(e) if e.error_len().is_none() => {
                // An incomplete character at the end: keep it for the next piece.
                self.carry = buf[e.valid_up_to()..].to_vec();
            }
            Err(_) => self.failed = true,
        }
    }

    /// True when every piece was text and nothing is left cut.
    pub fn is_text(&self) -> bool {
        !self.failed && self.carry.is_empty()
    }
}

/// A spooled upload: removed on drop unless it was kept.
pub struct Spool {
    pub path: PathBuf,
    pub file: Option<tokio::fs::File>,
    kept: bool,
}

impl Spool {
    pub async fn create(dir: &Path) -> Result<Spool> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(format!(".upload-{}", jamrs_store::auth::new_token()?));
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", path.display())))?;
        Ok(Spool {
            path,
            file: Some(file),
            kept: false,
        })
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(f) = &mut self.file {
            f.write_all(bytes)
                .await
                .map_err(|e| Error::internal(format!("cannot write an upload: {e}")))?;
        }
        Ok(())
    }

    pub async fn finish(&mut self) -> Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush()
                .await
                .map_err(|e| Error::internal(format!("cannot write an upload: {e}")))?;
            f.sync_all()
                .await
                .map_err(|e| Error::internal(format!("cannot write an upload: {e}")))?;
        }
        Ok(())
    }

    /// Moves the spooled file to `target` (the folder store's file), which is then kept.
    pub async fn keep_as(&mut self, target: &Path) -> Result<()> {
        tokio::fs::rename(&self.path, target)
            .await
            .map_err(|e| Error::internal(format!("cannot store an upload: {e}")))?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes a spooled file into the database store as chunks of upload `file_id` (run in a write
/// job: the whole file goes in one transaction with its row).
pub fn put_chunks(conn: &mut dyn jamrs_store::Conn, file_id: i64, path: &Path) -> Result<()> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::internal(format!("cannot read an upload: {e}")))?;
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut seq = 0;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            let n = f
                .read(&mut buf[filled..])
                .map_err(|e| Error::internal(format!("cannot read an upload: {e}")))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        stored::put_chunk(conn, file_id, seq, &buf[..filled])?;
        seq += 1;
        if filled < buf.len() {
            break;
        }
    }
    Ok(())
}

/// The content of a stored upload as a byte stream: the folder's file, or the database's
/// chunks read one job at a time into a pipe (never the whole file in memory).
pub async fn open(
    state: &AppState,
    file: &stored::StoredFile,
) -> Result<Box<dyn AsyncRead + Send + Unpin>> {
    if file.store == "folder" {
        let Some(dir) = folder(state) else {
            return Err(Error::not_found("the file is not in this project's store"));
        };
        let f = tokio::fs::File::open(dir.join(&file.name))
            .await
            .map_err(|e| Error::internal(format!("cannot open a stored file: {e}")))?;
        return Ok(Box::new(f));
    }
    let (mut writer, reader) = tokio::io::duplex(CHUNK_BYTES);
    let store = state.store.clone();
    let id = file.id;
    tokio::spawn(async move {
        let mut seq = 0;
        loop {
            let read = store::read(&*store, move |conn| stored::chunk(conn, id, seq)).await;
            match read {
                Ok(Some(bytes)) => {
                    if writer.write_all(&bytes).await.is_err() {
                        break;
                    }
                    seq += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!("cannot read a stored file: {}", e.message);
                    break;
                }
            }
        }
        let _ = writer.shutdown().await;
    });
    Ok(Box::new(reader))
}

/// Removes uploads no record took within a day (rows, chunks, folder files), files of the
/// folder whose row is gone (a record removed or soft-delete-free deleted, a file replaced or
/// cleared: an upload gets its name only once its row is saved, so a named file without a row
/// is dead), and spooled uploads left over for an hour.
pub async fn sweep(state: &AppState) -> Result<()> {
    let now = crate::session::now();
    let dir = folder(state);
    loop {
        let old = store::write(&*state.store, move |conn| {
            let names = stored::unattached_before(conn, now - UNATTACHED_SECONDS, 500)?;
            for (name, _) in &names {
                stored::remove(conn, name)?;
            }
            Ok(names)
        })
        .await?;
        if let Some(dir) = &dir {
            for (name, store) in &old {
                if store == "folder" {
                    let _ = tokio::fs::remove_file(dir.join(name)).await;
                }
            }
        }
        if old.len() < 500 {
            break;
        }
    }
    let Some(dir) = dir else {
        return Ok(());
    };
    let Ok(mut entries) = tokio::fs::read_dir(&dir).await else {
        return Ok(());
    };
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let mut candidates = Vec::new();
    while let Ok(Some(e)) = entries.next_entry().await {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with(".upload-") {
            let old_enough = e
                .metadata()
                .await
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago);
            if old_enough {
                let _ = tokio::fs::remove_file(e.path()).await;
            }
        } else if jamrs_core::files::stored_name(&name) == Some(name.as_str()) {
            candidates.push(name);
        }
    }
    for batch in candidates.chunks(500) {
        let names = batch.to_vec();
        let kept = store::read(&*state.store, move |conn| stored::existing(conn, &names)).await?;
        for name in batch.iter().filter(|n| !kept.contains(n)) {
            let _ = tokio::fs::remove_file(dir.join(name)).await;
        }
    }
    Ok(())
}

/// Sweeps at start and every hour, for as long as the server runs.
pub fn spawn_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = sweep(&state).await {
                tracing::warn!("sweeping uploaded files: {}", e.message);
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_checked_across_pieces() {
        let mut t = TextCheck::default();
        let s = "naïve ☕ text".as_bytes();
        for b in s {
            t.feed(std::slice::from_ref(b));
        }
        assert!(t.is_text());
        let mut t = TextCheck::default();
        t.feed(b"abc\0");
        assert!(!t.is_text());
        let mut t = TextCheck::default();
        t.feed(&[0xe2, 0x98]);
        assert!(!t.is_text(), "cut at the end");
        let mut t = TextCheck::default();
        t.feed(&[0xff, 0x41]);
        assert!(!t.is_text());
    }

    #[test]
    fn kinds_come_from_content() {
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        assert_eq!(kind_of(&png, false).ext, "png");
        assert_eq!(kind_of(&png, false).family, Family::Image);
        assert_eq!(kind_of(b"%PDF-1.7\n", false).ext, "pdf");
        assert_eq!(kind_of(b"<svg onload=alert(1)>", true).family, Family::Text);
        assert_eq!(kind_of(&[1, 2, 3], false).ext, "bin");
    }
}
