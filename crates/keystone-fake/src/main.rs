//! The fake Keystone as a program, for local development.
//!
//! - `keystone-fake [--listen ADDR] [--admin-password PW] [--seed FILE.yaml] [--token-ttl SECS]
//!   [--controls] [--log-format text|json]` serves until interrupted. It prints
//!   `keystone-fake listening on URL` (the first line, which scripts read), the admin's `OS_*`
//!   variables, then, as shell comments, every user who can get a token (password, roles,
//!   project), each with a `curl` that gets one. It logs one line per request to stderr.
//! - `keystone-fake token --user NAME [--password PW | --seed FILE] [--project NAME]
//!   [--domain NAME] [--url URL]` asks a running fake for a token and prints it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use keystone_client::{Auth, Session, UserIdentity};
use keystone_fake::{FakeKeystone, Login, Seed};
use keystone_types::auth::Scope;

/// The longest token lifetime the binary accepts: ten years.
const MAX_TOKEN_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

/// The bootstrap admin's password unless `--admin-password` says otherwise.
const DEFAULT_ADMIN_PASSWORD: &str = "adminpw";

/// A fake OpenStack Keystone (Identity v3) for local development and tests.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Serving (the default, without a subcommand).
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: SocketAddr,
    /// Password of the bootstrap `admin` user.
    #[arg(long, default_value = DEFAULT_ADMIN_PASSWORD)]
    admin_password: String,
    /// A YAML file describing users, projects, roles, grants, services and endpoints to load.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Token lifetime in seconds (at most ten years).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=MAX_TOKEN_TTL_SECS))]
    token_ttl: u64,
    /// Serve the test controls over HTTP under `/_fake/` (request counts, faults, the clock),
    /// for tests driving the fake from another process; only with a loopback `--listen`.
    #[arg(long)]
    controls: bool,
    /// Log lines (one per request: method, path, status, latency, user name) as text, or as
    /// one JSON object per line. The level comes from `RUST_LOG` (`info` by default).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask a running fake for a token and print it (for `X-Auth-Token` or `OS_TOKEN`).
    Token(TokenArgs),
}

#[derive(Debug, clap::Args)]
struct TokenArgs {
    /// The user's name.
    #[arg(long)]
    user: String,
    /// The user's password. Without it: the password the seed file (`--seed`) gives the
    /// user, or for `admin` the fake's default admin password.
    #[arg(long, conflicts_with = "seed")]
    password: Option<String>,
    /// The seed file the fake was started with, to read the user's password from.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Scope the token to this project (by name, in `--domain`); without it Keystone's rule
    /// applies: the user's default project, else an unscoped token.
    #[arg(long)]
    project: Option<String>,
    /// The domain of the user and of the project, by name.
    #[arg(long, default_value = "Default")]
    domain: String,
    /// The fake's URL, with or without `/v3`.
    #[arg(long, default_value = "http://127.0.0.1:5000")]
    url: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let done = match cli.command {
        Some(Command::Token(args)) => token(args).await,
        None => {
            init_logs(cli.serve.log_format);
            serve(cli.serve).await
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keystone-fake: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs(format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    match format {
        // colors only for a person at a terminal, not in a file or a pipe
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().init(),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut builder = FakeKeystone::builder()
        .listen(args.listen)
        .admin_password(args.admin_password)
        .token_ttl(Duration::from_secs(args.token_ttl))
        .controls_api(args.controls)
        .access_log(true);
    if let Some(path) = &args.seed {
        builder = builder.seed(read_seed(path)?);
    }
    let fake = builder
        .start()
        .await
        .with_context(|| format!("cannot start on {}", args.listen))?;
    // Whoever started us may stop reading stdout; that must not stop the server.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "keystone-fake listening on {}", fake.url());
    let _ = write!(out, "{}", fake.admin_openrc());
    let _ = write!(out, "{}", who_can_log_in(&fake));
    let _ = out.flush();
    drop(out);
    tokio::signal::ctrl_c().await?;
    drop(fake);
    Ok(())
}

fn read_seed(path: &Path) -> anyhow::Result<Seed> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read seed file {}", path.display()))?;
    Seed::from_yaml(&text).with_context(|| format!("in {}", path.display()))
}

/// The start-up lines after the admin's `OS_*` variables, all shell comments but the `curl`
/// commands: the projects and roles, then every user who can get a token, with their
/// password, roles and a `curl` that gets them a token.
fn who_can_log_in(fake: &FakeKeystone) -> String {
    let (mut projects, mut roles) = fake.with_store(|s| {
        let projects: Vec<String> = s.projects().map(|p| p.name.clone()).collect();
        let roles: Vec<String> = s.roles().map(|r| r.name.clone()).collect();
        (projects, roles)
    });
    projects.sort();
    roles.sort();
    let mut out = format!(
        "\n# projects: {}\n# roles: {}\n",
        projects.join(", "),
        roles.join(", ")
    );
    out.push_str(
        "# each user's token is the X-Subject-Token header the curl below it prints; or run\n\
         #   keystone-fake token --user NAME --password PW [--project NAME]\n",
    );
    let tokens_url = format!("{}/v3/auth/tokens", fake.url());
    for login in fake.logins() {
        out.push_str(&describe(&login));
        if let Some(body) = login.password_token_request() {
            out.push_str(&curl(&tokens_url, &body.to_string()));
        }
        for credential in &login.application_credentials {
            out.push_str(&format!(
                "# {}'s application credential {} (secret {})\n",
                login.user_name,
                credential.name,
                credential.secret.expose()
            ));
            let body = login.app_cred_token_request(credential);
            out.push_str(&curl(&tokens_url, &body.to_string()));
        }
    }
    out
}

/// `# alice (domain default, password alicepw): member on project demo; token on project demo`
fn describe(login: &Login) -> String {
    let password = login
        .password
        .as_ref()
        .map_or("no password".to_owned(), |p| {
            format!("password {}", p.expose())
        });
    let roles = if login.roles.is_empty() {
        "no roles".to_owned()
    } else {
        login.roles.join(", ")
    };
    let scope = login
        .project
        .as_ref()
        .map_or("unscoped".to_owned(), |p| format!("project {}", p.name));
    format!(
        "\n# {} (domain {}, {password}): {roles}; token below: {scope}\n",
        login.user_name, login.domain_id
    )
}

/// A `curl` that posts `body` to `url` and prints the `X-Subject-Token` header.
fn curl(url: &str, body: &str) -> String {
    format!(
        "curl -s -D - -o /dev/null {url} -H 'Content-Type: application/json' -d {} | grep -i '^x-subject-token'\n",
        shell_quote(body)
    )
}

/// `text` in single quotes for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `keystone-fake token`: a token from a running fake, printed alone on stdout.
async fn token(args: TokenArgs) -> anyhow::Result<()> {
    let password = match (args.password, &args.seed) {
        (Some(password), _) => password,
        (None, Some(path)) => seed_password(&read_seed(path)?, &args.user)
            .with_context(|| format!("in {}", path.display()))?,
        (None, None) if args.user == "admin" => DEFAULT_ADMIN_PASSWORD.to_owned(),
        (None, None) => bail!(
            "no password for {}: give --password PW, or --seed FILE with the user",
            args.user
        ),
    };
    let mut auth = Auth::password(UserIdentity::by_name(&args.user, &args.domain), password);
    if let Some(project) = &args.project {
        auth = auth.scoped(Scope::project_by_name(project, &args.domain));
    }
    let session = Session::builder(args.url.as_str(), auth).build()?;
    let access = session.authenticate().await.with_context(|| {
        format!(
            "cannot get a token for {} from the fake at {}",
            args.user, args.url
        )
    })?;
    println!("{}", access.token().expose());
    Ok(())
}

/// The password a seed gives `user`.
fn seed_password(seed: &Seed, user: &str) -> anyhow::Result<String> {
    let found = seed
        .users
        .iter()
        .find(|u| u.name == user)
        .with_context(|| format!("no user {user} in the seed file"))?;
    let password = found
        .password
        .as_ref()
        .with_context(|| format!("the seed file gives {user} no password"))?;
    Ok(password.expose().to_owned())
}
