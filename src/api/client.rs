//! The Nomad HTTP API client: one client for real Nomad and for the built-in cluster.
//!
//! Configured the way Nomad's own CLI is (`NOMAD_ADDR`, `NOMAD_TOKEN`, `NOMAD_CACERT`,
//! `NOMAD_CAPATH`, `NOMAD_CLIENT_CERT`, `NOMAD_CLIENT_KEY`, `NOMAD_TLS_SERVER_NAME`,
//! `NOMAD_SKIP_VERIFY`, `NOMAD_NAMESPACE`, `NOMAD_REGION`). Reads retry transient failures (connection refused or reset, 5xx, 429)
//! with capped exponential backoff; writes retry only when the request never reached the
//! server. A 4xx is final and reported with the server's text.

use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::errors::ApiError;
use super::tls::{ClientTlsFiles, NameCheck};

/// Where and how to reach a Nomad API.
///
/// Every field is optional so that one value can carry what one source gives (a stack's
/// `backend` block, the `NOMAD_*` environment, a flag) and sources can be layered with
/// [`ClientConfig::or`]. With no address the client uses [`DEFAULT_ADDRESS`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// Base address, e.g. `http://127.0.0.1:4646` (`NOMAD_ADDR`).
    pub address: Option<String>,
    /// ACL token sent as `X-Nomad-Token` (`NOMAD_TOKEN`).
    pub token: Option<String>,
    /// Namespace added to every request as `?namespace=` (`NOMAD_NAMESPACE`).
    pub namespace: Option<String>,
    /// Region added as `?region=` (`NOMAD_REGION`).
    pub region: Option<String>,
    /// PEM file of the CA that signed the servers' certificates (`NOMAD_CACERT`).
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (`NOMAD_CLIENT_CERT`).
    pub client_cert: Option<PathBuf>,
    /// PEM client key for mutual TLS (`NOMAD_CLIENT_KEY`).
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate (`NOMAD_SKIP_VERIFY`); for tests, never for production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_verify: Option<bool>,
    /// A directory of PEM CA certificates (`NOMAD_CAPATH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_path: Option<PathBuf>,
    /// The name the server's certificate must carry when it is not the address's host
    /// (`NOMAD_TLS_SERVER_NAME`), e.g. `server.global.nomad`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
}

/// Go's `strconv.ParseBool` truths, which the Nomad CLI reads `NOMAD_SKIP_VERIFY` with.
fn is_true(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

/// Nomad's default address.
pub const DEFAULT_ADDRESS: &str = "http://127.0.0.1:4646";

impl ClientConfig {
    /// Reads the `NOMAD_*` variables from `env` (pass `|k| std::env::var(k).ok()`); empty
    /// values count as unset, as in Nomad's CLI.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> ClientConfig {
        let non_empty = |k: &str| env(k).filter(|v| !v.is_empty());
        ClientConfig {
            address: non_empty("NOMAD_ADDR"),
            token: non_empty("NOMAD_TOKEN"),
            namespace: non_empty("NOMAD_NAMESPACE"),
            region: non_empty("NOMAD_REGION"),
            ca_cert: non_empty("NOMAD_CACERT").map(PathBuf::from),
            client_cert: non_empty("NOMAD_CLIENT_CERT").map(PathBuf::from),
            client_key: non_empty("NOMAD_CLIENT_KEY").map(PathBuf::from),
            skip_verify: non_empty("NOMAD_SKIP_VERIFY").map(|v| is_true(&v)),
            ca_path: non_empty("NOMAD_CAPATH").map(PathBuf::from),
            tls_server_name: non_empty("NOMAD_TLS_SERVER_NAME"),
        }
    }

    /// A config reaching `address` with nothing else set.
    pub fn at(address: impl Into<String>) -> ClientConfig {
        ClientConfig {
            address: Some(address.into()),
            ..ClientConfig::default()
        }
    }

    /// Each field of `self`, or `fallback`'s where `self` leaves it unset.
    pub fn or(self, fallback: ClientConfig) -> ClientConfig {
        ClientConfig {
            address: self.address.or(fallback.address),
            token: self.token.or(fallback.token),
            namespace: self.namespace.or(fallback.namespace),
            region: self.region.or(fallback.region),
            ca_cert: self.ca_cert.or(fallback.ca_cert),
            client_cert: self.client_cert.or(fallback.client_cert),
            client_key: self.client_key.or(fallback.client_key),
            skip_verify: self.skip_verify.or(fallback.skip_verify),
            ca_path: self.ca_path.or(fallback.ca_path),
            tls_server_name: self.tls_server_name.or(fallback.tls_server_name),
        }
    }

    /// The TLS settings as the client's rustls configuration reads them; `None` when nothing
    /// is set (the platform's roots then, as reqwest's default).
    pub fn tls_files(&self) -> Option<ClientTlsFiles> {
        let skip = self.skip_verify == Some(true);
        let any = self.ca_cert.is_some()
            || self.ca_path.is_some()
            || self.client_cert.is_some()
            || self.client_key.is_some()
            || self.tls_server_name.is_some()
            || skip;
        let name = match (&self.tls_server_name, skip) {
            (_, true) => NameCheck::Skip,
            (Some(n), false) => NameCheck::Fixed(n.clone()),
            (None, false) => NameCheck::Url,
        };
        any.then(|| ClientTlsFiles {
            ca_file: self.ca_cert.clone(),
            ca_path: self.ca_path.clone(),
            cert_file: self.client_cert.clone(),
            key_file: self.client_key.clone(),
            name,
        })
    }

    /// The address requests go to: the configured one, else [`DEFAULT_ADDRESS`].
    pub fn address(&self) -> &str {
        self.address.as_deref().unwrap_or(DEFAULT_ADDRESS)
    }
}

/// What a response says about the state it was read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryMeta {
    /// `X-Nomad-Index`: pass it back as `index` to block until something changes.
    pub last_index: u64,
    /// `X-Nomad-KnownLeader`.
    pub known_leader: bool,
}

/// Blocking-query options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// Return only once the state index is greater than this.
    pub index: Option<u64>,
    /// The longest the server may hold the request.
    pub wait: Option<Duration>,
}

/// HTTP method of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// PUT.
    Put,
    /// POST.
    Post,
    /// DELETE.
    Delete,
}

/// A connection to one Nomad API address.
#[derive(Clone, Debug)]
pub struct NomadClient {
    http: reqwest::Client,
    config: ClientConfig,
    retries: u32,
}

/// Installs the ring crypto provider for rustls once per process.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl NomadClient {
    /// Builds a client; reads the TLS files named in `config`.
    pub fn new(config: ClientConfig) -> Result<NomadClient, ApiError> {
        install_crypto_provider();
        // Idle connections are dropped before an agent's 10 s idle timeout closes them.
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(5))
            .tls_backend_rustls();
        builder = match config.tls_files() {
            Some(files) => {
                let tls = super::tls::client_config(&files).map_err(ApiError::Config)?;
                builder.use_preconfigured_tls(tls)
            }
            None => builder,
        };
        let http = builder
            .build()
            .map_err(|e| ApiError::Config(format!("building the HTTP client: {e}")))?;
        Ok(NomadClient {
            http,
            config,
            retries: 5,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sets how many times a transient failure is retried (default 5).
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    fn url(&self, path: &str, query: &[(&str, String)], opts: QueryOptions) -> String {
        let mut url = format!("{}{}", self.config.address().trim_end_matches('/'), path);
        let mut params: Vec<(String, String)> =
            query.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        if let Some(ns) = &self.config.namespace
            && !query.iter().any(|(k, _)| *k == "namespace")
        {
            params.push(("namespace".into(), ns.clone()));
        }
        if let Some(region) = &self.config.region {
            params.push(("region".into(), region.clone()));
        }
        if let Some(index) = opts.index {
            params.push(("index".into(), index.to_string()));
        }
        if let Some(wait) = opts.wait {
            params.push(("wait".into(), format!("{}ms", wait.as_millis())));
        }
        for (i, (k, v)) in params.iter().enumerate() {
            url.push(if i == 0 && !path.contains('?') { '?' } else { '&' });
            url.push_str(&encode(k));
            url.push('=');
            url.push_str(&encode(v));
        }
        url
    }

    /// Sends one request and decodes the JSON answer.
    pub async fn request<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        opts: QueryOptions,
    ) -> Result<(T, QueryMeta), ApiError> {
        let (bytes, meta) = self.request_raw(method, path, query, body, opts).await?;
        let value = serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
            path: path.to_string(),
            message: e.to_string(),
            body: String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned(),
        })?;
        Ok((value, meta))
    }

    /// Sends one request; returns the body bytes.
    pub async fn request_raw<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        opts: QueryOptions,
    ) -> Result<(Vec<u8>, QueryMeta), ApiError> {
        let url = self.url(path, query, opts);
        let body = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|e| ApiError::Encode(e.to_string()))?),
            None => None,
        };
        let timeout = opts.wait.unwrap_or(Duration::ZERO) + Duration::from_secs(30);
        let mut attempt = 0;
        loop {
            let mut req = match method {
                Method::Get => self.http.get(&url),
                Method::Put => self.http.put(&url),
                Method::Post => self.http.post(&url),
                Method::Delete => self.http.delete(&url),
            }
            .timeout(timeout);
            if let Some(token) = &self.config.token {
                req = req.header("X-Nomad-Token", token);
            }
            if let Some(b) = &body {
                req = req.header("Content-Type", "application/json").body(b.clone());
            }
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let meta = meta_of(resp.headers());
                    let bytes = resp.bytes().await.map(|b| b.to_vec());
                    match bytes {
                        Ok(bytes) if status.is_success() => return Ok((bytes, meta)),
                        Ok(bytes) => {
                            let err = ApiError::Status {
                                method: format!("{method:?}").to_uppercase(),
                                path: path.to_string(),
                                code: status.as_u16(),
                                message: String::from_utf8_lossy(&bytes).trim().to_string(),
                                body: bytes,
                            };
                            let transient = status.is_server_error() || status.as_u16() == 429;
                            (err, transient && method == Method::Get)
                        }
                        Err(e) => (ApiError::Transport(e.to_string()), method == Method::Get),
                    }
                }
                Err(e) => {
                    // A write is retried only when it surely never reached the server.
                    let not_sent = e.is_connect();
                    (
                        ApiError::Transport(describe(&e, self.config.address())),
                        method == Method::Get || not_sent,
                    )
                }
            };
            let (err, retry) = outcome;
            if !retry || attempt >= self.retries {
                return Err(err);
            }
            attempt += 1;
            let backoff = Duration::from_millis(50u64 << attempt.min(6)).min(Duration::from_secs(2));
            tokio::time::sleep(backoff).await;
        }
    }

    /// GET and decode.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        opts: QueryOptions,
    ) -> Result<(T, QueryMeta), ApiError> {
        self.request::<(), T>(Method::Get, path, query, None, opts).await
    }

    /// GET that maps 404 to `None`.
    pub async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        opts: QueryOptions,
    ) -> Result<Option<(T, QueryMeta)>, ApiError> {
        match self.get(path, query, opts).await {
            Ok(ok) => Ok(Some(ok)),
            Err(ApiError::Status { code: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A write with a JSON body.
    pub async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: &B,
    ) -> Result<T, ApiError> {
        self.request(method, path, query, Some(body), QueryOptions::default())
            .await
            .map(|(t, _)| t)
    }
}

/// A response body read as it arrives (`follow=true` logs).
#[derive(Debug)]
pub struct ByteStream {
    response: reqwest::Response,
}

impl ByteStream {
    /// The next chunk, or `None` when the server ended the response.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        match self.response.chunk().await {
            Ok(chunk) => Ok(chunk.map(|c| c.to_vec())),
            Err(e) => Err(ApiError::Transport(format!("reading a stream: {e}"))),
        }
    }
}

impl NomadClient {
    /// GET whose body is read as it arrives, with no overall timeout; an error status is read
    /// whole and returned as [`ApiError::Status`].
    pub async fn get_stream(&self, path: &str, query: &[(&str, String)]) -> Result<ByteStream, ApiError> {
        let url = self.url(path, query, QueryOptions::default());
        let mut req = self.http.get(&url);
        if let Some(token) = &self.config.token {
            req = req.header("X-Nomad-Token", token);
        }
        let response = req
            .send()
            .await
            .map_err(|e| ApiError::Transport(describe(&e, self.config.address())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(ByteStream { response });
        }
        let bytes = response.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        Err(ApiError::Status {
            method: "GET".into(),
            path: path.to_string(),
            code: status.as_u16(),
            message: String::from_utf8_lossy(&bytes).trim().to_string(),
            body: bytes,
        })
    }
}

fn meta_of(headers: &reqwest::header::HeaderMap) -> QueryMeta {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    QueryMeta {
        last_index: header("X-Nomad-Index").and_then(|v| v.parse().ok()).unwrap_or(0),
        known_leader: header("X-Nomad-KnownLeader").is_some_and(|v| v == "true"),
    }
}

fn describe(e: &reqwest::Error, address: &str) -> String {
    if e.is_connect() {
        format!("cannot connect to {address}: is the agent running? ({e})")
    } else if e.is_timeout() {
        format!("request to {address} timed out")
    } else {
        format!("request to {address} failed: {e}")
    }
}

/// Percent-encodes a query component.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encodes a path segment (a job ID may hold `/`, as dispatched children do).
pub fn encode_path(s: &str) -> String {
    encode(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nomad_environment() {
        let env = |k: &str| match k {
            "NOMAD_ADDR" => Some("https://nomad.example:4646".to_string()),
            "NOMAD_TOKEN" => Some("secret".to_string()),
            "NOMAD_NAMESPACE" => Some("prod".to_string()),
            "NOMAD_REGION" => Some("".to_string()),
            _ => None,
        };
        let c = ClientConfig::from_env(env);
        assert_eq!(c.address.as_deref(), Some("https://nomad.example:4646"));
        assert_eq!(c.token.as_deref(), Some("secret"));
        assert_eq!(c.namespace.as_deref(), Some("prod"));
        assert_eq!(c.region, None);
        let c = ClientConfig::from_env(|k| (k == "NOMAD_SKIP_VERIFY").then(|| "true".to_owned()));
        assert_eq!(c.skip_verify, Some(true));
        let c = ClientConfig::from_env(|_| None);
        assert_eq!(c.address, None);
        assert_eq!(c.skip_verify, None);
        assert_eq!(c.address(), DEFAULT_ADDRESS);
        assert_eq!(c.tls_files(), None);
    }

    #[test]
    fn tls_variables_choose_the_name_check() {
        let env = |k: &str| match k {
            "NOMAD_CACERT" => Some("ca.pem".to_string()),
            "NOMAD_CAPATH" => Some("cas".to_string()),
            "NOMAD_TLS_SERVER_NAME" => Some("server.global.nomad".to_string()),
            _ => None,
        };
        let files = ClientConfig::from_env(env).tls_files().unwrap();
        assert_eq!(files.ca_path.as_deref(), Some(std::path::Path::new("cas")));
        assert_eq!(files.name, NameCheck::Fixed("server.global.nomad".into()));
        let skip = ClientConfig::from_env(|k| (k == "NOMAD_SKIP_VERIFY").then(|| "1".to_owned()));
        assert_eq!(skip.tls_files().unwrap().name, NameCheck::Skip);
        let url_only = ClientConfig::from_env(|k| (k == "NOMAD_CACERT").then(|| "ca.pem".to_owned()));
        assert_eq!(url_only.tls_files().unwrap().name, NameCheck::Url);
        let missing = NomadClient::new(url_only).unwrap_err().to_string();
        assert!(missing.contains("ca.pem"), "{missing}");
    }

    #[test]
    fn urls_carry_namespace_region_and_blocking_options() {
        let client = NomadClient::new(ClientConfig {
            address: Some("http://127.0.0.1:4646/".into()),
            namespace: Some("prod".into()),
            region: Some("eu".into()),
            ..Default::default()
        })
        .unwrap();
        let url = client.url(
            "/v1/job/web%2Fx",
            &[("purge", "true".into())],
            QueryOptions {
                index: Some(7),
                wait: Some(Duration::from_secs(5)),
            },
        );
        assert_eq!(
            url,
            "http://127.0.0.1:4646/v1/job/web%2Fx?purge=true&namespace=prod&region=eu&index=7&wait=5000ms"
        );
        assert_eq!(encode_path("a/b c"), "a%2Fb%20c");
    }
}
