//! Decoding of policy documents as the IAM query API returns them.

use crate::document::{ParseError, Policy};

/// Decode a policy document string from the IAM API into JSON text.
///
/// IAM returns documents URL-encoded (RFC 3986 percent-encoding); some emulators return raw
/// JSON. Text that starts with `{` after trimming is taken as JSON; anything else is
/// percent-decoded (`+` is left alone: IAM encodes spaces as `%20`).
pub fn decode_policy_text(text: &str) -> Result<String, ParseError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        return Ok(trimmed.to_string());
    }
    let bytes = trimmed.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => {
                    return Err(ParseError {
                        path: "$".into(),
                        message: format!("invalid percent-encoding at byte {i} of the policy text"),
                    });
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|e| ParseError {
        path: "$".into(),
        message: format!("the URL-decoded policy is not UTF-8: {e}"),
    })
}

/// Decode (see [`decode_policy_text`]) and parse a policy document from the IAM API.
pub fn parse_iam_policy(text: &str) -> Result<Policy, ParseError> {
    Policy::parse(&decode_policy_text(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_and_raw_documents_decode_alike() {
        let raw = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/a b+c"}]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2Fa%20b+c%22%7D%5D%7D";
        assert_eq!(decode_policy_text(encoded).unwrap(), raw);
        assert_eq!(decode_policy_text(&format!("  {raw}\n")).unwrap(), raw);
        assert_eq!(
            parse_iam_policy(encoded).unwrap(),
            Policy::parse(raw).unwrap()
        );
    }

    #[test]
    fn bad_encoding_is_an_error_not_a_panic() {
        assert!(decode_policy_text("%7").is_err());
        assert!(decode_policy_text("%zz").is_err());
        assert!(decode_policy_text("%ff%fe").is_err());
        assert!(decode_policy_text("%E2%82").is_err());
    }
}
