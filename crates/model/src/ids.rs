//! Identifiers and timestamps with the invariants the whole pipeline relies on.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An AWS account id: exactly 12 ASCII digits, kept as text (leading zeros matter). The digits
/// are held inline: every record names its account, and an organization's scan holds millions
/// of records.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId([u8; 12]);

/// A value that is not a valid account id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid AWS account id {0:?}: expected 12 digits")]
pub struct InvalidAccountId(pub String);

impl AccountId {
    /// Validate and wrap an account id.
    pub fn new(id: &str) -> Result<Self, InvalidAccountId> {
        match <[u8; 12]>::try_from(id.as_bytes()) {
            Ok(digits) if digits.iter().all(u8::is_ascii_digit) => Ok(AccountId(digits)),
            _ => Err(InvalidAccountId(id.to_string())),
        }
    }

    /// The account id as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("an account id is ASCII digits")
    }

    /// The account of an ARN (`arn:aws:iam::012345678901:role/x`), if it has a valid one.
    pub fn from_arn(arn: &str) -> Option<Self> {
        arn.split(':').nth(4).and_then(|a| AccountId::new(a).ok())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AccountId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Reads the text in place: no string is allocated per record.
        struct Digits;
        impl serde::de::Visitor<'_> for Digits {
            type Value = AccountId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 12-digit AWS account id")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AccountId, E> {
                AccountId::new(v).map_err(E::custom)
            }
        }
        d.deserialize_str(Digits)
    }
}

/// A UTC instant with millisecond precision, serialised as RFC 3339 (`2026-11-28T07:52:40.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    /// Milliseconds since the Unix epoch.
    pub millis: i64,
}

impl Timestamp {
    /// From milliseconds since the epoch.
    pub fn from_millis(millis: i64) -> Self {
        Timestamp { millis }
    }

    /// The current time.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            millis: d.as_millis() as i64,
        }
    }

    /// Parse an RFC 3339 / ISO 8601 date-time leniently: any number of fractional digits
    /// (truncated to milliseconds), `Z`, `z`, `+0000` or `+00:00` offsets. AWS APIs and emulators
    /// differ here. A date without a time is refused (see [`Timestamp::parse_iam_date`]).
    pub fn parse(text: &str) -> Option<Self> {
        if !text.trim().contains(['T', 't', ' ']) {
            return None;
        }
        Self::parse_iam_date(text)
    }

    /// Parse a date as IAM's `Date*` condition operators accept it: an ISO 8601 date
    /// (`2026-01-31`), a date-time as in [`Timestamp::parse`], or epoch seconds.
    pub fn parse_iam_date(text: &str) -> Option<Self> {
        let t = text.trim();
        if !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) {
            return t
                .parse::<i64>()
                .ok()
                .map(|s| Timestamp { millis: s * 1000 });
        }
        let num = |s: &str| -> Option<i64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
        };
        let (date, time) = match t.split_once(['T', 't', ' ']) {
            Some((d, tm)) => (d, Some(tm)),
            None => (t, None),
        };
        let mut parts = date.split('-');
        let (y, m, d) = (
            num(parts.next()?)?,
            num(parts.next()?)?,
            num(parts.next()?)?,
        );
        if parts.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        let mut millis = days_from_civil(y, m, d) * 86_400_000;
        if let Some(tm) = time {
            let (clock, offset_ms) = if let Some(c) = tm.strip_suffix(['Z', 'z']) {
                (c, 0)
            } else if let Some(i) = tm.rfind(['+', '-']) {
                let (c, off) = tm.split_at(i);
                let sign = if off.starts_with('-') { -1 } else { 1 };
                let off = &off[1..];
                let (oh, om) = off
                    .split_once(':')
                    .unwrap_or((off.get(..2)?, off.get(2..).unwrap_or("0")));
                (c, sign * (num(oh)? * 3_600_000 + num(om)? * 60_000))
            } else {
                (tm, 0)
            };
            let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
            let mut hms = hms.split(':');
            let h = num(hms.next()?)?;
            let mi = num(hms.next().unwrap_or("0"))?;
            let s = num(hms.next().unwrap_or("0"))?;
            if h > 23 || mi > 59 || s > 60 {
                return None;
            }
            let frac_ms = if frac.is_empty() {
                0
            } else {
                num(frac)?;
                num(&frac
                    .chars()
                    .chain("000".chars())
                    .take(3)
                    .collect::<String>())?
            };
            millis += h * 3_600_000 + mi * 60_000 + s * 1000 + frac_ms - offset_ms;
        }
        Some(Timestamp { millis })
    }

    /// RFC 3339 with milliseconds and `Z`.
    pub fn to_rfc3339(self) -> String {
        match self.rfc3339_fixed() {
            Some(text) => text.as_str().to_string(),
            None => self.rfc3339_any(),
        }
    }

    /// Year, month, day, hour, minute, second and millisecond (UTC).
    fn fields(self) -> [i64; 7] {
        let secs = self.millis.div_euclid(1000);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        [
            y,
            m,
            d,
            sod / 3600,
            sod / 60 % 60,
            sod % 60,
            self.millis.rem_euclid(1000),
        ]
    }

    /// The RFC 3339 text of a timestamp in the years 0000–9999, written into a fixed buffer
    /// (no allocation: snapshots and findings write millions of them).
    fn rfc3339_fixed(self) -> Option<Rfc3339> {
        let fields = self.fields();
        if !(0..=9999).contains(&fields[0]) {
            return None;
        }
        let mut buf = *b"0000-00-00T00:00:00.000Z";
        // Where each field ends in the text, and its width.
        for (mut value, (end, width)) in
            fields
                .into_iter()
                .zip([(4, 4), (7, 2), (10, 2), (13, 2), (16, 2), (19, 2), (23, 3)])
        {
            for i in (end - width..end).rev() {
                buf[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        Some(Rfc3339(buf))
    }

    /// RFC 3339 for any year (signed and wider than four digits outside 0000–9999).
    fn rfc3339_any(self) -> String {
        let [y, m, d, h, mi, s, ms] = self.fields();
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    /// The UTC date, `YYYY-MM-DD` (the `dt=` partition value).
    pub fn date(self) -> String {
        self.to_rfc3339()[..10].to_string()
    }
}

/// Days in month `m` (1–12) of year `y` of the proleptic Gregorian calendar.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The RFC 3339 text of a timestamp in the years 0000–9999.
struct Rfc3339([u8; 24]);

impl Rfc3339 {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII digits and separators")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339_fixed() {
            Some(text) => s.serialize_str(text.as_str()),
            None => s.serialize_str(&self.rfc3339_any()),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Timestamp;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Timestamp, E> {
                Timestamp::parse(s).ok_or_else(|| E::custom(format!("invalid timestamp {s:?}")))
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_keep_leading_zeros_and_reject_junk() {
        let id = AccountId::new("012345678901").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"012345678901\"");
        assert_eq!(
            serde_json::from_str::<AccountId>("\"012345678901\"").unwrap(),
            id
        );
        assert!(
            serde_json::from_str::<AccountId>("12345678901").is_err(),
            "numbers are rejected"
        );
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert!(AccountId::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            AccountId::from_arn("arn:aws:iam::000000000042:role/r"),
            AccountId::new("000000000042").ok()
        );
        assert_eq!(AccountId::from_arn("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn timestamps_parse_aws_and_emulator_forms() {
        let expect = Timestamp::parse("2026-11-28T07:52:40.123Z").unwrap();
        for form in [
            "2026-11-28T07:52:40.123000000Z",
            "2026-11-28T07:52:40.123+0000",
            "2026-11-28T08:52:40.123+01:00",
            "2026-11-28T07:52:40.1239Z",
        ] {
            assert_eq!(Timestamp::parse(form), Some(expect), "{form}");
        }
        assert_eq!(expect.to_rfc3339(), "2026-11-28T07:52:40.123Z");
        assert_eq!(expect.date(), "2026-11-28");
        assert_eq!(
            Timestamp::from_millis(0).to_rfc3339(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(-1).to_rfc3339(),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::parse("2024-02-29T00:00:00Z")
                .unwrap()
                .to_rfc3339(),
            "2024-02-29T00:00:00.000Z"
        );
        // The fixed-width writer and the general one agree wherever the first applies, and a
        // year outside it is still written (and read back).
        let mut at = -62_167_219_200_000i64; // 0000-01-01
        while at < 253_402_300_800_000 {
            let t = Timestamp::from_millis(at);
            let fixed = t.rfc3339_fixed().expect("a four-digit year");
            assert_eq!(fixed.as_str(), t.rfc3339_any(), "{at}");
            assert_eq!(Timestamp::parse(fixed.as_str()), Some(t), "{at}");
            at += 7_777_777_777_777 / 1000 * 997 + 123;
        }
        let far = Timestamp::from_millis(253_402_300_800_000); // 10000-01-01
        assert!(far.rfc3339_fixed().is_none());
        assert_eq!(far.to_rfc3339(), "10000-01-01T00:00:00.000Z");
        let json = serde_json::to_string(&expect).unwrap();
        assert_eq!(json, "\"2026-11-28T07:52:40.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), expect);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        for bad in [
            "2026-13-01T00:00:00Z",
            "yesterday",
            "2026-11-28T07:52:40.12xZ",
            "2026-11-28T07:52:40+1",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
        let round: Timestamp =
            serde_json::from_str(&serde_json::to_string(&expect).unwrap()).unwrap();
        assert_eq!(round, expect);
    }
}
