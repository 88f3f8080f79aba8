//! The little URL handling requests need: splitting `scheme://authority/path?query` for outgoing requests and
//! percent-decoding path parameters and query values.

/// An outgoing request's target, split as `wasi:http` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target<'a> {
    /// `http` or `https`.
    pub https: bool,
    /// `host[:port]`.
    pub authority: &'a str,
    /// `/path?query`, `/` when the URL has none.
    pub path_with_query: String,
}

/// Splits an absolute `http://` or `https://` URL; why not, otherwise.
pub(super) fn split(url: &str) -> Result<Target<'_>, &'static str> {
    let (scheme, rest) = url.split_once("://").ok_or("not an absolute URL")?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        _ => return Err("only http and https URLs are supported"),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.is_empty() {
        return Err("the URL names no host");
    }
    if authority.contains('@') {
        return Err("credentials in URLs are not supported");
    }
    let tail = tail.split_once('#').map_or(tail, |(before, _)| before);
    let path_with_query = if tail.starts_with('/') { tail.to_owned() } else { format!("/{tail}") };
    Ok(Target { https, authority, path_with_query })
}

/// Decodes `%XX` escapes; malformed escapes and bytes that do not form UTF-8 are kept as they are (replaced).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        let target = split("http://backend/api/quote?n=1#top").unwrap();
        assert_eq!(
            target,
            Target { https: false, authority: "backend", path_with_query: "/api/quote?n=1".into() }
        );
        let target = split("HTTPS://api.example.com:8443?x").unwrap();
        assert!(target.https);
        assert_eq!((target.authority, target.path_with_query.as_str()), ("api.example.com:8443", "/?x"));
        assert_eq!(split("backend/api"), Err("not an absolute URL"));
        assert_eq!(split("ftp://x/"), Err("only http and https URLs are supported"));
        assert_eq!(split("http:///x"), Err("the URL names no host"));
        assert_eq!(split("http://user:pw@x/"), Err("credentials in URLs are not supported"));
    }

    #[test]
    fn percent_escapes_decode_and_malformed_ones_stay() {
        assert_eq!(percent_decode("caf%C3%A9%20%2F"), "café /");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
