//! Where each service lives: parsing endpoints, the known addresses of the default endpoint, and
//! the addresses discovered with `ApiEndpointService.List`.

use std::{collections::HashMap, net::IpAddr};

use crate::{
    Client, Error,
    client::Method,
    proto::yandex::cloud::endpoint::{ListApiEndpointsRequest, api_endpoint_service_client::ApiEndpointServiceClient},
};

/// The services the client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ServiceId {
    Iam,
    ResourceManager,
    Operation,
    Endpoint,
}

impl ServiceId {
    /// How many there are: [`index`](Self::index) is below this.
    pub(crate) const COUNT: usize = 4;

    /// The service's slot in per-service arrays (`0..COUNT`).
    pub(crate) const fn index(self) -> usize {
        match self {
            ServiceId::Iam => 0,
            ServiceId::ResourceManager => 1,
            ServiceId::Operation => 2,
            ServiceId::Endpoint => 3,
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "iam" => Some(ServiceId::Iam),
            "resource-manager" | "resourcemanager" => Some(ServiceId::ResourceManager),
            "operation" => Some(ServiceId::Operation),
            "endpoint" => Some(ServiceId::Endpoint),
            _ => None,
        }
    }

    /// The address behind the default endpoint, known without asking.
    pub(crate) fn known_target(self) -> Target {
        let host = match self {
            ServiceId::Iam => "iam.api.cloud.yandex.net",
            ServiceId::ResourceManager => "resource-manager.api.cloud.yandex.net",
            ServiceId::Operation => "operation.api.cloud.yandex.net",
            ServiceId::Endpoint => "api.cloud.yandex.net",
        };
        Target {
            tls: true,
            host: host.to_owned(),
            port: 443,
        }
    }
}

/// A parsed endpoint: transport security, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) tls: bool,
    /// The host as written in a URI (IPv6 in brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Target {
    /// `host:port` (TLS), `https://host[:port]`, `http://host[:port]`.
    pub(crate) fn parse(endpoint: &str) -> Result<Self, Error> {
        let endpoint = endpoint.trim();
        let (tls, rest) = if let Some(rest) = endpoint.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = endpoint.strip_prefix("http://") {
            (false, rest)
        } else if endpoint.contains("://") {
            return Err(Error::config(format!(
                "endpoint {endpoint:?} must use http:// or https://"
            )));
        } else {
            (true, endpoint)
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.contains('/') || rest.contains('@') {
            return Err(Error::config(format!("endpoint {endpoint:?} must be host:port")));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if rest.starts_with('[') {
            match rest.find(']') {
                Some(end) => {
                    let host = &rest[..=end];
                    match &rest[end + 1..] {
                        "" => (host, default_port),
                        p => (host, parse_port(endpoint, p.strip_prefix(':').unwrap_or("x"))?),
                    }
                }
                None => {
                    return Err(Error::config(format!(
                        "endpoint {endpoint:?} has an unclosed IPv6 address"
                    )));
                }
            }
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h, parse_port(endpoint, p)?),
                None => (rest, default_port),
            }
        };
        if host.is_empty() {
            return Err(Error::config(format!("endpoint {endpoint:?} has no host")));
        }
        // A host is a bracketed IPv6 address, or a name / IPv4 address without brackets.
        let well_formed = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(inner) => inner.parse::<std::net::Ipv6Addr>().is_ok(),
            None => host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')),
        };
        if !well_formed {
            return Err(Error::config(format!("endpoint {endpoint:?} has an invalid host")));
        }
        let target = Target {
            tls,
            host: host.to_ascii_lowercase(),
            port,
        };
        // Whatever the transport would refuse is refused here, at build time.
        if target.uri().parse::<http::Uri>().is_err() {
            return Err(Error::config(format!("endpoint {endpoint:?} is not a valid address")));
        }
        Ok(target)
    }

    /// A discovered bare `host:port`, reached with the security of the endpoint it came from.
    pub(crate) fn from_discovered(address: &str, tls: bool) -> Result<Self, Error> {
        let bare = address.trim();
        if bare.contains("://") {
            return Target::parse(bare);
        }
        let scheme = if tls { "https://" } else { "http://" };
        Target::parse(&format!("{scheme}{bare}"))
    }

    pub(crate) fn uri(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}:{}", self.host, self.port)
    }

    fn is_loopback(&self) -> bool {
        let bare = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host);
        bare == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Plaintext is allowed to loopback only, unless the caller opted in.
    pub(crate) fn check_security(&self, allow_insecure: bool) -> Result<(), Error> {
        if self.tls || allow_insecure || self.is_loopback() {
            Ok(())
        } else {
            Err(Error::config(format!(
                "plaintext {} is allowed only to a loopback address (use https, or allow insecure connections \
                 explicitly)",
                self.uri()
            )))
        }
    }
}

fn parse_port(endpoint: &str, port: &str) -> Result<u16, Error> {
    port.parse::<u16>()
        .map_err(|_| Error::config(format!("endpoint {endpoint:?} has an invalid port")))
}

/// The addresses `ApiEndpointService.List` returned, by endpoint id.
#[derive(Debug, Default)]
pub(crate) struct Discovered {
    by_id: HashMap<String, String>,
}

impl Discovered {
    pub(crate) fn address(&self, service: ServiceId) -> Option<&str> {
        let ids: &[&str] = match service {
            ServiceId::Iam => &["iam"],
            ServiceId::ResourceManager => &["resource-manager", "resourcemanager"],
            ServiceId::Operation => &["operation"],
            ServiceId::Endpoint => &[],
        };
        ids.iter().find_map(|id| self.by_id.get(*id)).map(String::as_str)
    }
}

const LIST_ENDPOINTS: Method = Method::read(ServiceId::Endpoint, "cannot discover the API endpoints").without_auth();

impl Client {
    /// Asks the configured endpoint where the services are. Boxed: discovery is itself a call,
    /// and calls resolve endpoints.
    pub(super) fn discover(&self) -> futures_util::future::BoxFuture<'_, Result<Discovered, Error>> {
        Box::pin(async move {
            let reply = self
                .call(
                    &LIST_ENDPOINTS,
                    ListApiEndpointsRequest::default(),
                    |ch, req| async move { ApiEndpointServiceClient::new(ch).list(req).await },
                )
                .await?
                .into_inner();
            let by_id = reply.endpoints.into_iter().map(|ep| (ep.id, ep.address)).collect();
            Ok(Discovered { by_id })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_has_its_own_slot_below_count() {
        let all = [
            ServiceId::Iam,
            ServiceId::ResourceManager,
            ServiceId::Operation,
            ServiceId::Endpoint,
        ];
        let mut slots: Vec<usize> = all.iter().map(|s| s.index()).collect();
        slots.sort_unstable();
        assert_eq!(slots, (0..ServiceId::COUNT).collect::<Vec<_>>());
    }

    #[test]
    fn endpoints_parse() {
        let t = Target::parse("api.cloud.yandex.net:443").ok();
        assert_eq!(t.map(|t| t.uri()).as_deref(), Some("https://api.cloud.yandex.net:443"));
        let t = Target::parse("http://127.0.0.1:4567").ok();
        assert_eq!(t.map(|t| (t.tls, t.port)), Some((false, 4567)));
        let t = Target::parse("https://[::1]:8443").ok();
        assert_eq!(t.map(|t| t.host).as_deref(), Some("[::1]"));
        assert!(Target::parse("ftp://x:1").is_err());
        assert!(Target::parse("http://x:1/path").is_err());
        for bad in [
            "http://localhost]",
            "http://127.0.0.1]",
            "http://[localhost]",
            "http://[::1",
            "http://a b:1",
            "https://[::1]x",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        assert!(Target::parse("http://[::1]:80").is_ok_and(|t| t.is_loopback()));
        let d = Target::from_discovered("127.0.0.1:5000", false).ok();
        assert_eq!(d.map(|t| t.uri()).as_deref(), Some("http://127.0.0.1:5000"));
    }
}
