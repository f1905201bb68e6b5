//! A loopback PyPI JSON API + OSV API server for benchmarks and demos: it inventories a
//! site-packages tree, serves a release document for every distribution in it (plus a newer
//! release, so `outdated` has something to say) and an OSV advisory for every Nth one, with a
//! fixed latency per request. Prints its base URL on stdout, then serves until killed.
//!
//! `cargo run --release --example loopback_registry -- SITE_PACKAGES [--latency-ms 50] [--vuln-every 10]`
//!
//! With `--core-metadata`, SITE_PACKAGES is instead a directory of `<wheel>.metadata` files (the
//! `METADATA` of real wheels): each release's document is built from it as Warehouse builds it
//! (`license`, `license_expression`, classifiers), and the Simple pages offer the file itself as
//! the wheel's core metadata (PEP 658/714), and the wheel itself (with range support) when it
//! lies beside the file as `<wheel>`. Add `--simple-only` / `--html-only` to take the JSON
//! API away.

#[path = "../tests/it/support/registry.rs"]
mod registry;

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
    /// The path is a directory of core metadata files.
    core_metadata: bool,
    simple_only: bool,
    html_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut site_packages = None;
    let mut latency = Duration::from_millis(50);
    let mut vuln_every = 10;
    let (mut gzip, mut core_metadata, mut simple_only, mut html_only) =
        (false, false, false, false);
    while let Some(arg) = args.next() {
        let flag = match arg.as_str() {
            "--gzip" => Some(&mut gzip),
            "--core-metadata" => Some(&mut core_metadata),
            "--simple-only" => Some(&mut simple_only),
            "--html-only" => Some(&mut html_only),
            _ => None,
        };
        if let Some(flag) = flag {
            *flag = true;
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
            "usage: loopback_registry SITE_PACKAGES [--latency-ms N] [--vuln-every N] [--gzip] \
             [--core-metadata [--simple-only] [--html-only]]",
        )?,
        latency,
        vuln_every,
        gzip,
        core_metadata,
        simple_only,
        html_only,
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
        return serve(dataset, faults, count).await;
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
    serve(dataset, faults, inventory.distributions.len()).await;
}

/// Serve until interrupted, then print what was served.
async fn serve(dataset: registry::Dataset, faults: Faults, packages: usize) {
    let latency = faults.latency;
    let server = RegistryServer::start(dataset).await;
    server.set_faults(faults);
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "loopback registry: {packages} packages, latency {latency:?}, serving on {}",
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
