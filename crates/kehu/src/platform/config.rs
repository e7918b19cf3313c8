//! Configuration: defaults, then an optional TOML file, then `KEHU_*`
//! environment variables, then command-line flags (each overriding the last).
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Address the server listens on.
    pub bind: String,
    /// Where the SQLite database lives.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; empty for SQLite in the data directory.
    #[serde(default)]
    pub database_url: Option<String>,
    /// A policy file applied at start when it differs from the one in force.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// Mark cookies `Secure` (set when Kehu is served over HTTPS by a proxy).
    #[serde(default)]
    pub secure_cookies: bool,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed, so
    /// login limits and session records see the real client address.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// `text` or `json` request logs.
    #[serde(default = "default_log_format")]
    pub log_format: String,
    /// The address people reach Kehu at (`https://kehu.example.com`), used for every printed
    /// link such as a label's QR code, so a label stays valid whichever address printed it.
    #[serde(default)]
    pub public_url: Option<String>,
}

fn default_log_format() -> String {
    "text".into()
}

/// Values given on the command line; `None` leaves the lower layers in force.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub policy: Option<PathBuf>,
    pub public_url: Option<String>,
}

/// A public base URL as configured: `http(s)://host[:port][/path]`, without a trailing slash.
pub fn check_public_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or_default();
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || url.contains(char::is_whitespace) || url.contains(['?', '#']) {
        anyhow::bail!(
            "public_url (KEHU_PUBLIC_URL, --public-url) must be an http:// or https:// address \
             such as https://kehu.example.com, not {url:?}"
        );
    }
    Ok(url.to_owned())
}

impl Config {
    pub fn load(file: Option<&Path>, o: &Overrides) -> anyhow::Result<Config> {
        let mut b = config::Config::builder()
            .set_default("bind", "127.0.0.1:8080")?
            .set_default("data_dir", "./kehu-data")?
            .set_default("log_format", "text")?
            .set_default("secure_cookies", false)?;
        if let Some(f) = file {
            if !f.exists() {
                anyhow::bail!("config file {} does not exist", f.display());
            }
            b = b.add_source(config::File::from(f).format(config::FileFormat::Toml));
        }
        b = b.add_source(
            // KEHU_SECURE_COOKIES etc.; nested keys (none yet) would use `__`.
            config::Environment::with_prefix("KEHU")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("trusted_proxies"),
        );
        if let Some(v) = &o.bind {
            b = b.set_override("bind", v.as_str())?;
        }
        if let Some(v) = &o.data_dir {
            b = b.set_override("data_dir", v.to_string_lossy().as_ref())?;
        }
        if let Some(v) = &o.database_url {
            b = b.set_override("database_url", v.as_str())?;
        }
        if let Some(v) = &o.policy {
            b = b.set_override("policy", v.to_string_lossy().as_ref())?;
        }
        if let Some(v) = &o.public_url {
            b = b.set_override("public_url", v.as_str())?;
        }
        let mut config: Config = b.build()?.try_deserialize()?;
        config.public_url = match config.public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => Some(check_public_url(u)?),
        };
        Ok(config)
    }

    /// The database to use: the configured URL, else SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match self.database_url.as_deref().map(str::trim) {
            Some(u) if !u.is_empty() => u.to_owned(),
            _ => crate::platform::db::sqlite_url(&self.data_dir),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }

    /// Defaults only, for tests and tools.
    pub fn for_data_dir(data_dir: &Path) -> Config {
        Config {
            bind: "127.0.0.1:0".into(),
            data_dir: data_dir.to_path_buf(),
            database_url: None,
            policy: None,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            log_format: "text".into(),
            public_url: None,
        }
    }
}
