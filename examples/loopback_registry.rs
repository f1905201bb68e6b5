//! A loopback PyPI JSON API + OSV API server for benchmarks and demos: it inventories a
//! site-packages tree, serves a release document for every distribution in it (plus a newer
//! release, so `outdated` has something to say) and an OSV advisory for every Nth one, with a
//! fixed latency per request. Prints its base URL on stdout, then serves until killed.
//!
//! `cargo run --release --example loopback_registry -- SITE_PACKAGES [--latency-ms 50] [--vuln-every 10]`

#[path = "../tests/it/support/registry.rs"]
mod registry;
#[path = "../tests/it/support/wire.rs"]
mod wire;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use depdash::inventory::{self, InventorySource};
use depdash::telemetry::tracker::Tracker;

use registry::{Faults, RegistryServer};

struct Args {
    site_packages: PathBuf,
    latency: Duration,
    vuln_every: usize,
    /// gzip-encode answers when asked, as PyPI's CDN does.
    gzip: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut site_packages = None;
    let mut latency = Duration::from_millis(50);
    let mut vuln_every = 10;
    let mut gzip = false;
    while let Some(arg) = args.next() {
        if arg == "--gzip" {
            gzip = true;
            continue;
        }
        let mut value = |flag: &str| {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value"))?
                .parse::<u64>()
                .map_err(|e| format!("{flag}: {e}"))
        };
        match arg.as_str() {
            "--latency-ms" => latency = Duration::from_millis(value("--latency-ms")?),
            "--vuln-every" => vuln_every = value("--vuln-every")?.max(1) as usize,
            _ if site_packages.is_none() => site_packages = Some(PathBuf::from(arg)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok(Args {
        site_packages: site_packages.ok_or(
            "usage: loopback_registry SITE_PACKAGES [--latency-ms N] [--vuln-every N] [--gzip]",
        )?,
        latency,
        vuln_every,
        gzip,
    })
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let inventory = match inventory::load(
        &InventorySource::Path(args.site_packages.clone()),
        &Tracker::new(),
    ) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let packages: Vec<(String, String)> = inventory
        .distributions
        .iter()
        .map(|d| (d.name.clone(), d.version.clone()))
        .collect();
    let dataset = registry::dataset_for(&packages, args.vuln_every);
    let server = RegistryServer::start(dataset).await;
    server.set_faults(Faults {
        latency: args.latency,
        gzip: args.gzip,
        ..Faults::default()
    });
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "loopback registry: {} packages, latency {:?}, serving on {}",
        inventory.distributions.len(),
        args.latency,
        server.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    let stats = server.stats();
    eprintln!(
        "requests served: {}; body bytes sent: {} ({:?})",
        stats.total,
        stats.total_bytes_sent(),
        stats.bytes_sent
    );
}
