//! `wctl completion`: a shell completion script for bash, zsh or fish.

use clap::CommandFactory;

/// Arguments of `wctl completion`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  source <(wctl completion bash)                       bash, this shell
  wctl completion zsh > \"${fpath[1]}/_wctl\"            zsh
  wctl completion fish > ~/.config/fish/completions/wctl.fish")]
pub struct Args {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(args: &Args) {
    let mut command = crate::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "wctl", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
}
