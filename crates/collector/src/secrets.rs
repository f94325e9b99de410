//! Secret-like environment values, recognised at the SDK edge and never kept.
//!
//! [`detect`] sees one variable's name and value while the SDK response is still in hand and
//! answers only *which kind* of secret the value looks like. The caller keeps the name and the
//! kind; the value, any part of it, its hash and its length go nowhere. Rules, strongest first:
//!
//! 1. **Shapes that are secrets wherever they appear**: AWS access key ids, PEM private key
//!    blocks, GitHub, GitLab, Slack, Stripe, npm and Google API tokens, JWTs, and URLs or
//!    connection strings that carry a password.
//! 2. **Secret-named variables** (a name token such as `PASSWORD`, `SECRET`, `TOKEN`, `KEY`,
//!    `CREDENTIALS`, unless the name ends in `ID`, `ARN`, `NAME`, `URL`, `PATH`…): an AWS secret
//!    access key shape, a password of at least 8 characters under a password name, or a value of
//!    high entropy under the other names.
//!
//! What is never flagged, whatever the name: ARNs, URLs without credentials, UUIDs, references to
//! Secrets Manager or SSM (`{{resolve:…}}`, `/path/to/parameter`), placeholders (`${…}`,
//! `changeme`), booleans and numbers; and, except under a password name, UUIDs, host and bucket
//! names, resource ids and base64 that decodes to readable configuration (JSON or text).

use rolescope_model::{SecretKind, SecretLike};

/// The sorted names of a function's environment and the secret-like values among them (name
/// and kind only): the one place the collector and `import` hand values to.
pub fn names_and_findings<'a>(
    vars: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> (Vec<rolescope_model::Shared>, Vec<SecretLike>) {
    let mut names = Vec::new();
    let mut found = Vec::new();
    for (name, value) in vars {
        if let Some(kind) = detect(name, value) {
            found.push(SecretLike {
                variable: name.clone(),
                kind,
            });
        }
        names.push(name.as_str().into());
    }
    names.sort();
    found.sort();
    (names, found)
}

/// The kind of secret `value` of variable `name` looks like, if any.
pub fn detect(name: &str, value: &str) -> Option<SecretKind> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if let Some(kind) = anywhere(v) {
        return Some(kind);
    }
    let class = name_class(name)?;
    if reference(v) {
        return None;
    }
    if class == NameClass::Password {
        // Under a password name any real value is the password, however plain it looks
        // (`correct-horse-battery` reads like a bucket name).
        return (v.chars().count() >= 8).then_some(SecretKind::Password);
    }
    if configuration(v) {
        return None;
    }
    if is_aws_secret_key(v) {
        return Some(SecretKind::AwsSecretAccessKey);
    }
    high_entropy(v).then_some(SecretKind::HighEntropy)
}

/// Secret shapes recognised whatever the variable is called.
fn anywhere(v: &str) -> Option<SecretKind> {
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        return Some(SecretKind::PrivateKey);
    }
    if contains_aws_key_id(v) {
        return Some(SecretKind::AwsAccessKeyId);
    }
    if let Some(kind) = token_prefix(v) {
        return Some(kind);
    }
    if is_jwt(v) {
        return Some(SecretKind::Jwt);
    }
    if has_url_password(v) || has_keyword_password(v) {
        return Some(SecretKind::ConnectionStringPassword);
    }
    None
}

/// An AWS access key id (`AKIA`, `ASIA`, `ABIA`, `ACCA` + 16 characters of A–Z, 2–7) standing
/// alone or as a word inside the value.
fn contains_aws_key_id(v: &str) -> bool {
    let b = v.as_bytes();
    (0..b.len().saturating_sub(19)).any(|i| {
        let word_start = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let word_end = b.get(i + 20).is_none_or(|c| !c.is_ascii_alphanumeric());
        word_start
            && word_end
            && matches!(&b[i..i + 4], b"AKIA" | b"ASIA" | b"ABIA" | b"ACCA")
            && b[i + 4..i + 20]
                .iter()
                .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(c))
    })
}

/// Provider tokens with a documented prefix: (prefix, minimum characters after it, alphabet).
const PREFIXES: &[(&str, usize, SecretKind)] = &[
    ("ghp_", 36, SecretKind::GithubToken),
    ("gho_", 36, SecretKind::GithubToken),
    ("ghu_", 36, SecretKind::GithubToken),
    ("ghs_", 36, SecretKind::GithubToken),
    ("ghr_", 36, SecretKind::GithubToken),
    ("github_pat_", 22, SecretKind::GithubToken),
    ("glpat-", 20, SecretKind::GitlabToken),
    ("xoxb-", 10, SecretKind::SlackToken),
    ("xoxp-", 10, SecretKind::SlackToken),
    ("xoxa-", 10, SecretKind::SlackToken),
    ("xoxr-", 10, SecretKind::SlackToken),
    ("xoxs-", 10, SecretKind::SlackToken),
    ("xapp-", 10, SecretKind::SlackToken),
    ("sk_live_", 16, SecretKind::StripeKey),
    ("rk_live_", 16, SecretKind::StripeKey),
    ("sk_test_", 16, SecretKind::StripeKey),
    ("npm_", 36, SecretKind::NpmToken),
    ("AIza", 35, SecretKind::GoogleApiKey),
];

fn token_prefix(v: &str) -> Option<SecretKind> {
    let token_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    // Slack webhooks carry their secret in the path.
    if v.starts_with("https://hooks.slack.com/services/T") {
        return Some(SecretKind::SlackToken);
    }
    for word in v.split(|c: char| !token_char(c)) {
        for (prefix, min, kind) in PREFIXES {
            if let Some(rest) = word.strip_prefix(prefix)
                && rest.len() >= *min
                && rest.chars().any(|c| c.is_ascii_digit())
            {
                return Some(*kind);
            }
        }
    }
    None
}

/// Three base64url segments whose first two decode to JSON objects (`eyJ` = `{"`).
fn is_jwt(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[1].starts_with("eyJ")
        && parts[..2].iter().all(|p| p.len() >= 10)
        && parts.iter().all(|p| {
            p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'=')
        })
}

/// `scheme://user:password@host…` with a non-empty password that is not a placeholder.
fn has_url_password(v: &str) -> bool {
    let Some((_, rest)) = v.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _host)) = authority.rsplit_once('@') else {
        return false;
    };
    userinfo
        .split_once(':')
        .is_some_and(|(_, password)| !password.is_empty() && !placeholder(password))
}

/// `Password=…;` / `pwd=…` in a key=value connection string (ADO.NET, JDBC, libpq).
fn has_keyword_password(v: &str) -> bool {
    v.split([';', ' ', '&', '?']).any(|pair| {
        pair.split_once('=').is_some_and(|(k, val)| {
            let k = k.trim().to_ascii_lowercase();
            matches!(k.as_str(), "password" | "pwd" | "passwd")
                && !val.trim().is_empty()
                && !placeholder(val.trim())
        })
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameClass {
    Password,
    Secret,
}

/// Whether the variable's name says it holds a secret. Names are split into tokens on anything
/// but letters and digits (`DB_PASSWORD` → DB, PASSWORD); a last token that names a reference
/// (`KMS_KEY_ARN`, `AWS_ACCESS_KEY_ID`, `SECRET_NAME`) means the value is not the secret.
fn name_class(name: &str) -> Option<NameClass> {
    let tokens: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_ascii_uppercase())
        .collect();
    const REFERENCE: [&str; 14] = [
        "ID", "ARN", "NAME", "ALIAS", "PREFIX", "PATH", "URL", "URI", "FILE", "REGION", "TYPE",
        "BUCKET", "VERSION", "LENGTH",
    ];
    if tokens
        .last()
        .is_some_and(|t| REFERENCE.contains(&t.as_str()))
    {
        return None;
    }
    let has = |set: &[&str]| tokens.iter().any(|t| set.contains(&t.as_str()));
    if has(&["PASSWORD", "PASSWD", "PWD", "PASSPHRASE"]) {
        Some(NameClass::Password)
    } else if has(&[
        "SECRET",
        "SECRETS",
        "TOKEN",
        "KEY",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
        "PRIVATE",
        "SIGNING",
        "AUTH",
    ]) {
        Some(NameClass::Secret)
    } else {
        None
    }
}

/// Values that point at a secret or stand in for one, never the secret itself: ARNs,
/// `{{resolve:…}}`, URLs without a password, placeholders, parameter paths, flags and numbers.
fn reference(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    lower.starts_with("arn:")
        || lower.starts_with("{{resolve:")
        || (v.contains("://") && !has_url_password(v))
        || placeholder(v)
        || matches!(
            lower.as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null"
        )
        || v.parse::<f64>().is_ok()
        || is_path(v)
}

/// Values that read as identifiers or configuration: UUIDs, host and bucket names, lists of
/// resource ids, base64 of readable text.
fn configuration(v: &str) -> bool {
    is_uuid(v) || is_host_or_bucket(v) || v.split(',').all(is_resource_id) || decodes_to_text(v)
}

/// An AWS resource id such as `subnet-0a1b2c3d` or `sg-0123456789abcdef0`.
fn is_resource_id(v: &str) -> bool {
    v.trim().split_once('-').is_some_and(|(kind, id)| {
        !kind.is_empty()
            && kind.bytes().all(|c| c.is_ascii_lowercase())
            && id.len() >= 8
            && id
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

/// `${VAR}`, `<…>`, `changeme`, `xxx…`, `***`: a template, not a value.
fn placeholder(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    (v.starts_with("${") && v.ends_with('}'))
        || (v.starts_with("{{") && v.ends_with("}}"))
        || (v.starts_with('<') && v.ends_with('>'))
        || matches!(
            lower.as_str(),
            "changeme" | "change-me" | "change_me" | "password" | "secret" | "none" | "todo"
        )
        || v.chars().all(|c| c == 'x' || c == 'X' || c == '*')
}

fn is_uuid(v: &str) -> bool {
    let groups: Vec<&str> = v.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// A file or parameter path: `/app/prod/db-password`, `config/settings.json`.
fn is_path(v: &str) -> bool {
    v.contains('/')
        && v.split('/').filter(|s| !s.is_empty()).all(|s| {
            s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(&c))
        })
}

/// A host or bucket name: lowercase DNS labels with dots or hyphens.
fn is_host_or_bucket(v: &str) -> bool {
    (v.contains('.') || v.contains('-'))
        && v.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && label.bytes().any(|c| c.is_ascii_lowercase())
        })
}

/// 40 characters of the base64 alphabet with upper, lower case and digits: the shape of an AWS
/// secret access key (only flagged under a secret name; a 40-character base64 string alone is
/// too common to mean anything).
fn is_aws_secret_key(v: &str) -> bool {
    v.len() == 40
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+')
        && v.bytes().any(|c| c.is_ascii_uppercase())
        && v.bytes().any(|c| c.is_ascii_lowercase())
        && v.bytes().any(|c| c.is_ascii_digit())
}

/// Shannon entropy per character, in bits.
fn entropy(v: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in v.bytes() {
        counts[b as usize] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// High entropy for its alphabet: at least 16 characters, no spaces, and above 3.0 bits per
/// character for hexadecimal or 3.7 for anything else (English words stay well below; random
/// base64 of this length is above 4).
fn high_entropy(v: &str) -> bool {
    if v.len() < 16 || v.contains(char::is_whitespace) {
        return false;
    }
    let threshold = if v.bytes().all(|c| c.is_ascii_hexdigit()) {
        3.0
    } else {
        3.7
    };
    entropy(v) > threshold
}

/// Base64 that decodes to JSON or printable text: configuration someone encoded, not a key.
fn decodes_to_text(v: &str) -> bool {
    if v.len() < 8 || !v.len().is_multiple_of(4) {
        return false;
    }
    let Some(bytes) = base64_decode(v) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    let printable = text
        .chars()
        .all(|c| !c.is_control() || c == '\n' || c == '\t' || c == '\r');
    printable
        && !text.contains('\u{fffd}')
        && (text.trim_start().starts_with('{') || text.split_whitespace().count() >= 3)
}

fn base64_decode(v: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let body = v.trim_end_matches('=');
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// The corpora the tests hold the detector to: secret-like values with the kind each must be
/// recognised as, and harmless values that must not be flagged. Public so that the end-to-end
/// comparison with detect-secrets runs on the very same values.
#[doc(hidden)]
pub mod corpus {
    use rolescope_model::SecretKind::{self, *};

    /// (name, value, expected kind): values built from pieces so that no complete credential
    /// shape sits in the source for other scanners to trip over.
    pub fn secrets() -> Vec<(&'static str, String, SecretKind)> {
        let key_id = format!("AKIA{}", "Z7QX4MPL3VBN2RTY");
        let secret = format!("wJalrXUtnFEMI/K7MDENG/{}", "bPxRfiCYEXAMPLEKEY");
        vec![
            ("AWS_ACCESS_KEY_ID", key_id.clone(), AwsAccessKeyId),
            ("LEGACY_CREDS", format!("{key_id}:{secret}"), AwsAccessKeyId),
            ("AWS_SECRET_ACCESS_KEY", secret.clone(), AwsSecretAccessKey),
            (
                "TLS_KEY",
                format!("-----BEGIN RSA {}-----\nMIIEow...\n-----END", "PRIVATE KEY"),
                PrivateKey,
            ),
            (
                "GH",
                format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
                GithubToken,
            ),
            (
                "SLACK",
                format!("xoxb-{}", "123456789012-abcdefghij"),
                SlackToken,
            ),
            (
                "HOOK",
                format!("https://hooks.slack.com/services/T{}", "000/B000/XXXX"),
                SlackToken,
            ),
            (
                "STRIPE",
                format!("sk_live_{}", "4eC39HqLyjWDarjtT1zdp7dc"),
                StripeKey,
            ),
            (
                "NPM",
                format!("npm_{}", "abcdefghijklmnopqrstuvwxyz0123456789"),
                NpmToken,
            ),
            (
                "MAPS",
                format!("AIza{}", "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
                GoogleApiKey,
            ),
            (
                "SESSION",
                format!(
                    "eyJhbGciOiJIUzI1NiJ9.{}.dBjftJeZ4CVP",
                    "eyJzdWIiOiIxMjM0NTY3ODkwIn0"
                ),
                Jwt,
            ),
            (
                "DATABASE_URL",
                "postgres://app:S3cr3t-Pa55@db.internal:5432/app".into(),
                ConnectionStringPassword,
            ),
            (
                "MSSQL",
                "Server=db;Database=app;User Id=sa;Password=Tr0ub4dor&3;".into(),
                ConnectionStringPassword,
            ),
            ("DB_PASSWORD", "Summer2024!".into(), Password),
            ("ADMIN_PWD", "correct horse battery staple".into(), Password),
            ("SMTP_PASSWORD", "correct-horse-battery".into(), Password),
            (
                "API_KEY",
                "9f8e7d6c5b4a39281706f5e4d3c2b1a0".into(),
                HighEntropy,
            ),
            (
                "SIGNING_SECRET",
                "q8Zr2VnK4tLx7PwY1sHc9DmB3fGj6".into(),
                HighEntropy,
            ),
        ]
    }

    /// (name, value) pairs that are references or configuration, never secrets.
    pub fn harmless() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "KMS_KEY_ARN",
                "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ),
            (
                "SECRET_ARN",
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf",
            ),
            (
                "DB_PASSWORD",
                "{{resolve:secretsmanager:prod/db:SecretString:password}}",
            ),
            ("DB_PASSWORD_PARAM", "/app/prod/db-password"),
            ("API_TOKEN", "${API_TOKEN}"),
            ("PASSWORD", "changeme"),
            ("AUTH_ENDPOINT", "https://auth.example.com/oauth2/token"),
            (
                "TOKEN_SERVICE",
                "https://tokens.internal.example.com:8443/v1",
            ),
            ("REQUEST_KEY", "5f0c9a3e-8a4b-4d1c-9e2f-7b6a5c4d3e2f"),
            ("CONFIG_KEY", "eyJmZWF0dXJlcyI6eyJiZXRhIjp0cnVlfX0="),
            ("CACHE_KEY", "dGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcw=="),
            ("BUCKET_KEY", "orders-bucket-prod-eu-west-1"),
            ("S3_KEY", "uploads/2026/12/report.csv"),
            ("SECRET_NAME", "prod/db/credentials"),
            ("AWS_ACCESS_KEY_ID", ""),
            ("TOKEN_TTL", "3600"),
            ("USE_AUTH", "true"),
            ("AUTH_MODE", "cognito"),
            ("STAGE", "production"),
            ("TABLE_NAME", "orders-v2"),
            ("LOG_LEVEL", "DEBUG"),
            ("DATABASE_URL", "postgres://db.internal:5432/app"),
            ("REDIS_URL", "redis://cache.internal:6379/0"),
            (
                "QUEUE_URL",
                "https://sqs.eu-west-1.amazonaws.com/111122223333/jobs",
            ),
            ("PRIVATE_SUBNETS", "subnet-0a1b2c3d,subnet-4e5f6a7b"),
            ("KEY_ROTATION_DAYS", "90"),
            ("PUBLIC_KEY_PEM", "-----BEGIN PUBLIC KEY-----"),
            ("TOKEN_ISSUER", "rolescope-demo"),
            ("SIGNING_KEY_ID", "k-2026-11"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::corpus::{harmless, secrets};
    use super::*;

    #[test]
    fn secret_shapes_are_recognised_with_their_kind() {
        for (name, value, kind) in secrets() {
            assert_eq!(detect(name, &value), Some(kind), "{name}");
        }
    }

    #[test]
    fn references_and_configuration_are_not_secrets() {
        for (name, value) in harmless() {
            assert_eq!(detect(name, value), None, "{name}={value}");
        }
    }

    #[test]
    fn a_name_alone_is_not_enough_and_a_reference_name_is_not_a_secret_name() {
        assert_eq!(detect("DB_PASSWORD", "short"), None);
        assert_eq!(detect("GREETING", "Summer2024!"), None);
        assert_eq!(detect("API_KEY", "abcdefghabcdefgh"), None, "low entropy");
        assert_eq!(name_class("KMS_KEY_ARN"), None);
        assert_eq!(name_class("db-password"), Some(NameClass::Password));
        assert_eq!(name_class("GithubToken"), None, "no token boundary");
        assert_eq!(name_class("GITHUB_TOKEN"), Some(NameClass::Secret));
    }

    #[test]
    fn key_ids_inside_words_do_not_count() {
        let embedded = format!("XAKIA{}", "Z7QX4MPL3VBN2RTY");
        assert!(!contains_aws_key_id(&embedded));
        assert!(contains_aws_key_id(&format!("id={}", &embedded[1..])));
    }
}
