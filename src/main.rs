//! The `taskapi` command: `serve` (default), `migrate`, `admin create`, `admin promote`,
//! `admin reset-link`, `openapi`, `healthcheck`, `config check`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use taskapi::{Application, Settings, create_admin, open_database, promote_admin, reset_link};

/// Where `admin create` reads the new administrator's password from, before stdin.
const ADMIN_PASSWORD_VAR: &str = "TASKAPI_ADMIN_PASSWORD";

/// taskapi: a task-management REST service.
///
/// Configuration comes from config/default.toml, then config/<TASKAPI_ENV>.toml, then
/// TASKAPI__SECTION__KEY environment variables (see config/default.toml for every key).
#[derive(Debug, Parser)]
#[command(name = "taskapi", version, about, long_about = None)]
struct Cli {
    /// Folder holding default.toml and <TASKAPI_ENV>.toml.
    #[arg(long, global = true, default_value = "config", value_name = "DIR")]
    config_dir: PathBuf,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default): apply pending migrations, then serve until
    /// SIGTERM/SIGINT.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrator accounts, in the configured database.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Print the OpenAPI document (JSON) and exit.
    Openapi,
    /// Exit 0 when the running server's /health/ready answers 200 (for Docker HEALTHCHECK).
    Healthcheck {
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Create an administrator account. The password is read from TASKAPI_ADMIN_PASSWORD,
    /// or else from the first line of standard input (never from an argument, which other
    /// users of the machine could see).
    Create {
        /// The new administrator's email.
        #[arg(long)]
        email: String,
    },
    /// Make an existing account an administrator (its sessions end; it logs in again).
    Promote {
        /// The account's email.
        #[arg(long)]
        email: String,
    },
    /// Print a one-time password-reset token for an account (for servers without mail):
    /// its owner sets a new password with POST /password/reset. Voids the account's older
    /// reset tokens; valid for auth.reset_ttl.
    ResetLink {
        /// The account's email.
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate the configuration and print the effective settings (secrets redacted).
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            // Once, on stderr, whatever RUST_LOG says: the one line an operator must see.
            eprintln!("taskapi: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        let doc = serde_json::to_string_pretty(&taskapi_http::openapi_document())
            .map_err(|e| e.to_string())?;
        write_stdout(&format!("{doc}\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let settings = Settings::load(&cli.config_dir).map_err(|e| e.to_string())?;
    match command {
        Command::Serve => serve(settings),
        Command::Migrate => runtime()?.block_on(async {
            open_database(&settings).await.map_err(|e| e.to_string())?;
            log::info!("migrations are up to date");
            Ok(ExitCode::SUCCESS)
        }),
        Command::Admin { action } => admin(&settings, action),
        Command::Healthcheck { timeout } => {
            Ok(healthcheck(&settings, Duration::from_secs(timeout)))
        }
        Command::Config {
            action: ConfigAction::Check,
        } => {
            write_stdout(&settings.redacted_toml())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => Ok(ExitCode::SUCCESS),
    }
}

fn admin(settings: &Settings, action: AdminAction) -> Result<ExitCode, String> {
    if let AdminAction::ResetLink { email } = &action {
        let issued = runtime()?.block_on(reset_link(settings, email))?;
        write_stdout(&format!(
            "{}\n# one-time password-reset token for {email}, valid until {}: \
             POST /password/reset {{\"token\": \"…\", \"new_password\": \"…\"}}\n",
            issued.token,
            issued.expires_at.to_rfc3339()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let user = match action {
        AdminAction::Create { email } => {
            let password = admin_password()?;
            runtime()?.block_on(create_admin(settings, &email, password))?
        }
        AdminAction::Promote { email } => runtime()?.block_on(promote_admin(settings, &email))?,
        AdminAction::ResetLink { .. } => return Ok(ExitCode::SUCCESS),
    };
    write_stdout(&format!(
        "{} is an administrator (id {})\n",
        user.email, user.id
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The password from `TASKAPI_ADMIN_PASSWORD`, or the first line of stdin.
fn admin_password() -> Result<String, String> {
    if let Ok(password) = std::env::var(ADMIN_PASSWORD_VAR) {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(format!(
            "no password: set {ADMIN_PASSWORD_VAR} or write it on standard input"
        ));
    }
    Ok(password)
}

fn write_stdout(text: &str) -> Result<(), String> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

fn serve(settings: Settings) -> Result<ExitCode, String> {
    // actix-web runs its own workers; this system runs start-up and the server's control loop.
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)
            .await
            .map_err(|e| e.to_string())?;
        app.run_until_stopped().await.map_err(|e| e.to_string())?;
        log::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// A dependency-free HTTP/1.1 probe of `/health/ready` on the configured address.
fn healthcheck(settings: &Settings, timeout: Duration) -> ExitCode {
    let host = match settings.server.host.as_str() {
        "0.0.0.0" => "127.0.0.1",
        "::" | "[::]" => "::1",
        other => other,
    };
    let probe = || -> Result<u16, String> {
        let address = (host, settings.server.port)
            .to_socket_addrs()
            .map_err(|e| e.to_string())?
            .next()
            .ok_or("no address")?;
        let mut stream =
            TcpStream::connect_timeout(&address, timeout).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        write!(
            stream,
            "GET /health/ready HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .map_err(|e| e.to_string())?;
        let mut head = [0u8; 64];
        let n = stream.read(&mut head).map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&head[..n]);
        line.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("unexpected answer: {line}"))
    };
    match probe() {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("taskapi healthcheck: /health/ready answered {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("taskapi healthcheck: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn admin_commands_take_an_email_and_never_a_password() {
        let cli = Cli::try_parse_from(["taskapi", "admin", "create", "--email", "a@example.com"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            cli.command,
            Some(Command::Admin {
                action: AdminAction::Create { .. }
            })
        ));
        assert!(
            Cli::try_parse_from([
                "taskapi",
                "admin",
                "create",
                "--email",
                "a@b.co",
                "--password",
                "x"
            ])
            .is_err()
        );
        assert!(Cli::try_parse_from(["taskapi", "admin", "promote", "--email", "a@b.co"]).is_ok());
    }

    #[test]
    fn no_subcommand_means_serve() {
        let cli = Cli::try_parse_from(["taskapi"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(cli.command.is_none());
        assert_eq!(cli.config_dir, std::path::Path::new("config"));
    }
}
