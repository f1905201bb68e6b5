//! A loopback PyPI JSON API + OSV API server for benchmarks and demos: it inventories a
//! site-packages tree, serves a release document for every distribution in it (plus a newer
//! release, so `outdated` has something to say) and an OSV advisory for every Nth one, with a
//! fixed latency per request. Prints its base URL on stdout, then serves until killed; on
//! SIGUSR1 it prints what it served since the last report to stderr (requests, connections,
//! protocols, bytes) and starts counting again; on Ctrl-C (SIGINT) it prints that and stops.
//!
//! ```text
//! cargo run --release --example loopback_registry -- SITE_PACKAGES [--latency-ms 50]
//!     [--vuln-every 10] [--gzip] [--bandwidth-mbit 100] [--tls-dir DIR [--http1-only]]
//! ```
//!
//! `--tls-dir DIR`: serve HTTPS with a CA generated now, written to `DIR/ca.pem` (pass it to
//! depdash as `--cert`); ALPN offers h2 and http/1.1, or http/1.1 only with `--http1-only`.
//! `--bandwidth-mbit N`: every byte sent (all connections together) through one N Mbit/s link.
//!
//! With `--core-metadata`, SITE_PACKAGES is instead a directory of `<wheel>.metadata` files (the
//! `METADATA` of real wheels): each release's document is built from it as Warehouse builds it
//! (`license`, `license_expression`, classifiers), and the Simple pages offer the file itself as
//! the wheel's core metadata (PEP 658/714), and the wheel itself (with range support) when it
//! lies beside the file as `<wheel>`. Add `--simple-only` / `--html-only` to take the JSON
//! API away.

#[path = "../tests/it/support/registry.rs"]
mod registry;
#[path = "../tests/it/support/wire.rs"]
mod wire;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use depdash::inventory::{self, InventorySource};
use depdash::telemetry::tracker::Tracker;

use registry::{Faults, RegistryServer, Wire};
use wire::{Alpn, Bandwidth, TestCa};

struct Args {
    site_packages: PathBuf,
    latency: Duration,
    vuln_every: usize,
    /// gzip-encode answers when asked, as PyPI's CDN does.
    gzip: bool,
    /// The path is a directory of core metadata files.
    core_metadata: bool,
    simple_only: bool,
    html_only: bool,
    bandwidth_mbit: Option<u64>,
    tls_dir: Option<PathBuf>,
    http1_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut site_packages = None;
    let mut latency = Duration::from_millis(50);
    let mut vuln_every = 10;
    let (mut gzip, mut core_metadata, mut simple_only, mut html_only, mut http1_only) =
        (false, false, false, false, false);
    let (mut bandwidth_mbit, mut tls_dir) = (None, None);
    while let Some(arg) = args.next() {
        let flag = match arg.as_str() {
            "--gzip" => Some(&mut gzip),
            "--core-metadata" => Some(&mut core_metadata),
            "--simple-only" => Some(&mut simple_only),
            "--html-only" => Some(&mut html_only),
            "--http1-only" => Some(&mut http1_only),
            _ => None,
        };
        if let Some(flag) = flag {
            *flag = true;
            continue;
        }
        if arg == "--tls-dir" {
            tls_dir = Some(PathBuf::from(args.next().ok_or("--tls-dir needs a value")?));
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
            "--bandwidth-mbit" => bandwidth_mbit = Some(value("--bandwidth-mbit")?.max(1)),
            _ if site_packages.is_none() => site_packages = Some(PathBuf::from(arg)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok(Args {
        site_packages: site_packages.ok_or(
            "usage: loopback_registry SITE_PACKAGES [--latency-ms N] [--vuln-every N] [--gzip] \
             [--core-metadata [--simple-only] [--html-only]] [--bandwidth-mbit N] \
             [--tls-dir DIR [--http1-only]]",
        )?,
        latency,
        vuln_every,
        gzip,
        core_metadata,
        simple_only,
        html_only,
        bandwidth_mbit,
        tls_dir,
        http1_only,
    })
}

/// A dataset from a directory of real `<wheel>.metadata` files (see the module docs).
fn core_metadata_dataset(dir: &std::path::Path) -> Result<(registry::Dataset, usize), String> {
    let mut dataset = registry::Dataset::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut count = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "metadata") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let meta = depdash::inventory::core_metadata::parse(&bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let (Some(name), Some(version)) = (meta.name, meta.version) else {
            return Err(format!("{}: no Name or Version", path.display()));
        };
        // Warehouse: `license` is the License field, `license_expression` the PEP 639 field.
        let info = serde_json::json!({
            "license": meta.license,
            "license_expression": meta.license_expression,
            "classifiers": meta.license_classifiers,
        });
        dataset
            .package(&name)
            .release(&version, "2024-03-01T12:00:00Z")
            .add();
        dataset
            .release_info(&name, &version, info)
            .core_metadata(&name, &version, &bytes);
        // The wheel itself, when it lies beside its metadata (`<wheel>.metadata` → `<wheel>`).
        if let Ok(wheel) = std::fs::read(path.with_extension("")) {
            dataset.wheel(&name, &version, &wheel);
        }
        count += 1;
    }
    Ok((dataset, count))
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
    if args.core_metadata {
        let (dataset, count) = match core_metadata_dataset(&args.site_packages) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        let faults = Faults {
            latency: args.latency,
            gzip: args.gzip,
            simple_only: args.simple_only,
            html_only: args.html_only,
            ..Faults::default()
        };
        return serve(dataset, faults, count, wire(&args)).await;
    }
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
    let faults = Faults {
        latency: args.latency,
        gzip: args.gzip,
        ..Faults::default()
    };
    serve(dataset, faults, inventory.distributions.len(), wire(&args)).await;
}

/// TLS (a CA generated now, its certificate written to `--tls-dir`) and the bandwidth limit.
fn wire(args: &Args) -> Wire {
    let tls = args.tls_dir.as_ref().map(|dir| {
        let ca = TestCa::new();
        ca.write_pem(dir);
        ca.acceptor(if args.http1_only {
            Alpn::Http1Only
        } else {
            Alpn::H2AndHttp1
        })
    });
    Wire {
        tls,
        bandwidth: args.bandwidth_mbit.map(|n| Bandwidth::mbit(n as f64)),
    }
}

/// Serve until interrupted, printing what was served on SIGUSR1 and at the end.
async fn serve(dataset: registry::Dataset, faults: Faults, packages: usize, wire: Wire) {
    let latency = faults.latency;
    let bandwidth = wire.bandwidth.is_some();
    let server = RegistryServer::start_with(dataset, wire).await;
    server.set_faults(faults);
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "loopback registry: {packages} packages, latency {latency:?}, bandwidth limit {bandwidth}, serving on {}",
        server.url()
    );
    // SIGUSR1: print what was served since the last report and start counting again (a
    // benchmark reads one line per case); Ctrl-C: print and stop.
    let mut usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
        .expect("SIGUSR1 handler");
    loop {
        let stop = tokio::select! {
            _ = tokio::signal::ctrl_c() => true,
            _ = usr1.recv() => false,
        };
        report(&server.stats());
        server.reset_stats();
        if stop {
            break;
        }
    }
}

fn report(stats: &registry::Stats) {
    eprintln!(
        "requests served: {} (HTTP/1.1 {}, HTTP/2 {}); connections {} (TLS {:?}); body bytes sent: {} ({:?})",
        stats.total,
        stats.http1_requests,
        stats.http2_requests,
        stats.connections,
        stats.tls,
        stats.total_bytes_sent(),
        stats.bytes_sent
    );
}
