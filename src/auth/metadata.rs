//! A tiny HTTP/1.1 client for the compute-instance metadata service: one GET, one JSON answer.
//!
//! The service is plain HTTP on a link-local address, so a TCP stream and a few lines of parsing
//! do; no HTTP client dependency is pulled in for it.

use std::time::Duration;

use secrecy::{SecretString, zeroize::Zeroizing};
use serde::Deserialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::Error;

const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";
const MAX_RESPONSE: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: u64,
}

/// Fetches an IAM token and its lifetime from the metadata service at `addr`.
pub(crate) async fn fetch_token(addr: &str) -> Result<(SecretString, Duration), Error> {
    let addr = addr.trim();
    let authority = addr.strip_prefix("http://").unwrap_or(addr).trim_end_matches('/');
    let host_port = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect(&host_port).await.map_err(|e| {
            Error::credentials(format!("cannot reach the metadata service at {host_port}")).with_source(e)
        })?;
        let request = format!(
            "GET {TOKEN_PATH} HTTP/1.1\r\nHost: {authority}\r\nMetadata-Flavor: Google\r\nAccept: application/json\r\n\
             Connection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| Error::credentials("cannot send to the metadata service").with_source(e))?;
        // Sized for the largest answer accepted, so that it never moves (leaving a copy of the
        // token behind); cleared when dropped.
        let mut chunk = Zeroizing::new([0u8; 4096]);
        let mut buf = Zeroizing::new(Vec::with_capacity(MAX_RESPONSE + chunk.len()));
        loop {
            let n = stream
                .read(&mut chunk[..])
                .await
                .map_err(|e| Error::credentials("cannot read from the metadata service").with_source(e))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > MAX_RESPONSE {
                return Err(Error::credentials("the metadata service answer is too large"));
            }
            if let Some(body) = complete_body(&buf, false)? {
                return Ok(body);
            }
        }
        complete_body(&buf, true)?.ok_or_else(|| Error::credentials("the metadata service closed the connection early"))
    };
    let body = tokio::time::timeout(TIMEOUT, fetch)
        .await
        .map_err(|_| Error::credentials("the metadata service did not answer in time"))??;
    let mut parsed: TokenResponse = serde_json::from_slice(&body)
        .map_err(|_| Error::credentials("the metadata service answer is not the expected token JSON"))?;
    if parsed.access_token.is_empty() {
        return Err(Error::credentials("the metadata service returned an empty token"));
    }
    Ok((
        crate::secret::take(&mut parsed.access_token),
        Duration::from_secs(parsed.expires_in),
    ))
}

/// The body once the whole response is in `buf`, or `None` when more bytes are needed. The body
/// holds the token: it is cleared when dropped.
fn complete_body(buf: &[u8], eof: bool) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| Error::credentials("the metadata service answer is not HTTP"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if !status_line.starts_with("HTTP/1.") {
        return Err(Error::credentials("the metadata service answer is not HTTP"));
    }
    if status != "200" {
        return Err(Error::credentials(format!(
            "the metadata service answered HTTP {status}"
        )));
    }
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    let body = &buf[head_end + 4..];
    if chunked {
        return decode_chunked(body);
    }
    match content_length {
        Some(len) if body.len() >= len => Ok(Some(Zeroizing::new(body[..len].to_vec()))),
        Some(_) => Ok(None),
        // Without a length the body ends when the connection closes; the caller decides.
        None => Ok(eof.then(|| Zeroizing::new(body.to_vec()))),
    }
}

fn decode_chunked(mut body: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    // The decoded body is shorter than the chunked one: sized once, it never moves.
    let mut out = Zeroizing::new(Vec::with_capacity(body.len()));
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&body[..line_end]).unwrap_or_default();
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| Error::credentials("the metadata service sent a bad chunk"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        let Some(needed) = size.checked_add(2) else {
            return Err(Error::credentials("the metadata service sent a bad chunk"));
        };
        if body.len() < needed {
            return Ok(None);
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_and_chunked_bodies_are_read() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(
            complete_body(plain, false).ok().flatten().map(|b| b.to_vec()),
            Some(b"{}".to_vec())
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
        assert_eq!(
            complete_body(chunked, false).ok().flatten().map(|b| b.to_vec()),
            Some(b"{}".to_vec())
        );
        let partial = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}";
        assert!(matches!(complete_body(partial, false), Ok(None)));
        assert!(complete_body(b"HTTP/1.1 404 Not Found\r\n\r\n", true).is_err());
    }
}
