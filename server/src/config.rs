//! Command-line and environment configuration (`berth --help`).

use clap::Parser;
use std::{net::SocketAddr, path::PathBuf};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "berth",
    version,
    about = "Berth: a live, leak-free Docker dashboard",
    long_about = "Berth: a live, leak-free Docker dashboard.\n\nServes a web UI and a JSON API \
                  over the Docker Engine API. Every flag can also be set through the \
                  environment variable shown beside it."
)]
pub struct Config {
    /// Address and port to serve on. Loopback by default (`site-addr` in the site options,
    /// 127.0.0.1:3000); inside a container, every address on that port (the container's
    /// loopback is reachable from nowhere; sign-in guards it).
    #[arg(long, env = "BERTH_BIND", value_name = "ADDR:PORT")]
    pub bind: Option<SocketAddr>,

    /// Docker engine endpoint when no engines are configured: `unix:///path/to/docker.sock`,
    /// a bare socket path, `tcp://host:port` (plain HTTP: loopback only) or
    /// `ssh://[user@]host[:port]`.
    #[arg(
        long,
        env = "DOCKER_HOST",
        default_value = "unix:///var/run/docker.sock",
        value_parser = crate::docker::endpoint::Endpoint::parse,
        value_name = "URL"
    )]
    pub docker_host: crate::docker::endpoint::Endpoint,

    /// An engine to watch, as `NAME=URL` (URL as for `DOCKER_HOST`); repeat for several
    /// (in the environment, separated by commas). They follow the engines file's; the first
    /// engine is the default (today's paths without `/engines/{engine}`). Without any, one
    /// engine named `local` at `DOCKER_HOST`.
    #[arg(
        long = "engine",
        env = "BERTH_ENGINE",
        value_delimiter = ',',
        value_name = "NAME=URL",
        value_parser = crate::engines::config::parse_engine_flag
    )]
    pub engines: Vec<(crate::docker::EngineName, crate::docker::endpoint::Endpoint)>,

    /// A TOML file of engines (`[[engine]]` with name, url, and tls = {ca, cert, key} for
    /// TLS or identity and known_hosts for ssh); see README.md.
    #[arg(long = "engines", env = "BERTH_ENGINES", value_name = "FILE")]
    pub engines_file: Option<PathBuf>,

    /// Log filter: a level (error, warn, info, debug, trace) or tracing directives such as
    /// `berth=debug,tower_http=debug`.
    #[arg(long, env = "BERTH_LOG", default_value = "info", value_name = "FILTER")]
    pub log: String,

    /// Site options file (Leptos.toml): where the compiled site lives (site-root, pkg dir,
    /// output name). LEPTOS_* variables override its keys. If the file is missing, the
    /// options come from LEPTOS_* variables alone, as under cargo-leptos.
    #[arg(
        long,
        env = "BERTH_SITE_CONFIG",
        default_value = "Leptos.toml",
        value_name = "FILE"
    )]
    pub site_config: PathBuf,

    /// Directory of Berth's database (SQLite, `berth.db`: accounts, image-update history),
    /// created with mode 0700.
    #[arg(
        long,
        env = "BERTH_DATA_DIR",
        default_value = "berth-data",
        global = true,
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Keep accounts in PostgreSQL instead (`postgres://USER:PASSWORD@HOST/DB`), so several
    /// Berth replicas share them.
    #[arg(long, env = "BERTH_DATABASE_URL", global = true, value_name = "URL")]
    pub database_url: Option<String>,

    #[command(flatten)]
    pub settings: crate::http::Settings,

    #[command(subcommand)]
    pub command: Option<crate::cli::Command>,
}

impl Config {
    /// Where to serve: `--bind`, else the site options' address, on every address when
    /// Berth runs in a container (it says so when it starts).
    pub fn serving_address(&self, site: &leptos::config::LeptosOptions) -> SocketAddr {
        match self.bind {
            Some(addr) => addr,
            None if in_container() => {
                SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, site.site_addr.port()))
            }
            None => site.site_addr,
        }
    }

    /// The engines to watch: the engines file's, then `--engine`'s; else `local` at
    /// `DOCKER_HOST`.
    pub fn engines(
        &self,
    ) -> Result<Vec<(crate::docker::EngineName, crate::docker::endpoint::Endpoint)>, String> {
        crate::engines::config::configured(
            self.engines_file.as_deref(),
            &self.engines,
            &self.docker_host,
        )
    }

    /// Where the accounts are kept.
    pub fn store(&self) -> crate::store::Location {
        crate::store::Location::new(self.data_dir.clone(), self.database_url.clone())
    }
}

/// Whether Berth runs in a container: Docker and Podman leave a mark at the root.
pub fn in_container() -> bool {
    ["/.dockerenv", "/run/.containerenv"]
        .iter()
        .any(|mark| std::path::Path::new(mark).exists())
}
