//! `collectstatic`: collects static files into a static root with hashed
//! names, rewritten references, precompressed sidecars and a manifest that
//! Django's `ManifestStaticFilesStorage` reads.
//!
//! Install with `cargo install axum-download-cli`, then:
//!
//! ```text
//! collectstatic --source assets --source vendor --static-root static [--manifest FILE]
//!               [--static-url /static/] [--lenient] [--strict-source-maps] [--no-compress] [--check]
//! ```
//!
//! Exit status: 0 on success, 1 when `--check` finds that something would
//! change, 2 with one line on stderr for any error (a bad flag, a missing
//! source, a reference to a file that is not collected).
//!
//! The library is the command, so another program can offer it as a
//! subcommand with the same flags and behaviour:
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! fn main() -> ExitCode {
//!     let mut args = std::env::args_os().skip(1);
//!     match args.next() {
//!         Some(first) if first == "collectstatic" => {
//!             axum_download_cli::run("myapp collectstatic", args)
//!         }
//!         _ => ExitCode::SUCCESS,
//!     }
//! }
//! ```

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum_download::static_files::{Collect, CollectReport, Progress};
use clap::{CommandFactory, FromArgMatches, Parser};
use indicatif::{ProgressBar, ProgressStyle};

/// The command line of `collectstatic`.
///
/// ```
/// use clap::Parser;
/// use axum_download_cli::Args;
///
/// let args = Args::try_parse_from(["collectstatic", "--source", "a", "--static-root", "out"]).unwrap();
/// assert_eq!(args.static_url, "/static/");
/// ```
#[derive(Debug, Clone, Parser)]
#[command(
    name = "collectstatic",
    version,
    about = "Collect static files with hashed names and a Django-compatible manifest"
)]
#[non_exhaustive]
pub struct Args {
    /// A source directory; repeat for several, the first wins on a duplicate name.
    #[arg(long = "source", value_name = "DIR", required = true)]
    pub sources: Vec<PathBuf>,
    /// Where the files are collected.
    #[arg(long, value_name = "OUT")]
    pub static_root: PathBuf,
    /// Where the manifest is written [default: OUT/staticfiles.json].
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// The URL the static root is published under (Django's STATIC_URL).
    #[arg(long, value_name = "URL", default_value = "/static/")]
    pub static_url: String,
    /// Keep references to missing files as written, with a warning.
    #[arg(long)]
    pub lenient: bool,
    /// Fail on a missing source map too (a warning by default).
    #[arg(long)]
    pub strict_source_maps: bool,
    /// Write no .br/.zst/.gz sidecars.
    #[arg(long)]
    pub no_compress: bool,
    /// Write nothing; list what would change and exit 1 if anything would.
    #[arg(long)]
    pub check: bool,
}

impl Args {
    /// The collect these arguments describe.
    ///
    /// ```
    /// use clap::Parser;
    /// use axum_download_cli::Args;
    ///
    /// let args = Args::try_parse_from(["collectstatic", "--source", "a", "--static-root", "out", "--lenient"]).unwrap();
    /// let collect = args.collect();
    /// assert!(format!("{collect:?}").contains("lenient: true"));
    /// ```
    pub fn collect(&self) -> Collect {
        let mut collect = Collect::new(&self.static_root)
            .static_url(self.static_url.clone())
            .compress(!self.no_compress);
        for source in &self.sources {
            collect = collect.source(source);
        }
        if let Some(manifest) = &self.manifest {
            collect = collect.manifest_path(manifest);
        }
        if self.lenient {
            collect = collect.lenient();
        }
        if self.strict_source_maps {
            collect = collect.strict_source_maps();
        }
        collect
    }
}

/// Runs the command with `args` (without the program name); `program` is
/// the name shown in messages, e.g. `collectstatic` or `demo collectstatic`.
///
/// ```no_run
/// let status = axum_download_cli::run(
///     "collectstatic",
///     ["--source", "assets", "--static-root", "static"],
/// );
/// ```
pub fn run<I, T>(program: &str, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let command = Args::command()
        .name(program.to_owned())
        .bin_name(program.to_owned());
    let argv = std::iter::once(OsString::from(program)).chain(args.into_iter().map(Into::into));
    let parsed = command
        .try_get_matches_from(argv)
        .and_then(|matches| Args::from_arg_matches(&matches));
    let args = match parsed {
        Ok(args) => args,
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) {
                print!("{err}");
                return ExitCode::SUCCESS;
            }
            eprintln!("{program}: {}", one_line(&err.to_string()));
            return ExitCode::from(2);
        }
    };
    execute(program, &args)
}

/// Collects (or checks) as `args` say, reporting on stderr.
fn execute(program: &str, args: &Args) -> ExitCode {
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let bar = terminal.then(progress_bar);
    let mut collect = args.collect();
    if let Some(bar) = bar.clone() {
        collect = collect.on_progress(move |p: &Progress| {
            bar.set_length(p.total_bytes);
            bar.set_position(p.bytes);
            bar.set_message(format!("{}/{} files", p.files, p.total_files));
        });
    }
    let result = if args.check {
        collect.check()
    } else {
        collect.run()
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            eprintln!("{program}: {err}");
            return ExitCode::from(2);
        }
    };
    for duplicate in &report.duplicates {
        eprintln!(
            "{program}: duplicate {}: collected {}, ignored {}",
            duplicate.name,
            duplicate.kept.display(),
            duplicate.shadowed.display()
        );
    }
    for warning in &report.warnings {
        eprintln!("{program}: warning: {warning}");
    }
    if args.check {
        for path in &report.changed {
            println!("{}", path.display());
        }
    }
    eprintln!(
        "{program}: {}",
        summary(args.check, &report, started.elapsed())
    );
    if args.check && !report.changed.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}) {msg}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The one line that ends a run.
fn summary(check: bool, report: &CollectReport, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let mib = report.bytes as f64 / (1024.0 * 1024.0);
    let rate = if seconds > 0.0 { mib / seconds } else { 0.0 };
    let outcome = if check {
        format!("{} output files would change", report.changed.len())
    } else {
        format!(
            "{} output files written, {} unchanged",
            report.changed.len(),
            report.unchanged
        )
    };
    format!(
        "{} files ({mib:.1} MiB) in {seconds:.2} s ({rate:.1} MiB/s): {outcome}; manifest {}",
        report.files,
        report.manifest_path.display()
    )
}

/// clap's message on one line: its text without the usage and the hint.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_fit_on_one_line() {
        let err = Args::command()
            .try_get_matches_from(["collectstatic", "--source", "a"])
            .unwrap_err();
        let line = one_line(&err.to_string());
        assert!(!line.contains('\n'));
        assert!(line.contains("--static-root"), "{line}");
    }
}
