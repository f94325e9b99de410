//! `--config FILE`: a TOML file for everything the flags of a command set; flags win.
//!
//! Keys are the long flag names with `_` or `-` (`role_name = "Audit"`, `regions = ["eu-west-1"]`,
//! `strict = true`, `verbose = 2`). The file is turned into flags for the keys the command line
//! does not already set, so clap validates file values exactly like typed ones.

use anyhow::{Context, Result, bail};
use clap::{ArgAction, Command};
use std::ffi::OsString;

/// The largest count a file may give a counted flag (`verbose`): more means nothing more.
const MAX_COUNT: i64 = 8;

/// If the command line of a subcommand names `--config FILE`, append the file's settings that the
/// command line does not set.
pub fn apply(cli: &Command, argv: Vec<OsString>) -> Result<Vec<OsString>> {
    let args: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // The subcommand is the first word that is no flag: global flags (`-v`) may come before it.
    let Some((at, sub)) = args
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, a)| !a.starts_with('-'))
        .and_then(|(i, name)| cli.find_subcommand(name).map(|sub| (i, sub)))
    else {
        return Ok(argv);
    };
    // Every word but the program and the subcommand: flags set before or after it.
    let flags = || {
        args.iter()
            .enumerate()
            .filter(move |(i, _)| *i != 0 && *i != at)
            .map(|(_, a)| a)
    };
    let Some(path) = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--config=").map(str::to_string).or_else(|| {
            (a == "--config")
                .then(|| args.get(i + 1).cloned())
                .flatten()
        })
    }) else {
        return Ok(argv);
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {path}"))?;
    let given = |long: &str| {
        flags().any(|a| {
            a.strip_prefix("--")
                .is_some_and(|rest| rest == long || rest.starts_with(&format!("{long}=")))
        }) || sub
            .get_arguments()
            .find(|arg| arg.get_long() == Some(long))
            .and_then(|arg| arg.get_short())
            .is_some_and(|short| {
                flags()
                    .any(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].contains(short))
            })
    };
    let mut out = argv;
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let Some(arg) = sub
            .get_arguments()
            .find(|arg| arg.get_long() == Some(long.as_str()))
        else {
            bail!(
                "{path}: unknown setting {key:?} for `rolescope {}`",
                sub.get_name()
            );
        };
        if long == "config" {
            bail!("{path}: a config file cannot name another config file");
        }
        if given(&long) {
            continue;
        }
        let bad = |want: &str| anyhow::anyhow!("{path}: {key} must be {want}");
        match arg.get_action() {
            ArgAction::SetTrue => {
                if value.as_bool().ok_or_else(|| bad("true or false"))? {
                    out.push(format!("--{long}").into());
                }
            }
            ArgAction::Count => {
                let n = value
                    .as_integer()
                    .filter(|n| (0..=MAX_COUNT).contains(n))
                    .ok_or_else(|| bad(&format!("an integer from 0 to {MAX_COUNT}")))?;
                for _ in 0..n.max(0) {
                    out.push(format!("--{long}").into());
                }
            }
            ArgAction::Append if value.is_array() => {
                for item in value.as_array().into_iter().flatten() {
                    let item = item.as_str().ok_or_else(|| bad("a list of strings"))?;
                    out.push(format!("--{long}={item}").into());
                }
            }
            _ => {
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    toml::Value::Array(items) => items
                        .iter()
                        .map(|v| match v {
                            toml::Value::String(s) => Ok(s.clone()),
                            toml::Value::Integer(i) => Ok(i.to_string()),
                            _ => Err(bad("a list of strings")),
                        })
                        .collect::<Result<Vec<_>>>()?
                        .join(","),
                    _ => return Err(bad("a string, number, boolean or list")),
                };
                out.push(format!("--{long}={text}").into());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, CommandFactory, Parser, Subcommand};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Sub,
        #[arg(long, short, global = true, action = clap::ArgAction::Count)]
        verbose: u8,
    }

    #[derive(Debug, Subcommand)]
    enum Sub {
        Scan(ScanLike),
    }

    #[derive(Debug, Args)]
    struct ScanLike {
        #[arg(long)]
        config: Option<String>,
        #[arg(long, default_value = "RolescopeAudit")]
        role_name: String,
        #[arg(long, value_delimiter = ',')]
        regions: Option<Vec<String>>,
        #[arg(long)]
        strict: bool,
        #[arg(skip)]
        verbose: u8,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    }

    fn parse(file: &str, cmdline: &[&str]) -> Result<ScanLike> {
        let dir = std::env::temp_dir().join(format!("rolescope-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("{n}.toml"));
        std::fs::write(&path, file).unwrap();
        let (before, after): (Vec<&str>, Vec<&str>) = {
            let split = cmdline.iter().position(|a| *a == "scan");
            match split {
                Some(i) => (cmdline[..i].to_vec(), cmdline[i + 1..].to_vec()),
                None => (vec![], cmdline.to_vec()),
            }
        };
        let mut argv: Vec<OsString> = vec!["rolescope".into()];
        argv.extend(before.iter().map(OsString::from));
        argv.push("scan".into());
        argv.push(format!("--config={}", path.display()).into());
        argv.extend(after.iter().map(OsString::from));
        // As main does: built, so the global flags are known to the subcommand.
        let mut command = Cli::command();
        command.build();
        let argv = apply(&command, argv)?;
        let cli = Cli::try_parse_from(argv)?;
        let Sub::Scan(mut s) = cli.command;
        s.verbose = cli.verbose;
        Ok(s)
    }

    #[test]
    fn the_file_sets_what_the_flags_do_not_and_flags_win() {
        let file = "role_name = \"FromFile\"\nregions = [\"eu-west-1\", \"us-east-1\"]\nstrict = true\nverbose = 2\nconcurrency = 8\n";
        let s = parse(file, &[]).unwrap();
        assert_eq!(s.role_name, "FromFile");
        assert_eq!(
            s.regions,
            Some(vec!["eu-west-1".to_string(), "us-east-1".to_string()])
        );
        assert!(s.strict);
        assert_eq!((s.verbose, s.concurrency), (2, 8));

        let s = parse(
            file,
            &["--role-name", "FromFlag", "--regions=ap-south-1", "-v"],
        )
        .unwrap();
        assert_eq!(s.role_name, "FromFlag");
        assert_eq!(s.regions, Some(vec!["ap-south-1".to_string()]));
        assert_eq!(s.verbose, 1, "-v on the command line wins over verbose = 2");
        assert_eq!(s.concurrency, 8);
    }

    #[test]
    fn config_is_read_when_a_global_flag_comes_before_the_subcommand() {
        let file = "role_name = \"FromFile\"\nregions = [\"eu-west-1\"]\nverbose = 2\n";
        let s = parse(file, &["-v", "scan"]).unwrap();
        assert_eq!(s.role_name, "FromFile", "the file was ignored");
        assert_eq!(s.regions, Some(vec!["eu-west-1".to_string()]));
        assert_eq!(
            s.verbose, 1,
            "-v before the subcommand wins over verbose = 2"
        );
    }

    #[test]
    fn config_count_settings_are_bounded() {
        let e = format!("{:#}", parse("verbose = 200000000\n", &[]).unwrap_err());
        assert!(e.contains("verbose must be an integer from 0 to 8"), "{e}");
        let e = format!("{:#}", parse("verbose = -1\n", &[]).unwrap_err());
        assert!(e.contains("verbose"), "{e}");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors_naming_the_file_and_key() {
        let e = format!("{:#}", parse("role_nmae = \"x\"\n", &[]).unwrap_err());
        assert!(e.contains("role_nmae") && e.contains(".toml"), "{e}");
        let e = format!("{:#}", parse("strict = \"yes\"\n", &[]).unwrap_err());
        assert!(e.contains("strict must be true or false"), "{e}");
        let e = format!("{:#}", parse("concurrency = \"many\"\n", &[]).unwrap_err());
        assert!(e.contains("concurrency"), "{e}");
        let e = format!("{:#}", parse("regions = [\n", &[]).unwrap_err());
        assert!(e.contains("parsing"), "{e}");
    }
}
