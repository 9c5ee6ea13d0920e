//! Endpoint strings (`--endpoint`, `YC_ENDPOINT`, the yc profile's `endpoint`, per-service
//! overrides): building a client from any string either succeeds or fails with a config error,
//! never a panic; plaintext to a non-loopback host is always refused.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (endpoint, service) = match text.split_once('\u{1}') {
        Some((a, b)) => (a, Some(b)),
        None => (&*text, None),
    };
    let mut builder = yc_iam::Client::builder().with_endpoint(endpoint);
    if let Some(service) = service {
        builder = builder.with_service_endpoint("iam", service);
    }
    match builder.build() {
        Ok(_) => {
            let e = endpoint.trim();
            if let Some(rest) = e.strip_prefix("http://") {
                let rest = rest.trim_end_matches('/');
                let host = match rest.strip_prefix('[') {
                    Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
                    None => rest.rsplit_once(':').map_or(rest, |(h, _)| h).to_ascii_lowercase(),
                };
                let host = host.as_str();
                assert!(
                    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
                    "plaintext accepted to a non-loopback host: {e:?}"
                );
            }
        }
        Err(err) => assert_eq!(err.kind(), yc_iam::ErrorKind::Config, "{err}"),
    }
});
