//! `fjord schemas`: register, list, show, check, delete schemas and set
//! compatibility levels on any Confluent-compatible schema registry (Fjord's
//! or Confluent's), over its REST API.
//!
//! Data goes to stdout (ids, subject names, schemas, levels, compatibility
//! messages); confirmations to stderr. `check` exits with 1 when the schema
//! is incompatible, so scripts can gate on it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// Where the registry is.
#[derive(clap::Args, Debug, Clone)]
pub struct RegistryArgs {
    /// The schema registry's base URL
    #[arg(
        long,
        env = "FJORD_SCHEMA_REGISTRY_URL",
        value_name = "URL",
        default_value = "http://127.0.0.1:8081",
        global = true
    )]
    pub registry_url: String,
}

/// `fjord schemas ...`
#[derive(clap::Args, Debug)]
pub struct SchemasArgs {
    /// The registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: SchemasCommand,
}

/// The `fjord schemas` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum SchemasCommand {
    /// Register the schema in FILE under SUBJECT; prints its id
    Register {
        /// The subject, e.g. `sales-value`
        subject: String,
        /// The schema file (`.avsc`, or a JSON Schema with --type JSON)
        file: PathBuf,
        /// The schema type
        #[arg(long = "type", default_value = "AVRO", value_parser = ["AVRO", "JSON", "PROTOBUF"])]
        schema_type: String,
    },
    /// List the subjects, one per line
    List {
        /// Include soft-deleted subjects
        #[arg(long)]
        deleted: bool,
    },
    /// Print a subject's schema (latest, or VERSION)
    Get {
        /// The subject
        subject: String,
        /// A version number or `latest`
        #[arg(
            id = "schema_version",
            value_name = "VERSION",
            default_value = "latest"
        )]
        version: String,
    },
    /// Check whether the schema in FILE could be registered under SUBJECT; exits 1 if not
    Check {
        /// The subject
        subject: String,
        /// The schema file
        file: PathBuf,
        /// The schema type
        #[arg(long = "type", default_value = "AVRO", value_parser = ["AVRO", "JSON", "PROTOBUF"])]
        schema_type: String,
    },
    /// Delete a subject (soft; --permanent after a soft delete), or only its VERSION
    Delete {
        /// The subject
        subject: String,
        /// Delete only this version (a number or `latest`)
        #[arg(id = "schema_version", value_name = "VERSION")]
        version: Option<String>,
        /// Delete permanently (the subject or version must be soft-deleted first)
        #[arg(long)]
        permanent: bool,
    },
    /// Print the compatibility level (global, or SUBJECT's), or set it with --level
    Config {
        /// The subject; none for the global level
        subject: Option<String>,
        /// The level to set
        #[arg(long, value_parser = fjord_registry::Level::NAMES, ignore_case = true)]
        level: Option<String>,
    },
}

struct Registry {
    base: String,
    http: reqwest::Client,
}

impl Registry {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/vnd.schemaregistry.v1+json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the schema registry at {}", self.base))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .context("reading the registry's answer")?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            match (value["error_code"].as_u64(), value["message"].as_str()) {
                (Some(code), Some(message)) => bail!("{message} (error {code})"),
                _ => bail!("the registry answered {status}: {value}"),
            }
        }
        Ok(value)
    }
}

fn encode(subject: &str) -> String {
    let mut out = String::new();
    for b in subject.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn read_schema(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("reading schema file {}", file.display()))
}

/// Runs one `fjord schemas` subcommand.
///
/// # Errors
/// The registry is unreachable or answers with an error (its message and code).
pub async fn run(args: SchemasArgs) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    let registry = Registry {
        base: args.registry.registry_url,
        http: reqwest::Client::new(),
    };
    match args.command {
        SchemasCommand::Register {
            subject,
            file,
            schema_type,
        } => {
            let body = json!({"schema": read_schema(&file)?, "schemaType": schema_type});
            let answer = registry
                .call(
                    Method::POST,
                    &format!("/subjects/{}/versions", encode(&subject)),
                    Some(body),
                )
                .await?;
            println!("{}", answer["id"]);
            match answer["version"].as_i64() {
                Some(v) => eprintln!("registered under {subject} as version {v}"),
                None => eprintln!("registered under {subject}"),
            }
        }
        SchemasCommand::List { deleted } => {
            let answer = registry
                .call(Method::GET, &format!("/subjects?deleted={deleted}"), None)
                .await?;
            for subject in answer.as_array().into_iter().flatten() {
                println!("{}", subject.as_str().unwrap_or_default());
            }
        }
        SchemasCommand::Get { subject, version } => {
            let answer = registry
                .call(
                    Method::GET,
                    &format!(
                        "/subjects/{}/versions/{}",
                        encode(&subject),
                        encode(&version)
                    ),
                    None,
                )
                .await?;
            let text = answer["schema"].as_str().unwrap_or_default();
            match serde_json::from_str::<Value>(text) {
                Ok(schema) => println!("{}", serde_json::to_string_pretty(&schema)?),
                Err(_) => println!("{text}"),
            }
            eprintln!(
                "{subject} version {} (id {})",
                answer["version"], answer["id"]
            );
        }
        SchemasCommand::Check {
            subject,
            file,
            schema_type,
        } => {
            let body = json!({"schema": read_schema(&file)?, "schemaType": schema_type});
            let path = format!(
                "/compatibility/subjects/{}/versions/latest?verbose=true",
                encode(&subject)
            );
            let answer = registry.call(Method::POST, &path, Some(body)).await?;
            if answer["is_compatible"].as_bool() == Some(true) {
                println!("compatible");
            } else {
                println!("incompatible");
                for message in answer["messages"].as_array().into_iter().flatten() {
                    println!("  {}", message.as_str().unwrap_or_default());
                }
                return Ok(ExitCode::FAILURE);
            }
        }
        SchemasCommand::Delete {
            subject,
            version,
            permanent,
        } => {
            let path = match &version {
                Some(v) => format!(
                    "/subjects/{}/versions/{}?permanent={permanent}",
                    encode(&subject),
                    encode(v)
                ),
                None => format!("/subjects/{}?permanent={permanent}", encode(&subject)),
            };
            let answer = registry.call(Method::DELETE, &path, None).await?;
            let versions: Vec<String> = match &answer {
                Value::Array(items) => items.iter().map(Value::to_string).collect(),
                other => vec![other.to_string()],
            };
            println!("{}", versions.join("\n"));
            let how = if permanent { "permanently" } else { "soft" };
            eprintln!(
                "deleted ({how}) {subject} version(s) {}",
                versions.join(", ")
            );
        }
        SchemasCommand::Config { subject, level } => {
            let path = match &subject {
                Some(s) => format!("/config/{}", encode(s)),
                None => "/config".to_owned(),
            };
            match level {
                Some(level) => {
                    let body = json!({"compatibility": level.to_ascii_uppercase()});
                    let answer = registry.call(Method::PUT, &path, Some(body)).await?;
                    println!("{}", answer["compatibility"].as_str().unwrap_or_default());
                }
                None => {
                    let path = if subject.is_some() {
                        format!("{path}?defaultToGlobal=true")
                    } else {
                        path
                    };
                    let answer = registry.call(Method::GET, &path, None).await?;
                    println!(
                        "{}",
                        answer["compatibilityLevel"].as_str().unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
