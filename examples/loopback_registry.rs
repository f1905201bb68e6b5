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
    bandwidth_mbit: Option<u64>,
    tls_dir: Option<PathBuf>,
    http1_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut site_packages = None;
    let mut latency = Duration::from_millis(50);
    let mut vuln_every = 10;
    let mut gzip = false;
    let mut bandwidth_mbit = None;
    let mut tls_dir = None;
    let mut http1_only = false;
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number =
            |text: String, flag: &str| text.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match arg.as_str() {
            "--gzip" => gzip = true,
            "--http1-only" => http1_only = true,
            "--tls-dir" => tls_dir = Some(PathBuf::from(value("--tls-dir")?)),
            "--latency-ms" => {
                latency = Duration::from_millis(number(value(&arg)?, &arg)?);
            }
            "--vuln-every" => vuln_every = number(value(&arg)?, &arg)?.max(1) as usize,
            "--bandwidth-mbit" => bandwidth_mbit = Some(number(value(&arg)?, &arg)?.max(1)),
            _ if site_packages.is_none() => site_packages = Some(PathBuf::from(arg)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok(Args {
        site_packages: site_packages.ok_or(
            "usage: loopback_registry SITE_PACKAGES [--latency-ms N] [--vuln-every N] [--gzip] \
             [--bandwidth-mbit N] [--tls-dir DIR [--http1-only]]",
        )?,
        latency,
        vuln_every,
        gzip,
        bandwidth_mbit,
        tls_dir,
        http1_only,
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
    let tls = args.tls_dir.as_ref().map(|dir| {
        let ca = TestCa::new();
        ca.write_pem(dir);
        ca.acceptor(if args.http1_only {
            Alpn::Http1Only
        } else {
            Alpn::H2AndHttp1
        })
    });
    let wire = Wire {
        tls,
        bandwidth: args.bandwidth_mbit.map(|n| Bandwidth::mbit(n as f64)),
    };
    let server = RegistryServer::start_with(dataset, wire).await;
    server.set_faults(Faults {
        latency: args.latency,
        gzip: args.gzip,
        ..Faults::default()
    });
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "loopback registry: {} packages, latency {:?}, bandwidth {}, serving on {}",
        inventory.distributions.len(),
        args.latency,
        args.bandwidth_mbit
            .map_or("unlimited".to_string(), |n| format!("{n} Mbit/s")),
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
