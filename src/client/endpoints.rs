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
    Lockbox,
    LockboxPayload,
    /// AI Studio's text models (`TokenizerService`, `TextGenerationService`).
    AiFoundationModels,
}

impl ServiceId {
    /// How many there are: [`index`](Self::index) is below this.
    pub(crate) const COUNT: usize = 7;

    /// The service's slot in per-service arrays (`0..COUNT`).
    pub(crate) const fn index(self) -> usize {
        match self {
            ServiceId::Iam => 0,
            ServiceId::ResourceManager => 1,
            ServiceId::Operation => 2,
            ServiceId::Endpoint => 3,
            ServiceId::Lockbox => 4,
            ServiceId::LockboxPayload => 5,
            ServiceId::AiFoundationModels => 6,
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "iam" => Some(ServiceId::Iam),
            "resource-manager" | "resourcemanager" => Some(ServiceId::ResourceManager),
            "operation" => Some(ServiceId::Operation),
            "endpoint" => Some(ServiceId::Endpoint),
            "lockbox" => Some(ServiceId::Lockbox),
            "lockbox-payload" => Some(ServiceId::LockboxPayload),
            "ai-foundation-models" => Some(ServiceId::AiFoundationModels),
            _ => None,
        }
    }

    /// The endpoint id `ApiEndpointService` knows the service by.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ServiceId::Iam => "iam",
            ServiceId::ResourceManager => "resource-manager",
            ServiceId::Operation => "operation",
            ServiceId::Endpoint => "endpoint",
            ServiceId::Lockbox => "lockbox",
            ServiceId::LockboxPayload => "lockbox-payload",
            ServiceId::AiFoundationModels => "ai-foundation-models",
        }
    }

    /// The address behind the default endpoint, known without asking.
    pub(crate) fn known_target(self) -> Target {
        let host = match self {
            ServiceId::Iam => "iam.api.cloud.yandex.net",
            ServiceId::ResourceManager => "resource-manager.api.cloud.yandex.net",
            ServiceId::Operation => "operation.api.cloud.yandex.net",
            ServiceId::Endpoint => "api.cloud.yandex.net",
            ServiceId::Lockbox => "lockbox.api.cloud.yandex.net",
            ServiceId::LockboxPayload => "payload.lockbox.api.cloud.yandex.net",
            ServiceId::AiFoundationModels => "llm.api.cloud.yandex.net",
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

    /// Where discovery says `service` lives, as seen from the configured endpoint `base`: a bare
    /// `host:port` takes `base`'s transport security; an explicit `http://` while `base` uses TLS
    /// is refused (discovery never lowers security). The host must be one `base` stands for (see
    /// [`is_trusted_from`](Self::is_trusted_from)), since every call to it carries credentials.
    pub(crate) fn from_discovered(
        service: ServiceId,
        address: &str,
        base: &Target,
        named: &[&Target],
    ) -> Result<Self, Error> {
        let bare = address.trim();
        let target = if bare.contains("://") {
            Target::parse(bare)?
        } else {
            let scheme = if base.tls { "https://" } else { "http://" };
            Target::parse(&format!("{scheme}{bare}"))?
        };
        if base.tls && !target.tls {
            return Err(Error::config(format!(
                "discovery points the {} service at {bare:?}, a plaintext address, while the endpoint {} uses TLS; \
                 refusing to lower transport security",
                service.name(),
                base.uri()
            )));
        }
        if !target.is_trusted_from(base, named) {
            return Err(Error::config(format!(
                "discovery points the {name} service at {bare:?}, a host the endpoint {} does not stand for; \
                 credentials go there only if you name it (ClientBuilder::with_service_endpoint(\"{name}\", {bare:?}))",
                base.uri(),
                name = service.name(),
            )));
        }
        Ok(target)
    }

    /// Whether credentials meant for `base` may go to this host: it is `base`'s host or a name
    /// under it (`iam.api.cloud.yandex.net` for `api.cloud.yandex.net`), a loopback host when
    /// `base` is one too, or a host the caller named for a service.
    fn is_trusted_from(&self, base: &Target, named: &[&Target]) -> bool {
        let under_base = !base.is_ip_literal()
            && self
                .host
                .strip_suffix(base.host.as_str())
                .is_some_and(|label| label.ends_with('.') && label.len() > 1);
        self.host == base.host
            || under_base
            || (base.is_loopback() && self.is_loopback())
            || named.iter().any(|t| t.host == self.host)
    }

    fn is_ip_literal(&self) -> bool {
        self.host.starts_with('[') || self.host.parse::<IpAddr>().is_ok()
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
            ServiceId::Lockbox => &["lockbox"],
            ServiceId::LockboxPayload => &["lockbox-payload"],
            ServiceId::AiFoundationModels => &["ai-foundation-models"],
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
            ServiceId::Lockbox,
            ServiceId::LockboxPayload,
            ServiceId::AiFoundationModels,
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
        let plain = Target::parse("http://127.0.0.1:4567").ok();
        let d = plain.and_then(|base| Target::from_discovered(ServiceId::Iam, "127.0.0.1:5000", &base, &[]).ok());
        assert_eq!(d.map(|t| t.uri()).as_deref(), Some("http://127.0.0.1:5000"));
    }

    fn discovered(address: &str, base: &str, named: &[&str]) -> Result<String, String> {
        let base = Target::parse(base).map_err(|e| e.to_string())?;
        let named: Vec<Target> = named.iter().filter_map(|n| Target::parse(n).ok()).collect();
        let named: Vec<&Target> = named.iter().collect();
        Target::from_discovered(ServiceId::Iam, address, &base, &named)
            .map(|t| t.uri())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn discovered_addresses_take_the_endpoint_security_and_never_lower_it() {
        let tls = "https://api.example.com:443";
        assert_eq!(
            discovered("iam.api.example.com:443", tls, &[]).as_deref(),
            Ok("https://iam.api.example.com:443")
        );
        assert_eq!(
            discovered("https://iam.api.example.com:8443", tls, &[]).as_deref(),
            Ok("https://iam.api.example.com:8443")
        );
        let downgrade = discovered("http://iam.api.example.com:80", tls, &[]).unwrap_err();
        assert!(
            downgrade.contains("iam") && downgrade.contains("plaintext"),
            "{downgrade}"
        );
        let local = discovered("http://127.0.0.1:8080", "https://localhost:8443", &[]).unwrap_err();
        assert!(local.contains("http://127.0.0.1:8080"), "{local}");
        assert_eq!(
            discovered("localhost:9000", "http://127.0.0.1:8080", &[]).as_deref(),
            Ok("http://localhost:9000")
        );
    }

    #[test]
    fn credentials_go_only_to_hosts_the_endpoint_stands_for() {
        let yandex = "api.cloud.yandex.net:443";
        for trusted in [
            "api.cloud.yandex.net:443",
            "iam.api.cloud.yandex.net:443",
            "resource-manager.api.cloud.yandex.net:443",
            "a.b.api.cloud.yandex.net:443",
        ] {
            assert!(discovered(trusted, yandex, &[]).is_ok(), "{trusted}");
        }
        for foreign in [
            "cloud.yandex.net:443",
            "xapi.cloud.yandex.net:443",
            "api.cloud.yandex.net.evil.com:443",
            "iam.example.com:443",
            "127.0.0.1:443",
            "localhost:443",
        ] {
            let err = discovered(foreign, yandex, &[]).unwrap_err();
            assert!(err.contains("with_service_endpoint"), "{foreign}: {err}");
        }
        assert!(discovered("iam.example.com:443", yandex, &["iam.example.com:443"]).is_ok());
        assert!(discovered("[::1]:9000", "https://localhost:8443", &[]).is_ok());
        assert!(discovered("10.0.0.1:9000", "https://127.0.0.1:8443", &[]).is_err());
        assert!(discovered("x.10.0.0.1:9000", "https://10.0.0.1:8443", &[]).is_err());
    }
}
