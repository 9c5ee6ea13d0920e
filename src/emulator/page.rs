//! Pagination with opaque page tokens: items are ordered by a key, and the token carries the last
//! key returned, so pages never repeat or skip an item even while the list changes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tonic::Status;

use super::errors::invalid_argument;

/// Page size used when the request leaves it at 0.
pub(crate) const DEFAULT_PAGE_SIZE: i64 = 100;
/// Largest page the API serves.
pub(crate) const MAX_PAGE_SIZE: i64 = 1000;

const TOKEN_PREFIX: &str = "ycemu1:";

/// One page of `items` (already in key order) after `page_token`, and the next token ("" at the end).
pub(crate) fn page<T>(
    mut items: Vec<(String, T)>,
    page_size: i64,
    page_token: &str,
) -> Result<(Vec<T>, String), Status> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let size = match page_size {
        0 => DEFAULT_PAGE_SIZE,
        n if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        _ => return Err(invalid_argument("page_size", "value must be in range 0-1000")),
    };
    let size = usize::try_from(size).unwrap_or(100);
    let after = if page_token.is_empty() {
        None
    } else {
        Some(decode(page_token)?)
    };
    let mut rest: Vec<(String, T)> = match &after {
        Some(last) => items.into_iter().filter(|(k, _)| k > last).collect(),
        None => items,
    };
    let more = rest.len() > size;
    rest.truncate(size);
    let next = match (more, rest.last()) {
        (true, Some((key, _))) => encode(key),
        _ => String::new(),
    };
    Ok((rest.into_iter().map(|(_, v)| v).collect(), next))
}

/// A token is the key, prefixed, in unpadded URL-safe base64: 4 characters per 3 bytes, so the
/// longest sort key (an operation's: 51 characters) stays within the 100 characters every
/// `page_token` allows.
fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{key}"))
}

pub(crate) fn decode(token: &str) -> Result<String, Status> {
    let bad = || invalid_argument("page_token", "invalid page token");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix(TOKEN_PREFIX).map(str::to_owned).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_item_once() {
        let items: Vec<(String, u32)> = (0..25).map(|i| (format!("{i:03}"), i)).collect();
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let (page, next) = page(items.clone(), 10, &token).expect("page");
            seen.extend(page);
            if next.is_empty() {
                break;
            }
            token = next;
        }
        assert_eq!(seen, (0..25).collect::<Vec<_>>());
    }

    #[test]
    fn a_token_after_the_longest_sort_key_fits_the_apis_page_token_limit() {
        let operation_key = format!("{:020}.{:09}.{}", i64::MAX, 999_999_999, "e".repeat(20));
        assert!(encode(&operation_key).len() <= 100, "{}", encode(&operation_key).len());
        assert_eq!(decode(&encode(&operation_key)).expect("decodes"), operation_key);
    }

    #[test]
    fn garbage_tokens_are_invalid_arguments() {
        for token in ["zz", "abc", "6869", "é", "eWNlbXUxOg=", "aGk"] {
            assert_eq!(
                page(Vec::<(String, u8)>::new(), 0, token).unwrap_err().code(),
                tonic::Code::InvalidArgument
            );
        }
    }
}
