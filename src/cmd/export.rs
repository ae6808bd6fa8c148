//! `export systemd|kubernetes --out DIR`: render the Plan for another engine
//! and write it; secrets only into 0600 files.

use std::path::{Path, PathBuf};

use super::Outcome;
use crate::cli::{Cli, ExportArgs, ExportTarget};
use crate::cmd::common::load_plan;
use crate::error::Error;
use crate::exit;
use crate::export::{self, kubernetes, systemd, OutFile};
use crate::plan::Plan;

/// Run `export`.
pub(crate) fn run(cli: &Cli, args: &ExportArgs) -> Outcome {
    let plan = load_plan(cli)?;
    let out_dir = absolute(&args.out);
    let files = render(&plan, args, &out_dir)?;
    let paths = export::write_files(&out_dir, &files).map_err(|err| Error::Write {
        dir: out_dir.clone(),
        err,
    })?;
    report(&out_dir, &files, paths.len());
    Ok(exit::OK)
}

fn render(plan: &Plan, args: &ExportArgs, out_dir: &Path) -> Result<Vec<OutFile>, Error> {
    let prefix = args.prefix.clone().unwrap_or_else(|| "uaol".into());
    if export::dns_label(&prefix) != prefix {
        return Err(Error::ExportPrefix(prefix));
    }
    match args.target {
        ExportTarget::Systemd => {
            let binary = match &args.binary {
                Some(b) => absolute(b),
                None => std::env::current_exe().map_err(Error::ExportBinary)?,
            };
            let opts = systemd::Options {
                prefix,
                binary,
                out_dir: out_dir.to_path_buf(),
            };
            Ok(systemd::render(plan, &opts))
        }
        ExportTarget::Kubernetes => {
            let image = args.image.clone().ok_or(Error::ExportImage)?;
            let opts = kubernetes::Options {
                image,
                namespace: args.namespace.clone(),
                part_of: prefix,
            };
            Ok(kubernetes::render(plan, &opts))
        }
    }
}

fn report(out_dir: &Path, files: &[OutFile], written: usize) {
    println!("wrote {written} files to {}", out_dir.display());
    for f in files {
        let note = if f.secret {
            "  (0600: holds secrets)"
        } else {
            ""
        };
        println!("  {}{note}", f.name);
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}
