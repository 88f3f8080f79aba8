//! Small helpers shared by the guest programs.

/// Milliseconds since the Unix epoch, by the wall clock the host gives the guest.
pub fn now_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}
