//! Audio the simulator serves itself (uploaded under `/__admin/audio/{name}`), so an icu
//! task's `Url` can point at the simulator with no other server. Bounded in count and bytes.

use std::collections::BTreeMap;

use bytes::Bytes;
use parking_lot::Mutex;

/// Largest file one may upload.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Largest total kept.
pub const MAX_TOTAL_BYTES: usize = 256 * 1024 * 1024;

/// Uploaded audio by name, bounded in count and bytes.
#[derive(Debug, Default)]
pub struct AudioHost {
    files: Mutex<BTreeMap<String, Bytes>>,
}

impl AudioHost {
    /// Stores `bytes` under `name`, replacing a file of that name.
    pub fn put(&self, name: &str, bytes: Bytes) -> Result<(), String> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(format!("a hosted file is at most {MAX_FILE_BYTES} bytes"));
        }
        let mut files = self.files.lock();
        let others: usize = files
            .iter()
            .filter(|(n, _)| n.as_str() != name)
            .fold(0usize, |sum, (_, b)| sum.saturating_add(b.len()));
        if others.saturating_add(bytes.len()) > MAX_TOTAL_BYTES {
            return Err(format!(
                "hosted audio is limited to {MAX_TOTAL_BYTES} bytes in all: delete some first"
            ));
        }
        files.insert(name.to_owned(), bytes);
        Ok(())
    }

    /// The file called `name`.
    pub fn get(&self, name: &str) -> Option<Bytes> {
        self.files.lock().get(name).cloned()
    }

    /// Names and sizes.
    pub fn list(&self) -> Vec<(String, usize)> {
        self.files
            .lock()
            .iter()
            .map(|(n, b)| (n.clone(), b.len()))
            .collect()
    }

    /// Removes `name`; true if it existed.
    pub fn remove(&self, name: &str) -> bool {
        self.files.lock().remove(name).is_some()
    }

    /// Removes everything.
    pub fn clear(&self) {
        self.files.lock().clear();
    }
}
