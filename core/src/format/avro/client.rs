//! A caching client of a Confluent-compatible schema registry (Fjord's or
//! Confluent's): the calls the Avro serdes need, each made once per new
//! subject/schema pair or id and then answered from memory, so producing or
//! consuming costs no HTTP call per record.
//!
//! The client is async ([`RegistryClient::register`], ...). The serde
//! trait is synchronous, so [`RegistryClient::blocking`] runs a call on a
//! short-lived helper thread with its own small runtime: that works from any
//! thread, inside a Tokio runtime or not, and costs one thread start per
//! cache miss. Connections are not pooled for the same reason (a pooled
//! connection would belong to a runtime that is gone); with one call per new
//! schema, a new connection per call costs nothing that matters.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use apache_avro::Schema;
use serde_json::{json, Value};

/// A failed registry call: Confluent's `error_code` (0 when the registry
/// was unreachable or answered something else) and the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schema registry at {url}: {message}{}", if *.code == 0 { String::new() } else { format!(" (error {})", .code) })]
pub struct RegistryClientError {
    /// The registry's base URL.
    pub url: String,
    /// Confluent's error code, e.g. 40401; 0 if there was none.
    pub code: u32,
    /// What went wrong.
    pub message: String,
}

/// A schema the registry holds, parsed, with the schemas its references
/// name (needed to encode or decode with it).
#[derive(Debug, Clone)]
pub struct RegisteredSchema {
    /// The global id.
    pub id: i32,
    /// The parsed schema.
    pub schema: Schema,
    /// The referenced schemas and then `schema` itself, for apache-avro's
    /// `*_schemata` functions.
    pub schemata: Vec<Schema>,
}

#[derive(Default)]
struct Cache {
    ids: HashMap<(String, String), i32>,
    by_id: HashMap<i32, Arc<RegisteredSchema>>,
    latest: HashMap<String, Arc<RegisteredSchema>>,
}

struct Inner {
    url: String,
    http: reqwest::Client,
    /// A std mutex: every critical section is a map lookup or insert, never
    /// held across an await.
    cache: Mutex<Cache>,
    /// Serialises cache misses, so concurrent first uses of a schema make
    /// one HTTP call, not one per caller.
    miss: tokio::sync::Mutex<()>,
    calls: AtomicU64,
}

/// A caching schema registry client; cheap to clone (clones share the cache).
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("url", &self.inner.url)
            .field("http_calls", &self.http_calls())
            .finish_non_exhaustive()
    }
}

fn encode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl RegistryClient {
    /// A client of the registry at `url` (`schema.registry.url`, e.g. `http://127.0.0.1:8081`).
    ///
    /// # Errors
    /// The HTTP client cannot be built (no TLS backend is needed for `http://`).
    pub fn new(url: impl Into<String>) -> Result<RegistryClient, RegistryClientError> {
        let url = url.into().trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| RegistryClientError {
                url: url.clone(),
                code: 0,
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                url,
                http,
                cache: Mutex::new(Cache::default()),
                miss: tokio::sync::Mutex::new(()),
                calls: AtomicU64::new(0),
            }),
        })
    }

    /// The registry's base URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// HTTP calls made so far (for tests and benchmarks: one per new schema).
    pub fn http_calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves plain maps behind; keep using them.
        self.inner.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn error(&self, code: u32, message: impl Into<String>) -> RegistryClientError {
        RegistryClientError {
            url: self.inner.url.clone(),
            code,
            message: message.into(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, RegistryClientError> {
        self.inner.calls.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .inner
            .http
            .request(method, format!("{}{path}", self.inner.url));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/vnd.schemaregistry.v1+json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.error(0, format!("unreachable: {e}")))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| self.error(0, format!("reading the answer: {e}")))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        let code = value["error_code"]
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(0);
        let message = value["message"]
            .as_str()
            .map_or_else(|| format!("HTTP {status}: {value}"), str::to_owned);
        Err(self.error(code, message))
    }

    /// Registers `schema` (Avro JSON text) under `subject`, or finds it
    /// registered there already; its id. Cached per (subject, schema).
    ///
    /// # Errors
    /// The registry's answer, e.g. 409 for an incompatible schema.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<i32, RegistryClientError> {
        self.id_for(subject, schema, true).await
    }

    /// The id of `schema` as already registered under `subject`, without
    /// registering it. Cached per (subject, schema).
    ///
    /// # Errors
    /// 40401 / 40403 when it is not registered there.
    pub async fn lookup(&self, subject: &str, schema: &str) -> Result<i32, RegistryClientError> {
        self.id_for(subject, schema, false).await
    }

    async fn id_for(
        &self,
        subject: &str,
        schema: &str,
        register: bool,
    ) -> Result<i32, RegistryClientError> {
        let key = (subject.to_owned(), schema.to_owned());
        if let Some(id) = self.cache().ids.get(&key) {
            return Ok(*id);
        }
        let _miss = self.inner.miss.lock().await;
        if let Some(id) = self.cache().ids.get(&key) {
            return Ok(*id);
        }
        let path = if register {
            format!("/subjects/{}/versions", encode(subject))
        } else {
            format!("/subjects/{}", encode(subject))
        };
        let answer = self
            .call(
                reqwest::Method::POST,
                &path,
                Some(json!({"schema": schema})),
            )
            .await?;
        let id = answer["id"]
            .as_i64()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| self.error(0, format!("no schema id in {answer}")))?;
        self.cache().ids.insert(key, id);
        Ok(id)
    }

    /// The latest version registered under `subject` (for
    /// `use.latest.version`). Cached for the client's lifetime, as
    /// Confluent's serializers do without `latest.cache.ttl.sec`.
    ///
    /// # Errors
    /// 40401 when the subject has no versions.
    pub async fn latest(
        &self,
        subject: &str,
    ) -> Result<Arc<RegisteredSchema>, RegistryClientError> {
        if let Some(found) = self.cache().latest.get(subject) {
            return Ok(Arc::clone(found));
        }
        let _miss = self.inner.miss.lock().await;
        if let Some(found) = self.cache().latest.get(subject) {
            return Ok(Arc::clone(found));
        }
        let path = format!("/subjects/{}/versions/latest", encode(subject));
        let answer = self.call(reqwest::Method::GET, &path, None).await?;
        let id = answer["id"]
            .as_i64()
            .and_then(|id| i32::try_from(id).ok())
            .unwrap_or(0);
        let parsed = Arc::new(self.parse(id, &answer).await?);
        let mut cache = self.cache();
        cache.by_id.entry(id).or_insert_with(|| Arc::clone(&parsed));
        cache.latest.insert(subject.to_owned(), Arc::clone(&parsed));
        Ok(parsed)
    }

    /// The schema with global `id` (what a deserializer needs). Cached.
    ///
    /// # Errors
    /// 40403 when no such schema exists.
    pub async fn schema_by_id(
        &self,
        id: i32,
    ) -> Result<Arc<RegisteredSchema>, RegistryClientError> {
        if let Some(found) = self.cache().by_id.get(&id) {
            return Ok(Arc::clone(found));
        }
        let _miss = self.inner.miss.lock().await;
        if let Some(found) = self.cache().by_id.get(&id) {
            return Ok(Arc::clone(found));
        }
        let answer = self
            .call(reqwest::Method::GET, &format!("/schemas/ids/{id}"), None)
            .await?;
        let parsed = Arc::new(self.parse(id, &answer).await?);
        self.cache().by_id.insert(id, Arc::clone(&parsed));
        Ok(parsed)
    }

    /// Parses a registry answer (`schema`, `schemaType`, `references`),
    /// fetching referenced versions (uncached: references are rare and each
    /// schema is parsed once).
    async fn parse(
        &self,
        id: i32,
        answer: &Value,
    ) -> Result<RegisteredSchema, RegistryClientError> {
        if let Some(kind) = answer["schemaType"].as_str().filter(|t| *t != "AVRO") {
            return Err(self.error(0, format!("schema id {id} is {kind}, not Avro")));
        }
        let text = answer["schema"].as_str().unwrap_or_default().to_owned();
        let mut referenced = Vec::new();
        let mut pending: Vec<Value> = answer["references"].as_array().cloned().unwrap_or_default();
        while let Some(reference) = pending.pop() {
            if referenced.len() > 64 {
                return Err(self.error(0, format!("schema id {id} has more than 64 references")));
            }
            let subject = reference["subject"].as_str().unwrap_or_default();
            let version = reference["version"].as_i64().unwrap_or(-1);
            let path = format!("/subjects/{}/versions/{version}", encode(subject));
            let found = self.call(reqwest::Method::GET, &path, None).await?;
            pending.extend(found["references"].as_array().cloned().unwrap_or_default());
            referenced.push(found["schema"].as_str().unwrap_or_default().to_owned());
        }
        let (schema, mut schemata) = if referenced.is_empty() {
            (Schema::parse_str(&text), Vec::new())
        } else {
            Schema::parse_str_with_list(&text, &referenced)
                .map_or_else(|e| (Err(e), Vec::new()), |(s, l)| (Ok(s), l))
        };
        let schema =
            schema.map_err(|e| self.error(0, format!("schema id {id} does not parse: {e}")))?;
        schemata.push(schema.clone());
        Ok(RegisteredSchema {
            id,
            schema,
            schemata,
        })
    }

    /// Runs a client call to completion from synchronous code, on a helper
    /// thread with its own runtime (see the module docs); safe inside a
    /// Tokio runtime. Blocks the calling thread for the call.
    ///
    /// # Errors
    /// The call's error, or one saying the helper could not run.
    pub fn blocking<T, F>(
        &self,
        call: impl FnOnce(RegistryClient) -> F + Send,
    ) -> Result<T, RegistryClientError>
    where
        T: Send,
        F: Future<Output = Result<T, RegistryClientError>>,
    {
        let client = self.clone();
        std::thread::scope(|scope| {
            let helper = scope.spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        client.error(
                            0,
                            format!("cannot start a runtime for the registry call: {e}"),
                        )
                    })?;
                runtime.block_on(call(client.clone()))
            });
            helper
                .join()
                .unwrap_or_else(|_| Err(self.error(0, "the registry call panicked")))
        })
    }
}
