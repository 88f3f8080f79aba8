//! Notes: a small stateful API whose data lives in a volume, one file per note, so it outlives the instance that
//! wrote it (each request has its own), the pod, and the pods that replace it.
//!
//! - `PUT /notes/:name` stores the body as the note (201 when new, 200 when replaced).
//! - `GET /notes/:name` answers the note (404 when there is none).
//! - `GET /notes` lists the notes' names as JSON.
//! - `DELETE /notes/:name` removes the note (204, or 404).
//!
//! Names are 1 to 64 letters, digits, `-`, `_` and `.`, not starting with a dot. Notes are written to a hidden
//! temporary file and renamed into place, so a reader never sees half a note, even with replicas writing at once.

use std::io::ErrorKind;
use std::path::PathBuf;

use guest_sdk::http::{Error, Request, Response, Result, Router};
use guest_sdk::{config, log};

/// The largest note kept.
const MAX_NOTE: usize = 64 << 10;

fn app() -> Router {
    Router::new()
        .get("/notes", list)
        .get("/notes/:name", read)
        .put("/notes/:name", write)
        .delete("/notes/:name", remove)
}

fn list(_: &Request) -> Result<Response> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir()?)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if valid(&name) {
            names.push(name);
        }
    }
    names.sort();
    Ok(Response::json(200, &serde_json::json!({ "notes": names })))
}

fn read(request: &Request) -> Result<Response> {
    let path = note(request)?;
    match std::fs::read(&path) {
        Ok(bytes) => {
            Ok(Response::new(200).with_header("content-type", "text/plain; charset=utf-8").with_body(bytes))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::not_found("no such note")),
        Err(e) => Err(e.into()),
    }
}

fn write(request: &Request) -> Result<Response> {
    let path = note(request)?;
    if request.body().len() > MAX_NOTE {
        return Err(Error::new(413, format!("a note holds at most {MAX_NOTE} bytes")));
    }
    let existed = path.exists();
    let name = request.param("name").unwrap_or_default();
    // Unique per writer: the clock's nanoseconds and the pod, since replicas may share the volume.
    let stamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let pod = config::var_or("HOSTNAME", "")?;
    let temporary = dir()?.join(format!(".{name}.{pod}.{stamp}.tmp"));
    std::fs::write(&temporary, request.body())?;
    std::fs::rename(&temporary, &path)?;
    log::info!("stored a note", name = name, bytes = request.body().len(), replaced = existed);
    Ok(Response::new(if existed { 200 } else { 201 }))
}

fn remove(request: &Request) -> Result<Response> {
    match std::fs::remove_file(note(request)?) {
        Ok(()) => Ok(Response::new(204)),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::not_found("no such note")),
        Err(e) => Err(e.into()),
    }
}

/// Where notes live: `NOTES_DIR`, by default `/data`, the volume's mount path in the manifest.
fn dir() -> Result<PathBuf> {
    Ok(PathBuf::from(config::var_or("NOTES_DIR", "/data")?))
}

/// The file of the note the request names; 400 for a name that is not allowed.
fn note(request: &Request) -> Result<PathBuf> {
    let name = request.param("name").unwrap_or_default();
    if !valid(name) {
        return Err(Error::bad_request(
            "a note's name is 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'",
        ));
    }
    Ok(dir()?.join(name))
}

fn valid(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

guest_sdk::serve!(app);

#[cfg(test)]
mod tests {
    #[test]
    fn names_cannot_leave_the_directory_or_hide() {
        assert!(super::valid("groceries-2026.txt"));
        for bad in ["", ".hidden", "..", "a/b", "a b", &"x".repeat(65)] {
            assert!(!super::valid(bad), "{bad:?}");
        }
    }
}
