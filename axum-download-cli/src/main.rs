//! The `collectstatic` command; see the crate documentation.

use std::process::ExitCode;

fn main() -> ExitCode {
    axum_download_cli::run("collectstatic", std::env::args_os().skip(1))
}
